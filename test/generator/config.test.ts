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

describe('runtime_config', () => {
  it('a camelCase config field takes its default from the UPPER_SNAKE constant emit.ts uses', () => {
    const text = `${HEAD}constants:
  TIMEOUT_MS: 10
types:
  Cfg:
    fields:
      timeoutMs: UInt
runtime_config:
  record: Cfg
`;
    // today: VIB028 "has no default: define constant 'TIMEOUTMS'" although TIMEOUT_MS exists
    expect(errors(text)).toEqual([]);
  });

  it('a spec the checks accept does not fail the in-memory type check (TIMEOUTMS accepted, TIMEOUT_MS emitted)', () => {
    const text = `${HEAD}constants:
  TIMEOUTMS: 10
types:
  Cfg:
    fields:
      timeoutMs: UInt
runtime_config:
  record: Cfg
`;
    // today: VIB029 at 1:1 "Type 'Readonly<{ timeoutMs: null; }>' is not assignable to type 'Readonly<Cfg>'"
    expect(errors(text).filter((e) => e.includes('VIB029'))).toEqual([]);
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
    // today: VIB005 "constraint of 'Cfg': expected a boolean, found the number 0"
    expect(errors(text)).toEqual([]);
  });
});
