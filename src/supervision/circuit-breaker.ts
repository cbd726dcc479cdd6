/**
 * Circuit breakers: per task name and/or for the whole pool. Each watches a
 * rolling window of outcomes (the last N, or those of the last T ms in ten
 * buckets). When the error rate reaches `threshold` with at least
 * `minVolume` outcomes in the window, it opens: new tasks fail fast. After
 * `coolDownMs` it half-opens and lets `halfOpenTrials` tasks through; if all
 * succeed it closes (window cleared), a single failure opens it again.
 *
 * What counts: only outcomes of tasks that ran (thrown errors, time-outs,
 * crashes and stalls fail; results succeed). Refusals (a full queue, a closed
 * pool, bad options), caller aborts, drops and deadlines never count.
 *
 * Whose failures: each outcome comes with the worker it ran on. Outcomes
 * of a worker under suspicion or isolated (src/supervision/isolation.ts)
 * are left out, and the breaker opens only when the failures are spread
 * over the pool: after leaving out the one worker with the most failures
 * in the window, the others must still fail at `threshold` or more, at
 * least twice. One bad worker is quarantine's business; a failing
 * task or dependency fails on every worker, and that is the breaker's.
 *
 * Time: the scheduler sets `now` once per result batch and per submission
 * it checks, so recording an outcome reads no clock.
 */

import { CircuitOpenError, ErrorCodes } from '../api/errors.js';

export interface BreakerPolicy {
  threshold: number;
  minVolume: number;
  /** Last N outcomes (0 when time-based). */
  windowCount: number;
  /** Last T ms (0 when count-based). */
  windowMs: number;
  coolDownMs: number;
  halfOpenTrials: number;
  scope: 'task' | 'pool' | 'both';
  onOpen: 'reject' | 'dead-letter';
}

export type BreakerState = 'closed' | 'open' | 'half-open';

const BUCKETS = 10;
/** Outcomes remembered with their worker for a time window (a count window remembers exactly its own). */
const ATTRIBUTED = 1024;
/** The worker of an outcome recorded without one. */
const NO_WORKER = -1;

/** Whether a worker's outcomes are left out (under suspicion, or isolated). */
export type Excluded = (worker: number) => boolean;
const NONE_EXCLUDED: Excluded = () => false;
const ONE_WORKER = (): number => 1;

export class CircuitBreaker {
  readonly #p: BreakerPolicy;
  state: BreakerState = 'closed';
  /** Count window: a ring of outcomes (1 = failure). */
  readonly #ring: Uint8Array;
  #ringPos = 0;
  #ringFilled = 0;
  #ringFailures = 0;
  /** Time window: ok/failed counts per bucket, and which bucket period each holds. */
  readonly #ok = new Float64Array(BUCKETS);
  readonly #bad = new Float64Array(BUCKETS);
  readonly #period = new Float64Array(BUCKETS).fill(-1);
  #openedAt = 0;
  #rateAtOpen = 0;
  #trialsLeft = 0;
  #trialsOk = 0;
  /** Times this breaker opened. */
  opened = 0;
  /** Each outcome's worker, failure and time, for the spread test: a ring of ATTRIBUTED or windowCount entries. */
  readonly #who: Int32Array;
  readonly #whoFailed: Uint8Array;
  readonly #whoAt: Float64Array;
  #whoPos = 0;
  #whoFilled = 0;
  readonly #excluded: Excluded;
  readonly #workers: () => number;

  constructor(policy: BreakerPolicy, excluded: Excluded = NONE_EXCLUDED, workers: () => number = ONE_WORKER) {
    this.#p = policy;
    this.#excluded = excluded;
    this.#workers = workers;
    this.#ring = new Uint8Array(policy.windowCount > 0 ? policy.windowCount : 1);
    const size = policy.windowCount > 0 ? policy.windowCount : ATTRIBUTED;
    this.#who = new Int32Array(size);
    this.#whoFailed = new Uint8Array(size);
    this.#whoAt = new Float64Array(size);
  }

