/**
 * The syntax tree of a `.vibee` document. Every node carries its source range, so later passes
 * (lowering, ajv validation, semantic checks) can report problems at the spec's line and column.
 *
 * Plain-value conversion (`toPlainValue`) is separate from the tree: the tree keeps the raw lexeme
 * and whether a number was an int or a float.
 */
import type { SourceRange } from '../diagnostics.js';

/** How a scalar was written in the source. */
export type ScalarStyle = 'plain' | 'single-quoted' | 'double-quoted' | 'literal' | 'folded';

/** What a scalar resolved to under the YAML 1.2 core schema. */
export type ScalarType = 'null' | 'bool' | 'int' | 'float' | 'string';

/** A scalar: resolved value plus the raw lexeme it came from. */
export interface VibeeScalar {
  kind: 'scalar';
  type: ScalarType;
  /** Resolved value; ints beyond 2^53 keep full precision as bigint. */
  value: null | boolean | number | bigint | string;
  /** The source text of the scalar as written (without surrounding indentation). */
  raw: string;
  style: ScalarStyle;
  range: SourceRange;
}

/** A key/value pair of a mapping. Keys are scalars (converted to strings for the plain value). */
export interface VibeePair {
  key: VibeeScalar;
  value: VibeeNode;
  range: SourceRange;
}

/** A mapping, block or flow style; entries in source order. */
export interface VibeeMapping {
  kind: 'mapping';
  style: 'block' | 'flow';
  entries: VibeePair[];
  range: SourceRange;
}

/** A sequence, block or flow style. */
export interface VibeeSequence {
  kind: 'sequence';
  style: 'block' | 'flow';
  items: VibeeNode[];
  range: SourceRange;
}

/** Any node of the tree. */
export type VibeeNode = VibeeScalar | VibeeMapping | VibeeSequence;

/** One parsed file. `root` is null for an empty (or comments-only) file. */
export interface VibeeDocument {
  fileName: string;
  root: VibeeNode | null;
}
