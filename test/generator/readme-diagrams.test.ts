import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { fsmToMermaid } from '../../generator/emit/diagram.js';
import { validateSpec } from '../../generator/spec/validate.js';

const root = join(import.meta.dirname, '..', '..');

it('the README shows every state machine of the spec exactly as `vibee diagram` renders it', () => {
  const fileName = 'specs/consensus_coordination.vibee';
  const { model } = validateSpec({ fileName, text: readFileSync(join(root, fileName), 'utf8') });
  expect(model).toBeTruthy();
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  expect(model!.fsms.length).toBe(4);
  for (const fsm of model!.fsms) expect(readme, fsm.name).toContain(fsmToMermaid(fsm));
});
