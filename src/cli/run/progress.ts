/**
 * Live progress on stderr. On a terminal: a cli-progress bar redrawn in
 * place (done/total, rate, ETA, failures, p99). Elsewhere (CI logs, files): a
 * plain status line every few seconds, since carriage-return redraws would
 * flood a log.
 */

import { SingleBar } from 'cli-progress';

export interface ProgressSnapshot {
  /** Lines finished, counting those skipped because an earlier run did them. */
  done: number;
  /** Lines in the input, once counted (file inputs only). */
  total: number | undefined;
  /** Lines per second processed by this run. */
  rate: number;
  failed: number;
  p99Ms: number;
}

export type ProgressMode = 'auto' | 'bar' | 'plain' | 'none';

export interface Progress {
  stop(): void;
}

export function startProgress(mode: ProgressMode, stream: NodeJS.WritableStream & { isTTY?: boolean }, snapshot: () => ProgressSnapshot, plainIntervalMs: number): Progress {
  const resolved = mode === 'auto' ? (stream.isTTY === true ? 'bar' : 'plain') : mode;
  if (resolved === 'none') return { stop: () => undefined };
  if (resolved === 'plain') {
    const timer = setInterval(() => stream.write(`sluice: ${statusLine(snapshot())}\n`), plainIntervalMs);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }
  const bar = new SingleBar({
    stream,
    fps: 10,
    hideCursor: true,
    clearOnComplete: false,
    // A terminal-only widget: cli-progress itself skips drawing when the stream is not a TTY.
    noTTYOutput: false,
    format: () => barLine(snapshot()),
  });
  bar.start(1, 0);
  return { stop: () => bar.stop() };
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
  const parts = [s.total === undefined ? `${s.done} lines` : `${s.done}/${s.total} lines`, `${formatRate(s.rate)}/s`];
  if (s.total !== undefined) parts.push(`ETA ${s.rate > 0 ? formatDuration(((s.total - s.done) / s.rate) * 1000) : '?'}`);
  parts.push(`${s.failed} failed`, `p99 ${Number.isNaN(s.p99Ms) ? '-' : formatMs(s.p99Ms)}`);
  return parts.join(' | ');
}

function formatRate(r: number): string {
  return r >= 100 ? r.toFixed(0) : r.toFixed(1);
}

export function formatMs(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(0)}µs`;
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
