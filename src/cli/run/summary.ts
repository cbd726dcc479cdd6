/** The end-of-run report printed to stderr (stdout stays free for pipelines). */

import { formatDuration, formatMs } from './progress.js';
import type { RunSummary } from './runner.js';

export function formatSummary(s: RunSummary): string {
  const secs = s.elapsedMs / 1000;
  const processed = s.ok + s.dead;
  // After an interrupt, the time that matters is the drain's own: how long Ctrl-C took to take effect.
  const drain = s.drainMs === undefined ? '' : formatDuration(s.drainMs);
  const head =
    s.interrupted === 'force'
      ? `stopped (forced by a second interrupt) ${drain} after the first; run time ${formatDuration(s.elapsedMs)}`
      : s.interrupted === 'drain'
        ? `interrupted; in-flight lines finished in ${drain}; run time ${formatDuration(s.elapsedMs)}`
        : s.fatal !== undefined
          ? `stopped by an error in ${formatDuration(s.elapsedMs)}: ${s.fatal.message}`
          : `done in ${formatDuration(s.elapsedMs)}`;
  const lines = [
    `sluice run: ${head}`,
    `  lines     ${s.read} read${s.total === undefined ? '' : ` of ${s.total}`}: ${s.ok} ok, ${s.dead} dead-lettered (${s.badJson} bad JSON)` +
      (s.skipped > 0 ? `, ${s.skipped} already done` : '') +
      (s.blank > 0 ? `, ${s.blank} blank` : ''),
  ];
  if (s.previousOk + s.previousDead > 0) lines.push(`  resumed   earlier runs: ${s.previousOk} ok, ${s.previousDead} dead-lettered`);
  lines.push(
    `  rate      ${secs > 0 ? (processed / secs).toFixed(1) : '-'} lines/s, ${s.retries} retries`,
    `  latency   p50 ${Number.isNaN(s.p50Ms) ? '-' : formatMs(s.p50Ms)}, p99 ${Number.isNaN(s.p99Ms) ? '-' : formatMs(s.p99Ms)}`,
    `  output    ${s.output}`,
  );
  if (s.dlqWritten) lines.push(`  dlq       ${s.dlq}`);
  lines.push(`  journal   ${s.journal}${s.interrupted !== 'no' ? ' (run the same command again to resume)' : ''}`);
  return lines.join('\n') + '\n';
}
