/**
 * The typed spec model: what the generator emits from. Built by `lowerDocument` from the syntax
 * tree after the JSON Schema check passes. Every element keeps the JSON pointer of its source node,
 * so semantic checks can report at the spec's line and column through `PointerMap`.
 */
import type { SourceRange } from '../diagnostics.js';

/** A parsed field type: `Name<Arg, ...>[N]`. Numeric args (e.g. `Array<u32, 256>`) are numbers. */
export interface TypeRef {
  name: string;
  args: (TypeRef | number)[];
  /** `String[256]`: a fixed-size suffix. */
  arraySize?: number;
}

/** The kind of a constant's value. */
export type ConstantKind = 'int' | 'float' | 'string' | 'bool' | 'object';

/** A named constant. Ints beyond 2^53 are bigints. */
export interface ConstantDef {
  name: string;
  kind: ConstantKind;
  value: number | bigint | string | boolean | unknown;
  /** The comment lines directly above the constant in the spec, if any. */
  description?: string;
  pointer: string;
}

/** A record field. */
export interface FieldDef {
  name: string;
  /** The type as written. */
  typeText: string;
  /** Parsed type, or null when it did not parse (a diagnostic was reported). */
  type: TypeRef | null;
  pointer: string;
}

/** Wire placement of a record: `group: record` types get standalone codecs, others are messages. */
export interface WireDef {
  group: string;
  tag: number;
  pointer: string;
}

/** An enum: members in declaration order (wire ordinal = position). */
export interface EnumDef {
  kind: 'enum';
  name: string;
  description?: string;
  members: { name: string; pointer: string }[];
  pointer: string;
}

/** A record (interface), optionally a wire message or standalone-coded record. */
export interface RecordDef {
  kind: 'record';
  name: string;
  description?: string;
  fields: FieldDef[];
  wire?: WireDef;
  /** Default values of fields (used by the config validator), keyed by spec field name. */
  defaults: Record<string, unknown>;
  /** Constraints over the record's own fields (snake_case names), checked by the config validator. */
  constraints: { expr: string; pointer: string }[];
  pointer: string;
}

/** Any type definition. */
export type TypeDef = EnumDef | RecordDef;

/** One transition of a state machine. */
export interface TransitionDef {
  from: string;
  to: string;
  on: string;
  condition?: string;
  pointer: string;
}

/** A state machine. */
export interface FsmDef {
  name: string;
  description?: string;
  /** Name of an enum whose members are the states. */
  stateType?: string;
  initial?: string;
  states: { name: string; pointer: string }[];
  transitions: TransitionDef[];
  pointer: string;
}

/** A constraint over constants. */
export interface ConstraintDef {
  name: string;
  expr: string;
  pointer: string;
}

/** A behaviour the runtime implements. */
export interface BehaviorDef {
  name: string;
  given: string;
  when: string;
  then: string;
  params: { name: string; typeText: string; type: TypeRef | null; pointer: string }[];
  returns?: { typeText: string; type: TypeRef | null; pointer: string };
  pointer: string;
}

/** An entry of the spec's own test list. */
export interface SpecTestDef {
  name: string;
  category: string;
  input: unknown;
  expected: unknown;
  description: string;
  pointer: string;
}

/** The whole spec. */
export interface SpecModel {
  fileName: string;
  name: string;
  version: string;
  language: string;
  module: string;
  description?: string;
  constants: ConstantDef[];
  types: TypeDef[];
  fsms: FsmDef[];
  constraints: ConstraintDef[];
  behaviors: BehaviorDef[];
  tests: SpecTestDef[];
  /** Name of the record that `config.ts` is generated from (top-level `runtime_config: { record: X }`). */
  configRecord?: string;
}

/** Where each JSON pointer of the plain value came from. `key` is the range of the mapping key. */
export interface PointerLocation {
  range: SourceRange;
  key?: SourceRange;
}

/** JSON pointer (RFC 6901) -> source location. */
export type PointerMap = Map<string, PointerLocation>;
