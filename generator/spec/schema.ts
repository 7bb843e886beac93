/**
 * JSON Schema (draft 2020-12) of a `.vibee` spec's plain value, as the generator understands it.
 * Lenient where other vibee specs vary (unknown keys inside definitions are allowed; given/then may
 * be lists), strict where emission depends on the shape.
 */
const str = { type: 'string' } as const;
/** given/when/then: a sentence, or (other vibee specs) a list of sentences or `key: value` items. */
const strOrList = {
  type: ['string', 'array'],
  items: { type: ['string', 'number', 'boolean', 'object'] },
} as const;
const ident = { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' } as const;

/** The schema object (passed to ajv's 2020 build). */
export const VIBEE_SPEC_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://vibee-consensus.dev/schema/vibee-spec.json',
  type: 'object',
  required: ['name', 'version', 'language', 'module'],
  properties: {
    name: str,
    version: { type: ['string', 'number'] },
    language: str,
    module: str,
    description: str,
    constants: { type: 'object', additionalProperties: { not: { type: 'null' } } },
    runtime_config: { type: 'object', required: ['record'], properties: { record: ident } },
    types: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        properties: {
          description: str,
          fields: { type: 'object', additionalProperties: { type: 'string', minLength: 1 } },
          enum: { type: 'array', minItems: 1, items: { type: ['string', 'number', 'object', 'boolean'] } },
          variants: { type: 'array', minItems: 1, items: { type: ['string', 'number', 'object'] } },
          wire: {
            type: 'object',
            required: ['group', 'tag'],
            properties: { group: ident, tag: { type: 'integer', minimum: 0, maximum: 1048575 } },
            additionalProperties: false,
          },
          defaults: { type: 'object' },
          constraints: { type: 'array', items: { type: 'string' } },
        },
      },
    },
    fsm: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'states', 'transitions'],
        properties: {
          name: ident,
          description: str,
          state_type: ident,
          initial: str,
          states: { type: 'array', items: str },
          transitions: {
            type: 'array',
            items: {
              type: 'object',
              required: ['from', 'to'],
              properties: {
                // A list of sources is shorthand for one transition per source.
                from: { anyOf: [str, { type: 'array', minItems: 1, items: str }] },
                to: str,
                on: str,
                condition: { type: ['string', 'number', 'boolean'] },
              },
            },
          },
        },
      },
    },
    constraints: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'expr'],
        properties: { name: str, expr: str, description: str },
      },
    },
    behaviors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name'],
        properties: {
          name: str,
          given: strOrList,
          when: strOrList,
          // biome-ignore lint/suspicious/noThenProperty: the spec's given/when/then
          then: strOrList,
          params: {
            type: 'array',
            items: { type: 'object', required: ['name', 'type'], properties: { name: str, type: str } },
          },
          returns: str,
        },
      },
    },
    tests: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name'],
        properties: { name: str, category: str, description: str },
      },
    },
  },
} as const;

/** Top-level sections this generator uses; others are accepted with a warning. */
export const KNOWN_SECTIONS: ReadonlySet<string> = new Set(Object.keys(VIBEE_SPEC_SCHEMA.properties));
