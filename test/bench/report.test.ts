import { describe, expect, it } from 'vitest';
import type { FloorResult } from '../../bench/floor.js';
import { renderPlot } from '../../bench/plot.js';
import {
  type BenchReport,
  createProgress,
  formatRatio,
  formatTable,
  formatValue,
  toJson,
} from '../../bench/report.js';
import { summarize } from '../../bench/stats.js';
import type { WorkloadResult } from '../../bench/workloads/types.js';

const ok = (
  workload: string,
  target: string,
  p50: number,
  p99: number,
  samples: number[],
): WorkloadResult => ({
  workload,
  target,
  status: 'ok',
  ops: samples.length,
  durationMs: 100,
  truncated: false,
  metrics: [
    { name: 'p50', unit: 'ms', value: p50, better: 'lower' },
    { name: 'p99', unit: 'ms', value: p99, better: 'lower' },
  ],
  latency: summarize(samples),
  samples,
});

const floor: FloorResult = {
  fdatasync: summarize([1, 1, 1, 3]),
  rtt: summarize([0.05, 0.05, 0.05]),
  floorMs: 1.1,
  dir: '/tmp',
};

function report(): BenchReport {
  return {
    version: 1,
    startedAt: '2026-01-01T00:00:00.000Z',
    host: { node: 'v20', platform: 'linux', arch: 'x64', cpus: 2, cpuModel: 'test', loadavg: [1.5, 1, 0.25] },
    targets: ['ours', 'etcd'],
    workloads: [
      { id: 'put-latency', title: 'sequential put', ops: 3, maxMs: 1000 },
      { id: 'lock-contended', title: 'contended lock', ops: 3, maxMs: 1000 },
      { id: 'barrier', title: 'barrier', ops: 3, maxMs: 1000 },
    ],
    results: [
      ok('put-latency', 'ours', 2, 8, [1, 2, 8]),
      ok('put-latency', 'etcd', 4, 10, [3, 4, 10]),
      {
        workload: 'lock-contended',
        target: 'ours',
        status: 'ok',
        ops: 10,
        durationMs: 10,
        truncated: true,
        metrics: [{ name: 'acq/s', unit: 'ops/s', value: 1234.4, better: 'higher' }],
      },
      {
        workload: 'lock-contended',
        target: 'etcd',
        status: 'ok',
        ops: 10,
        durationMs: 10,
        truncated: false,
        metrics: [{ name: 'acq/s', unit: 'ops/s', value: 617.2, better: 'higher' }],
      },
      {
        workload: 'barrier',
        target: 'ours',
        status: 'error',
        reason: 'boom',
        ops: 0,
        durationMs: 0,
        truncated: false,
        metrics: [],
      },
      {
        workload: 'barrier',
        target: 'etcd',
        status: 'n/a',
        reason: 'no barrier',
        ops: 0,
        durationMs: 0,
        truncated: false,
        metrics: [],
      },
    ],
    floor,
    notes: ['etcd: note one', 'etcd: note one', 'etcd: note two'],
  };
}

describe('formatting', () => {
  it('formats ms to about 3 significant digits and ops/s as integers', () => {
    expect(formatValue(0.12345, 'ms')).toBe('0.123');
    expect(formatValue(1.2345, 'ms')).toBe('1.23');
    expect(formatValue(12.345, 'ms')).toBe('12.3');
    expect(formatValue(123.45, 'ms')).toBe('123');
    expect(formatValue(1234.6, 'ops/s')).toBe('1235');
  });

  it('ratio is subject / baseline, "-" when unknown or baseline zero', () => {
    expect(formatRatio(2, 4)).toBe('0.50x');
    expect(formatRatio(3, 1)).toBe('3.00x');
    expect(formatRatio(undefined, 1)).toBe('-');
    expect(formatRatio(1, undefined)).toBe('-');
    expect(formatRatio(1, 0)).toBe('-');
  });
});

