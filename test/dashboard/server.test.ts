/**
 * The dashboard's HTTP side: the token guard, the page's policy, the event
 * stream, a busy port, a public address, bounded memory for a browser that
 * stops reading, and a process that exits with a browser still connected.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { test } from 'node:test';
import { InvalidOptionError } from '../../src/api/errors.js';
import { createPool } from '../../src/index.js';
import { serveDashboard } from '../../src/observability/dashboard/index.js';
import { SseHub, sseMessage } from '../../src/observability/dashboard/sse.js';

const tasks = { inc: (x: number) => x + 1 };

function asyncPool() {
  return createPool({ kind: 'async', tasks, size: 2 });
}

/** The first `n` SSE messages of `url`, as [event, data]. */
async function readEvents(url: string, n: number): Promise<[string, string][]> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  const out: [string, string][] = [];
  while (out.length < n) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = text.indexOf('\n\n')) !== -1) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event !== undefined && data !== undefined) out.push([event, data]);
    }
  }
  await reader.cancel();
  return out;
}

test('every request needs the token: 401 without it or with a wrong one', async (t) => {
  const pool = asyncPool();
  t.after(() => pool.terminate());
  const d = await serveDashboard(pool);
  t.after(() => d.close());
  assert.match(d.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
  assert.equal(d.exposed, false);
  const base = `http://127.0.0.1:${d.port}`;
  for (const path of ['/', '/events', '/frame.json', '/nothing', `/?token=${d.token.slice(1)}`, `/?token=${d.token}x`]) {
    const res = await fetch(base + path);
    assert.equal(res.status, 401, path);
    assert.doesNotMatch(await res.text(), new RegExp(d.token));
  }
  const page = await fetch(d.url);
  assert.equal(page.status, 200);
  const csp = page.headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'nonce-[^']+'/);
  assert.match(csp, /connect-src 'self'/);
  const html = await page.text();
  assert.doesNotMatch(html, /(src|href)=["']?(https?:)?\/\//, 'the page loads nothing from elsewhere');
  assert.equal((await fetch(`${base}/nothing?token=${d.token}`)).status, 404);
});

test('the event stream starts with the history, then a frame per interval', async (t) => {
  const pool = asyncPool();
  t.after(() => pool.terminate());
  const d = await serveDashboard(pool, { intervalMs: 50, title: 'a <b>title</b>' });
  t.after(() => d.close());
  await Promise.all(Array.from({ length: 10 }, (_, i) => pool.run('inc', i)));
  const events = await readEvents(`http://127.0.0.1:${d.port}/events?token=${d.token}`, 3);
  assert.deepEqual(
    events.map(([e]) => e),
    ['history', 'frame', 'frame'],
  );
  const history = JSON.parse(events[0]?.[1] ?? '') as { historySize: number; points: unknown[]; frame: { pool: { kind: string } } };
  assert.equal(history.historySize, 300);
  assert.ok(history.points.length >= 1);
  assert.equal(history.frame.pool.kind, 'async');
  const frame = JSON.parse(events[2]?.[1] ?? '') as { counters: { completed: number }; point: { t: number } };
  assert.equal(frame.counters.completed, 10);
  assert.equal(d.streams().clients <= 1, true);
  const json = (await (await fetch(`http://127.0.0.1:${d.port}/frame.json?token=${d.token}`)).json()) as { counters: { completed: number } };
  assert.equal(json.counters.completed, 10);
  const html = await (await fetch(d.url)).text();
  assert.match(html, /<title>a &#60;b&#62;title&#60;\/b&#62;<\/title>/, 'the title is escaped');
});

test('a port in use rejects with EADDRINUSE and a message naming the address', async (t) => {
  const pool = asyncPool();
  t.after(() => pool.terminate());
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  t.after(() => busy.close());
  const port = (busy.address() as AddressInfo).port;
  await assert.rejects(serveDashboard(pool, { port }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'EADDRINUSE');
    assert.match(err.message, new RegExp(`cannot serve the dashboard on 127\\.0\\.0\\.1:${port}: the address is in use`));
    return true;
  });
});

test('bad options are InvalidOptionErrors naming the option', async (t) => {
  const pool = asyncPool();
  t.after(() => pool.terminate());
  for (const [options, name] of [
    [{ port: 70000 }, 'port'],
    [{ port: 1.5 }, 'port'],
    [{ host: '' }, 'host'],
    [{ token: 'short' }, 'token'],
    [{ intervalMs: 0 }, 'intervalMs'],
    [{ showData: 'yes' }, 'showData'],
    [{ job: 42 }, 'job'],
  ] as const) {
    await assert.rejects(serveDashboard(pool, options as never), (err: Error) => err instanceof InvalidOptionError && err.option === name);
  }
});

test('an address other than loopback is marked exposed', async (t) => {
  const pool = asyncPool();
  t.after(() => pool.terminate());
  const d = await serveDashboard(pool, { host: '0.0.0.0' });
  t.after(() => d.close());
  assert.equal(d.exposed, true);
  assert.equal((await fetch(`http://127.0.0.1:${d.port}/`)).status, 401);
});

test('more browsers than maxClients get 503; a closed stream frees its place', async (t) => {
  const pool = asyncPool();
  t.after(() => pool.terminate());
  const d = await serveDashboard(pool, { maxClients: 1 });
  t.after(() => d.close());
  const events = `http://127.0.0.1:${d.port}/events?token=${d.token}`;
  const first = await fetch(events);
  assert.equal(first.status, 200);
  assert.equal((await fetch(events)).status, 503);
  await first.body?.cancel();
  for (let i = 0; i < 200 && d.streams().clients > 0; i++) await new Promise((r) => setImmediate(r));
  assert.equal(d.streams().clients, 0);
  const again = await fetch(events);
  assert.equal(again.status, 200);
  await again.body?.cancel();
});

test('a browser that stops reading holds at most maxBuffered plus one message; it gets the history again once it drains', async (t) => {
  const MAX = 64 * 1024;
  const hub = new SseHub(4, MAX);
  let stuck: ServerResponse | undefined;
  let quick: ServerResponse | undefined;
  const server = createServer((req, res) => {
    if (req.url === '/stuck') stuck = res;
    else quick = res;
    hub.add(res, sseMessage('history', '{}'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    hub.close();
    server.close();
  });
  const port = (server.address() as AddressInfo).port;
  // A client that sends its request and never reads a byte.
  const socket = connect(port, '127.0.0.1');
  socket.write('GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n');
  socket.pause();
  t.after(() => socket.destroy());
  // A client that reads everything.
  let fastBytes = 0;
  const fast = request({ port, host: '127.0.0.1', path: '/fast' }, (res) => res.on('data', (c: Buffer) => (fastBytes += c.length)));
  fast.end();
  t.after(() => fast.destroy());
  while (hub.size < 2 || stuck === undefined || quick === undefined) await new Promise((r) => setImmediate(r));
  const slow: ServerResponse = stuck;
  const quickRes: ServerResponse = quick;
  // Frames far larger than the kernel's socket buffers can absorb, so the stuck stream fills up in Node.
  const frame = sseMessage('frame', JSON.stringify({ pad: 'x'.repeat(256 * 1024) }));
  const FRAMES = 200;
  let maxSeen = 0;
  for (let i = 0; i < FRAMES; i++) {
    hub.broadcast(frame, () => sseMessage('history', '{}'));
    maxSeen = Math.max(maxSeen, slow.writableLength);
    // The reading browser takes each frame before the next (a handshake, not a sleep).
    while (quickRes.writableLength > 0) await new Promise((r) => setImmediate(r));
  }
  assert.ok(hub.counters().skipped > 0, 'the stuck stream missed frames');
  assert.ok(maxSeen <= MAX + frame.length, `buffered ${maxSeen} bytes for one stuck browser, bound ${MAX + frame.length}`);
  // The reading one got every frame: the stuck one never held it up.
  while (fastBytes < FRAMES * frame.length) await new Promise((r) => setImmediate(r));
  // Drain the stuck one: its next message is the whole history, then frames again.
  socket.resume();
  socket.on('data', () => undefined);
  while (slow.writableLength > MAX) await new Promise((r) => setImmediate(r));
  hub.broadcast(frame, () => sseMessage('history', '{"again":true}'));
  assert.equal(hub.counters().resyncs, 1);
});

test('a dashboard never keeps the process alive, even with a browser connected', () => {
  const script = `
    import { createPool } from ${JSON.stringify(new URL('../../src/index.js', import.meta.url).href)};
    import { serveDashboard } from ${JSON.stringify(new URL('../../src/observability/dashboard/index.js', import.meta.url).href)};
    const pool = createPool({ kind: 'async', tasks: { inc: (x) => x + 1 }, size: 1 });
    const d = await serveDashboard(pool, { intervalMs: 50 });
    const res = await fetch(d.url.replace('/?', '/events?'));
    const reader = res.body.getReader();
    await reader.read();
    console.log('connected');
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.signal, null, `the process did not exit by itself: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'connected');
});
