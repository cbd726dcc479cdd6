/**
 * Live progress on stderr. On a terminal: one status line redrawn in place
 * (done/total, the latest progress a line's task reported with
 * `ctx.progress()` when it reports any, rate, ETA, failures, p99), cut to the terminal's width so it
 * never wraps; messages (an interrupt, say) clear it, go on their own line,
 * and the status line is drawn again under them. Elsewhere (CI logs, files):
 * a plain status line every few seconds, since carriage-return redraws would
 * flood a log. A few escape codes over the stream, not a library: see
 * docs/cli.md, "Dependencies".
 */

import { shown } from '../../observability/shown.js';

export interface ProgressSnapshot {
  /** Lines finished, counting those skipped because an earlier run did them. */
  done: number;
  /** Lines in the input, once counted (file inputs only). */
  total: number | undefined;
  /** Lines per second processed by this run. */
  rate: number;
  failed: number;
  p99Ms: number;
  /** Appended as is (e.g. `sluice run --redis`: the servers taking work, or Redis being waited for). */
  note?: string;
  /** The latest progress a line's task reported (`ctx.progress(value)`), if any has. */
  report?: { line: number; value: unknown } | undefined;
}

export type ProgressMode = 'auto' | 'bar' | 'plain' | 'none';

export interface Progress {
  /** Writes `message` on a line of its own (the status line, if any, is drawn again below it). */
  log(message: string): void;
  /** Draws the final status (a terminal keeps it as a line of its own) and stops. */
  stop(): void;
}

type Stream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/** Back to column 0 and erase to the end of the line (ECMA-48 CR + EL). */
const CLEAR_LINE = '\r\x1b[K';
const REDRAW_MS = 100;

export function startProgress(mode: ProgressMode, stream: Stream, snapshot: () => ProgressSnapshot, plainIntervalMs: number): Progress {
  const resolved = mode === 'auto' ? (stream.isTTY === true ? 'bar' : 'plain') : mode;
  if (resolved === 'none') return { log: (m) => void stream.write(m + '\n'), stop: () => undefined };
  if (resolved === 'plain') {
    const timer = setInterval(() => stream.write(`sluice: ${statusLine(snapshot())}\n`), plainIntervalMs);
    timer.unref();
    return { log: (m) => void stream.write(m + '\n'), stop: () => clearInterval(timer) };
  }
  let stopped = false;
  const draw = (): void => {
    // One column short of the width: a line that fills the last column wraps on some terminals.
    const width = Math.max(20, (stream.columns ?? 80) - 1);
    const line = barLine(snapshot());
    stream.write(CLEAR_LINE + (line.length > width ? line.slice(0, width - 1) + '…' : line));
  };
  draw();
  const timer = setInterval(draw, REDRAW_MS);
  timer.unref();
  return {
    log(message) {
      stream.write(CLEAR_LINE + message + '\n');
      if (!stopped) draw();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      draw();
      stream.write('\n');
    },
  };
}

const WIDTH = 24;

function barLine(s: ProgressSnapshot): string {
  let bar = '';
  if (s.total !== undefined && s.total > 0) {
    const filled = Math.min(WIDTH, Math.round((s.done / s.total) * WIDTH));
    bar = `${'█'.repeat(filled)}${'░'.repeat(WIDTH - filled)} `;
  }
  return bar + statusLine(s);
}

export function statusLine(s: ProgressSnapshot): string {
  const parts = [s.total === undefined ? `${s.done} lines` : `${s.done}/${s.total} lines`];
  // Next to the count, not last: a terminal's line is cut to its width, and this is the part a task chose to show.
  if (s.report !== undefined) parts.push(`line ${s.report.line}: ${formatReport(s.report.value)}`);
  parts.push(`${formatRate(s.rate)}/s`);
  if (s.total !== undefined) parts.push(`ETA ${s.rate > 0 ? formatDuration(((s.total - s.done) / s.rate) * 1000) : '?'}`);
  parts.push(`${s.failed} failed`, `p99 ${Number.isNaN(s.p99Ms) ? '-' : formatMs(s.p99Ms)}`);
  if (s.note !== undefined) parts.push(s.note);
  return parts.join(' | ');
}

/** Longest a reported value is shown: the status line stays one line. */
const REPORT_WIDTH = 24;

/**
 * A reported progress value, compactly: a fraction from 0 to 1 as a
 * percentage, another number or a string as it is, anything else as JSON;
 * cut to REPORT_WIDTH characters.
 */
export function formatReport(value: unknown): string {
  let text: string;
  if (typeof value === 'number') text = value >= 0 && value <= 1 ? `${(value * 100).toFixed(value * 100 < 10 ? 1 : 0)}%` : String(value);
  else if (typeof value === 'string') text = value;
  else text = shown(value);
  text = text.replace(/\s+/g, ' ');
  return text.length > REPORT_WIDTH ? text.slice(0, REPORT_WIDTH - 1) + '…' : text;
}

function formatRate(r: number): string {
  return r >= 100 ? r.toFixed(0) : r.toFixed(1);
}

export function formatMs(ms: number): string {
  if (ms < 0.01) return `${(ms * 1000).toFixed(2)}µs`;
  if (ms < 1) return `${(ms * 1000).toFixed(ms < 0.1 ? 1 : 0)}µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 1 : 0)}ms`;
  return formatDuration(ms);
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
