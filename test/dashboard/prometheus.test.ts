/**
 * The Prometheus side, with real parts: `promtool check rules` and `promtool
 * test rules` over docs/prometheus/; a real `prometheus` server on 127.0.0.1
 * (a free port, a temp dir) that loads the rules, scrapes a live pool's
 * /metrics and answers a query for a sluice metric through its HTTP API; and
 * every query of the Grafana dashboard (docs/grafana/sluice.json) run on it.
 *
 * Each test skips, saying why, only where its binary is missing (.ci/run
 * installs Debian's prometheus package, which brings both).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { createPool } from '../../src/index.js';
import { instrumentPool } from '../../src/observability/prometheus.js';
import { tempDir } from '../helpers/cli.js';

const DOCS = fileURLToPath(new URL('../../../docs/', import.meta.url));
const RULES = join(DOCS, 'prometheus/alerts.yml');
const RULE_TESTS = join(DOCS, 'prometheus/alerts.test.yml');
const GRAFANA = join(DOCS, 'grafana/sluice.json');

function which(binary: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const PROMTOOL = which('promtool');
const PROMETHEUS = which('prometheus');
const NO_PROMTOOL = PROMTOOL === undefined ? 'promtool not found (apt-get install -y prometheus; .ci/run installs it)' : false;
const NO_PROMETHEUS = PROMETHEUS === undefined ? 'prometheus not found (apt-get install -y prometheus; .ci/run installs it)' : false;

test('promtool check rules: the alert rules are valid', { skip: NO_PROMTOOL }, () => {
  const r = spawnSync(PROMTOOL as string, ['check', 'rules', RULES], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS: 7 rules found/);
});

test('promtool test rules: each alert fires on its series and stays quiet on the others', { skip: NO_PROMTOOL }, () => {
  const r = spawnSync(PROMTOOL as string, ['test', 'rules', RULE_TESTS], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS/);
  // Every alert of the file has a test that expects it to fire.
  const alerts = [...readFileSync(RULES, 'utf8').matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
  const tests = readFileSync(RULE_TESTS, 'utf8');
  assert.deepEqual(alerts.sort(), ['SluiceDeadLettersGrowing', 'SluiceErrorRateHigh', 'SluiceP99AboveBaseline', 'SluicePoolSaturated', 'SluiceRestartLoop', 'SluiceServeFleetWithoutConsumers']);
  for (const a of alerts) assert.match(tests, new RegExp(`alertname: ${a}\\n\\s+exp_alerts:\\n\\s+- exp_labels`), `${a} has a firing case`);
});

/** A port nothing listens on now (asked of the kernel, then released for prometheus to take). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface PromResponse {
  status: string;
  error?: string;
  data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

async function query(base: string, expr: string): Promise<PromResponse> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return (await res.json()) as PromResponse;
}

/** Polls prometheus until `check` passes: prometheus scrapes once a second, the test waits on what it reports. */
async function until<T>(what: string, get: () => Promise<T>, check: (v: T) => boolean): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < 600; i++) {
    try {
      last = await get();
      if (check(last)) return last;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}

test('a real prometheus scrapes a live pool, loads the rules, and answers for sluice metrics and every Grafana query', { skip: NO_PROMETHEUS }, async (t) => {
  const dir = tempDir(t);
  const pool = createPool({ kind: 'async', tasks: { inc: (x: number) => x + 1 }, size: 2, name: 'scraped' });
  t.after(() => pool.terminate());
  const registry = new Registry();
  const metrics = instrumentPool(pool, { registry });
  t.after(() => metrics.close());
  await Promise.all(Array.from({ length: 123 }, (_, i) => pool.run('inc', i)));
  const target: Server = createServer((_req, res) => {
    registry.metrics().then(
      (body) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(body);
      },
      (err: unknown) => {
        res.writeHead(500);
        res.end(String(err));
      },
    );
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  t.after(() => target.close());
  const targetPort = (target.address() as AddressInfo).port;

  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      `rule_files: [${JSON.stringify(RULES)}]`,
      'scrape_configs:',
      '  - job_name: sluice',
      `    static_configs: [{ targets: ["127.0.0.1:${targetPort}"] }]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const prom = spawn(PROMETHEUS as string, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  prom.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = once(prom, 'exit');
  t.after(async () => {
    if (prom.exitCode === null) {
      prom.kill('SIGTERM');
      await exited;
    }
  });
  const base = `http://127.0.0.1:${port}`;
  await until('prometheus ready', () => fetch(`${base}/-/ready`).then((r) => r.status), (s) => s === 200).catch((err: Error) => {
    throw new Error(`${err.message}\nprometheus log:\n${log}`);
  });

  // The scrape arrives, and the value is the pool's own count.
  const completed = await until(
    'sluice_tasks_total scraped',
    () => query(base, 'sum(sluice_tasks_total{pool="scraped", outcome="completed"})'),
    (r) => r.status === 'success' && r.data.result.length === 1,
  );
  assert.equal(Number(completed.data.result[0]?.value[1]), pool.stats().completed);
  assert.equal(pool.stats().completed, 123);
  const workers = await query(base, 'sum(sluice_workers{pool="scraped"})');
  assert.equal(Number(workers.data.result[0]?.value[1]), pool.stats().size);

  // The rules loaded into a real server, every one healthy.
  const rules = (await (await fetch(`${base}/api/v1/rules`)).json()) as { data: { groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[] } };
  const loaded = rules.data.groups.flatMap((g) => g.rules);
  assert.equal(loaded.length, 7);
  await until(
    'every rule evaluated',
    async () => ((await (await fetch(`${base}/api/v1/rules`)).json()) as typeof rules).data.groups.flatMap((g) => g.rules),
    (rs) => rs.every((r) => r.health === 'ok'),
  );

  // Every query of the Grafana dashboard parses and runs; the pool's throughput query finds the pool.
  const dashboard = JSON.parse(readFileSync(GRAFANA, 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
  for (const panel of dashboard.panels) {
    for (const { expr } of panel.targets) {
      const q = expr.replaceAll('$__rate_interval', '1m').replaceAll('$pool', '.*');
      const r = await query(base, q);
      assert.equal(r.status, 'success', `${panel.title}: ${q}: ${r.error ?? ''}`);
    }
  }
  const tasks = await query(base, 'sum by (pool) (sluice_workers{pool=~".*"})');
  assert.deepEqual(
    tasks.data.result.map((s) => s.metric.pool),
    ['scraped'],
  );
});

test('the Grafana dashboard reads only metrics sluice/prometheus exports, and offers a pool variable', async (t) => {
  const pool = createPool({ kind: 'async', tasks: { inc: (x: number) => x + 1 }, size: 1 });
  t.after(() => pool.terminate());
  const registry = new Registry();
  instrumentPool(pool, { registry }).close();
  const exported = new Set<string>();
  for (const m of await registry.getMetricsAsJSON()) {
    exported.add(m.name);
    if (m.type.toString() === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(m.name + suffix);
  }
  const dashboard = JSON.parse(readFileSync(GRAFANA, 'utf8')) as {
    uid: string;
    templating: { list: { name: string }[] };
    panels: { id: number; title: string; gridPos: object; targets: { expr: string; refId: string }[] }[];
  };
  assert.equal(dashboard.uid, 'sluice-pools');
  assert.deepEqual(
    dashboard.templating.list.map((v) => v.name),
    ['datasource', 'pool'],
  );
  assert.equal(new Set(dashboard.panels.map((p) => p.id)).size, dashboard.panels.length, 'panel ids are unique');
  const used = new Set<string>();
  for (const p of dashboard.panels) {
    assert.ok(p.targets.length > 0, p.title);
    for (const target of p.targets) {
      assert.match(target.expr, /pool=~"\$pool"/, `${p.title}: filtered by the pool variable`);
      for (const m of target.expr.matchAll(/\b(sluice_[a-z_]+)\b/g)) used.add(m[1] as string);
    }
  }
  const unknown = [...used].filter((m) => !exported.has(m));
  assert.deepEqual(unknown, [], 'metrics the dashboard reads that sluice/prometheus does not export');
  // Every exported metric appears on the dashboard.
  for (const name of ['sluice_tasks_total', 'sluice_task_retries_total', 'sluice_tasks_dead_lettered_total', 'sluice_worker_restarts_total', 'sluice_queue_depth', 'sluice_workers', 'sluice_worker_utilization', 'sluice_tasks_running']) {
    assert.ok(used.has(name), `${name} is on the dashboard`);
  }
  assert.ok(used.has('sluice_task_run_seconds_bucket') && used.has('sluice_task_wait_seconds_bucket'));
});
