/** The examples are part of the product: they run here, against the built package. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test('the observability example: pino logs, a Prometheus scrape that matches stats(), spans from the workers', () => {
  const r = spawnSync(process.execPath, ['examples/observability/main.js'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, LOG_LEVEL: 'warn' } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /scrape matches stats\(\): yes/);
  assert.match(r.stdout, /sluice_tasks_total\{pool="example",task="digest",outcome="completed"\} 40/);
  assert.match(r.stdout, /'messaging.operation.type': 'process'/, 'consumer spans from the workers');
  assert.match(r.stdout, /name: 'hash record'/, "the task's own span");
  // pino writes JSON lines; the failed tasks are logged at warn (level 40) with their correlation ids.
  const logLines = r.stdout.split('\n').filter((l) => l.startsWith('{"level":'));
  const failed = logLines.map((l) => JSON.parse(l) as { level: number; msg: string; correlationId?: string }).filter((l) => l.msg === 'task failed');
  assert.equal(failed.length, 4);
  assert.ok(failed.every((l) => l.level === 40 && l.correlationId?.startsWith('flaky-')));
});
