/**
 * A hand-written SVG of the latency distributions: one panel per workload that kept samples,
 * one empirical CDF per target on a log-scaled latency axis (tails stay visible).
 */
import type { BenchReport } from './report.js';
import { sortedCopy } from './stats.js';

const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Renders the SVG document (a string); panels without samples are left out. */
export function renderPlot(report: BenchReport): string {
  const panels = report.workloads
    .map((w) => ({
      w,
      series: report.results.filter((r) => r.workload === w.id && (r.samples?.length ?? 0) > 0),
    }))
    .filter((p) => p.series.length > 0);
  const pw = 420;
  const ph = 240;
  const m = { l: 50, r: 15, t: 30, b: 40 };
  const cols = 2;
  const rows = Math.max(1, Math.ceil(panels.length / cols));
  const width = cols * pw;
  const height = rows * ph + 30;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  report.targets.forEach((t, i) => {
    const x = 10 + i * 90;
    parts.push(`<rect x="${x}" y="8" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`);
    parts.push(`<text x="${x + 16}" y="18">${esc(t)}</text>`);
  });
  panels.forEach(({ w, series }, k) => {
    const ox = (k % cols) * pw;
    const oy = 30 + Math.floor(k / cols) * ph;
    const all = series.flatMap((s) => s.samples!).filter((v) => v > 0);
    const lo = Math.log10(Math.max(1e-3, Math.min(...all)));
    const hi = Math.log10(Math.max(...all));
    const span = hi - lo > 1e-9 ? hi - lo : 1;
    const iw = pw - m.l - m.r;
    const ih = ph - m.t - m.b;
    const X = (v: number) => ox + m.l + ((Math.log10(Math.max(v, 1e-3)) - lo) / span) * iw;
    const Y = (f: number) => oy + m.t + (1 - f) * ih;
    parts.push(`<text x="${ox + m.l}" y="${oy + 18}" font-weight="bold">${esc(w.title)}</text>`);
    parts.push(
      `<rect x="${ox + m.l}" y="${oy + m.t}" width="${iw}" height="${ih}" fill="none" stroke="#999"/>`,
      `<text x="${ox + m.l + iw / 2}" y="${oy + ph - 8}" text-anchor="middle">latency (ms, log)</text>`,
    );
    for (let d = Math.ceil(lo); d <= Math.floor(hi); d++) {
      const x = X(10 ** d).toFixed(1);
      parts.push(
        `<line x1="${x}" y1="${oy + m.t}" x2="${x}" y2="${oy + m.t + ih}" stroke="#eee"/>`,
        `<text x="${x}" y="${oy + m.t + ih + 14}" text-anchor="middle">${10 ** d}</text>`,
      );
    }
    for (const f of [0, 0.5, 0.99, 1]) {
      parts.push(`<text x="${ox + m.l - 4}" y="${Y(f) + 4}" text-anchor="end">${f}</text>`);
    }
    for (const s of series) {
      const color = COLORS[Math.max(0, report.targets.indexOf(s.target)) % COLORS.length];
      const sorted = sortedCopy(s.samples!);
      const step = Math.max(1, Math.floor(sorted.length / 400)); // bound the point count
      const pts: string[] = [];
      for (let i = 0; i < sorted.length; i += step)
        pts.push(`${X(sorted[i]!).toFixed(1)},${Y((i + 1) / sorted.length).toFixed(1)}`);
      pts.push(`${X(sorted[sorted.length - 1]!).toFixed(1)},${Y(1).toFixed(1)}`);
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts.join(' ')}"/>`);
    }
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
