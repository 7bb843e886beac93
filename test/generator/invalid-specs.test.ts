/**
 * One invalid spec per diagnostic code, each derived from a valid base spec by one edit, with the
 * exact expected diagnostics (`FILE:LINE:COL: severity[CODE]: MESSAGE`).
 */
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../generator/diagnostics.js';
import { generate } from '../../generator/emit/generate.js';
import { VIB } from '../../generator/spec/codes.js';
import { validateSpec } from '../../generator/spec/validate.js';
import { BASE_SPEC, variant } from './spec-fixtures.js';

const FILE = 'spec.vibee';

/** [code, edit from, edit to, expected diagnostic head lines]. */
const CASES: [string, string, string, string[]][] = [
  [
    'VIB001',
    'module: t\n',
    '',
    ["spec.vibee:1:1: error[VIB001]: the document is missing the required property 'module'"],
  ],
  [
    'VIB002',
    '      x_pos: UInt',
    '      x_pos: [UInt]',
    ["spec.vibee:15:14: error[VIB002]: 'types/Point/fields/x_pos' must be string, found a list"],
  ],
  ['VIB003', 'tag: 1', 'tag: -1', ["spec.vibee:13:30: error[VIB003]: 'types/Point/wire/tag' must be >= 0"]],
  [
    'VIB004',
    '    description: d\n',
    '    description: d\nextra_section: 1\n',
    ["spec.vibee:37:1: warning[VIB004]: unknown top-level section 'extra_section' is ignored"],
  ],
  [
    'VIB005',
    'expr: A < B',
    'expr: A < S',
    ["spec.vibee:25:15: error[VIB005]: constraint 'c1': constant 'S' is a string, not a number or boolean"],
  ],
  [
    'VIB006',
    'expr: A < B',
    'expr: A < C',
    ["spec.vibee:25:15: error[VIB006]: constraint 'c1': unknown constant 'C'"],
  ],
  [
    'VIB007',
    'expr: A < B',
    'expr: A < (B',
    ["spec.vibee:25:17: error[VIB007]: constraint 'c1': expected ')' but found end of expression"],
  ],
  [
    'VIB008',
    'expr: A < B',
    'expr: A > B',
    ["spec.vibee:25:11: error[VIB008]: constraint 'c1' violated: A > B (A = 1, B = 2)"],
  ],
  ['VIB009', 'x_pos: UInt', 'x_pos: Uint', ["spec.vibee:15:14: error[VIB009]: unknown type 'Uint'"]],
  [
    'VIB010',
    'x_pos: UInt',
    'x_pos: List<UInt',
    ["spec.vibee:15:23: error[VIB010]: invalid type 'List<UInt': expected ',' or '>' but found end of type"],
  ],
  [
    'VIB011',
    '  Point:\n',
    '  MsgMessage:\n',
    [
      "spec.vibee:12:3: error[VIB011]: type 'MsgMessage' is already defined: it collides with the union of wire group 'msg'",
    ],
  ],
  [
    'VIB012',
    '      color: Color\n',
    '      color: Color\n      xPos: UInt\n',
    ["spec.vibee:17:7: error[VIB012]: field 'xPos' of 'Point' is 'xPos' in TypeScript, like field 'x_pos'"],
  ],
  [
    'VIB013',
    '[red, green]',
    '[red, green, red]',
    ["spec.vibee:11:24: error[VIB013]: enum 'Color' lists 'red' twice"],
  ],
  [
    'VIB014',
    'states: [a, b]',
    'states: [a, b, a]',
    ["spec.vibee:20:20: error[VIB014]: fsm 'M' lists state 'a' twice"],
  ],
  [
    'VIB015',
    '    then: t\n',
    '    then: t\n  - name: doIt\n    then: x\n',
    ["spec.vibee:31:11: error[VIB015]: behaviour 'doIt' is 'doIt' in TypeScript, like 'do_it'"],
  ],
  [
    'VIB016',
    '    description: d\n',
    '    description: d\n  - name: t1\n',
    ["spec.vibee:37:11: error[VIB016]: test 't1' is defined twice"],
  ],
  [
    'VIB017',
    '{ from: a, to: b, on: go }',
    '{ from: a, to: c, on: go }',
    ["spec.vibee:22:24: error[VIB017]: transition to 'c' of fsm 'M' is not one of its states"],
  ],
  [
    'VIB018',
    '      - { from: a, to: b, on: go }\n',
    '      - { from: a, to: b, on: go }\n      - { from: a, to: a, on: go }\n',
    ["spec.vibee:23:31: error[VIB018]: fsm 'M' has two transitions from 'a' on 'go'"],
  ],
  [
    'VIB019',
    'states: [a, b]',
    'states: [a, b, z]',
    ["spec.vibee:20:20: error[VIB019]: state 'z' of fsm 'M' is unreachable from 'a'"],
  ],
  ['VIB020', '    initial: a\n', '', ["spec.vibee:18:11: error[VIB020]: fsm 'M' has no initial state"]],
  [
    'VIB021',
    '  S: text\n',
    '  S: text\n  9LIVES: 3\n',
    [
      "spec.vibee:9:3: error[VIB021]: constant '9LIVES' is not a valid identifier (ASCII letters, digits, '_' or '$'; not starting with a digit)",
    ],
  ],
  [
    'VIB022',
    'types:\n',
    'types:\n  default:\n    enum: [x]\n',
    ["spec.vibee:10:3: error[VIB022]: type 'default' collides with the reserved word 'default'"],
  ],
  [
    'VIB023',
    'fsm:\n',
    '  Other:\n    wire: { group: msg, tag: 1 }\n    fields:\n      y: UInt\nfsm:\n',
    ["spec.vibee:18:30: error[VIB023]: wire tag 1 of group 'msg' is used by 'Point' and 'Other'"],
  ],
  [
    'VIB024',
    'x_pos: UInt',
    'x_pos: Any',
    [
      "spec.vibee:15:14: error[VIB024]: field 'x_pos' of 'Point' (sent on the wire by 'Point') cannot be encoded: 'Any' has no wire encoding",
    ],
  ],
  [
    'VIB025',
    '      - { from: a, to: b, on: go }\n',
    '      - { from: a, to: b, on: go }\n  - name: M\n    initial: a\n    states: [a]\n    transitions: []\n',
    ["spec.vibee:23:11: error[VIB025]: fsm 'M' is defined twice"],
  ],
  [
    'VIB026',
    '    initial: a\n',
    '    initial: a\n    state_type: Color\n',
    [
      "spec.vibee:21:13: error[VIB026]: states of fsm 'M' differ from enum 'Color' (missing red, green; not in the enum: a, b)",
    ],
  ],
  [
    'VIB027',
    '    expr: A < B\n',
    '    expr: A < B\n  - name: c1\n    expr: B > A\n',
    ["spec.vibee:26:11: error[VIB027]: constraint 'c1' is defined twice"],
  ],
  [
    'VIB028',
    'fsm:\n',
    'runtime_config: { record: Nope }\nfsm:\n',
    ["spec.vibee:17:27: error[VIB028]: config record 'Nope' is not a record of this spec"],
  ],
  [
    // What validation lets through and only the type check of the emitted code finds: a wire
    // message as the config record (its `type` discriminant has no default).
    'VIB029',
    'constants:\n  A: 1\n',
    'runtime_config: { record: Point }\nconstants:\n  X_POS: 1\n  COLOR: red\n  A: 1\n',
    [
      "spec.vibee:1:1: error[VIB029]: the generated code does not type-check (generated/config.ts:9): Property 'type' is missing in type 'Readonly<{ xPos: number; color: string; }>' but required in type 'Readonly<Point>'.",
    ],
  ],
  [
    'VIB030',
    'x_pos: UInt',
    'x_pos: List<UInt, UInt>',
    ["spec.vibee:15:14: error[VIB030]: 'List' takes 1 type argument(s), found 2"],
  ],
  [
    'VIB031',
    '    then: t\n',
    '    then: t\n    params:\n      - { name: a, type: UInt }\n      - { name: a, type: UInt }\n',
    ["spec.vibee:33:17: error[VIB031]: behaviour 'do_it' has two parameters named 'a'"],
  ],
];

