/**
 * `parseVibee`: text or bytes -> syntax tree + diagnostics. Pure: no I/O, never throws for bad
 * input (every problem becomes a diagnostic with a stable YAML0nn code, see codes.ts).
 *
 * Contract: `document` is non-null exactly when there is no error diagnostic. All syntax errors of
 * a file are collected: after an error, the offending line (and the lines indented under it) are
 * blanked and the text is parsed again, a bounded number of times.
 */
import { createDiagnostic, type Diagnostic } from '../diagnostics.js';
import type { VibeeDocument, VibeeMapping, VibeeNode, VibeePair, VibeeScalar } from './ast.js';
import { parse as grammarParse } from './grammar/vibee.js';
import { PositionMap } from './positions.js';

/** Options of `parseVibee` (all optional; defaults suit real specs). */
export interface ParseVibeeOptions {
  /** Maximum nesting of collections before a `YAML030` diagnostic (default 1000). */
  maxDepth?: number;
  /** Maximum number of syntax errors collected per file (default 20). */
  maxErrors?: number;
}

/** Result of `parseVibee`. */
export interface ParseVibeeResult {
  document: VibeeDocument | null;
  diagnostics: Diagnostic[];
}

const DEFAULT_MAX_DEPTH = 1000;
/** Recovery re-parses the text once per error; above this size only the first error is reported. */
const RECOVERY_MAX_CHARS = 2_000_000;

/** The key of a mapping entry as a string: quoted keys by value, plain keys by their text. */
export function keyString(key: VibeeScalar): string {
  return key.style === 'plain' ? key.raw : String(key.value);
}

/** Decodes strict UTF-8; on failure returns the offset of the first invalid byte. */
function decodeUtf8(bytes: Uint8Array): { text: string } | { badByte: number } {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes) };
  } catch {
    return { badByte: firstInvalidUtf8(bytes) };
  }
}

/** Index of the first byte that does not start or continue a valid UTF-8 sequence. */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i] as number;
    let n = 0;
    let min = 0;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      min = 0x10000;
    } else return i;
    let cp = c & (0xff >> (n + 2));
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return b.length;
}

interface GrammarFailure {
  code: string;
  message: string;
  start: number;
  end: number;
}

/** Turns anything the generated parser throws into a located failure (never rethrows). */
function toFailure(e: unknown, text: string): GrammarFailure {
  if (e && typeof e === 'object' && 'vibeeCode' in e) {
    const v = e as { vibeeCode: string; message: string; start: number; end: number };
    return { code: v.vibeeCode, message: v.message, start: v.start, end: v.end };
  }
  if (e instanceof RangeError) {
    return {
      code: 'YAML030',
      message: 'nesting too deep: the input is nested beyond what the parser supports',
      start: 0,
      end: 0,
    };
  }
  if (e && typeof e === 'object' && 'location' in e && 'expected' in e) {
    const pe = e as {
      location: { start: { offset: number } };
      expected: { type: string; description?: string; text?: string }[] | null;
      found: string | null;
    };
    const at = pe.location.start.offset;
    const expected = [...new Set((pe.expected ?? []).map(describeExpectation))].filter(Boolean);
    const found =
      pe.found === null
        ? 'end of file'
        : pe.found === '\n' || pe.found === '\r'
          ? 'end of line'
          : `\`${pe.found}\``;
    return {
      code: 'YAML099',
      message: `expected ${expected.slice(0, 5).join(', ') || 'something else'}, found ${found}`,
      start: at,
      end: at + 1,
    };
  }
  const message = e instanceof Error ? e.message : String(e);
  return {
    code: 'YAML099',
    message: `internal parser error: ${message}`,
    start: Math.min(0, text.length),
    end: 0,
  };
}

function describeExpectation(x: { type: string; description?: string; text?: string }): string {
  if (x.type === 'literal') return `\`${x.text ?? ''}\``;
  if (x.type === 'end') return 'end of file';
  if (x.type === 'other') return x.description ?? '';
  return x.description ?? '';
}

