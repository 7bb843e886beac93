/**
 * A binary min-heap of events keyed by (time, sequence number). The sequence number is assigned
 * at insertion and strictly increases, so events at the same virtual time run in the order they
 * were scheduled: ties never depend on heap layout, which keeps runs deterministic.
 */

/** One queued event. `cancelled` events stay in the heap and are skipped when popped. */
export interface QueuedEvent {
  /** Virtual time (ms) at which the event runs. Only change it while the event is not queued. */
  at: number;
  /** Insertion order; breaks ties between equal times. Only change it while the event is not queued. */
  seq: number;
  /** Set to skip the event lazily (cheaper than removing it from the heap). */
  cancelled: boolean;
}

/** A (time, seq)-ordered priority queue. */
export class EventQueue<E extends QueuedEvent> {
  private readonly heap: E[] = [];

  /** Number of queued events (including cancelled ones not yet popped). */
  get size(): number {
    return this.heap.length;
  }

  /** Inserts an event. */
  push(ev: E): void {
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i] as E, h[p] as E)) break;
      swap(h, i, p);
      i = p;
    }
  }

  /** The earliest event without removing it, or undefined when empty. */
  peek(): E | undefined {
    return this.heap[0];
  }

  /** Removes and returns the earliest event, or undefined when empty. */
  pop(): E | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0] as E;
    const last = h.pop() as E;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l] as E, h[m] as E)) m = l;
        if (r < h.length && before(h[r] as E, h[m] as E)) m = r;
        if (m === i) break;
        swap(h, i, m);
        i = m;
      }
    }
    return top;
  }
}

function before(x: QueuedEvent, y: QueuedEvent): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}

function swap<T>(h: T[], i: number, j: number): void {
  const t = h[i] as T;
  h[i] = h[j] as T;
  h[j] = t;
}