describe('formatTable', () => {
  const text = formatTable(report());
  const lines = text.split('\n');

  it('has an aligned header with one column per target and the ratio', () => {
    expect(lines[0]).toMatch(/^\| workload +\| metric +\| +ours \| +etcd \| ours\/etcd \|$/);
    const tableLines = lines.filter((l) => l.startsWith('|'));
    const width = tableLines[0]!.length;
    for (const l of tableLines) expect(l.length).toBe(width);
  });

  it('puts both targets of a metric on one row with the ratio', () => {
    const p50 = lines.find((l) => l.includes('p50 (ms)'))!;
    expect(p50.split('|').map((c) => c.trim())).toEqual([
      '',
      'sequential put',
      'p50 (ms)',
      '2.00',
      '4.00',
      '0.50x',
      '',
    ]);
    const p99 = lines.find((l) => l.includes('p99 (ms)'))!;
    expect(p99.split('|').map((c) => c.trim())).toEqual(['', '', 'p99 (ms)', '8.00', '10.0', '0.80x', '']);
  });

  it('marks truncated runs, n/a and errors', () => {
    const acq = lines.find((l) => l.includes('acq/s'))!;
    expect(acq).toContain('1234*');
    expect(acq).toContain('2.00x');
    const bar = lines.find((l) => l.startsWith('| barrier'))!;
    expect(bar.split('|').map((c) => c.trim())).toEqual(['', 'barrier', '-', 'error', 'n/a', '-', '']);
    expect(text).toContain('* stopped by the time bound');
    expect(text).toContain('ours barrier: error: boom');
    expect(text).toContain('etcd barrier: n/a: no barrier');
  });

  it('prints the floor and put p50 relative to it, and each note once', () => {
    expect(text).toContain('floor = fdatasync p50 + 2 x loopback RTT p50 = 1.00 + 2 x 0.050 = 1.10 ms');
    expect(text).toContain('ours: sequential put p50 = 1.82 x floor');
    expect(text).toContain('etcd: sequential put p50 = 3.64 x floor');
    expect(text).not.toContain('shared-disk floor'); // not measured in this report
    expect(text.split('note: etcd: note one').length - 1).toBe(1);
    expect(text).toContain('note: etcd: note two');
    expect(text).toContain('2 x test, load avg at start 1.50 1.00 0.25');
  });

  it('prints the shared-disk floor and put p50 relative to it when it was measured', () => {
    const r = report();
    r.floor = {
      ...floor,
      soloFdatasync: summarize([0.5, 0.5]),
      quorumFdatasync: summarize([1.5, 1.5, 1.5]),
      sharedDiskFloorMs: 1.6,
    };
    const t = formatTable(r);
    expect(t).toContain(
      'shared-disk floor (3 members on this one disk) = 2nd of 3 simultaneous fdatasyncs p50 + 2 x RTT p50 = 1.50 + 2 x 0.050 = 1.60 ms',
    );
    expect(t).toContain('one writer alone, same probe: p50 0.500 ms');
    expect(t).toContain('ours: sequential put p50 = 1.82 x floor, 1.25 x shared-disk floor');
  });

  it('with one target there is no ratio column and missing results read "-"', () => {
    const r = report();
    r.targets = ['etcd'];
    const t = formatTable(r);
    expect(t.split('\n')[0]).not.toContain('/');
    const r2 = report();
    r2.results = r2.results.filter((x) => x.target === 'etcd');
    const row = formatTable(r2)
      .split('\n')
      .find((l) => l.includes('p50 (ms)'))!;
    expect(row.split('|').map((c) => c.trim())).toEqual([
      '',
      'sequential put',
      'p50 (ms)',
      '-',
      '4.00',
      '-',
      '',
    ]);
  });
});

describe('toJson', () => {
  it('round-trips the report, dropping raw samples unless asked', () => {
    const parsed = JSON.parse(toJson(report()));
    expect(parsed.version).toBe(1);
    expect(parsed.targets).toEqual(['ours', 'etcd']);
    expect(parsed.workloads.map((w: { id: string }) => w.id)).toEqual([
      'put-latency',
      'lock-contended',
      'barrier',
    ]);
    expect(parsed.results).toHaveLength(6);
    expect(parsed.results[0].samples).toBeUndefined();
    expect(parsed.results[0].latency.p50).toBe(2);
    expect(parsed.results[0].metrics[0]).toEqual({ name: 'p50', unit: 'ms', value: 2, better: 'lower' });
    expect(parsed.floor.floorMs).toBe(1.1);
    const withSamples = JSON.parse(toJson(report(), true));
    expect(withSamples.results[1].samples).toEqual([3, 4, 10]);
  });
});

describe('progress bar', () => {
  const fakeStream = (isTTY: boolean) => {
    const writes: string[] = [];
    const s = { isTTY, write: (c: string) => writes.push(c) } as unknown as NodeJS.WriteStream;
    return { s, writes };
  };

  it('writes nothing when the stream is not a TTY', () => {
    const { s, writes } = fakeStream(false);
    const p = createProgress(s);
    p.update('x', 5, 10);
    p.update('x', 10, 10);
    p.end();
    expect(writes).toEqual([]);
  });

  it('draws and clears on a TTY', () => {
    const { s, writes } = fakeStream(true);
    const p = createProgress(s, 10);
    p.update('put', 10, 10);
    p.end();
    expect(writes[0]).toContain('##########');
    expect(writes[0]).toContain('put 10/10');
    expect(writes[writes.length - 1]).toBe('\r\x1b[K');
  });
});

describe('plot', () => {
  it('renders one CDF polyline per target with samples', () => {
    const svg = renderPlot(report());
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('sequential put');
  });
});