/** Replaces the line holding `offset` and the lines indented under it by spaces (offsets kept). */
function blankOut(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  let indent = 0;
  while (text[lineStart + indent] === ' ') indent++;
  let end = text.indexOf('\n', offset);
  if (end === -1) end = text.length;
  for (;;) {
    if (end >= text.length) break;
    const next = end + 1;
    let nextEnd = text.indexOf('\n', next);
    if (nextEnd === -1) nextEnd = text.length;
    const line = text.slice(next, nextEnd);
    const trimmed = line.trimStart();
    const nextIndent = line.length - line.replace(/^ +/, '').length;
    if (trimmed !== '' && trimmed !== '\r' && nextIndent <= indent) break;
    end = nextEnd;
  }
  const blank = text.slice(lineStart, end).replace(/[^\r\n]/g, ' ');
  return text.slice(0, lineStart) + blank + text.slice(end);
}

/** Checks the mappings of a tree for duplicate keys (reported at the second, naming the first). */
function checkDuplicates(root: VibeeNode, file: string, out: Diagnostic[]): void {
  const todo: VibeeNode[] = [root];
  while (todo.length > 0) {
    const node = todo.pop() as VibeeNode;
    if (node.kind === 'sequence') {
      todo.push(...node.items);
    } else if (node.kind === 'mapping') {
      checkMapping(node, file, out);
      for (const e of node.entries) todo.push(e.value);
    }
  }
}

function checkMapping(node: VibeeMapping, file: string, out: Diagnostic[]): void {
  const entries = node.entries;
  if (entries.length <= 8) {
    // Small mappings (most of them): compare pairwise, no Map allocated.
    for (let i = 1; i < entries.length; i++) {
      const key = (entries[i] as VibeePair).key;
      const k = keyString(key);
      for (let j = 0; j < i; j++) {
        const first = (entries[j] as VibeePair).key;
        if (keyString(first) === k) {
          out.push(duplicate(k, first, key, file));
          break;
        }
      }
    }
    return;
  }
  const seen = new Map<string, VibeeScalar>();
  for (const { key } of entries) {
    const k = keyString(key);
    const first = seen.get(k);
    if (first === undefined) {
      seen.set(k, key);
      continue;
    }
    out.push(duplicate(k, first, key, file));
  }
}

/** The diagnostic of a duplicate key: at the second occurrence, naming the first. */
function duplicate(k: string, first: VibeeScalar, key: VibeeScalar, file: string): Diagnostic {
  const at = `${first.range.start.line}:${first.range.start.column}`;
  return createDiagnostic(
    'YAML014',
    `duplicate key \`${k}\`: first defined at ${at}`,
    file,
    key.range,
    'error',
    [`the first \`${k}\` is at line ${first.range.start.line}, column ${first.range.start.column}`],
  );
}

/** Characters YAML forbids anywhere (C0 controls other than TAB/LF/CR, DEL), and bare CRs. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these expressions exist to find control characters
const FORBIDDEN = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]|\r(?!\n)/g;
/** FORBIDDEN or a UTF-16 surrogate (one scan finds both). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these expressions exist to find control characters
const SPECIAL = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F\uD800-\uDFFF]|\r(?!\n)/g;
/** SPECIAL for a text without CR. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these expressions exist to find control characters
const SPECIAL_NO_CR = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F\uD800-\uDFFF]/g;
/** SPECIAL_NO_CR as a plain test (no `g` state). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these expressions exist to find control characters
const PLAIN_SPECIAL = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F\uD800-\uDFFF]/;

/**
 * `text` without a leading byte order mark: a BOM is not content, and counting it would shift the
 * indentation and every column of line 1 (and the caret against the printed excerpt).
 */
export function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Parses one `.vibee` file. `text` may be bytes (decoded as strict UTF-8). `fileName` is used
 * verbatim in diagnostics and in the document. A leading BOM is ignored.
 */
