#!/usr/bin/env node
// How a worker learns that work has arrived, and how replies are read:
// figures for docs/performance.md ("Techniques measured and not kept").
//
//   node scripts/measure-wakeup.mjs [--ms 1500] [--runs 5]
//
// Bare worker_threads, no pool logic, 2 workers, tiny tasks (x => x + 1),
// each way of waking measured in its own fresh process, runs interleaved,
// medians printed. Modes:
//   event    each side returns to its event loop and gets a 'message' event
//            per message (what sluice does)
//   drain    the same, but a 'message' handler then reads every message
//            already queued with receiveMessageOnPort before returning
//   atomics  the worker never returns to its event loop: it blocks in
//            Atomics.wait on a shared counter the pool bumps after each
//            post, then drains its port with receiveMessageOnPort
//            (piscina's default); the pool side reads replies as in 'drain'
// Each mode runs two shapes: one message per task (batch 1) and sluice's
// shape, many tasks per message (batch 64), both with 1024 tasks in flight;
// and a light load: one task in flight, for the round-trip latency.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';

const WORKER = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { port, flag, mode } = workerData;
const seen = new Int32Array(flag);
const handle = (m) => {
  if (typeof m === 'number') port.postMessage(m + 1);
  else { const out = new Array(m.length); for (let i = 0; i < m.length; i++) out[i] = m[i] + 1; port.postMessage(out); }
};
if (mode === 'atomics') {
  let last = 0;
  for (;;) {
    for (let r = receiveMessageOnPort(port); r !== undefined; r = receiveMessageOnPort(port)) handle(r.message);
    Atomics.wait(seen, 0, last);
    last = Atomics.load(seen, 0);
  }
} else if (mode === 'drain') {
  port.on('message', (m) => {
    handle(m);
    for (let r = receiveMessageOnPort(port); r !== undefined; r = receiveMessageOnPort(port)) handle(r.message);
  });
} else {
  port.on('message', handle);
}
`;

const { values: args } = parseArgs({ options: { child: { type: 'string' }, ms: { type: 'string', default: '1500' }, runs: { type: 'string', default: '5' } } });

if (args.child !== undefined) {
  const [mode, shape] = args.child.split(':');
  process.stdout.write(`${JSON.stringify(await measure(mode, shape, Number(args.ms)))}\n`);
  process.exit(0);
} else {
  const modes = ['event', 'drain', 'atomics'];
  const shapes = ['batch1', 'batch64', 'latency'];
  const results = {};
  for (let r = 0; r < Number(args.runs); r++) {
    for (const shape of shapes) {
      for (const mode of r % 2 === 0 ? modes : [...modes].reverse()) {
        const out = spawnSync(process.execPath, [new URL(import.meta.url).pathname, '--child', `${mode}:${shape}`, '--ms', args.ms], { encoding: 'utf8' });
        if (out.status !== 0) throw new Error(out.stderr);
        ((results[shape] ??= {})[mode] ??= []).push(JSON.parse(out.stdout.trim().split('\n').pop()));
      }
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const shape of shapes) {
    console.log(`\n${shape === 'latency' ? 'one task in flight: round trip, microseconds (median of runs' : `${shape}, 1024 in flight: tasks/s (median of runs`}, ${args.runs} runs of ${args.ms} ms)`);
    for (const mode of modes) {
      const runs = results[shape][mode];
      if (shape === 'latency') console.log(`  ${mode.padEnd(8)} p50 ${median(runs.map((x) => x.p50)).toFixed(1)}  p99 ${median(runs.map((x) => x.p99)).toFixed(1)}  pool-side CPU ${median(runs.map((x) => x.cpuPct)).toFixed(0)}%`);
      else console.log(`  ${mode.padEnd(8)} ${Math.round(median(runs.map((x) => x.rate))).toLocaleString('en-US')}  process CPU ${median(runs.map((x) => x.cpuPct)).toFixed(0)}%`);
    }
  }
}

async function measure(mode, shape, ms) {
  const W = 2;
  const workers = [];
  for (let i = 0; i < W; i++) {
    const { port1, port2 } = new MessageChannel();
    const flag = new SharedArrayBuffer(4);
    const w = new Worker(WORKER, { eval: true, workerData: { port: port2, flag, mode }, transferList: [port2] });
    w.unref();
    workers.push({ port: port1, seen: new Int32Array(flag), fifo: [] });
  }
  const post = (wk, m) => {
    wk.port.postMessage(m);
    if (mode === 'atomics') {
      Atomics.add(wk.seen, 0, 1);
      Atomics.notify(wk.seen, 0);
    }
  };
  // Replies are matched in order per worker: a FIFO of callbacks.
  for (const wk of workers) {
    const onReply = (m) => wk.fifo.shift()(m);
    wk.port.on('message', (m) => {
      onReply(m);
      if (mode !== 'event') for (let r = receiveMessageOnPort(wk.port); r !== undefined; r = receiveMessageOnPort(wk.port)) onReply(r.message);
    });
  }
  let next = 0;
  const send = (payload) =>
    new Promise((resolve) => {
      const wk = workers[next];
      next = (next + 1) % W;
      wk.fifo.push(resolve);
      post(wk, payload);
    });
  await Promise.all(Array.from({ length: 200 }, (_, i) => send(i)));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + ms;
  if (shape === 'latency') {
    const lat = [];
    while (performance.now() < end) {
      const t = performance.now();
      await send(1);
      lat.push((performance.now() - t) * 1000);
    }
    lat.sort((a, b) => a - b);
    const cpu = process.cpuUsage(cpu0);
    return { p50: lat[lat.length >> 1], p99: lat[Math.floor(lat.length * 0.99)], cpuPct: ((cpu.user + cpu.system) / 1000 / (performance.now() - t0)) * 100 };
  }
  const batch = shape === 'batch64' ? 64 : 1;
  const payload = batch === 1 ? 1 : Array.from({ length: batch }, (_, i) => i);
  let done = 0;
  await new Promise((resolve) => {
    const loop = () =>
      send(payload).then(() => {
        done += batch;
        if (performance.now() < end) loop();
        else resolve();
      });
    for (let i = 0; i < 1024 / batch; i++) loop();
  });
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { rate: done / (elapsed / 1000), cpuPct: ((cpu.user + cpu.system) / 1000 / elapsed) * 100 };
}