  /** Whether a new task may pass now; half-open hands out trial permits. */
  allow(now: number): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open') {
      if (now - this.#openedAt < this.#p.coolDownMs) return false;
      this.state = 'half-open';
      this.#trialsLeft = this.#p.halfOpenTrials;
      this.#trialsOk = 0;
    }
    if (this.#trialsLeft <= 0) return false;
    this.#trialsLeft--;
    return true;
  }

  get retryAt(): number {
    return this.#openedAt + this.#p.coolDownMs;
  }

  get rateAtOpen(): number {
    return this.#rateAtOpen;
  }

  /** One outcome of a task that ran on `worker` (NO_WORKER when unknown). */
  record(failed: boolean, now: number, worker = NO_WORKER): void {
    if (worker !== NO_WORKER && this.#excluded(worker)) {
      // Not evidence about the task. A trial spent on a suspect is handed back.
      if (this.state === 'half-open') this.#trialsLeft++;
      return;
    }
    if (this.state === 'half-open') {
      if (failed) this.#open(now, 1);
      else if (++this.#trialsOk >= this.#p.halfOpenTrials) this.#close();
      return;
    }
    if (this.state === 'open') return; // a task admitted before it opened
    const at = this.#whoPos;
    this.#who[at] = worker;
    this.#whoFailed[at] = failed ? 1 : 0;
    this.#whoAt[at] = now;
    this.#whoPos = (at + 1) % this.#who.length;
    if (this.#whoFilled < this.#who.length) this.#whoFilled++;
    let volume: number;
    let failures: number;
    if (this.#p.windowCount > 0) {
      const ring = this.#ring;
      if (this.#ringFilled === ring.length) this.#ringFailures -= ring[this.#ringPos] as number;
      else this.#ringFilled++;
      ring[this.#ringPos] = failed ? 1 : 0;
      if (failed) this.#ringFailures++;
      this.#ringPos = (this.#ringPos + 1) % ring.length;
      volume = this.#ringFilled;
      failures = this.#ringFailures;
    } else {
      const width = this.#p.windowMs / BUCKETS;
      const period = Math.floor(now / width);
      const b = period % BUCKETS;
      if (this.#period[b] !== period) {
        this.#period[b] = period;
        this.#ok[b] = 0;
        this.#bad[b] = 0;
      }
      if (failed) this.#bad[b] = (this.#bad[b] as number) + 1;
      else this.#ok[b] = (this.#ok[b] as number) + 1;
      volume = 0;
      failures = 0;
      for (let i = 0; i < BUCKETS; i++) {
        if ((this.#period[i] as number) <= period - BUCKETS) continue;
        volume += (this.#ok[i] as number) + (this.#bad[i] as number);
        failures += this.#bad[i] as number;
      }
    }
    if (failed && volume >= this.#p.minVolume && failures / volume >= this.#p.threshold) {
      const spread = this.#spread(now);
      if (spread !== undefined) this.#open(now, spread);
    }
  }

  /**
   * The failure rate of the window without excluded workers' outcomes, when
   * the failures are spread: the workers other than the one with the most
   * failures fail at `threshold` or more, at least twice; else undefined. A single
   * worker's outcomes count alone only in a pool of one: with peers, their
   * outcomes are awaited (placement passes over a worker failing in a row,
   * so they come).
   */
  #spread(now: number): number | undefined {
    const p = this.#p;
    const since = p.windowCount > 0 ? -Infinity : now - p.windowMs;
    const per = new Map<number, { n: number; k: number }>();
    let n = 0;
    let k = 0;
    for (let i = 0; i < this.#whoFilled; i++) {
      if ((this.#whoAt[i] as number) <= since) continue;
      const w = this.#who[i] as number;
      if (w !== NO_WORKER && this.#excluded(w)) continue;
      const f = this.#whoFailed[i] as number;
      let c = per.get(w);
      if (c === undefined) per.set(w, (c = { n: 0, k: 0 }));
      c.n++;
      c.k += f;
      n++;
      k += f;
    }
    if (n < p.minVolume) return undefined;
    if (per.size === 1 && !per.has(NO_WORKER) && this.#workers() > 1) return undefined;
    if (per.size > 1) {
      let worst = { n: 0, k: 0 };
      for (const c of per.values()) if (c.k > worst.k) worst = c;
      const restN = n - worst.n;
      const restK = k - worst.k;
      // Spread: the others fail too, at the threshold rate, and more than once (one failure proves little).
      if (restK < 2 || restK / restN < p.threshold) return undefined;
    }
    return k / n >= p.threshold ? k / n : undefined;
  }

  /**
   * Workers were put under suspicion or isolated: an open breaker whose
   * window, without them, no longer shows spread failures half-opens now,
   * so its trials (placed on healthy workers) can close it.
   */
  reconsider(now: number): void {
    if (this.state !== 'open' || this.#spread(now) !== undefined) return;
    this.#openedAt = now - this.#p.coolDownMs;
  }

  #open(now: number, rate: number): void {
    this.state = 'open';
    this.opened++;
    this.#openedAt = now;
    this.#rateAtOpen = rate;
  }

  #close(): void {
    this.state = 'closed';
    this.#ring.fill(0);
    this.#ringFilled = 0;
    this.#ringFailures = 0;
    this.#ringPos = 0;
    this.#period.fill(-1);
    this.#whoFilled = 0;
    this.#whoPos = 0;
  }
}

/** The pool's breakers: one per task name and/or one for the pool, by `scope`. */
export class Breakers {
  readonly policy: BreakerPolicy;
  readonly #byName = new Map<string, CircuitBreaker>();
  readonly #pool: CircuitBreaker | undefined;
  readonly #excluded: Excluded;
  readonly #workers: () => number;
  /** The pool's clock, as of the last result batch or checked submission. */
  now = 0;

  /** `excluded`: workers whose outcomes are left out; `workers`: how many the pool has now. */
  constructor(policy: BreakerPolicy, excluded: Excluded = NONE_EXCLUDED, workers: () => number = ONE_WORKER) {
    this.policy = policy;
    this.#excluded = excluded;
    this.#workers = workers;
    this.#pool = policy.scope === 'task' ? undefined : new CircuitBreaker(policy, excluded, workers);
  }

  #task(name: string): CircuitBreaker | undefined {
    if (this.policy.scope === 'pool') return undefined;
    let b = this.#byName.get(name);
    if (b === undefined) this.#byName.set(name, (b = new CircuitBreaker(this.policy, this.#excluded, this.#workers)));
    return b;
  }

  /** `undefined` when the task may run; else the error to refuse it with. */
  check(name: string, now: number): CircuitOpenError | undefined {
    this.now = now;
    const pool = this.#pool;
    if (pool !== undefined && !pool.allow(now)) return new CircuitOpenError(name, 'pool', pool.rateAtOpen, pool.retryAt);
    const t = this.#task(name);
    if (t !== undefined && !t.allow(now)) return new CircuitOpenError(name, 'task', t.rateAtOpen, t.retryAt);
    return undefined;
  }

  record(name: string, failed: boolean, worker?: number): void {
    this.#pool?.record(failed, this.now, worker);
    this.#task(name)?.record(failed, this.now, worker);
  }

  /** Workers came under suspicion or were isolated: open breakers look at their windows again. */
  reconsider(now: number): void {
    this.#pool?.reconsider(now);
    for (const b of this.#byName.values()) b.reconsider(now);
  }

  /** State of each breaker, for stats(). */
  states(): Record<string, BreakerState> {
    const out: Record<string, BreakerState> = {};
    if (this.#pool !== undefined) out['*'] = this.#pool.state;
    for (const [name, b] of this.#byName) out[name] = b.state;
    return out;
  }
}

/** Which failures a breaker counts: a task that ran and failed, not one refused, aborted, dropped or out of deadline. */
export function countsAsFailure(code: unknown): boolean {
  return (
    code !== ErrorCodes.TASK_ABORTED &&
    code !== ErrorCodes.TASK_DROPPED &&
    code !== ErrorCodes.DEADLINE_EXCEEDED &&
    code !== ErrorCodes.POOL_CLOSED &&
    code !== ErrorCodes.POOL_FAILED &&
    code !== ErrorCodes.CIRCUIT_OPEN
  );
}