describe('invalid spec variants', () => {
  it('the base spec is valid and generates', () => {
    const r = generate([{ fileName: FILE, text: BASE_SPEC }]);
    expect(r.diagnostics).toEqual([]);
    expect(r.files.map((f) => f.path)).toContain('codecs.ts');
  });

  it('covers every code of codes.ts exactly once', () => {
    expect(CASES.map((c) => c[0]).sort()).toEqual(Object.values(VIB).sort());
  });

  it.each(CASES)('%s', (code, from, to, expected) => {
    const text = variant(from, to);
    // VIB029 needs emission + type check; every other code is found by validation alone.
    const diagnostics =
      code === 'VIB029'
        ? generate([{ fileName: FILE, text }]).diagnostics
        : validateSpec({ fileName: FILE, text }).diagnostics;
    expect(diagnostics.map((d) => formatDiagnostic(d).split('\n')[0])).toEqual(expected);
    expect(diagnostics.every((d) => d.code === code)).toBe(true);
  });

  it('prints excerpt and caret under the reported column', () => {
    const text = variant('expr: A < B', 'expr: A < C');
    const [d] = validateSpec({ fileName: FILE, text }).diagnostics;
    expect(d && formatDiagnostic(d, text)).toBe(
      [
        "spec.vibee:25:15: error[VIB006]: constraint 'c1': unknown constant 'C'",
        '      expr: A < C',
        '                ^',
      ].join('\n'),
    );
  });

  it('collects several problems at once instead of stopping at the first', () => {
    const text = variant('states: [a, b]', 'states: [a, b, z, z]', variant('expr: A < B', 'expr: A > B'));
    const codes = validateSpec({ fileName: FILE, text }).diagnostics.map((d) => d.code);
    expect(codes).toEqual(expect.arrayContaining(['VIB014', 'VIB019', 'VIB008']));
  });
});
