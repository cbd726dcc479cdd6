/**
 * `sluice run --metrics` and `sluice/prometheus` serve the pool's series
 * under the same names, types and help (one definition,
 * src/observability/metric-defs.ts): every series the CLI writes that is not
 * its own `sluice_cli_*` is one prom-client registers, declared identically.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPool } from '../../src/pool.js';
import { instrumentPool } from '../../src/observability/prometheus.js';
import { prometheusText } from '../../src/cli/metrics-server.js';

/** `# HELP` and `# TYPE` lines by metric name. */
function declarations(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (m !== null) out.set(`${m[2]} ${m[1]}`, m[3] as string);
  }
  return out;
}

test('the CLI writes the pool series with the names, types and help of sluice/prometheus', async (t) => {
  const pool = createPool({ kind: 'async', tasks: { echo: (x: unknown) => x }, name: 'p' });
  t.after(() => pool.close());
  await pool.run('echo', 1);
  const metrics = instrumentPool(pool);
  t.after(() => metrics.close());
  const prom = declarations(await metrics.registry.metrics());
  const cliText = prometheusText('p', 'echo', pool.stats(), { read: 1, ok: 1, dead: 0, badJson: 0, skipped: 0, retries: 0, inFlight: 0 });
  const cli = declarations(cliText);
  const shared = [...cli.keys()].filter((k) => !k.startsWith('sluice_cli_'));
  assert.ok(shared.length >= 8, `the CLI writes the pool's gauges and retries: ${shared.join(', ')}`);
  for (const key of shared) assert.equal(cli.get(key), prom.get(key), `${key}: the CLI's declaration differs from sluice/prometheus's`);
  assert.match(cliText, /^sluice_workers\{pool="p",state="idle"\} \d+$/m);
  assert.match(cliText, /^sluice_queue_depth\{pool="p"\} 0$/m);
});
