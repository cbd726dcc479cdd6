import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { main } from '../../src/cli/program.js';
import { findKnee, type TunePoint } from '../../src/cli/tune/knee.js';
import { plotSvg } from '../../src/cli/tune/plot-svg.js';
import { POOL_MUST_GAIN, recommend, type BaselinePoint } from '../../src/cli/tune/recommend.js';
import { cpuCount } from '../../src/sizing/cpu-count.js';
import { tempDir, writeLines } from '../helpers/cli.js';

const curve = (values: [number, number][]): TunePoint[] => values.map(([throughput, p99Ms], i) => ({ workers: i + 1, throughput, p99Ms }));

/**
 * A small well-formedness check, enough for the SVG the plotter writes: tags
 * balance, attributes are quoted, one root. Returns the elements' names and ids.
 */
function parseXml(text: string): { root: string; elements: { name: string; id: string | undefined }[] } {
  const stack: string[] = [];
  const elements: { name: string; id: string | undefined }[] = [];
  let root: string | undefined;
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>/g;
  let last = 0;
  for (let m = tag.exec(text); m !== null; m = tag.exec(text)) {
    const between = text.slice(last, m.index);
    assert.ok(!/[<>]/.test(between), `stray markup near ${JSON.stringify(between.slice(0, 40))}`);
    assert.ok(!/&(?!(lt|gt|amp|quot|apos|#\d+);)/.test(between), 'unescaped &');
    last = tag.lastIndex;
    if (m[2] === undefined) continue; // comment or declaration
    const [, close, name, attrs, selfClose] = m;
    if (close === '/') {
      assert.equal(stack.pop(), name, `</${name}> closes the open element`);
      continue;
    }
    if (stack.length === 0) {
      assert.equal(root, undefined, 'one root element');
      root = name;
    }
    elements.push({ name, id: /\sid="([^"]*)"/.exec(attrs ?? '')?.[1] });
    if (selfClose !== '/') stack.push(name);
  }
  assert.ok(!/[<>]/.test(text.slice(last)), 'nothing after the root');
  assert.deepEqual(stack, [], 'every element closed');
  assert.ok(root !== undefined, 'a root element');
  return { root, elements };
}

describe('knee finding', () => {
  test('linear up to the CPU count, then flat: the knee is at the CPU count', () => {
    const points = curve([[100, 10], [200, 10], [300, 11], [400, 11], [405, 20], [402, 30], [398, 41], [401, 50]]);
    assert.equal(findKnee(points).workers, 4);
  });

  test('still rising at the largest size: the largest size, and says so', () => {
    const knee = findKnee(curve([[100, 5], [200, 5], [300, 5], [400, 5]]));
    assert.equal(knee.workers, 4);
    assert.match(knee.reason, /still rising/);
  });

  test('flat from the start: one worker', () => {
    assert.equal(findKnee(curve([[100, 5], [101, 10], [99, 15], [100, 20]])).workers, 1);
  });

  test('a noisy plateau: the first size within 5% of the peak, not the noisy peak', () => {
    assert.equal(findKnee(curve([[100, 5], [190, 5], [280, 6], [300, 9], [296, 12], [310, 15], [305, 19]])).workers, 4);
  });

  test('throughput falling past a peak: the peak or before', () => {
    assert.equal(findKnee(curve([[100, 5], [200, 5], [250, 6], [180, 20], [150, 40]])).workers, 3);
  });

  test('a small gain for a large latency rise ends the climb early', () => {
    const knee = findKnee(curve([[100, 5], [200, 5], [215, 12], [222, 30]]));
    assert.equal(knee.workers, 2);
    assert.match(knee.reason, /3 workers add 8% throughput but 2\.4× the p99/);
  });

  test('points out of order and a single point', () => {
    const shuffled = [...curve([[100, 10], [200, 10], [300, 11], [305, 20]])].reverse();
    const knee = findKnee(shuffled);
    assert.equal(knee.workers, 3);
    assert.equal((shuffled[knee.index] as TunePoint).workers, 3, 'index points into the input as given');
    assert.equal(findKnee(curve([[50, 3]])).workers, 1);
    assert.throws(() => findKnee([]), RangeError);
  });
});

describe('recommendation: a pool size, or no pool', () => {
  const pool = curve([[1000, 2], [1900, 2.1], [1950, 4]]);
  const base = (id: string, throughput: number, failed = 0): BaselinePoint => ({ id, label: `no pool, ${id}`, throughput, failed });

  test('a pool size when every size-less way is slower than the knee by more than POOL_MUST_GAIN', () => {
    const r = recommend(pool, [base('sequential', 900), base('promise-all', 1900 * (1 - 2 * POOL_MUST_GAIN))], 2);
    assert.equal(r.pool, true);
    assert.equal(r.knee.workers, 2);
    assert.match(r.line, /^recommended size: 2 \(.*; 2 CPUs\)$/);
  });

  test('no pool when a baseline gets within POOL_MUST_GAIN of the knee, or beats it', () => {
    const close = recommend(pool, [base('sequential', 1900 * (1 - POOL_MUST_GAIN / 2))], 2);
    assert.equal(close.pool, false, 'within 5% of the knee (2 workers, 1900/s): the pool does not pay');
    const beats = recommend(pool, [base('sequential', 40_000)], 2);
    assert.ok(!beats.pool);
    assert.equal(beats.baseline.id, 'sequential');
    assert.equal(
      beats.line,
      'recommended: no pool, sequential (40000.0 tasks/s; a pool at its knee, 2 workers, gets 1900.0/s, 0.05×: a worker pool does not pay for this task; 2 CPUs)',
    );
    assert.equal(beats.knee.workers, 2, 'the knee of the pool sizes is still found (the plot marks it)');
  });

  test('against the knee, not the fastest size: a size the knee judged not worth its latency does not count', () => {
    // 1 → 2 workers: +1% throughput for 2× the p99, so the knee is 1 worker (1000/s); 4 workers reach 1150/s.
    const latencyKnee = curve([[1000, 3], [1010, 6], [1020, 7], [1150, 14]]);
    const r = recommend(latencyKnee, [base('sequential', 1070)], 2);
    assert.equal(r.knee.workers, 1);
    assert.ok(!r.pool, 'no pool: it beats the size that would be recommended');
  });

  test('the simplest baseline of those within POOL_MUST_GAIN of the best, and never one with failures', () => {
    const r = recommend(pool, [base('sequential', 3000), base('promise-all', 40_000), base('async-kind', 41_000)], 1);
    assert.ok(!r.pool);
    assert.equal(r.baseline.id, 'promise-all', 'sequential is far behind; Promise.all is within 5% of the async kind and simpler');
    assert.match(r.line, /; 1 CPU\)$/);
    const failing = recommend(pool, [base('sequential', 40_000, 1)], 2);
    assert.equal(failing.pool, true, 'a way that fails some tasks is no way to run them');
    assert.equal(recommend(pool, [], 2).pool, true);
  });
});

describe('tune plot', () => {
  test('is well-formed SVG with both series, the CPU count and the knee', () => {
    const svg = plotSvg({ title: 'a <b> & "c"', points: curve([[100, 1], [190, 1.2], [200, 3]]), cpus: 2, kneeWorkers: 2 });
    const { root, elements } = parseXml(svg);
    assert.equal(root, 'svg');
    const ids = elements.map((e) => e.id);
    for (const id of ['series-throughput', 'series-p99', 'cpu-count', 'knee']) assert.ok(ids.includes(id), id);
    assert.match(svg, /<title>a &lt;b&gt; &amp; &quot;c&quot;<\/title>/);
  });

  test('baselines: a dashed line each, inside the throughput axis, labeled, the recommended one marked', () => {
    const baselines = [
      { id: 'sequential', label: 'no pool, sequential', throughput: 5000 },
      { id: 'promise-all', label: 'no pool, Promise.all ×64', throughput: 4990 },
      { id: 'async-kind', label: "kind 'async', size 64", throughput: 50 },
    ];
    const svg = plotSvg({ title: 't', points: curve([[100, 1], [190, 1.2], [200, 3]]), cpus: 2, kneeWorkers: 2, baselines, recommended: 'sequential' });
    const { elements } = parseXml(svg);
    for (const b of baselines) {
      const i = elements.findIndex((e) => e.id === `baseline-${b.id}`);
      assert.ok(i >= 0, `${b.id} drawn`);
      assert.equal(elements[i + 1]?.name, 'line');
      assert.equal(elements[i + 2]?.name, 'text');
    }
    assert.match(svg, /font-weight="bold"[^>]*>no pool, sequential: 5000\/s \(recommended\)<\/text>/);
    assert.match(svg, />no pool, Promise\.all ×64: 4990\/s<\/text>/);
    // Every baseline line lies within the plot's height (the axis grew to hold them); the two close ones' labels do not overlap.
    const ys = [...svg.matchAll(/<g id="baseline-[^"]*">\n<line x1="[\d.]+" y1="([\d.]+)"/g)].map((m) => Number(m[1]));
    assert.equal(ys.length, 3);
    for (const y of ys) assert.ok(y >= 50 && y <= 420 - 60, `line at y ${y}`);
    const labelYs = [...svg.matchAll(/<text x="[\d.]+" y="([\d.]+)" text-anchor="end" fill="#(?:6e7781|2da44e)"[^>]*>(?:no pool|kind)/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
    assert.equal(labelYs.length, 3);
    for (let i = 1; i < labelYs.length; i++) assert.ok((labelYs[i] as number) - (labelYs[i - 1] as number) >= 14, `labels apart: ${labelYs.join(', ')}`);
  });

  test('labels stay inside the plot, even when the knee is the largest size', () => {
    const baselines = [
      { id: 'sequential', label: 'no pool, sequential', throughput: 1000 },
      { id: 'promise-all', label: 'no pool, Promise.all ×64', throughput: 5 },
    ];
    for (const [cpus, knee] of [[2, 8], [8, 8], [1, 1], [16, 3]] as const) {
      const points = curve(Array.from({ length: 8 }, (_, i) => [100 * (i + 1), 1] as [number, number]));
      const svg = plotSvg({ title: 't', points, cpus, kneeWorkers: knee, baselines });
      const width = Number((/<svg [^>]*width="(\d+)"/.exec(svg) as RegExpExecArray)[1]);
      for (const m of svg.matchAll(/<text x="([\d.]+)" y="[\d.]+"(?: text-anchor="(start|end|middle)")?[^>]*>([^<]*)<\/text>/g)) {
        const x = Number(m[1]);
        const anchor = m[2] ?? 'start';
        // About 7 px per character at font-size 12.
        const w = (m[3] as string).length * 7;
        const [left, right] = anchor === 'end' ? [x - w, x] : anchor === 'middle' ? [x - w / 2, x + w / 2] : [x, x + w];
        assert.ok(left >= 0 && right <= width, `"${m[3]}" spans ${left.toFixed(0)}..${right.toFixed(0)} of ${width} (cpus ${cpus}, knee ${knee})`);
      }
    }
  });
});

describe('sluice tune', () => {
  test('runs a task over a sample at each size, recommends a size within bounds and writes the plot', async (t) => {
    const dir = tempDir(t);
    const input = writeLines(join(dir, 'sample.jsonl'), Array.from({ length: 24 }, () => '18'));
    const plot = join(dir, 'tune.svg');
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (c: Buffer) => (out += c.toString()));
    stderr.on('data', (c: Buffer) => (err += c.toString()));
    const module = new URL('../fixtures/tasks.js', import.meta.url).href;
    // No --plot: tune.svg goes next to the input, and its path is printed.
    const code = await main(['node', 'sluice', 'tune', module, '--task', 'fib', '--input', input, '--max', '3'], {
      stdin: Readable.from([]),
      stdout,
      stderr,
      cwd: dir,
    });
    assert.equal(code, 0, err);
    const rows = out.split('\n').filter((l) => /^\s+\d+\s/.test(l));
    assert.equal(rows.length, 3, `one row per size 1..3:\n${out}`);
    // Then the task without a worker pool: in this process, and on kind 'async'.
    for (const label of ['no pool, sequential', 'no pool, Promise.all ×64', "kind 'async', size 64"]) {
      assert.match(out, new RegExp(`^\\s*${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+\\d+\\.\\d\\s+\\d+\\.\\d\\d\\s+\\d+\\.\\d\\d$`, 'm'), `a row for ${label}:\n${out}`);
    }
    // Which one wins is the machine's business (fib(18) takes tens of µs): either verdict, well formed.
    const m = /^recommended(?: size: (\d+) \(.*|: (no pool, sequential|no pool, Promise\.all ×64|kind 'async', size 64) \(.*a worker pool does not pay for this task); (\d+) CPUs?\)$/m.exec(out);
    assert.ok(m !== null, out);
    assert.equal(Number(m[3]), cpuCount());
    const size = m[1] === undefined ? undefined : Number(m[1]);
    if (size !== undefined) assert.ok(size >= 1 && size <= 3, `recommendation ${size} within 1..--max`);
    assert.match(out, new RegExp(`^plot: ${plot.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    const svg = readFileSync(plot, 'utf8');
    const { root, elements } = parseXml(svg);
    assert.equal(root, 'svg');
    for (const id of ['series-throughput', 'series-p99']) {
      const i = elements.findIndex((e) => e.id === id);
      assert.ok(i >= 0, `${id} present`);
      assert.equal(elements[i + 1]?.name, 'polyline', `${id} has its line`);
      assert.equal(elements.slice(i + 2, i + 5).filter((e) => e.name === 'circle' || e.name === 'rect').length, 3, `${id} has a mark per size`);
    }
    if (size !== undefined) assert.match(svg, new RegExp(`knee: ${size} worker`));
    else assert.match(svg, /\(recommended\)<\/text>/);
    for (const id of ['baseline-sequential', 'baseline-promise-all', 'baseline-async-kind']) assert.ok(elements.some((e) => e.id === id), `${id} plotted`);
  });

  test('--no-baselines: pool sizes only, and the verdict is a size', async (t) => {
    const dir = tempDir(t);
    const input = writeLines(join(dir, 'sample.jsonl'), Array.from({ length: 8 }, () => '5'));
    let out = '';
    const io = { stdin: Readable.from([]), stdout: new PassThrough().on('data', (c: Buffer) => (out += c.toString())), stderr: new PassThrough().on('data', () => undefined), cwd: dir };
    const module = new URL('../fixtures/tasks.js', import.meta.url).href;
    assert.equal(await main(['node', 'sluice', 'tune', module, '--task', 'inc', '--input', input, '--max', '1', '--no-baselines', '--no-plot'], io), 0, out);
    assert.doesNotMatch(out, /no pool|kind 'async'/);
    assert.match(out, /^recommended size: 1 \(/m);
  });

  test('usage errors: unknown task, bad sample', async (t) => {
    const dir = tempDir(t);
    const module = new URL('../fixtures/tasks.js', import.meta.url).href;
    const sink = (): PassThrough => new PassThrough().on('data', () => undefined);
    let out = '';
    const io = { stdin: Readable.from([]), stdout: new PassThrough().on('data', (c: Buffer) => (out += c.toString())), stderr: sink(), cwd: dir };
    const good = writeLines(join(dir, 'ok.jsonl'), ['1']);
    const bad = writeLines(join(dir, 'bad.jsonl'), ['1', '{nope']);
    assert.equal(await main(['node', 'sluice', 'tune', module, '--task', 'nope', '--input', good, '--max', '1'], io), 2);
    assert.equal(out, '', 'no table header before the unknown task is reported');
    assert.equal(await main(['node', 'sluice', 'tune', module, '--task', 'fib', '--input', bad, '--max', '1'], io), 2);
    assert.equal(await main(['node', 'sluice', 'tune', module, '--task', 'fib', '--input', good, '--max', '0'], io), 2);
  });
});
