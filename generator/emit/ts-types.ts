/** Mapping of spec type references to TypeScript types and to wire reader/writer code. */
import { GENERIC_BUILTINS, SCALAR_BUILTINS } from '../spec/builtins.js';
import type { EnumDef, RecordDef, TypeRef } from '../spec/model.js';
import { upperSnake } from '../spec/names.js';

/** Lookup of the spec's own types. */
export interface TypeEnv {
  enums: ReadonlyMap<string, EnumDef>;
  records: ReadonlyMap<string, RecordDef>;
}

/** The TypeScript type of a spec type (`unknown` for names that are not defined). */
export function tsType(t: TypeRef, env: TypeEnv): string {
  const scalar = SCALAR_BUILTINS.get(t.name);
  let base: string;
  const arg = (i: number): string => {
    const a = t.args[i];
    return a === undefined || typeof a === 'number' ? 'unknown' : tsType(a, env);
  };
  if (env.enums.has(t.name) || env.records.has(t.name)) base = t.name;
  else if (scalar && t.args.length === 0) base = scalar.ts;
  else {
    const g = GENERIC_BUILTINS.get(t.name);
    switch (g?.kind) {
      case 'list':
        base = `${wrap(arg(0))}[]`;
        break;
      case 'map':
        base = `Map<${arg(0)}, ${arg(1)}>`;
        break;
      case 'option':
        base = `${arg(0)} | null`;
        break;
      case 'tuple':
        base = `[${t.args.map((_a, i) => arg(i)).join(', ')}]`;
        break;
      case 'result':
        base = `{ ok: true; value: ${arg(0)} } | { ok: false; error: ${t.args.length > 1 ? arg(1) : 'string'} }`;
        break;
      default:
        base = 'unknown';
    }
  }
  return t.arraySize !== undefined ? `${wrap(base)}[]` : base;
}

function wrap(ts: string): string {
  return /[|&\s]/.test(ts) && !/^[A-Za-z_$][\w$]*<.*>$/.test(ts) ? `(${ts})` : ts;
}

/** Why a type cannot be encoded, or null when it can. */
export function notEncodable(t: TypeRef, env: TypeEnv, seen: Set<string> = new Set()): string | null {
  if (env.enums.has(t.name)) return null;
  const rec = env.records.get(t.name);
  if (rec) {
    if (seen.has(rec.name)) return `'${rec.name}' is recursive`;
    const inner = new Set(seen).add(rec.name);
    for (const f of rec.fields) {
      if (!f.type) return `field '${f.name}' has an invalid type`;
      const why = notEncodable(f.type, env, inner);
      if (why) return why;
    }
    return null;
  }
  const scalar = SCALAR_BUILTINS.get(t.name);
  if (scalar && t.args.length === 0) return scalar.wire ? null : `'${t.name}' has no wire encoding`;
  const g = GENERIC_BUILTINS.get(t.name);
  if (!g) return `'${t.name}' is not a known type`;
  if (g.kind === 'result') return `'${t.name}' has no wire encoding`;
  for (const a of t.args) {
    if (typeof a === 'number') continue;
    const why = notEncodable(a, env, seen);
    if (why) return why;
  }
  return null;
}

/**
 * Smallest number of bytes an encoded value of `t` takes, for count checks: 0 for a record without
 * fields (the reader then bounds the count by `MAX_ZERO_SIZE_ITEMS` instead).
 */
export function minWireBytes(t: TypeRef, env: TypeEnv): number {
  return minBytes(t, env, new Set());
}

function minBytes(t: TypeRef, env: TypeEnv, seen: Set<string>): number {
  if (t.arraySize !== undefined) return 1;
  if (env.enums.has(t.name)) return 1;
  const rec = env.records.get(t.name);
  if (rec) {
    if (seen.has(rec.name)) return 0;
    const inner = new Set(seen).add(rec.name);
    return rec.fields.reduce((n, f) => n + (f.type ? minBytes(f.type, env, inner) : 0), 0);
  }
  const scalar = SCALAR_BUILTINS.get(t.name);
  if (scalar && t.args.length === 0) return scalar.wire === 'f64' ? 8 : 1;
  const g = GENERIC_BUILTINS.get(t.name);
  if (g?.kind === 'tuple')
    return t.args.reduce<number>((n, a) => n + (typeof a === 'number' ? 0 : minBytes(a, env, seen)), 0);
  return 1;
}

