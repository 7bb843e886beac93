/**
 * `runtime_config` checks agree with emission: the default constant of field `timeoutMs` is
 * `TIMEOUT_MS` (upperSnake, as emit.ts looks it up), and record constraints are checked with a Bool
 * field standing in as a boolean (`!enabled || limit > 0` is fine).
 */
import { describe, expect, it } from 'vitest';
import { generate } from '../../generator/index.js';

const HEAD = 'name: demo\nversion: "1.0.0"\nlanguage: typescript\nmodule: demo\n';
const errors = (text: string) =>
  generate([{ fileName: 'demo.vibee', text }])
    .diagnostics.filter((d) => d.severity === 'error')
    .map((d) => `${d.range.start.line}:${d.range.start.column} ${d.code} ${d.message}`);

/** A config record with one camelCase field `timeoutMs` and one constant named `constant`. */
const timeoutSpec = (constant: string) => `${HEAD}constants:
  ${constant}: 10
types:
  Cfg:
    fields:
      timeoutMs: UInt
runtime_config:
  record: Cfg
`;

describe('runtime_config', () => {
  it('a camelCase config field takes its default from the UPPER_SNAKE constant emit.ts uses', () => {
    // Used to be VIB028 "has no default: define constant 'TIMEOUTMS'" although TIMEOUT_MS exists.
    expect(errors(timeoutSpec('TIMEOUT_MS'))).toEqual([]);
  });

  it('a spec the checks accept does not fail the in-memory type check (TIMEOUTMS accepted, TIMEOUT_MS emitted)', () => {
    // Used to pass the checks and then fail the type check: VIB029 at 1:1, "Type
    // 'Readonly<{ timeoutMs: null; }>' is not assignable to type 'Readonly<Cfg>'".
    expect(errors(timeoutSpec('TIMEOUTMS')).filter((e) => e.includes('VIB029'))).toEqual([]);
  });

  it('a Bool field can be used as a boolean in a record constraint', () => {
    const text = `${HEAD}constants:
  ENABLED: true
  LIMIT: 5
types:
  Cfg:
    fields:
      enabled: Bool
      limit: UInt
    constraints:
      - "!enabled || limit > 0"
runtime_config:
  record: Cfg
`;
    // Used to be VIB005 "constraint of 'Cfg': expected a boolean, found the number 0"
    expect(errors(text)).toEqual([]);
  });
});
