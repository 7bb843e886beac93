/**
 * Lowering: syntax tree -> plain value (with a JSON-pointer -> source-range map) -> JSON Schema
 * check (ajv, draft 2020-12; every error reported at the spec's line and column) -> typed model.
 * Never throws for bad input: problems come back as diagnostics.
 */
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import { createDiagnostic, type Diagnostic, type SourceRange } from '../diagnostics.js';
import type { VibeeDocument, VibeeNode } from '../parse/ast.js';
import { keyString } from '../parse/parse-vibee.js';
import { VIB } from './codes.js';
import type {
  BehaviorDef,
  ConstantDef,
  ConstantKind,
  FsmDef,
  PointerMap,
  RecordDef,
  SpecModel,
  SpecTestDef,
  TypeDef,
  TypeRef,
} from './model.js';
import { KNOWN_SECTIONS, VIBEE_SPEC_SCHEMA } from './schema.js';
import { parseTypeRef } from './type-ref.js';

/** Escapes one JSON-pointer segment (RFC 6901). */
export function pointerSegment(s: string | number): string {
  return String(s).replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Converts a tree node to its plain value, recording every node's range under its pointer. */
export function toPlainWithPointers(node: VibeeNode | null, map: PointerMap, pointer = ''): unknown {
  if (node === null) return null;
  if (node.kind === 'scalar') {
    map.set(pointer, { ...map.get(pointer), range: node.range });
    return node.value;
  }
  if (node.kind === 'sequence') {
    map.set(pointer, { ...map.get(pointer), range: node.range });
    return node.items.map((item, i) => toPlainWithPointers(item, map, `${pointer}/${i}`));
  }
  map.set(pointer, { ...map.get(pointer), range: node.range });
  const out: Record<string, unknown> = {};
  for (const entry of node.entries) {
    const key = keyString(entry.key);
    const p = `${pointer}/${pointerSegment(key)}`;
    map.set(p, { range: entry.value.range, key: entry.key.range });
    // `__proto__` and friends must not reach the prototype.
    Object.defineProperty(out, key, {
      value: toPlainWithPointers(entry.value, map, p),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

let compiled: ReturnType<Ajv2020['compile']> | undefined;
function schemaValidator(): ReturnType<Ajv2020['compile']> {
  if (!compiled) {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    compiled = ajv.compile(VIBEE_SPEC_SCHEMA);
  }
  return compiled;
}

/** Finds the closest recorded range for a pointer (walking up to the parent when needed). */
export function rangeAt(map: PointerMap, pointer: string, preferKey = false): SourceRange | undefined {
  let p = pointer;
  for (;;) {
    const loc = map.get(p);
    if (loc) return preferKey && loc.key ? loc.key : loc.range;
    if (p === '') return undefined;
    p = p.slice(0, p.lastIndexOf('/'));
  }
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string')
    return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  return `${typeof v === 'bigint' ? 'the integer' : `the ${typeof v}`} ${String(v)}`;
}

function pointerGet(root: unknown, pointer: string): unknown {
  let cur: unknown = root;
  for (const seg of pointer.split('/').slice(1)) {
    const k = seg.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/** Maps one ajv error to a diagnostic at the spec's line/col. */
function ajvDiagnostic(e: ErrorObject, file: string, map: PointerMap, plain: unknown): Diagnostic {
  const where =
    e.instancePath === ''
      ? 'the document'
      : `'${e.instancePath.slice(1).replace(/~1/g, '/').replace(/~0/g, '~')}'`;
  const at = rangeAt(map, e.instancePath);
  const value = pointerGet(plain, e.instancePath);
  switch (e.keyword) {
    case 'required': {
      const prop = (e.params as { missingProperty: string }).missingProperty;
      return createDiagnostic(
        VIB.MISSING_PROPERTY,
        `${where} is missing the required property '${prop}'`,
        file,
        rangeAt(map, e.instancePath, true),
      );
    }
    case 'type': {
      const t = (e.params as { type: string | string[] }).type;
      const expected = (Array.isArray(t) ? t : t.split(',')).join(' or ');
      return createDiagnostic(
        VIB.WRONG_TYPE,
        `${where} must be ${expected}, found ${describeValue(value)}`,
        file,
        at,
      );
    }
    case 'additionalProperties': {
      const prop = (e.params as { additionalProperty: string }).additionalProperty;
      const p = `${e.instancePath}/${pointerSegment(prop)}`;
      return createDiagnostic(
        VIB.SCHEMA,
        `${where} does not allow the property '${prop}'`,
        file,
        rangeAt(map, p, true),
      );
    }
    default:
      return createDiagnostic(VIB.SCHEMA, `${where} ${e.message ?? 'is invalid'}`, file, at);
  }
}

/** Collapses ajv's anyOf noise: keep one error per (path, keyword) and drop the anyOf summary. */
function simplifyAjvErrors(errors: readonly ErrorObject[]): ErrorObject[] {
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  const seen = new Set<string>();
  const out: ErrorObject[] = [];
  for (const e of errors) {
    if (e.keyword === 'anyOf') continue;
    // Under an anyOf, report the first branch's complaint only.
    const key = anyOfPaths.has(e.instancePath)
      ? `${e.instancePath}|anyOf`
      : `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e);
  }
  return out;
}

/** The comment lines directly above source line `line` (1-based), joined; undefined when none. */
function commentAbove(text: string, line: number): string | undefined {
  const lines = text.split(/\r?\n/);
  const out: string[] = [];
  for (let i = line - 2; i >= 0; i--) {
    const m = /^\s*#\s?(.*)$/.exec(lines[i] ?? '');
    if (!m) break;
    out.unshift((m[1] as string).trimEnd());
  }
  return out.length ? out.join(' ') : undefined;
}

const itemText = (v: unknown): string =>
  v !== null && typeof v === 'object'
    ? Object.entries(v as Record<string, unknown>)
        .map(([k, x]) => `${k}: ${itemText(x)}`)
        .join(', ')
    : String(v);
const joinText = (v: unknown): string =>
  Array.isArray(v) ? v.map(itemText).join('; ') : v === undefined || v === null ? '' : itemText(v);

/** Result of lowering: the model when the schema check passed, plus the pointer map. */
export interface LowerResult {
  model: SpecModel | null;
  pointers: PointerMap;
  plain: unknown;
  diagnostics: Diagnostic[];
}

/** Lowers a parsed document into the spec model (schema-checked). */
export function lowerDocument(doc: VibeeDocument, text: string): LowerResult {
  const file = doc.fileName;
  const pointers: PointerMap = new Map();
  const plain = toPlainWithPointers(doc.root, pointers);
  const diagnostics: Diagnostic[] = [];
  const validate = schemaValidator();
  if (!validate(plain)) {
    for (const e of simplifyAjvErrors(validate.errors ?? []))
      diagnostics.push(ajvDiagnostic(e, file, pointers, plain));
    return { model: null, pointers, plain, diagnostics };
  }
  const root = plain as Record<string, unknown>;
  for (const key of Object.keys(root)) {
    if (!KNOWN_SECTIONS.has(key)) {
      diagnostics.push(
        createDiagnostic(
          VIB.UNKNOWN_SECTION,
          `unknown top-level section '${key}' is ignored`,
          file,
          rangeAt(pointers, `/${pointerSegment(key)}`, true),
          'warning',
        ),
      );
    }
  }
  const typeRefAt = (typeText: string, pointer: string): TypeRef | null => {
    const r = parseTypeRef(typeText);
    if ('error' in r) {
      const at = rangeAt(pointers, pointer);
      const range = at ? shiftRange(at, text, r.offset) : undefined;
      diagnostics.push(
        createDiagnostic(VIB.TYPE_SYNTAX, `invalid type '${typeText}': ${r.error}`, file, range),
      );
      return null;
    }
    return r;
  };

  const constants: ConstantDef[] = [];
  for (const [name, value] of Object.entries((root.constants ?? {}) as Record<string, unknown>)) {
    const pointer = `/constants/${pointerSegment(name)}`;
    const kind: ConstantKind =
      typeof value === 'bigint' ||
      (typeof value === 'number' && Number.isInteger(value) && !isFloatLexeme(pointers, pointer, text))
        ? 'int'
        : typeof value === 'number'
          ? 'float'
          : typeof value === 'boolean'
            ? 'bool'
            : typeof value === 'string'
              ? 'string'
              : 'object';
    const keyRange = rangeAt(pointers, pointer, true);
    const description = keyRange ? commentAbove(text, keyRange.start.line) : undefined;
    constants.push({ name, kind, value, pointer, ...(description ? { description } : {}) });
  }

  const types: TypeDef[] = [];
  for (const [name, raw] of Object.entries((root.types ?? {}) as Record<string, Record<string, unknown>>)) {
    const pointer = `/types/${pointerSegment(name)}`;
    const description = raw.description as string | undefined;
    const enumList = (raw.enum ?? raw.variants) as unknown[] | undefined;
    if (enumList && !raw.fields) {
      const listKey = raw.enum ? 'enum' : 'variants';
      types.push({
        kind: 'enum',
        name,
        ...(description !== undefined ? { description } : {}),
        members: enumList.map((m, i) => ({
          name: m !== null && typeof m === 'object' ? (Object.keys(m)[0] ?? '') : String(m),
          pointer: `${pointer}/${listKey}/${i}`,
        })),
        pointer,
      });
      continue;
    }
    const fields = Object.entries((raw.fields ?? {}) as Record<string, string>).map(([fname, typeText]) => {
      const fp = `${pointer}/fields/${pointerSegment(fname)}`;
      return { name: fname, typeText, type: typeRefAt(typeText, fp), pointer: fp };
    });
    const wire = raw.wire as { group: string; tag: number } | undefined;
    const rec: RecordDef = {
      kind: 'record',
      name,
      ...(description !== undefined ? { description } : {}),
      fields,
      ...(wire ? { wire: { group: wire.group, tag: wire.tag, pointer: `${pointer}/wire` } } : {}),
      defaults: (raw.defaults ?? {}) as Record<string, unknown>,
      constraints: ((raw.constraints ?? []) as string[]).map((expr, i) => ({
        expr,
        pointer: `${pointer}/constraints/${i}`,
      })),
      pointer,
    };
    types.push(rec);
  }

  const fsms: FsmDef[] = ((root.fsm ?? []) as Record<string, unknown>[]).map((f, i) => {
    const pointer = `/fsm/${i}`;
    return {
      name: f.name as string,
      ...(f.description !== undefined ? { description: f.description as string } : {}),
      ...(f.state_type !== undefined ? { stateType: f.state_type as string } : {}),
      ...(f.initial !== undefined ? { initial: f.initial as string } : {}),
      states: (f.states as string[]).map((s, j) => ({ name: s, pointer: `${pointer}/states/${j}` })),
      transitions: (f.transitions as Record<string, unknown>[]).flatMap((t, j) =>
        (Array.isArray(t.from) ? (t.from as string[]) : [t.from as string]).map((from) => ({
          from,
          to: t.to as string,
          // Transitions without an event (other vibee specs) fire on their condition, else on `to_<state>`.
          on:
            t.on !== undefined
              ? (t.on as string)
              : t.condition !== undefined
                ? String(t.condition)
                : `to_${t.to as string}`,
          ...(t.condition !== undefined ? { condition: String(t.condition) } : {}),
          pointer: `${pointer}/transitions/${j}`,
        })),
      ),
      pointer,
    };
  });

  const constraints = ((root.constraints ?? []) as { name: string; expr: string }[]).map((c, i) => ({
    name: c.name,
    expr: c.expr,
    pointer: `/constraints/${i}`,
  }));

  const behaviors: BehaviorDef[] = ((root.behaviors ?? []) as Record<string, unknown>[]).map((b, i) => {
    const pointer = `/behaviors/${i}`;
    const params = ((b.params ?? []) as { name: string; type: string }[]).map((p, j) => {
      const pp = `${pointer}/params/${j}`;
      return { name: p.name, typeText: p.type, type: typeRefAt(p.type, `${pp}/type`), pointer: pp };
    });
    const returns =
      b.returns !== undefined
        ? {
            typeText: b.returns as string,
            type: typeRefAt(b.returns as string, `${pointer}/returns`),
            pointer: `${pointer}/returns`,
          }
        : undefined;
    return {
      name: b.name as string,
      given: joinText(b.given),
      when: joinText(b.when ?? b.When),
      // biome-ignore lint/suspicious/noThenProperty: the spec's given/when/then
      then: joinText(b.then),
      params,
      ...(returns ? { returns } : {}),
      pointer,
    };
  });

  const tests: SpecTestDef[] = ((root.tests ?? []) as Record<string, unknown>[]).map((t, i) => ({
    name: t.name as string,
    category: (t.category as string | undefined) ?? '',
    input: t.input ?? null,
    expected: t.expected ?? null,
    description: (t.description as string | undefined) ?? '',
    pointer: `/tests/${i}`,
  }));

  const model: SpecModel = {
    fileName: file,
    name: root.name as string,
    version: String(root.version),
    language: root.language as string,
    module: root.module as string,
    ...(root.description !== undefined ? { description: root.description as string } : {}),
    constants,
    types,
    fsms,
    constraints,
    behaviors,
    tests,
    ...(root.runtime_config ? { configRecord: (root.runtime_config as { record: string }).record } : {}),
  };
  return { model, pointers, plain, diagnostics };
}

function isFloatLexeme(map: PointerMap, pointer: string, text: string): boolean {
  const r = map.get(pointer)?.range;
  if (!r) return false;
  return /[.eE]|inf|nan/i.test(text.slice(r.start.offset, r.end.offset));
}

/** Moves a range's start `delta` code units to the right on the same line (for errors inside a scalar). */
export function shiftRange(r: SourceRange, text: string, delta: number): SourceRange {
  const raw = text.slice(r.start.offset, r.end.offset);
  // Quoted scalars start one character later than their content.
  const quote = raw.startsWith('"') || raw.startsWith("'") ? 1 : 0;
  const offset = r.start.offset + quote + delta;
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  if (lineStart !== text.lastIndexOf('\n', r.start.offset - 1) + 1) return r;
  const column = Array.from(text.slice(lineStart, offset)).length + 1;
  const start = { line: r.start.line, column, offset };
  return { start, end: start };
}
