/**
 * consensus_with_tracing: a real 3-member cluster (in-process servers over loopback TCP) with a
 * recording OpenTelemetry provider registered globally: the election produces a
 * `consensus.election` span with its term and duration, client commands produce
 * `consensus.propose` spans, a contended lock a `consensus.lock_wait` span with its wait time.
 */
import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../runtime/client/client.js';
import { createServerTracing } from '../../runtime/server/tracing.js';
import { startTestCluster, type TestCluster } from '../server/helpers.js';
import { RecordingTracerProvider } from './recording-tracer.js';

const provider = new RecordingTracerProvider();

describe('consensus_with_tracing', () => {
  let cluster: TestCluster;
  beforeAll(() => {
    expect(trace.setGlobalTracerProvider(provider)).toBe(true);
  });
  afterAll(async () => {
    await cluster?.close();
    trace.disable();
  });

  it('consensus_with_tracing: an election, proposals and a lock wait produce spans with timings', async () => {
    cluster = await startTestCluster(3);
    const leader = await cluster.leader();
    const term = leader.node.status().term;
    const won = provider.spans.filter(
      (s) => s.name === 'consensus.election' && s.attributes['consensus.election.outcome'] === 'won',
    );
    const mine = won.find((s) => s.attributes['consensus.node'] === leader.id);
    expect(mine, JSON.stringify(provider.spans.map((s) => [s.name, s.attributes]))).toBeDefined();
    expect(mine!.tracer).toBe('vibee-consensus');
    expect(mine!.attributes['consensus.term']).toBe(term);
    expect(mine!.end).not.toBeNull();
    const ms = mine!.attributes['consensus.election.duration_ms'] as number;
    expect(ms).toBeGreaterThanOrEqual(0);
    // The recorded wall time brackets the reported (monotonic) duration, within timer slack.
    expect(ms).toBeLessThanOrEqual(mine!.end! - mine!.start + 5);

    const a = await connect({ endpoints: cluster.endpoints });
    const b = await connect({ endpoints: cluster.endpoints });
    try {
      const before = provider.spans.filter((s) => s.name === 'consensus.propose').length;
      await a.put('traced/k', 'v');
      const puts = provider.spans.filter(
        (s) => s.name === 'consensus.propose' && s.attributes['consensus.command'] === 'KvPut',
      );
      expect(provider.spans.filter((s) => s.name === 'consensus.propose').length).toBeGreaterThan(before);
      expect(puts.length).toBeGreaterThanOrEqual(1);
      expect(puts.at(-1)!.end).not.toBeNull();
      expect(puts.at(-1)!.attributes['consensus.index']).toBeGreaterThan(0);

      const held = await a.lock('traced/lock');
      const waiting = b.lock('traced/lock');
      const deadline = Date.now() + 3000;
      while (!provider.spans.some((s) => s.name === 'consensus.lock_wait') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      const wait = provider.spans.find((s) => s.name === 'consensus.lock_wait');
      expect(wait, 'a queued lock request starts a lock_wait span').toBeDefined();
      expect(wait!.end).toBeNull();
      await held.release();
      const second = await waiting;
      expect(second.fenceToken).toBeGreaterThan(held.fenceToken);
      await second.release();
      expect(wait!.end).not.toBeNull();
      expect(wait!.attributes['consensus.lock']).toBe('traced/lock');
      expect(wait!.attributes['consensus.lock.outcome']).toBe('acquired');
      expect(wait!.attributes['consensus.lock.wait_ms']).toBeGreaterThanOrEqual(0);
    } finally {
      await a.close();
      await b.close();
    }
    for (const s of provider.spans) expect(s.ends, `${s.name} ended more than once`).toBeLessThanOrEqual(1);
  }, 30_000);

  it('an election lost (candidate back to follower) ends its span as lost; close ends an open one', () => {
    let t = 0;
    const local = new RecordingTracerProvider();
    const tr = createServerTracing({ nodeId: 'x', now: () => t, tracer: local.getTracer('t') });
    tr.onRoleChange({ from: 'follower', to: 'pre_candidate', term: 1 });
    t = 40;
    tr.onRoleChange({ from: 'pre_candidate', to: 'candidate', term: 2 });
    t = 90;
    tr.onRoleChange({ from: 'candidate', to: 'follower', term: 3 });
    tr.onRoleChange({ from: 'follower', to: 'candidate', term: 4 });
    tr.close();
    expect(
      local.spans.map((s) => [s.attributes['consensus.election.outcome'], s.attributes['consensus.term']]),
    ).toEqual([
      ['lost', 3],
      ['lost', 0],
    ]);
    expect(local.spans[0]!.attributes['consensus.election.duration_ms']).toBe(90);
    expect(local.spans.every((s) => s.ends === 1)).toBe(true);
  });
});
