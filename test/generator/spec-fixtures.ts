/** A small valid spec and helpers to derive invalid variants from it (shared by generator tests). */

/** A minimal spec using every section; each invalid variant changes one thing. */
export const BASE_SPEC = `name: t
version: 1.0.0
language: typescript
module: t
constants:
  A: 1
  B: 2
  S: text
types:
  Color:
    enum: [red, green]
  Point:
    wire: { group: msg, tag: 1 }
    fields:
      x_pos: UInt
      color: Color
fsm:
  - name: M
    initial: a
    states: [a, b]
    transitions:
      - { from: a, to: b, on: go }
constraints:
  - name: c1
    expr: A < B
behaviors:
  - name: do_it
    given: g
    when: w
    then: t
tests:
  - name: t1
    category: c
    input: {}
    expected: {}
    description: d
`;

/** Replaces exactly one occurrence of `from` (throws when absent or ambiguous: a broken fixture). */
export function variant(from: string, to: string, base = BASE_SPEC): string {
  const i = base.indexOf(from);
  if (i < 0 || base.indexOf(from, i + 1) >= 0) throw new Error(`fixture: '${from}' must occur exactly once`);
  return base.slice(0, i) + to + base.slice(i + from.length);
}