export function parseVibee(
  text: string | Uint8Array,
  fileName: string,
  options: ParseVibeeOptions = {},
): ParseVibeeResult {
  const diagnostics: Diagnostic[] = [];
  let source: string;
  if (typeof text === 'string') {
    source = withoutBom(text);
  } else {
    const decoded = decodeUtf8(text);
    if ('badByte' in decoded) {
      const prefix = new TextDecoder('utf-8').decode(text.subarray(0, decoded.badByte));
      const pos = new PositionMap(prefix).position(prefix.length);
      const byte = (text[decoded.badByte] ?? 0).toString(16).padStart(2, '0');
      diagnostics.push(
        createDiagnostic(
          'YAML002',
          `invalid UTF-8: byte 0x${byte} at byte offset ${decoded.badByte} is not valid UTF-8`,
          fileName,
          { start: pos, end: pos },
        ),
      );
      return { document: null, diagnostics };
    }
    source = withoutBom(decoded.text);
  }
  // One pass finds the forbidden characters and whether there is any surrogate (for columns).
  const forbidden: number[] = [];
  let hasSurrogates: boolean | undefined = false;
  // Fast paths: no CR at all (bare CRs impossible) and no special character (nothing to report).
  let re = source.includes('\r') ? SPECIAL : SPECIAL_NO_CR;
  const none = re === SPECIAL_NO_CR && !PLAIN_SPECIAL.test(source);
  re.lastIndex = 0;
  for (let m = none ? null : re.exec(source); m !== null; m = re.exec(source)) {
    const c = source.charCodeAt(m.index);
    if (c >= 0xd800 && c <= 0xdfff) {
      hasSurrogates = true;
      FORBIDDEN.lastIndex = m.index + 1;
      re = FORBIDDEN;
      continue;
    }
    forbidden.push(m.index);
    if (forbidden.length >= 10) {
      if (re === SPECIAL) hasSurrogates = undefined; // not scanned to the end: let PositionMap find out
      break;
    }
  }
  const positions = new PositionMap(source, hasSurrogates);
  for (const at of forbidden) {
    const ch = source[at] as string;
    const range = positions.range(at, at + 1);
    if (ch === '\r')
      diagnostics.push(
        createDiagnostic('YAML005', 'bare carriage return: line ends must be LF or CRLF', fileName, range),
      );
    else {
      const hex = ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
      const name = ch === '\0' ? 'NUL byte (U+0000)' : `control character U+${hex}`;
      diagnostics.push(
        createDiagnostic('YAML003', `${name} is not allowed in a .vibee file`, fileName, range),
      );
    }
  }
  if (diagnostics.length > 0) return { document: null, diagnostics };

  const maxErrors = options.maxErrors ?? 20;
  // `sawDuplicate`: the grammar flags a mapping with a repeated key; only then is the tree walked
  // to report each duplicate (most files have none).
  let sawDuplicate = false;
  const grammarOptions = {
    range: (s: number, e: number) => positions.range(s, e),
    maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
    sawDuplicate: () => {
      sawDuplicate = true;
    },
  };
  let current = source;
  let root: VibeeNode | null = null;
  let lastLine = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      const result = grammarParse(current, grammarOptions) as VibeeNode | null;
      // After recovery this is the tree without the blanked lines: still checked for duplicate
      // keys below, so every problem of the file is reported in one run.
      root = result;
      break;
    } catch (e) {
      const f = toFailure(e, current);
      const line = positions.lineOf(f.start);
      if (attempt > 0 && line <= lastLine) break; // recovery made no progress: stop
      diagnostics.push(
        createDiagnostic(f.code, f.message, fileName, positions.range(f.start, Math.max(f.start, f.end))),
      );
      lastLine = line;
      if (f.code === 'YAML030' || diagnostics.length >= maxErrors || source.length > RECOVERY_MAX_CHARS)
        break;
      current = blankOut(current, f.start);
    }
  }
  if (diagnostics.length === 0 && root === null) {
    const onlyComments = /\S/.test(source.replace(/^\uFEFF/, ''));
    const end = positions.range(source.length, source.length);
    diagnostics.push(
      createDiagnostic(
        'YAML004',
        onlyComments
          ? 'empty document: the file holds only comments; expected a mapping `key: value`'
          : 'empty document: the file is empty; expected a mapping `key: value`',
        fileName,
        onlyComments ? end : undefined,
      ),
    );
  }
  if (root !== null && sawDuplicate) checkDuplicates(root, fileName, diagnostics);
  if (diagnostics.length > 0) return { document: null, diagnostics };
  return { document: { fileName, root }, diagnostics };
}
