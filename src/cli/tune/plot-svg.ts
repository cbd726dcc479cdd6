/**
 * The `sluice tune` plot: throughput and p99 latency against workers, the
 * CPU count and the knee marked, and each way of running the task without
 * a worker pool as a horizontal line at its throughput. A self-contained
 * SVG (no scripts, no external fonts or styles), so it opens anywhere and
 * can go in docs.
 */

import type { TunePoint } from './knee.js';

/** A baseline (no worker pool): one throughput, whatever the size. */
export interface PlotBaseline {
  readonly id: string;
  readonly label: string;
  readonly throughput: number;
}

export interface PlotInput {
  readonly title: string;
  readonly points: readonly TunePoint[];
  readonly cpus: number;
  readonly kneeWorkers: number;
  readonly baselines?: readonly PlotBaseline[];
  /** The id of the baseline recommended over every pool size, drawn in the knee's green. */
  readonly recommended?: string | undefined;
}

const W = 720;
const H = 420;
const M = { left: 70, right: 70, top: 50, bottom: 60 };
const BLUE = '#1f6feb';
const ORANGE = '#d4580b';
const GREEN = '#2da44e';
const GREY = '#6e7781';
/** Baseline labels keep below this band at the top of the plot, where the CPU count and knee labels sit. */
const TOP_LABELS = 44;
const LINE_HEIGHT = 14;

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

/** A "nice" upper bound for an axis: 1, 2 or 5 × 10^k at or above `v`. */
function niceMax(v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) return 1;
  const mag = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= v) return m * mag;
  return 10 * mag;
}

function fmt(v: number): string {
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1).replace(/\.0$/, '');
  return v.toPrecision(2).replace(/\.?0+$/, '');
}

