/**
 * Version vectors for the KV store.
 *
 * Internal form: actor -> { counter, at } where `at` is the log index at which that actor's counter
 * last advanced on this key. `at` never leaves the state machine (the wire form is actor+counter).
 *
 * Pruning rule (documented contract): a vector keeps at most `max` entries. When a write would
 * exceed it, the entries whose counter advanced least recently (smallest `at`; ties broken by
 * actor name, bytewise ascending) are dropped until `max` remain. The writing actor's entry is
 * always the most recent, so it is never dropped. Consequence: a context that predates the dropped
 * actor's last write by at least `max` other actors' writes may be taken as newer than it really
 * is (the usual bounded-vector trade-off); nothing else changes.
 */
import type { VersionVector } from './types.js';

/** One internal entry. */
export interface VvEntry {
  counter: number;
  at: number;
}

/** Internal version vector; key order is not significant (serialised sorted by actor). */
export type Vv = Map<string, VvEntry>;

/** Wire form, sorted by actor (deterministic bytes). */
export function toWire(vv: Vv): VersionVector {
  return {
    entries: sortedActors(vv).map((actor) => ({ actor, counter: (vv.get(actor) as VvEntry).counter })),
  };
}

/** Actors in bytewise (code unit) order. */
export function sortedActors(vv: Vv): string[] {
  return [...vv.keys()].sort(cmpStr);
}

/** Deterministic string order (UTF-16 code units; locale independent). */
export function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** True when `a` has seen everything `b` has (a >= b pointwise). */
export function dominates(a: Vv, b: Vv): boolean {
  for (const [actor, e] of b) {
    const mine = a.get(actor);
    if (!mine || mine.counter < e.counter) return false;
  }
  return true;
}

/** Pointwise maximum; `at` follows the larger counter (max `at` on ties). */
export function join(...vvs: Vv[]): Vv {
  const out: Vv = new Map();
  for (const vv of vvs) {
    for (const [actor, e] of vv) {
      const cur = out.get(actor);
      if (!cur || e.counter > cur.counter || (e.counter === cur.counter && e.at > cur.at))
        out.set(actor, { ...e });
    }
  }
  return out;
}

/** Applies the pruning rule above; returns a new vector of at most `max` entries. */
export function prune(vv: Vv, max: number): Vv {
  if (vv.size <= max) return vv;
  const order = [...vv.entries()].sort((x, y) => x[1].at - y[1].at || cmpStr(x[0], y[0]));
  return new Map(order.slice(order.length - max));
}

/** Copies a vector. */
export function cloneVv(vv: Vv): Vv {
  return new Map([...vv].map(([k, e]) => [k, { ...e }]));
}