/** Generates the statements that write `expr` of type `t` with writer `w`. */
export function writeCode(t: TypeRef, expr: string, env: TypeEnv, indent: string, depth = 0): string {
  const listOf = (item: TypeRef): string => {
    const v = `v${depth}`;
    return [
      `${indent}w.uint(${expr}.length);`,
      `${indent}for (const ${v} of ${expr}) {`,
      writeCode(item, v, env, `${indent}  `, depth + 1),
      `${indent}}`,
    ].join('\n');
  };
  if (t.arraySize !== undefined) {
    const { arraySize: _size, ...inner } = t;
    return listOf(inner);
  }
  if (env.enums.has(t.name)) return `${indent}w.uint(${upperSnake(t.name)}_ORDINAL[${expr}]);`;
  if (env.records.has(t.name)) return `${indent}write${t.name}(w, ${expr});`;
  const scalar = SCALAR_BUILTINS.get(t.name);
  if (scalar?.wire && t.args.length === 0) return `${indent}w.${scalar.wire}(${expr});`;
  const g = GENERIC_BUILTINS.get(t.name);
  const a0 = t.args[0] as TypeRef;
  switch (g?.kind) {
    case 'list':
      return listOf(a0);
    case 'option': {
      return [
        `${indent}if (${expr} === null) w.bool(false);`,
        `${indent}else {`,
        `${indent}  w.bool(true);`,
        writeCode(a0, expr, env, `${indent}  `, depth + 1),
        `${indent}}`,
      ].join('\n');
    }
    case 'map': {
      const k = `k${depth}`;
      const v = `v${depth}`;
      return [
        `${indent}w.uint(${expr}.size);`,
        `${indent}for (const [${k}, ${v}] of ${expr}) {`,
        writeCode(a0, k, env, `${indent}  `, depth + 1),
        writeCode(t.args[1] as TypeRef, v, env, `${indent}  `, depth + 1),
        `${indent}}`,
      ].join('\n');
    }
    case 'tuple':
      return t.args
        .map((a, i) => writeCode(a as TypeRef, `${expr}[${i}]`, env, indent, depth + 1))
        .join('\n');
    default:
      throw new Error(`internal: no wire encoding for ${t.name}`);
  }
}

/** Named reader helpers for collections (function name -> source), shared by one codecs module. */
export type ReadHelpers = Map<string, string>;

function mangle(t: TypeRef): string {
  const args = t.args.map((a) => (typeof a === 'number' ? String(a) : mangle(a))).join('_');
  return `${t.name.replace(/\./g, '_')}${args ? `_${args}` : ''}${t.arraySize !== undefined ? `_N${t.arraySize}` : ''}`;
}

/**
 * Generates an expression that reads a value of type `t` from reader `r`. Collections get a named
 * helper function (registered in `helpers`) so decoding allocates no closures.
 */
export function readExpr(t: TypeRef, env: TypeEnv, helpers: ReadHelpers): string {
  const listOf = (item: TypeRef, key: string): string => {
    const fn = `readList_${key}`;
    if (!helpers.has(fn)) {
      helpers.set(fn, '');
      const ty = tsType({ name: 'List', args: [item] }, env);
      helpers.set(
        fn,
        [
          `function ${fn}(r: Reader): ${ty} {`,
          `  const n = r.count(${minWireBytes(item, env)});`,
          `  const a: ${ty} = [];`,
          `  for (let i = 0; i < n; i++) a.push(${readExpr(item, env, helpers)});`,
          '  return a;',
          '}',
        ].join('\n'),
      );
    }
    return `${fn}(r)`;
  };
  if (t.arraySize !== undefined) {
    const { arraySize: _size, ...inner } = t;
    return listOf(inner, mangle(t));
  }
  const en = env.enums.get(t.name);
  if (en) return `${upperSnake(t.name)}_VALUES[r.ordinal(${en.members.length}, '${t.name}')] as ${t.name}`;
  if (env.records.has(t.name)) return `read${t.name}(r)`;
  const scalar = SCALAR_BUILTINS.get(t.name);
  if (scalar?.wire && t.args.length === 0) return `r.${scalar.wire}()`;
  const g = GENERIC_BUILTINS.get(t.name);
  const a0 = t.args[0] as TypeRef;
  switch (g?.kind) {
    case 'list':
      return listOf(a0, mangle(a0));
    case 'option':
      return `(r.present() ? ${readExpr(a0, env, helpers)} : null)`;
    case 'map': {
      const fn = `readMap_${mangle(t)}`;
      if (!helpers.has(fn)) {
        helpers.set(fn, '');
        const v = t.args[1] as TypeRef;
        const ty = tsType(t, env);
        helpers.set(
          fn,
          [
            `function ${fn}(r: Reader): ${ty} {`,
            `  const n = r.count(${minWireBytes(a0, env) + minWireBytes(v, env)});`,
            `  const m: ${ty} = new Map();`,
            '  for (let i = 0; i < n; i++) {',
            `    const k = ${readExpr(a0, env, helpers)};`,
            `    m.set(k, ${readExpr(v, env, helpers)});`,
            '  }',
            '  return m;',
            '}',
          ].join('\n'),
        );
      }
      return `${fn}(r)`;
    }
    case 'tuple':
      return `[${t.args.map((a) => readExpr(a as TypeRef, env, helpers)).join(', ')}] as ${tsType(t, env)}`;
    default:
      throw new Error(`internal: no wire decoding for ${t.name}`);
  }
}
