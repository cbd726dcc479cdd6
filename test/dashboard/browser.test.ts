/**
 * The dashboard in a real browser: Debian's chromium, driven by
 * playwright-core. It loads the page of a running pool and of a running
 * `sluice run` job, sees the counters rise, sees the worker table match
 * `stats()`, checks that the page fetched nothing from elsewhere, and saves
 * screenshots (to $SLUICE_DASHBOARD_SCREENSHOTS, or a temp folder).
 *
 * Skipped, saying why, only where /usr/bin/chromium is missing (.ci/run
 * installs it).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createPool } from '../../src/index.js';
import { serveDashboard } from '../../src/observability/dashboard/index.js';
import { CLI_MAIN, tempDir, writeLines } from '../helpers/cli.js';
import type * as DashTasks from './fixtures/dash-tasks.js';

const CHROMIUM = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';
const SKIP = existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (apt-get install -y chromium; .ci/run installs it)`;
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TASKS = new URL('./fixtures/dash-tasks.js', import.meta.url);

function screenshotDir(t: { after(fn: () => void): void }): string {
  const dir = process.env.SLUICE_DASHBOARD_SCREENSHOTS;
  if (dir === undefined) return tempDir(t);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The data-value of a counter on the page, as a number. */
async function counter(page: Page, name: string): Promise<number> {
  return Number(await page.locator(`[data-counter="${name}"]`).getAttribute('data-value'));
}

// The few DOM calls the page functions below make, typed here: the test
// project compiles without the DOM library. Playwright runs these functions
// in the page (through the debugger protocol, so the page's CSP, which
// forbids eval, still holds).
interface PageElement {
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
}
declare const document: { querySelector(selector: string): PageElement | null; querySelectorAll(selector: string): ArrayLike<PageElement> };

/** Waits until counter `name` on the page is above `n` ('>') or equal to it ('='): the browser is polled, nothing sleeps. */
async function waitCounter(page: Page, name: string, op: '>' | '=', n: number): Promise<void> {
  await page.waitForFunction(
    ([name, op, n]) => {
      const v = Number(document.querySelector(`[data-counter="${name}"]`)?.getAttribute('data-value'));
      return op === '>' ? v > n : v === n;
    },
    [name, op, n] as const,
  );
}

/** Collects every URL the page requests, to check none leaves the dashboard's origin. */
function recordRequests(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (r) => urls.push(r.url()));
  return urls;
}

function assertPng(path: string): void {
  const bytes = readFileSync(path);
  assert.ok(bytes.length > 10_000, `${path}: ${bytes.length} bytes`);
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
}

