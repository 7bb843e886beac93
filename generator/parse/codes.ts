/**
 * Stable diagnostic codes of the `.vibee` parser (one per kind of error). Codes never change
 * meaning; new kinds get new codes.
 */
export const PARSE_CODES = {
  YAML000: 'file cannot be read (CLI)',
  YAML001: 'TAB character used for indentation',
  YAML002: 'invalid UTF-8 byte sequence',
  YAML003: 'control character (e.g. NUL) in the text',
  YAML004: 'empty document: no content, or only comments',
  YAML005: 'bare carriage return (CR) without a following line feed',
  YAML010: 'invalid escape sequence in a double-quoted string',
  YAML011: 'unterminated quoted string',
  YAML012: 'unexpected (odd or inconsistent) indentation',
  YAML013: 'block scalar line less indented than its first line',
  YAML014: 'duplicate key in a mapping (names the first occurrence)',
  YAML015: 'sequence item where a mapping entry is expected',
  YAML016: '`key = value` instead of `key: value`',
  YAML017: 'a line that is not a mapping entry where one is expected',
  YAML018: 'plain scalar starting with a reserved character',
  YAML019: 'missing or malformed value',
  YAML020: 'unexpected text after a complete value',
  YAML021: 'nested block under a scalar',
  YAML024: 'unclosed flow collection `[` or `{`',
  YAML025: 'stray closing bracket `]` or `}`',
  YAML026: 'unexpected character inside a flow collection',
  YAML030: 'nesting too deep',
  YAML040: 'a second document (`---` or `...`)',
  YAML041: 'directive (`%YAML`, `%TAG`)',
  YAML042: 'explicit key (`? key`)',
  YAML043: 'anchor (`&name`)',
  YAML044: 'alias (`*name`)',
  YAML045: 'tag (`!tag`)',
  YAML099: 'syntax error reported by the grammar (generic)',
} as const;

/** A parser diagnostic code. */
export type ParseCode = keyof typeof PARSE_CODES;
