// Benchmark orchestrator. Every measurement runs in a fresh `node` child
// process (bench/child.js), so one library's JIT state and heap never affect
// another's. Entries of a scenario are interleaved over rounds (A B C, C B A,
// A B C, ...) so that drift in machine load spreads over all of them; the
// table reports medians and the ratio sluice / entry.
//
//   node bench/run.js [--quick] [--rounds N] [--threads 2,4,8] [--scenario a,b] [--out file]

import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from './lib/measure.js';
import { judgeTargets } from './lib/targets.js';

export const SCENARIOS = ['tiny', 'burst', 'cpu', 'transfer', 'latency', 'startup', 'process', 'async', 'bounded', 'shared', 'bullmq', 'changing', 'cli', 'map', 'pays'];

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    threads: { type: 'string', default: '2' },
    'warmup-ms': { type: 'string' },
    scenario: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (args.help) {
  console.log('usage: node bench/run.js [--quick] [--rounds N] [--threads 2,4,8] [--warmup-ms MS] [--scenario ' + SCENARIOS.join('|') + '[,...]] [--out file]');
  console.log('  --warmup-ms: open-loop warm-up before the latency scenario measures (default 1000; 200 with --quick)');
  process.exit(0);
}

const quick = args.quick;
const rounds = Number(args.rounds ?? (quick ? 1 : 3));
const threadList = args.threads.split(',').map(Number);
const chosen = args.scenario === undefined ? SCENARIOS : args.scenario.split(',');
for (const s of chosen) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario '${s}' (one of ${SCENARIOS.join(', ')})`);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer');
const warmupMs = args['warmup-ms'] === undefined ? undefined : Number(args['warmup-ms']);
if (warmupMs !== undefined && !(Number.isInteger(warmupMs) && warmupMs >= 0)) throw new Error('--warmup-ms must be a non-negative integer');
if (threadList.some((t) => !Number.isInteger(t) || t < 1)) throw new Error('--threads must be a list of positive integers');
const outFile = args.out ?? fileURLToPath(new URL('./results.json', import.meta.url));
const childFile = fileURLToPath(new URL('./child.js', import.meta.url));
const childTimeoutMs = quick ? 60_000 : 180_000;

/** Runs one measurement; resolves { ok, metrics } | { skipped } | { error }. */
function measure(spec) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [childFile, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), childTimeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      if (code === 0) {
        try {
          resolve(JSON.parse(last));
          return;
        } catch {
          // fall through: a child that printed no result failed
        }
      }
      resolve({ error: `exit ${code ?? signal}${signal === 'SIGKILL' ? ` (killed after ${childTimeoutMs} ms)` : ''}: ${err.trim().split('\n').slice(-6).join('\n')}` });
    });
  });
}

const fmt = (v, digits) => {
  if (v === undefined || Number.isNaN(v)) return '-';
  if (digits !== undefined) return v.toFixed(digits);
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 100) return v.toFixed(0);
  return v.toFixed(1);
};

async function main() {
  const modules = {};
  for (const name of chosen) modules[name] = (await import(`./scenarios/${name}.js`)).default;
  const groups = [];
  for (const name of chosen) {
    const sc = modules[name];
    for (const threads of sc.sweep ? threadList : [2]) {
      groups.push({ scenario: name, title: sc.title, threads, metrics: sc.metrics, ratio: sc.ratio, summary: sc.summary, entries: sc.entries(quick).map((id) => ({ id, runs: [], skipped: undefined, errors: [] })) });
    }
  }
  const started = Date.now();
  let failures = 0;
  for (let r = 0; r < rounds; r++) {
    for (const g of groups) {
      const order = r % 2 === 0 ? g.entries : [...g.entries].reverse();
      for (const e of order) {
        if (e.skipped !== undefined) continue;
        const res = await measure({ scenario: g.scenario, entry: e.id, threads: g.threads, quick, warmupMs });
        if (res.ok) e.runs.push(res.metrics);
        else if (res.skipped !== undefined) e.skipped = res.skipped;
        else {
          failures++;
          e.errors.push(res.error);
          console.error(`! ${g.scenario} ${e.id} (threads ${g.threads}): ${res.error}`);
        }
        process.stderr.write('.');
      }
    }
  }
  process.stderr.write('\n');

  for (const g of groups) {
    for (const e of g.entries) {
      e.median = {};
      for (const m of g.metrics) if (e.runs.length > 0) e.median[m.key] = median(e.runs.map((x) => x[m.key]));
    }
  }
  printTables(groups);
  const targets = judgeTargets(groups, threadList.includes(2) ? 2 : threadList[0]);
  if (targets.length > 0) {
    console.log('\n## Targets (informational; timing never fails the run)');
    for (const t of targets) console.log(`- ${t.met.padEnd(7)} ${t.target}: ${t.measured}`);
  }
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    nproc: availableParallelism(),
    cpu: cpuModel(),
    quick,
    rounds,
    threads: threadList,
    warmupMs,
    seconds: Math.round((Date.now() - started) / 1000),
  };
  writeFileSync(outFile, `${JSON.stringify({ meta, targets, groups }, null, 1)}\n`);
  console.log(`\n${meta.node}, ${meta.nproc} CPUs (${meta.cpu}), ${rounds} round(s)${quick ? ', quick' : ''}, ${meta.seconds} s. Results: ${outFile}`);
  if (failures > 0) {
    console.error(`${failures} measurement(s) failed`);
    process.exitCode = 1;
  }
}

function cpuModel() {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    if (line !== undefined) return line.split(':')[1].trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? 'unknown';
}

function printTables(groups) {
  for (const g of groups) {
    const primary = g.metrics[0];
    // The ratio's numerator: the first sluice entry, or the one a scenario names for each entry (`ratio.reference`).
    const sluice = g.entries.find((e) => e.id.startsWith('sluice'));
    const reference = (e) => (g.ratio === undefined ? sluice : g.entries.find((x) => x.id === g.ratio.reference(e.id)));
    const header = ['entry', ...g.metrics.map((m) => `${m.label} (${m.better === 'higher' ? '↑' : '↓'})`), `${g.ratio?.label ?? 'sluice/entry'} ${primary.label}`];
    const rows = g.entries.map((e) => {
      if (e.skipped !== undefined) return [e.id, e.skipped.startsWith('skipped') ? e.skipped : 'skipped (kind not available)'];
      if (e.runs.length === 0) return [e.id, 'FAILED'];
      const s = reference(e)?.median?.[primary.key];
      const ratio = s === undefined ? '-' : (s / e.median[primary.key]).toFixed(2);
      return [e.id, ...g.metrics.map((m) => fmt(e.median[m.key], m.digits)), ratio];
    });
    console.log(`\n## ${g.scenario}: ${g.title}${g.threads !== 2 || threadList.length > 1 ? ` [threads ${g.threads}]` : ''}`);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const line = (cells) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : (c ?? '').padStart(widths[i]))).join(' | ') + ' |';
    console.log(line(header));
    console.log('|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|');
    for (const r of rows) console.log(r.length === 2 ? `| ${r[0].padEnd(widths[0])} | ${r[1]} |` : line(r));
    if (g.summary !== undefined) for (const l of g.summary(g.entries, g.threads)) console.log(`- ${l}`);
  }
}

await main();
