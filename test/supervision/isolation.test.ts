/**
 * The isolation rule (src/supervision/isolation.ts) and how the breakers use
 * it, as pure functions: which worker is suspect and after how much
 * evidence, and a breaker that opens on failures spread over the pool but
 * not on one bad worker's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker, type BreakerPolicy } from '../../src/supervision/circuit-breaker.js';
import { binomialTail, DEFAULT_OUTLIER_RULE, isOutlier, Suspicion } from '../../src/supervision/isolation.js';

const rule = DEFAULT_OUTLIER_RULE;
const policy: BreakerPolicy = { threshold: 0.05, minVolume: 20, windowCount: 100, windowMs: 0, coolDownMs: 5000, halfOpenTrials: 3, scope: 'task', onOpen: 'reject' };

test('binomialTail matches the direct sum', () => {
  const direct = (n: number, k: number, p: number): number => {
    let sum = 0;
    for (let i = k; i <= n; i++) {
      let c = 1;
      for (let j = 1; j <= i; j++) c = (c * (n - i + j)) / j;
      sum += c * p ** i * (1 - p) ** (n - i);
    }
    return sum;
  };
  for (const [n, k, p] of [[20, 7, 0.2], [64, 30, 0.4], [5, 5, 1 / 7], [10, 0, 0.3], [12, 4, 3 / 202]] as const) {
    assert.ok(Math.abs(binomialTail(n, k, p) - direct(n, k, p)) < 1e-12, `${n} ${k} ${p}`);
  }
  assert.equal(binomialTail(5, 6, 0.5), 0);
  assert.equal(binomialTail(5, 0, 0.5), 1);
});

test('the outlier rule: strong evidence needs few tasks, weak evidence more, spread failures none', () => {
  // Fails everything, peers clean: the 5th failure decides (tail (1/7)^5 = 6e-5), the 4th does not (4e-4).
  assert.equal(isOutlier(4, 4, 5, 0, rule), false);
  assert.equal(isOutlier(5, 5, 5, 0, rule), true);
  // 30 % against 1 %: 12 outcomes.
  assert.equal(isOutlier(11, 3, 200, 2, rule), false);
  assert.equal(isOutlier(12, 4, 200, 2, rule), true);
  // The same rate as its peers, or below minErrorRate, or too few peers: never.
  assert.equal(isOutlier(64, 64, 64, 64, rule), false);
  assert.equal(isOutlier(64, 12, 200, 0, rule), false, 'under minErrorRate 0.2');
  assert.equal(isOutlier(64, 64, 2, 0, rule), false, 'peers under minTasks');
  // Three failures are enough once the peers have 20 clean outcomes ((1/22)^3 = 9e-5), not with 19.
  assert.equal(isOutlier(3, 3, 19, 0, rule), false);
  assert.equal(isOutlier(3, 3, 20, 0, rule), true);
  assert.equal(isOutlier(64, 40, 64, 10, rule), false, 'not factor 5 above its peers');
});

test('Suspicion: one bad worker of three, tasks in turn, is suspect at its 5th failure; when all fail, none is', () => {
  const s = new Suspicion(rule);
  let became: number | undefined;
  for (let round = 1; round <= 10 && became === undefined; round++) {
    s.record(1, false);
    s.record(2, false);
    s.record(3, true);
    if (s.suspect(3)) became = round;
  }
  assert.equal(became, 5, '(1/12)^5 = 4e-6 against 10 clean outcomes; at the 4th, (1/10)^4 is not below 1e-4');
  assert.ok(s.excluded(3) && s.suspect(3));
  assert.ok(!s.excluded(1) && !s.excluded(2));
  s.isolate(3);
  assert.ok(s.excluded(3), 'an isolated worker stays excluded');
  assert.ok(!s.suspect(3));

  const all = new Suspicion(rule);
  for (let i = 0; i < 64; i++) for (const w of [1, 2, 3]) assert.equal(all.record(w, true), false);
  assert.equal(all.suspects.size, 0);

  // A dependency that starts failing: the first worker to meet it is not judged against its peers' clean past.
  const outage = new Suspicion(rule);
  for (let i = 0; i < 30; i++) outage.record(1, false);
  outage.record(2, false);
  outage.record(3, false);
  for (let i = 0; i < 6; i++) outage.record(2, true);
  outage.record(1, true);
  outage.record(3, true);
  assert.equal(outage.suspects.size, 0);
});

test('Suspicion: a worker in doubt (3 failures in a row) is judged again on its peers\' successes', () => {
  const s = new Suspicion(rule);
  for (const w of [1, 2]) s.record(w, false);
  for (let i = 0; i < 3; i++) assert.equal(s.record(3, true), false);
  assert.ok(s.avoid(3) && !s.suspect(3), 'in doubt: passed over, not yet suspect');
  let peers = 0;
  while (!s.suspect(3)) {
    assert.ok(peers < 40, 'became suspect');
    s.record((peers % 2) + 1, false);
    peers++;
  }
  assert.equal(peers, 20, 'when the peers have 20 clean outcomes since its first failure: (1/22)^3 = 9e-5');
});

test('Suspicion: two bad of four are both suspect (peers are the median and below); two of three are a majority, not a subset; review clears a recovered one', () => {
  const s = new Suspicion(rule);
  const three = new Suspicion(rule);
  for (let i = 0; i < 20; i++) {
    s.record(1, true);
    s.record(2, true);
    s.record(3, false);
    s.record(4, false);
    three.record(1, true);
    three.record(2, true);
    three.record(3, false);
  }
  assert.deepEqual([...s.suspects].sort(), [1, 2]);
  assert.equal(three.suspects.size, 0);
  const t = new Suspicion(rule);
  for (let i = 0; i < 10; i++) {
    t.record(1, false);
    t.record(2, true);
  }
  assert.ok(t.suspect(2));
  for (let i = 0; i < 64; i++) {
    t.record(1, false);
    t.record(2, false);
  }
  assert.deepEqual(t.review(), []);
  assert.ok(!t.suspect(2), 'its last 64 outcomes are clean');
});

test('breaker: one bad worker of three does not open it; the same failures spread over all three do', () => {
  const suspicion = new Suspicion(rule);
  const b = new CircuitBreaker(policy, (w) => suspicion.excluded(w));
  // Without suspicion (quarantine's evidence not in yet): leave-one-out keeps it closed.
  const blind = new CircuitBreaker(policy);
  for (let i = 0; i < 60; i++) {
    const w = (i % 3) + 1;
    const failed = w === 3;
    suspicion.record(w, failed);
    b.record(failed, i, w);
    blind.record(failed, i, w);
  }
  assert.equal(b.state, 'closed');
  assert.equal(blind.state, 'closed', 'the worst worker left out, the rest is clean');

  const dep = new CircuitBreaker(policy);
  let openedAt = -1;
  for (let i = 0; i < 60 && openedAt < 0; i++) {
    dep.record(true, i, (i % 3) + 1);
    if (dep.state === 'open') openedAt = i;
  }
  assert.equal(openedAt, 19, 'a failing dependency opens it at minVolume');
});

test('breaker: a trial that lands on a suspect is handed back; reconsider half-opens a breaker the bad worker opened', () => {
  let suspect = -1;
  const b = new CircuitBreaker({ ...policy, minVolume: 4, halfOpenTrials: 2 }, (w) => w === suspect);
  b.record(true, 0, 1);
  b.record(true, 0, 1);
  b.record(true, 0, 1);
  b.record(true, 0, 1);
  assert.equal(b.state, 'open', 'one worker only: nothing to compare, its rate counts');
  suspect = 1;
  b.reconsider(10);
  assert.equal(b.allow(10), true, 'half-open at once, not after coolDownMs');
  assert.equal(b.state, 'half-open');
  assert.equal(b.allow(10), true);
  assert.equal(b.allow(10), false);
  b.record(true, 11, 1); // a trial that ran on the suspect: not evidence, and its permit comes back
  assert.equal(b.state, 'half-open');
  assert.equal(b.allow(11), true);
  b.record(false, 12, 2);
  b.record(false, 12, 2);
  assert.equal(b.state, 'closed');
});

test('breaker: a time window attributes outcomes too', () => {
  const b = new CircuitBreaker({ ...policy, windowCount: 0, windowMs: 1000 });
  for (let i = 0; i < 90; i++) b.record(i % 3 === 0, 5000 + i, (i % 3) + 1);
  assert.equal(b.state, 'closed', 'all failures on worker 1');
  for (let i = 0; i < 30; i++) b.record(true, 5100 + i, (i % 3) + 1);
  assert.equal(b.state, 'open', 'then on every worker');
});
