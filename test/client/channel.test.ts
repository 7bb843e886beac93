import { afterEach, describe, expect, it } from 'vitest';
import {
  type ClientRequest,
  type ClientResponse,
  decodeClientMessage,
  encodeClientMessage,
  encodeResultMessage,
} from '../../generated/index.js';
import { backoffMs, createLocalChannel, MAX_BACKOFF_MS } from '../../runtime/client/channel.js';
import { connect } from '../../runtime/client/client.js';
import { errorResult } from '../../runtime/coordination/state-machine.js';
import type { Clock } from '../../runtime/env/types.js';
import type { RequestHandler } from '../../runtime/server/handler.js';
import { jsonPayload, response } from '../../runtime/server/protocol.js';
import { createTcpNetwork, type TcpNetwork } from '../../runtime/transport/index.js';

/** A clock whose timers fire only when the test advances it. */
class ManualClock implements Clock {
  t = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;
  readonly requested: number[] = [];
  /** Timers of 500 ms or less: the backoff sleeps (each attempt also arms its deadline, far later). */
  get sleeps(): number[] {
    return this.requested.filter((ms) => ms <= 500);
  }
  now(): number {
    return this.t;
  }
  setTimer(ms: number, fn: () => void): number {
    this.requested.push(ms);
    const id = this.next++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimer(h: unknown): void {
    this.timers.delete(h as number);
  }
  get pending(): number {
    return this.timers.size;
  }
  /** Fires every due timer, earliest first, after advancing to the earliest one. */
  fireNext(): void {
    const [id, t] = [...this.timers].sort((a, b) => a[1].at - b[1].at)[0] ?? [];
    if (id === undefined || !t) return;
    this.t = t.at;
    this.timers.delete(id);
    t.fn();
  }
}

const flush = () => new Promise<void>((r) => setImmediate(r));

function fakeHandler(
  answer: (req: ClientRequest) => ClientResponse | Promise<ClientResponse>,
): RequestHandler {
  return {
    handle: async (req) => answer(req),
    status: () => {
      throw new Error('unused');
    },
    close() {},
  };
}

const cmd = {
  clientId: 'c',
  sequence: 1,
  kind: 'command',
  consistency: 'linearizable',
  payload: new Uint8Array(),
} as const;

describe('channel retry pacing', () => {
  it('backs off 20, 40, 80 ms, then never more than MAX_BACKOFF_MS', () => {
    expect([0, 1, 2, 3, 4, 9, 50].map(backoffMs)).toEqual([20, 40, 80, 100, 100, 100, 100]);
    expect(MAX_BACKOFF_MS).toBeLessThanOrEqual(100);
  });

  it('retries busy with capped backoff on its clock and returns the first final answer', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const ch = createLocalChannel(
      fakeHandler((r) =>
        ++calls <= 6 ? response(r.requestId, 'busy') : response(r.requestId, 'ok', { index: 7 }),
      ),
      clock,
    );
    const p = ch.call(cmd, { deadline: 60_000 });
    for (let i = 0; i < 6; i++) {
      await flush();
      clock.fireNext();
    }
    const res = await p;
    expect(res.status).toBe('ok');
    expect(calls).toBe(7);
    expect(clock.sleeps).toEqual([20, 40, 80, 100, 100, 100]);
  });

  it('follows a not_leader that names a leader at once, without sleeping', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const ch = createLocalChannel(
      fakeHandler((r) =>
        ++calls === 1
          ? response(r.requestId, 'not_leader', { leaderId: 'n2', leaderAddress: 'h:2' })
          : response(r.requestId, 'ok'),
      ),
      clock,
    );
    expect((await ch.call(cmd, { deadline: 1000 })).status).toBe('ok');
    expect(clock.sleeps).toEqual([]);
  });

  it.each([
    ['busy', false, 'busy', undefined],
    ['not_leader', false, 'not_leader', undefined],
    ['indeterminate', true, 'indeterminate', undefined],
    // Only that member's copy was overwritten: another may still commit it (figure 8).
    ['dropped', true, 'rejected', 'dropped'],
  ] as const)(
    'after a %s attempt the final answer reports maybeApplied = %s',
    async (_name, maybe, status, errorCode) => {
      const clock = new ManualClock();
      let calls = 0;
      const ch = createLocalChannel(
        fakeHandler((r) =>
          ++calls === 1
            ? response(r.requestId, status, { errorCode })
            : response(r.requestId, 'ok', { index: 3 }),
        ),
        clock,
      );
      const report = { maybeApplied: !maybe };
      const p = ch.call(cmd, { deadline: 60_000, report });
      await flush();
      clock.fireNext();
      expect((await p).status).toBe('ok');
      expect(report.maybeApplied).toBe(maybe);
    },
  );

  it('64 calls backing off share one close: no listener per sleeper, all end CLOSED at once', async () => {
    const clock = new ManualClock();
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const ch = createLocalChannel(
        fakeHandler((r) => response(r.requestId, 'busy')),
        clock,
      );
      const calls = Array.from({ length: 64 }, () =>
        ch.call(cmd, { deadline: 60_000 }).then(
          () => 'resolved',
          (e: { code?: string }) => e.code,
        ),
      );
      await flush();
      expect(clock.pending).toBe(64); // every call sleeps
      await ch.close();
      expect(await Promise.all(calls)).toEqual(Array(64).fill('CLOSED'));
      expect(clock.pending).toBe(0);
      await flush();
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('client sequence span', () => {
  let net: TcpNetwork | null = null;
  afterEach(async () => {
    await net?.close();
    net = null;
  });

  it('never hands out a sequence 128 or more above its oldest command in flight', async () => {
    net = createTcpNetwork({
      nodeId: 'stub',
      clusterId: 'c1',
      listen: { host: '127.0.0.1', port: 0 },
      peers: {},
    });
    let held: (() => void) | null = null;
    let firstSeq = 0;
    let maxWhileHeld = 0;
    let seen = 0;
    const ok = encodeResultMessage({ ...errorResult('', ''), ok: true, outcome: 'written' });
    net.onClientRequest((_id, frame, reply) => {
      const req = decodeClientMessage(frame) as ClientRequest;
      const answer = (r: ClientResponse) => reply(encodeClientMessage(r));
      if (req.kind === 'status') return answer(response(req.requestId, 'ok', { payload: jsonPayload({}) }));
      seen++;
      if (firstSeq === 0) {
        firstSeq = req.sequence;
        held = () => answer(response(req.requestId, 'ok', { payload: ok }));
        return;
      }
      if (held) maxWhileHeld = Math.max(maxWhileHeld, req.sequence);
      answer(response(req.requestId, 'ok', { payload: ok }));
    });
    const { port } = await net.start();
    const client = await connect({ endpoints: [`127.0.0.1:${port}`], clusterId: 'c1' });
    try {
      const puts = Array.from({ length: 200 }, (_, i) => client.put(`k${i}`, 'v'));
      // The 127 calls after the held one complete; the rest must wait for the held one.
      await Promise.all(puts.slice(1, 128));
      await new Promise<void>((r) => setImmediate(r));
      expect(seen).toBe(128);
      expect(maxWhileHeld).toBe(firstSeq + 127);
      const release = held as (() => void) | null;
      held = null;
      release?.();
      await Promise.all(puts);
      expect(seen).toBe(200);
    } finally {
      await client.close();
    }
  });
});