export function plotSvg(input: PlotInput): string {
  const pts = [...input.points].sort((a, b) => a.workers - b.workers);
  const xMin = Math.min(1, ...pts.map((p) => p.workers));
  const xMax = Math.max(xMin + 1, input.cpus, ...pts.map((p) => p.workers));
  const baselines = (input.baselines ?? []).filter((b) => Number.isFinite(b.throughput) && b.throughput > 0);
  const tMax = niceMax(Math.max(...pts.map((p) => p.throughput), ...baselines.map((b) => b.throughput)) * 1.1);
  const lMax = niceMax(Math.max(...pts.map((p) => (Number.isFinite(p.p99Ms) ? p.p99Ms : 0))) * 1.1);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (w: number): number => M.left + ((w - xMin) / (xMax - xMin)) * pw;
  const yT = (t: number): number => M.top + ph - (t / tMax) * ph;
  const yL = (l: number): number => M.top + ph - (l / lMax) * ph;
  const r = (v: number): string => v.toFixed(1);
  // A label beside a vertical line: to its right in the left half of the plot, to its left in the
  // right half, so it stays inside the plot whatever the size (the knee may be the largest size).
  const label = (lx: number, ly: number, fill: string, extra: string, text: string): string =>
    lx > M.left + pw / 2
      ? `<text x="${r(lx - 4)}" y="${ly}" text-anchor="end" fill="${fill}"${extra}>${escapeXml(text)}</text>`
      : `<text x="${r(lx + 4)}" y="${ly}" text-anchor="start" fill="${fill}"${extra}>${escapeXml(text)}</text>`;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<title>${escapeXml(input.title)}</title>`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(input.title)}</text>`);
  // Grid and axes.
  out.push('<g id="axes" stroke="#888" stroke-width="1">');
  out.push(`<line x1="${M.left}" y1="${M.top + ph}" x2="${M.left + pw}" y2="${M.top + ph}"/>`);
  out.push(`<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${M.top + ph}"/>`);
  out.push(`<line x1="${M.left + pw}" y1="${M.top}" x2="${M.left + pw}" y2="${M.top + ph}"/>`);
  out.push('</g>');
  out.push('<g id="ticks" fill="#333">');
  for (let i = 0; i <= 4; i++) {
    const f = i / 4;
    const y = M.top + ph - f * ph;
    out.push(`<line x1="${M.left}" y1="${r(y)}" x2="${M.left + pw}" y2="${r(y)}" stroke="#eee"/>`);
    out.push(`<text x="${M.left - 6}" y="${r(y + 4)}" text-anchor="end" fill="${BLUE}">${fmt(f * tMax)}</text>`);
    out.push(`<text x="${M.left + pw + 6}" y="${r(y + 4)}" text-anchor="start" fill="${ORANGE}">${fmt(f * lMax)}</text>`);
  }
  const step = Math.max(1, Math.ceil((xMax - xMin) / 16));
  for (let w = xMin; w <= xMax; w += step) {
    out.push(`<text x="${r(x(w))}" y="${M.top + ph + 18}" text-anchor="middle">${w}</text>`);
  }
  out.push(`<text x="${M.left + pw / 2 + 60}" y="${H - 18}" text-anchor="middle">workers</text>`);
  out.push(`<text transform="translate(18 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle" fill="${BLUE}">throughput (tasks/s)</text>`);
  out.push(`<text transform="translate(${W - 14} ${M.top + ph / 2}) rotate(90)" text-anchor="middle" fill="${ORANGE}">p99 latency (ms)</text>`);
  out.push('</g>');
  // CPU count and knee.
  const cx = x(input.cpus);
  out.push(`<g id="cpu-count"><line x1="${r(cx)}" y1="${M.top}" x2="${r(cx)}" y2="${M.top + ph}" stroke="#555" stroke-dasharray="4 4"/>`);
  out.push(`${label(cx, M.top + 12, '#555', '', `${input.cpus} CPU${input.cpus === 1 ? '' : 's'}`)}</g>`);
  const knee = pts.find((p) => p.workers === input.kneeWorkers);
  if (knee !== undefined) {
    const kx = x(knee.workers);
    const ky = yT(knee.throughput);
    out.push(`<g id="knee"><line x1="${r(kx)}" y1="${M.top}" x2="${r(kx)}" y2="${M.top + ph}" stroke="${GREEN}" stroke-width="1.5"/>`);
    out.push(`<circle cx="${r(kx)}" cy="${r(ky)}" r="7" fill="none" stroke="${GREEN}" stroke-width="2"/>`);
    out.push(`${label(kx, M.top + 28, GREEN, ' font-weight="bold"', `knee: ${knee.workers} worker${knee.workers === 1 ? '' : 's'}`)}</g>`);
  }
  // The two series.
  const series = (id: string, color: string, y: (p: TunePoint) => number, shape: 'circle' | 'square'): void => {
    const drawn = pts.filter((p) => Number.isFinite(y(p)));
    out.push(`<g id="${id}" fill="${color}" stroke="${color}">`);
    out.push(`<polyline fill="none" stroke-width="2" points="${drawn.map((p) => `${r(x(p.workers))},${r(y(p))}`).join(' ')}"/>`);
    for (const p of drawn) {
      const px = x(p.workers);
      const py = y(p);
      out.push(shape === 'circle' ? `<circle cx="${r(px)}" cy="${r(py)}" r="3.5"/>` : `<rect x="${r(px - 3.5)}" y="${r(py - 3.5)}" width="7" height="7"/>`);
    }
    out.push('</g>');
  };
  series('series-throughput', BLUE, (p) => yT(p.throughput), 'circle');
  series('series-p99', ORANGE, (p) => yL(p.p99Ms), 'square');
  // Baselines, over the series so their labels stay legible: a dashed line across at each one's throughput, its label at the right end, above its line,
  // or below it where that would crowd the label above or the CPU and knee labels at the top; pushed down if
  // still crowded (up, all together, if that leaves the plot). A white halo keeps labels legible over lines.
  if (baselines.length > 0) {
    out.push('<g id="baselines">');
    const placed = baselines.map((b) => ({ b, ly: yT(b.throughput), ty: 0 })).sort((a, b) => a.ly - b.ly);
    let prev = -Infinity;
    for (const p of placed) {
      const above = p.ly - 4;
      p.ty = above >= M.top + TOP_LABELS && above - prev >= LINE_HEIGHT ? above : Math.max(p.ly + LINE_HEIGHT, prev + LINE_HEIGHT);
      prev = p.ty;
    }
    const over = prev - (M.top + ph - 4);
    if (over > 0) for (const p of placed) p.ty -= over;
    for (const { b, ly, ty } of placed) {
      const chosen = b.id === input.recommended;
      const color = chosen ? GREEN : GREY;
      out.push(`<g id="baseline-${escapeXml(b.id)}">`);
      out.push(`<line x1="${M.left}" y1="${r(ly)}" x2="${M.left + pw}" y2="${r(ly)}" stroke="${color}" stroke-width="${chosen ? 2 : 1.5}" stroke-dasharray="8 4"/>`);
      out.push(`<text x="${M.left + pw - 4}" y="${r(ty)}" text-anchor="end" fill="${color}"${chosen ? ' font-weight="bold"' : ''} stroke="#ffffff" stroke-width="3" paint-order="stroke">${escapeXml(`${b.label}: ${fmt(b.throughput)}/s${chosen ? ' (recommended)' : ''}`)}</text>`);
      out.push('</g>');
    }
    out.push('</g>');
  }
  // Legend, under the plot (left of the x-axis label), clear of the curves and marks.
  const lx = M.left;
  const ly = H - 22;
  out.push('<g id="legend">');
  out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 20}" y2="${ly}" stroke="${BLUE}" stroke-width="2"/><text x="${lx + 26}" y="${ly + 4}">throughput</text>`);
  out.push(`<line x1="${lx + 110}" y1="${ly}" x2="${lx + 130}" y2="${ly}" stroke="${ORANGE}" stroke-width="2"/><text x="${lx + 136}" y="${ly + 4}">p99 latency</text>`);
  // Short, to end before the x-axis label.
  if (baselines.length > 0) out.push(`<line x1="${lx + 226}" y1="${ly}" x2="${lx + 246}" y2="${ly}" stroke="${GREY}" stroke-width="1.5" stroke-dasharray="8 4"/><text x="${lx + 252}" y="${ly + 4}">no pool</text>`);
  out.push('</g>');
  out.push('</svg>');
  return out.join('\n') + '\n';
}
