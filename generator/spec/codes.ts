/**
 * Stable diagnostic codes of the spec validator and generator. Codes are never renumbered or
 * reused; the message text may be refined. Tests pin one invalid spec per code.
 */
export const VIB = {
  /** A required property is missing (JSON Schema `required`). */
  MISSING_PROPERTY: 'VIB001',
  /** A value has the wrong JSON type (JSON Schema `type`). */
  WRONG_TYPE: 'VIB002',
  /** Any other JSON Schema violation (pattern, minimum, minItems, ...). */
  SCHEMA: 'VIB003',
  /** An unknown top-level section (a warning: other vibee files use many). */
  UNKNOWN_SECTION: 'VIB004',
  /** A constant is used where a different kind of value is needed (e.g. a string in arithmetic). */
  CONSTANT_KIND: 'VIB005',
  /** A constraint names a constant (or field) that does not exist. */
  UNKNOWN_CONSTANT: 'VIB006',
  /** A constraint expression does not parse. */
  EXPR_SYNTAX: 'VIB007',
  /** A constraint evaluates to false (the message shows the values). */
  CONSTRAINT_VIOLATED: 'VIB008',
  /** A field, parameter or state type names a type that is neither built in nor defined. */
  UNKNOWN_TYPE: 'VIB009',
  /** A type expression does not parse. */
  TYPE_SYNTAX: 'VIB010',
  /** Two types (or a type and a generated name) have the same name. */
  DUPLICATE_TYPE: 'VIB011',
  /** Two fields of a record have the same TypeScript name. */
  DUPLICATE_FIELD: 'VIB012',
  /** An enum lists a member twice. */
  DUPLICATE_ENUM_MEMBER: 'VIB013',
  /** A state machine lists a state twice. */
  DUPLICATE_STATE: 'VIB014',
  /** Two behaviours have the same name (after camelCase conversion). */
  DUPLICATE_BEHAVIOR: 'VIB015',
  /** Two spec tests have the same name. */
  DUPLICATE_TEST: 'VIB016',
  /** A transition names a state that the machine does not list. */
  UNKNOWN_STATE: 'VIB017',
  /** Two transitions share (from, on): the machine would not be deterministic. */
  DUPLICATE_TRANSITION: 'VIB018',
  /** A state cannot be reached from the initial state. */
  UNREACHABLE_STATE: 'VIB019',
  /** A state machine has no initial state, or it is not one of its states. */
  MISSING_INITIAL: 'VIB020',
  /** A name does not convert to a valid TypeScript identifier. */
  INVALID_IDENTIFIER: 'VIB021',
  /** A name converts to a TypeScript/JavaScript reserved word. */
  RESERVED_WORD: 'VIB022',
  /** Two wire types of one group share a tag. */
  DUPLICATE_WIRE_TAG: 'VIB023',
  /** A wire type has a field whose type cannot be encoded. */
  NOT_ENCODABLE: 'VIB024',
  /** Two state machines have the same name. */
  DUPLICATE_FSM: 'VIB025',
  /** A state machine's `state_type` is not an enum, or its states differ from the enum's members. */
  STATE_TYPE_MISMATCH: 'VIB026',
  /** Two constraints have the same name. */
  DUPLICATE_CONSTRAINT: 'VIB027',
  /** The config section is inconsistent (unknown record, default of the wrong type, unknown field). */
  CONFIG: 'VIB028',
  /** The emitted TypeScript does not type-check (reported at the spec element that produced it). */
  EMIT_TYPECHECK: 'VIB029',
  /** A generic type has the wrong number of type arguments. */
  TYPE_ARITY: 'VIB030',
  /** Two behaviour parameters have the same name. */
  DUPLICATE_PARAM: 'VIB031',
} as const;

/** One of the codes above. */
export type VibCode = (typeof VIB)[keyof typeof VIB];
