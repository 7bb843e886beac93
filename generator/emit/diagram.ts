/** Mermaid `stateDiagram-v2` rendering of the spec's state machines. Pure. */
import type { FsmDef, SpecModel } from '../spec/model.js';

function mermaidId(s: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(s)
    ? s
    : `s_${Array.from(s, (c) => (/[A-Za-z0-9_]/.test(c) ? c : '_')).join('')}`;
}

function label(s: string): string {
  return s.replace(/[:;\n\r]/g, ' ').trim();
}

/** One machine as a Mermaid diagram (title comment, initial arrow, one line per transition). */
export function fsmToMermaid(m: FsmDef): string {
  const lines = [`---`, `title: ${m.name}`, `---`, 'stateDiagram-v2'];
  if (m.initial !== undefined) lines.push(`  [*] --> ${mermaidId(m.initial)}`);
  for (const s of m.states)
    if (mermaidId(s.name) !== s.name) lines.push(`  state "${label(s.name)}" as ${mermaidId(s.name)}`);
  for (const t of m.transitions) {
    const guard = t.condition !== undefined && t.condition !== t.on ? ` [${label(t.condition)}]` : '';
    lines.push(`  ${mermaidId(t.from)} --> ${mermaidId(t.to)}: ${label(t.on)}${guard}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Every machine of a spec, each in a fenced ```mermaid block under a heading. */
export function specToMermaid(model: SpecModel): string {
  return model.fsms.map((m) => `### ${m.name}\n\n\`\`\`mermaid\n${fsmToMermaid(m)}\`\`\`\n`).join('\n');
}
