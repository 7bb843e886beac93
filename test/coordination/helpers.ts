import {
  type CommandResult,
  type CoordinationCommand,
  type CoordinationEvent,
  type CoordinationOptions,
  CoordinationStateMachine,
} from '../../runtime/coordination/index.js';

/** A state machine with an auto-incrementing log index and an event log. */
export class Rig {
  readonly sm: CoordinationStateMachine;
  index = 0;
  readonly events: CoordinationEvent[] = [];
  constructor(opts: CoordinationOptions = {}) {
    this.sm = new CoordinationStateMachine(opts);
    this.sm.onEvent((e) => this.events.push(e));
  }
  apply(cmd: CoordinationCommand): CommandResult {
    this.index += 1;
    return this.sm.applyCommand(cmd, this.index);
  }
  ok(cmd: CoordinationCommand): CommandResult {
    const r = this.apply(cmd);
    if (!r.ok) throw new Error(`${cmd.type} failed: ${r.errorCode} ${r.message}`);
    return r;
  }
  open(id: string, ttlMs = 0): void {
    this.ok({ type: 'SessionOpen', sessionId: id, clientId: id, ttlMs });
  }
  acquire(
    s: string,
    name: string,
    o: { ttlMs?: number; waitMs?: number; tryOnly?: boolean; requestId?: string } = {},
  ): CommandResult {
    return this.apply({
      type: 'LockAcquire',
      sessionId: s,
      name,
      requestId: o.requestId ?? `${s}:${this.index + 1}`,
      ttlMs: o.ttlMs ?? 0,
      waitMs: o.waitMs ?? 0,
      tryOnly: o.tryOnly ?? false,
    });
  }
  release(s: string, name: string, token: bigint): CommandResult {
    return this.apply({ type: 'LockRelease', sessionId: s, name, fenceToken: token });
  }
  advance(ms: number): CommandResult {
    return this.ok({ type: 'TimeAdvance', elapsedMs: ms });
  }
  arrive(s: string, name: string, participants: number, threshold = 1, timeoutMs = 0): CommandResult {
    return this.apply({ type: 'BarrierArrive', sessionId: s, name, participants, threshold, timeoutMs });
  }
  kinds(kind: CoordinationEvent['kind']): CoordinationEvent[] {
    return this.events.filter((e) => e.kind === kind);
  }

  /**
   * Applies a bad command and checks nothing changed: the snapshot equals that of a copy which
   * applied a no-op `TimeAdvance(0)` at the same index instead. Returns the error result.
   */
  expectRejected(cmd: CoordinationCommand, code: string): CommandResult {
    const twin = new CoordinationStateMachine({ limits: this.sm.limits });
    twin.restore(this.sm.snapshot());
    const before = this.events.length;
    const r = this.apply(cmd);
    twin.applyCommand({ type: 'TimeAdvance', elapsedMs: 0 }, this.index);
    if (r.ok || r.errorCode !== code)
      throw new Error(`expected ${code}, got ${r.ok ? 'ok' : r.errorCode}: ${r.message}`);
    if (r.message.length < 10) throw new Error(`unclear message: ${r.message}`);
    if (Buffer.compare(Buffer.from(twin.snapshot()), Buffer.from(this.sm.snapshot())) !== 0)
      throw new Error(`${cmd.type} (${code}) changed the state`);
    if (this.events.length !== before) throw new Error(`${cmd.type} (${code}) emitted events`);
    return r;
  }
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array | null): string | null =>
  b === null ? null : new TextDecoder().decode(b);
