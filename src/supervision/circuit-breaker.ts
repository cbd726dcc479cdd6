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

  constructor(policy: BreakerPolicy) {
    this.#p = policy;
    this.#ring = new Uint8Array(policy.windowCount > 0 ? policy.windowCount : 1);
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

  record(failed: boolean, now: number): void {
    if (this.state === 'half-open') {
      if (failed) this.#open(now, 1);
      else if (++this.#trialsOk >= this.#p.halfOpenTrials) this.#close();
      return;
    }
    if (this.state === 'open') return; // a task admitted before it opened
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
    if (failed && volume >= this.#p.minVolume && failures / volume >= this.#p.threshold) this.#open(now, failures / volume);
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
  }
}

/** The pool's breakers: one per task name and/or one for the pool, by `scope`. */
export class Breakers {
  readonly policy: BreakerPolicy;
  readonly #byName = new Map<string, CircuitBreaker>();
  readonly #pool: CircuitBreaker | undefined;
  /** The pool's clock, as of the last result batch or checked submission. */
  now = 0;

  constructor(policy: BreakerPolicy) {
    this.policy = policy;
    this.#pool = policy.scope === 'task' ? undefined : new CircuitBreaker(policy);
  }

  #task(name: string): CircuitBreaker | undefined {
    if (this.policy.scope === 'pool') return undefined;
    let b = this.#byName.get(name);
    if (b === undefined) this.#byName.set(name, (b = new CircuitBreaker(this.policy)));
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

  record(name: string, failed: boolean): void {
    this.#pool?.record(failed, this.now);
    this.#task(name)?.record(failed, this.now);
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