describe('the dashboard in chromium', { skip: SKIP }, () => {
  let browser: Browser;
  before(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
  });
  after(() => browser?.close());

  test('a running pool: counters rise, the worker table matches stats(), nothing loads from elsewhere', async (t) => {
    const pool = createPool<typeof DashTasks>({ module: TASKS, size: 3, deadLetter: { kind: 'memory' } });
    t.after(() => pool.terminate());
    await pool.start();
    const dashboard = await serveDashboard(pool, { intervalMs: 200, historySize: 40 });
    t.after(() => dashboard.close());
    let loading = true;
    // However the test ends, the load stops: a failed assertion must not leave it running.
    t.after(() => (loading = false));
    const load = (async () => {
      for (let i = 0; loading; i++) {
        await Promise.all(Array.from({ length: 24 }, (_, k) => pool.run('work', { ms: (i + k) % 4, fail: (i * 24 + k) % 53 === 0, secret: 'TOP-SECRET' }).catch(() => undefined)));
      }
    })();

    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    t.after(() => page.close());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    const requests = recordRequests(page);
    await page.goto(dashboard.url);
    await page.waitForSelector('[data-field="connection"].live');
    await waitCounter(page, 'completed', '>', 0);
    const first = await counter(page, 'completed');
    // The next frames must show more: the page follows the pool.
    await waitCounter(page, 'completed', '>', first);
    const second = await counter(page, 'completed');
    assert.ok(second > first, `completed rose from ${first} to ${second}`);
    await page.waitForSelector('svg#chart-throughput polyline[data-series="throughput"]');
    await page.waitForSelector('#dead-letters tbody tr');

    // Quiesce, then the page's next frame and stats() describe the same pool.
    loading = false;
    await load;
    const stats = pool.stats();
    await waitCounter(page, 'completed', '=', stats.completed);
    // ...and a frame after a diagnostics round has every worker's RSS.
    await page.waitForFunction(() => Array.from(document.querySelectorAll('#workers tbody td[data-col="rss"]')).every((td) => Number(td.getAttribute('data-value')) > 0));
    const rows = await page.evaluate(() =>
      Array.from(document.querySelectorAll('#workers tbody tr')).map((tr) => {
        const v = (col: string): string => tr.querySelector(`td[data-col="${col}"]`)?.getAttribute('data-value') ?? '';
        return { id: Number(v('id')), state: v('state'), inflight: Number(v('inflight')), completed: Number(v('completed')), failures: Number(v('failures')), depth: Number(v('depth')), rss: Number(v('rss')), elu: v('elu') };
      }),
    );
    const now = pool.stats();
    assert.equal(now.completed, stats.completed, 'the pool was quiet');
    assert.deepEqual(
      rows.map(({ id, state, inflight, completed, failures, depth }) => ({ id, state, inflight, completed, failures, depth })),
      now.workerList.map(({ id, state, inflight, completed, failures, depth }) => ({ id, state, inflight, completed, failures, depth })),
    );
    assert.equal(rows.length, 3);
    for (const r of rows) assert.ok(r.elu !== '' && Number(r.elu) >= 0 && Number(r.elu) <= 1, `ELU ${r.elu}`);
    assert.equal(await counter(page, 'failed'), now.failed);
    const pageText = (await page.textContent('body')) ?? '';
    assert.ok(!pageText.includes('TOP-SECRET'), 'no task input on the page');
    const origin = new URL(dashboard.url).origin;
    assert.deepEqual(
      requests.filter((u) => !u.startsWith(origin + '/')),
      [],
      'the page loads nothing from elsewhere',
    );
    assert.deepEqual(errors, []);
    const shot = join(screenshotDir(t), 'dashboard-pool.png');
    await page.screenshot({ path: shot, fullPage: true });
    assertPng(shot);
  });

  test('a running `sluice run` job: lines done rise, the total and the failures show', async (t) => {
    const dir = tempDir(t);
    const gateA = join(dir, 'gate-a');
    const gateB = join(dir, 'gate-b');
    // Lines 1-5 finish at once (line 2 fails), 6-10 wait on gate A, 11-12 on gate B.
    const lines = Array.from({ length: 12 }, (_, i) => JSON.stringify({ n: i + 1, fail: i === 1, hold: i >= 5, gate: i >= 10 ? gateB : gateA }));
    const input = writeLines(join(dir, 'in.jsonl'), lines);
    const child = spawn(process.execPath, [fileURLToPath(CLI_MAIN), 'run', fileURLToPath(TASKS), '-t', 'line', '-i', input, '-o', join(dir, 'out.jsonl'), '--size', '8', '--progress', 'none', '--dashboard'], { stdio: ['ignore', 'ignore', 'pipe'] });
    t.after(() => child.kill('SIGKILL'));
    const exited = once(child, 'exit');
    let err = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /dashboard on (http:\S+)/.exec(err);
        if (m !== null) resolve(m[1] as string);
      });
      void exited.then(() => reject(new Error(`sluice run exited before printing its dashboard: ${err}`)));
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    t.after(() => page.close());
    await page.goto(url);
    await page.waitForSelector('#job:not([hidden])');
    await waitCounter(page, 'job.done', '=', 5);
    assert.equal(await page.textContent('[data-counter="job.done"]'), '5 / 12');
    assert.equal(await counter(page, 'job.failed'), 1);
    assert.equal(await page.textContent('#dead-letters td[data-col="where"]'), 'line 2');
    writeFileSync(gateA, '');
    await waitCounter(page, 'job.done', '=', 10);
    assert.equal(await page.textContent('[data-counter="job.done"]'), '10 / 12');
    const shot = join(screenshotDir(t), 'dashboard-run.png');
    await page.screenshot({ path: shot, fullPage: true });
    assertPng(shot);
    writeFileSync(gateB, '');
    assert.equal((await exited)[0], 1, err);
  });
});
