/** A small unified line diff (for `vibee check`). LCS on the part between common prefix/suffix. */

/** Unified diff of two texts with `context` lines around each change; empty when equal. */
export function unifiedDiff(
  oldText: string,
  newText: string,
  oldName: string,
  newName: string,
  context = 3,
): string {
  if (oldText === newText) return '';
  const a = oldText.split('\n');
  const b = newText.split('\n');
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf])
    suf++;
  const am = a.slice(pre, a.length - suf);
  const bm = b.slice(pre, b.length - suf);
  // ops over the middle: ' ' keep, '-' delete, '+' insert. Quadratic; huge rewrites degrade to delete+insert.
  type Op = [' ' | '-' | '+', string];
  let ops: Op[];
  if (am.length * bm.length > 4_000_000) {
    ops = [...am.map((l): Op => ['-', l]), ...bm.map((l): Op => ['+', l])];
  } else {
    const n = am.length;
    const m = bm.length;
    const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        (lcs[i] as Uint32Array)[j] =
          am[i] === bm[j]
            ? ((lcs[i + 1] as Uint32Array)[j + 1] as number) + 1
            : Math.max((lcs[i + 1] as Uint32Array)[j] as number, (lcs[i] as Uint32Array)[j + 1] as number);
      }
    }
    ops = [];
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && am[i] === bm[j]) {
        ops.push([' ', am[i] as string]);
        i++;
        j++;
      } else if (
        i < n &&
        (j >= m || ((lcs[i + 1] as Uint32Array)[j] as number) >= ((lcs[i] as Uint32Array)[j + 1] as number))
      ) {
        ops.push(['-', am[i] as string]);
        i++;
      } else {
        ops.push(['+', bm[j] as string]);
        j++;
      }
    }
  }
  const all: Op[] = [
    ...a.slice(0, pre).map((l): Op => [' ', l]),
    ...ops,
    ...b.slice(b.length - suf).map((l): Op => [' ', l]),
  ];
  const out = [`--- ${oldName}`, `+++ ${newName}`];
  let k = 0;
  let aLine = 1;
  let bLine = 1;
  while (k < all.length) {
    if ((all[k] as Op)[0] === ' ') {
      k++;
      aLine++;
      bLine++;
      continue;
    }
    // A hunk: back up `context` lines, extend while changes are within 2*context.
    const start = Math.max(0, k - context);
    let hunkA = aLine - (k - start);
    let hunkB = bLine - (k - start);
    let end = k;
    let lastChange = k;
    while (end < all.length && end - lastChange <= 2 * context) {
      if ((all[end] as Op)[0] !== ' ') lastChange = end;
      end++;
    }
    end = Math.min(all.length, lastChange + context + 1);
    const body = all.slice(start, end);
    const aCount = body.filter((o) => o[0] !== '+').length;
    const bCount = body.filter((o) => o[0] !== '-').length;
    out.push(`@@ -${hunkA},${aCount} +${hunkB},${bCount} @@`);
    for (const [op, l] of body) out.push(`${op}${l}`);
    for (let x = k; x < end; x++) {
      const op = (all[x] as Op)[0];
      if (op !== '+') aLine++;
      if (op !== '-') bLine++;
    }
    hunkA = 0;
    hunkB = 0;
    k = end;
  }
  return `${out.join('\n')}\n`;
}
