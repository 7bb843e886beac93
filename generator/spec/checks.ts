/**
 * Semantic checks of a lowered spec (after the JSON Schema check). Every problem is collected with
 * a stable code from `codes.ts` and a range in the spec; nothing throws.
 */
import { createDiagnostic, type Diagnostic, type Severity } from '../diagnostics.js';
import { GENERIC_BUILTINS, SCALAR_BUILTINS } from './builtins.js';
import { VIB } from './codes.js';
import { ExprEvalError, type ExprValue, evaluateExpr, exprNames, isExprError, parseExpr } from './expr.js';
import { rangeAt, shiftRange } from './lower.js';
import type { ConstantDef, EnumDef, PointerMap, RecordDef, SpecModel, TypeRef } from './model.js';
import {
  camelCase,
  IDENTIFIER_RULE,
  isIdentifier,
  pascalCase,
  RESERVED_TYPE_NAMES,
  RESERVED_WORDS,
  upperSnake,
} from './names.js';

/** Options of the semantic checks. */
export interface CheckOptions {
  /**
   * Report type names that are neither built in nor defined as warnings (they become `unknown`)
   * instead of errors. Off for this project's spec; the corpus generality run reports both counts.
   */
  allowUnknownTypes?: boolean;
}

function fmt(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** Runs every semantic check; returns the diagnostics in spec order. */
export function checkModel(
  model: SpecModel,
  pointers: PointerMap,
  text: string,
  options: CheckOptions = {},
): Diagnostic[] {
  const file = model.fileName;
  const out: Diagnostic[] = [];
  const at = (pointer: string, key = false) => rangeAt(pointers, pointer, key);
  const report = (
    code: string,
    message: string,
    pointer: string,
    key = false,
    severity: Severity = 'error',
    notes?: string[],
  ) => out.push(createDiagnostic(code, message, file, at(pointer, key), severity, notes));
  const firstAt = (pointer: string): string => {
    const r = at(pointer, true);
    return r ? `first defined at ${r.start.line}:${r.start.column}` : 'first defined earlier';
  };

  const enums = new Map<string, EnumDef>();
  const records = new Map<string, RecordDef>();
  for (const t of model.types) (t.kind === 'enum' ? enums : records).set(t.name, t as never);
  const constants = new Map<string, ConstantDef>(model.constants.map((c) => [c.name, c]));

  // ---- names that become TypeScript declarations
  const checkDeclName = (name: string, what: string, pointer: string, typeName: boolean): boolean => {
    if (!isIdentifier(name)) {
      report(
        VIB.INVALID_IDENTIFIER,
        `${what} '${name}' is not a valid identifier (${IDENTIFIER_RULE})`,
        pointer,
        true,
      );
      return false;
    }
    if (RESERVED_WORDS.has(name) || (typeName && RESERVED_TYPE_NAMES.has(name))) {
      report(VIB.RESERVED_WORD, `${what} '${name}' collides with the reserved word '${name}'`, pointer, true);
      return false;
    }
    return true;
  };
  for (const c of model.constants) checkDeclName(c.name, 'constant', c.pointer, false);

  // ---- types
  const generatedTypeNames = new Map<string, string>();
  for (const t of model.types) {
    if (t.kind === 'record' && t.wire && t.wire.group !== 'record') {
      generatedTypeNames.set(
        `${pascalCase(t.wire.group)}Message`,
        `the union of wire group '${t.wire.group}'`,
      );
    }
  }
  for (const f of model.fsms) {
    generatedTypeNames.set(`${f.name}State`, `the states of fsm '${f.name}'`);
    generatedTypeNames.set(`${f.name}Event`, `the events of fsm '${f.name}'`);
  }
  generatedTypeNames.set(`${pascalCase(model.module || model.name)}Behaviors`, 'the behaviours interface');
  generatedTypeNames.set('SpecTest', 'the spec test registry');
  generatedTypeNames.set('SpecTestName', 'the spec test registry');
  // Names the generated modules import from the wire runtime.
  for (const n of [
    'Reader',
    'Writer',
    'DecodeError',
    'ConfigError',
    'Machine',
    'MachineOptions',
    'TransitionSpec',
  ])
    generatedTypeNames.set(n, `the wire runtime's '${n}' (imported by the generated modules)`);
  for (const t of model.types) {
    if (!checkDeclName(t.name, 'type', t.pointer, true)) continue;
    const clash = generatedTypeNames.get(t.name);
    if (clash)
      report(
        VIB.DUPLICATE_TYPE,
        `type '${t.name}' is already defined: it collides with ${clash}`,
        t.pointer,
        true,
      );
  }

  // ---- value names the modules export: index.ts re-exports every module, so each name may have
  // only one owner (two enums HTTPCode and HttpCode would both export HTTP_CODE_VALUES).
  const exported = new Map<string, string>([
    ['CONSTANTS', 'the CONSTANTS table'],
    ['BEHAVIOR_NAMES', 'the behaviour list'],
    ['SPEC_TESTS', 'the spec test registry'],
    ['missingScenarios', 'the spec test registry'],
    ['createMachine', 'the wire runtime'],
    ['indexTransitions', 'the wire runtime'],
  ]);
  const claim = (name: string, owner: string, pointer: string): void => {
    const prev = exported.get(name);
    if (prev !== undefined && prev !== owner)
      report(
        VIB.DUPLICATE_TYPE,
        `${owner} generates '${name}', which ${prev} already declares`,
        pointer,
        true,
      );
    else exported.set(name, owner);
  };
  for (const c of model.constants) claim(c.name, `constant '${c.name}'`, c.pointer);
  for (const e of enums.values()) {
    claim(`${upperSnake(e.name)}_VALUES`, `enum '${e.name}'`, e.pointer);
    claim(`is${e.name}`, `enum '${e.name}'`, e.pointer);
  }
  for (const f of model.fsms) {
    claim(`${upperSnake(f.name)}_TRANSITIONS`, `fsm '${f.name}'`, f.pointer);
    claim(`${upperSnake(f.name)}_INITIAL`, `fsm '${f.name}'`, f.pointer);
    claim(`next${f.name}`, `fsm '${f.name}'`, f.pointer);
    claim(`create${f.name}`, `fsm '${f.name}'`, f.pointer);
  }

  for (const e of enums.values()) {
    const seen = new Map<string, string>();
    for (const m of e.members) {
      const prev = seen.get(m.name);
      if (prev !== undefined)
        report(
          VIB.DUPLICATE_ENUM_MEMBER,
          `enum '${e.name}' lists '${m.name}' twice`,
          m.pointer,
          false,
          'error',
          [firstAt(prev)],
        );
      else seen.set(m.name, m.pointer);
    }
  }

  const checkTypeRef = (t: TypeRef, pointer: string): void => {
    const known = enums.has(t.name) || records.has(t.name);
    const scalar = SCALAR_BUILTINS.get(t.name);
    const generic = GENERIC_BUILTINS.get(t.name);
    if (!known && !scalar && !generic) {
      if (options.allowUnknownTypes)
        report(VIB.UNKNOWN_TYPE, `unknown type '${t.name}' (emitted as unknown)`, pointer, false, 'warning');
      else report(VIB.UNKNOWN_TYPE, `unknown type '${t.name}'`, pointer);
      return;
    }
    if (generic) {
      if (t.args.length < generic.min || t.args.length > generic.max) {
        const want = generic.min === generic.max ? `${generic.min}` : `${generic.min} to ${generic.max}`;
        report(VIB.TYPE_ARITY, `'${t.name}' takes ${want} type argument(s), found ${t.args.length}`, pointer);
        return;
      }
      t.args.forEach((a, i) => {
        if (typeof a === 'number') {
          if (!(t.name === 'Array' && i === 1))
            report(VIB.TYPE_ARITY, `argument ${i + 1} of '${t.name}' must be a type, found ${a}`, pointer);
        } else checkTypeRef(a, pointer);
      });
      if (t.name === 'Array' && t.args.length === 2 && typeof t.args[1] !== 'number') {
        report(VIB.TYPE_ARITY, `the second argument of 'Array' must be a size`, pointer);
      }
    } else if (t.args.length > 0) {
      report(VIB.TYPE_ARITY, `'${t.name}' takes no type arguments, found ${t.args.length}`, pointer);
    }
  };

  for (const r of records.values()) {
    const seen = new Map<string, string>();
    const specNames = new Map<string, string>();
    const isMessage = r.wire !== undefined && r.wire.group !== 'record';
    if (isMessage) seen.set('type', `${r.pointer}/wire`);
    for (const f of r.fields) {
      const tsName = camelCase(f.name);
      if (!isIdentifier(tsName)) {
        report(
          VIB.INVALID_IDENTIFIER,
          `field '${f.name}' of '${r.name}' converts to '${tsName}', not a valid identifier (${IDENTIFIER_RULE})`,
          f.pointer,
          true,
        );
        continue;
      }
      const prev = seen.get(tsName);
      if (prev !== undefined) {
        const like = prev.endsWith('/wire') ? 'the message discriminant' : `field '${specNames.get(tsName)}'`;
        report(
          VIB.DUPLICATE_FIELD,
          `field '${f.name}' of '${r.name}' is '${tsName}' in TypeScript, like ${like}`,
          f.pointer,
          true,
          'error',
          [firstAt(prev)],
        );
      } else {
        seen.set(tsName, f.pointer);
        specNames.set(tsName, f.name);
      }
      if (f.type) checkTypeRef(f.type, f.pointer);
    }
  }

  // ---- wire
  const tags = new Map<string, string>();
  for (const r of records.values()) {
    if (!r.wire) continue;
    const key = `${r.wire.group}#${r.wire.tag}`;
    const prev = tags.get(key);
    if (prev !== undefined) {
      report(
        VIB.DUPLICATE_WIRE_TAG,
        `wire tag ${r.wire.tag} of group '${r.wire.group}' is used by '${prev}' and '${r.name}'`,
        `${r.wire.pointer}/tag`,
      );
    } else tags.set(key, r.name);
  }
  const wireChecked = new Set<string>();
  const checkEncodable = (r: RecordDef, via: string): void => {
    if (wireChecked.has(r.name)) return;
    wireChecked.add(r.name);
    for (const f of r.fields) {
      if (!f.type) continue;
      const why = encodableProblem(f.type, enums, records);
      // Unknown names were reported as VIB009 already (an error), unless allowUnknownTypes made
      // that a warning: then the wire still cannot carry them, and emission must not be reached.
      if (why && (options.allowUnknownTypes || !why.endsWith('is not a known type'))) {
        report(
          VIB.NOT_ENCODABLE,
          `field '${f.name}' of '${r.name}' (sent on the wire by '${via}') cannot be encoded: ${why}`,
          f.pointer,
        );
        continue;
      }
      const walk = (t: TypeRef): void => {
        const nested = records.get(t.name);
        if (nested) checkEncodable(nested, via);
        for (const a of t.args) if (typeof a !== 'number') walk(a);
      };
      walk(f.type);
    }
  };
  for (const r of records.values()) if (r.wire) checkEncodable(r, r.name);

  // ---- fsm
  const fsmNames = new Map<string, string>();
  for (const m of model.fsms) {
    const prevFsm = fsmNames.get(m.name);
    if (prevFsm !== undefined) {
      report(VIB.DUPLICATE_FSM, `fsm '${m.name}' is defined twice`, `${m.pointer}/name`, false, 'error', [
        firstAt(`${prevFsm}/name`),
      ]);
      continue;
    }
    fsmNames.set(m.name, m.pointer);
    if (RESERVED_WORDS.has(m.name))
      report(
        VIB.RESERVED_WORD,
        `fsm '${m.name}' collides with the reserved word '${m.name}'`,
        `${m.pointer}/name`,
      );
    const states = new Map<string, string>();
    for (const s of m.states) {
      const prev = states.get(s.name);
      if (prev !== undefined)
        report(
          VIB.DUPLICATE_STATE,
          `fsm '${m.name}' lists state '${s.name}' twice`,
          s.pointer,
          false,
          'error',
          [firstAt(prev)],
        );
      else states.set(s.name, s.pointer);
    }
    if (m.stateType !== undefined) {
      const en = enums.get(m.stateType);
      if (!en) {
        report(
          VIB.STATE_TYPE_MISMATCH,
          `state_type '${m.stateType}' of fsm '${m.name}' is not an enum`,
          `${m.pointer}/state_type`,
        );
      } else {
        const missing = en.members.filter((x) => !states.has(x.name)).map((x) => x.name);
        const extra = [...states.keys()].filter((s) => !en.members.some((x) => x.name === s));
        if (missing.length || extra.length) {
          const parts = [
            ...(missing.length ? [`missing ${missing.join(', ')}`] : []),
            ...(extra.length ? [`not in the enum: ${extra.join(', ')}`] : []),
          ];
          report(
            VIB.STATE_TYPE_MISMATCH,
            `states of fsm '${m.name}' differ from enum '${m.stateType}' (${parts.join('; ')})`,
            `${m.pointer}/states`,
          );
        }
      }
    }
    let initialOk = false;
    if (m.initial === undefined) {
      report(VIB.MISSING_INITIAL, `fsm '${m.name}' has no initial state`, `${m.pointer}/name`);
    } else if (!states.has(m.initial)) {
      report(
        VIB.MISSING_INITIAL,
        `initial state '${m.initial}' of fsm '${m.name}' is not one of its states`,
        `${m.pointer}/initial`,
      );
    } else initialOk = true;
    const pairs = new Map<string, string>();
    const adj = new Map<string, string[]>();
    let transitionsOk = true;
    for (const t of m.transitions) {
      for (const end of ['from', 'to'] as const) {
        if (!states.has(t[end])) {
          transitionsOk = false;
          report(
            VIB.UNKNOWN_STATE,
            `transition ${end} '${t[end]}' of fsm '${m.name}' is not one of its states`,
            `${t.pointer}/${end}`,
          );
        }
      }
      const key = `${t.from}\u0000${t.on}`;
      const prev = pairs.get(key);
      if (prev !== undefined) {
        report(
          VIB.DUPLICATE_TRANSITION,
          `fsm '${m.name}' has two transitions from '${t.from}' on '${t.on}'`,
          `${t.pointer}/on`,
          false,
          'error',
          [firstAt(prev)],
        );
      } else pairs.set(key, t.pointer);
      const row = adj.get(t.from) ?? [];
      row.push(t.to);
      adj.set(t.from, row);
    }
    if (initialOk && transitionsOk) {
      const reached = new Set<string>([m.initial as string]);
      const queue = [m.initial as string];
      while (queue.length) {
        for (const n of adj.get(queue.shift() as string) ?? []) {
          if (!reached.has(n)) {
            reached.add(n);
            queue.push(n);
          }
        }
      }
      for (const [s, p] of states) {
        if (!reached.has(s))
          report(
            VIB.UNREACHABLE_STATE,
            `state '${s}' of fsm '${m.name}' is unreachable from '${m.initial}'`,
            p,
          );
      }
    }
  }

  // ---- constraints over constants
  const constantValue = (name: string): ExprValue | string | undefined => {
    const c = constants.get(name);
    if (!c) return undefined;
    if (c.kind === 'int' || c.kind === 'float') return Number(c.value);
    if (c.kind === 'bool') return c.value as boolean;
    return `constant '${name}' is a ${c.kind === 'object' ? 'structured value' : c.kind}, not a number or boolean`;
  };
  const constraintNames = new Map<string, string>();
  for (const c of model.constraints) {
    const prev = constraintNames.get(c.name);
    if (prev !== undefined)
      report(
        VIB.DUPLICATE_CONSTRAINT,
        `constraint '${c.name}' is defined twice`,
        `${c.pointer}/name`,
        false,
        'error',
        [firstAt(`${prev}/name`)],
      );
    else constraintNames.set(c.name, c.pointer);
    checkExpr(c.expr, `${c.pointer}/expr`, `constraint '${c.name}'`, constantValue, true);
  }

  function checkExpr(
    expr: string,
    pointer: string,
    what: string,
    lookup: (n: string) => ExprValue | string | undefined,
    evaluate: boolean,
  ): void {
    const range = at(pointer);
    const inside = (offset: number) => (range ? shiftRange(range, text, offset) : undefined);
    const e = parseExpr(expr);
    if (isExprError(e)) {
      out.push(createDiagnostic(VIB.EXPR_SYNTAX, `${what}: ${e.error}`, file, inside(e.offset)));
      return;
    }
    let bad = false;
    for (const n of exprNames(e)) {
      const v = lookup(n.name);
      if (v === undefined) {
        out.push(
          createDiagnostic(
            VIB.UNKNOWN_CONSTANT,
            `${what}: unknown constant '${n.name}'`,
            file,
            inside(n.offset),
          ),
        );
        bad = true;
      }
    }
    if (bad) return;
    try {
      const v = evaluateExpr(e, lookup);
      if (typeof v !== 'boolean') {
        out.push(
          createDiagnostic(
            VIB.CONSTANT_KIND,
            `${what}: evaluates to the number ${v}, not a boolean`,
            file,
            range,
          ),
        );
      } else if (!v && evaluate) {
        const values = exprNames(e)
          .map((n) => `${n.name} = ${fmt(lookup(n.name))}`)
          .join(', ');
        out.push(
          createDiagnostic(VIB.CONSTRAINT_VIOLATED, `${what} violated: ${expr} (${values})`, file, range),
        );
      }
    } catch (err) {
      if (err instanceof ExprEvalError) {
        const code = err.code === 'wrong-kind' ? VIB.CONSTANT_KIND : VIB.UNKNOWN_CONSTANT;
        out.push(createDiagnostic(code, `${what}: ${err.message}`, file, inside(err.offset)));
      } else throw err;
    }
  }

  // ---- behaviours
  const behNames = new Map<string, string>();
  const behSpecNames = new Map<string, string>();
  for (const b of model.behaviors) {
    const tsName = camelCase(b.name);
    if (!isIdentifier(tsName)) {
      report(
        VIB.INVALID_IDENTIFIER,
        `behaviour '${b.name}' converts to '${tsName}', not a valid identifier (${IDENTIFIER_RULE})`,
        `${b.pointer}/name`,
      );
      continue;
    }
    const prev = behNames.get(tsName);
    if (prev !== undefined) {
      const like = behSpecNames.get(tsName);
      const msg =
        like === b.name
          ? `behaviour '${b.name}' is defined twice`
          : `behaviour '${b.name}' is '${tsName}' in TypeScript, like '${like}'`;
      report(VIB.DUPLICATE_BEHAVIOR, msg, `${b.pointer}/name`, false, 'error', [firstAt(`${prev}/name`)]);
    } else {
      behNames.set(tsName, b.pointer);
      behSpecNames.set(tsName, b.name);
    }
    const params = new Map<string, string>();
    for (const p of b.params) {
      const pn = camelCase(p.name);
      if (!isIdentifier(pn))
        report(
          VIB.INVALID_IDENTIFIER,
          `parameter '${p.name}' of '${b.name}' converts to '${pn}', not a valid identifier (${IDENTIFIER_RULE})`,
          `${p.pointer}/name`,
        );
      else if (RESERVED_WORDS.has(pn))
        report(
          VIB.RESERVED_WORD,
          `parameter '${p.name}' of '${b.name}' collides with the reserved word '${pn}'`,
          `${p.pointer}/name`,
        );
      else if (params.has(pn))
        report(
          VIB.DUPLICATE_PARAM,
          `behaviour '${b.name}' has two parameters named '${pn}'`,
          `${p.pointer}/name`,
        );
      else params.set(pn, p.pointer);
      if (p.type) checkTypeRef(p.type, `${p.pointer}/type`);
    }
    if (b.returns?.type) checkTypeRef(b.returns.type, b.returns.pointer);
  }

  // ---- tests
  const testNames = new Map<string, string>();
  for (const t of model.tests) {
    const prev = testNames.get(t.name);
    if (prev !== undefined)
      report(VIB.DUPLICATE_TEST, `test '${t.name}' is defined twice`, `${t.pointer}/name`, false, 'error', [
        firstAt(`${prev}/name`),
      ]);
    else testNames.set(t.name, t.pointer);
  }

  // ---- config
  if (model.configRecord !== undefined) {
    const rec = records.get(model.configRecord);
    if (!rec) {
      report(
        VIB.CONFIG,
        `config record '${model.configRecord}' is not a record of this spec`,
        '/runtime_config/record',
      );
    } else {
      const fieldTypes = new Map(rec.fields.map((f) => [f.name, f.type]));
      for (const [name, value] of Object.entries(rec.defaults)) {
        const t = fieldTypes.get(name);
        const p = `${rec.pointer}/defaults/${name}`;
        if (t === undefined)
          report(VIB.CONFIG, `default for unknown field '${name}' of '${rec.name}'`, p, true);
        else if (t && !defaultFits(t, value, enums))
          report(
            VIB.CONFIG,
            `default ${fmt(value)} does not fit field '${name}: ${rec.fields.find((f) => f.name === name)?.typeText}'`,
            p,
          );
      }
      for (const f of rec.fields) {
        if (Object.hasOwn(rec.defaults, f.name) || !f.type) continue;
        const cname = upperSnake(f.name); // the name emit.ts's configDefault looks up
        const c = constants.get(cname);
        if (c) {
          if (!defaultFits(f.type, c.value, enums) || (c.kind === 'float' && !isFloatType(f.type))) {
            report(
              VIB.CONSTANT_KIND,
              `constant '${cname}' is a ${c.kind} (${fmt(c.value)}), but config field '${f.name}' is '${f.typeText}'`,
              c.pointer,
            );
          }
        } else if (f.type.name !== 'Option' && f.type.name !== 'Optional') {
          report(
            VIB.CONFIG,
            `config field '${f.name}' has no default: define constant '${cname}' or add it to '${rec.name}.defaults'`,
            f.pointer,
            true,
          );
        }
      }
      // Fields stand in with a value of their type, so `!enabled || limit > 0` type-checks.
      const fieldLookup = (n: string): ExprValue | string | undefined => {
        if (!fieldTypes.has(n)) return constantValue(n);
        return SCALAR_BUILTINS.get(fieldTypes.get(n)?.name ?? '')?.wire === 'bool' ? false : 0;
      };
      for (const c of rec.constraints)
        checkExpr(c.expr, c.pointer, `constraint of '${rec.name}'`, fieldLookup, false);
    }
  }
  return out;
}

function isFloatType(t: TypeRef): boolean {
  return SCALAR_BUILTINS.get(t.name)?.wire === 'f64';
}

/** True when a plain default value fits the field type (shallow for collections). */
function defaultFits(t: TypeRef, v: unknown, enums: ReadonlyMap<string, EnumDef>): boolean {
  const en = enums.get(t.name);
  if (en) return typeof v === 'string' && en.members.some((m) => m.name === v);
  const s = SCALAR_BUILTINS.get(t.name);
  if (s && t.args.length === 0) {
    switch (s.wire) {
      case 'uint':
        return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
      case 'int':
        return typeof v === 'number' && Number.isSafeInteger(v);
      case 'u64':
      case 'i64':
        return typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v));
      case 'f64':
        return typeof v === 'number';
      case 'bool':
        return typeof v === 'boolean';
      case 'string':
        return typeof v === 'string';
      default:
        return false;
    }
  }
  const g = GENERIC_BUILTINS.get(t.name);
  if (g?.kind === 'option') return v === null || defaultFits(t.args[0] as TypeRef, v, enums);
  if (g?.kind === 'list') return Array.isArray(v);
  return false;
}

function encodableProblem(
  t: TypeRef,
  enums: ReadonlyMap<string, EnumDef>,
  records: ReadonlyMap<string, RecordDef>,
): string | null {
  if (enums.has(t.name) || records.has(t.name)) return null;
  const s = SCALAR_BUILTINS.get(t.name);
  if (s && t.args.length === 0) return s.wire ? null : `'${t.name}' has no wire encoding`;
  const g = GENERIC_BUILTINS.get(t.name);
  if (!g) return `'${t.name}' is not a known type`;
  if (g.kind === 'result') return `'${t.name}' has no wire encoding`;
  for (const a of t.args) {
    if (typeof a === 'number') continue;
    const why = encodableProblem(a, enums, records);
    if (why) return why;
  }
  return null;
}
