/**
 * Restart intensity, as an Erlang/OTP supervisor counts it: more than
 * `maxRestarts` worker restarts within `withinMs` means restarting is not
 * helping (a crash loop), so the pool stops respawning at full speed and
 * fails, recoverably. While failed it starts one probe worker after a
 * backoff that doubles per failed probe; a probe that stays up for
 * `recoverAfterMs` ends the failed state. Pure bookkeeping on the pool's
 * clock; the scheduler acts on what it says.
 */

export interface IntensityPolicy {
  maxRestarts: number;
  withinMs: number;
  backoffMs: number;
  maxBackoffMs: number;
  recoverAfterMs: number;
}

/** How many crash causes a PoolFailedError names. */
const KEEP_CAUSES = 5;

export class RestartIntensity {
  readonly policy: IntensityPolicy;
  /** Restart times within the window, oldest first. */
  #times: number[] = [];
  #causes: unknown[] = [];
  /** Failed probes since the pool failed. */
  #probes = 0;
  /** Restarts counted over the pool's life. */
  total = 0;

  constructor(policy: IntensityPolicy) {
    this.policy = policy;
  }

  /** Counts one restart; true when the intensity is exceeded. */
  record(now: number, cause: unknown): boolean {
    this.total++;
    this.#causes.push(cause);
    if (this.#causes.length > KEEP_CAUSES) this.#causes.shift();
    const times = this.#times;
    times.push(now);
    const from = now - this.policy.withinMs;
    while (times.length > 0 && (times[0] as number) <= from) times.shift();
    return times.length > this.policy.maxRestarts;
  }

  /** Restarts in the window now. */
  get recent(): number {
    return this.#times.length;
  }

  get causes(): readonly unknown[] {
    return this.#causes;
  }

  /** The wait before the next probe worker; each call counts a probe. */
  nextProbeDelay(): number {
    const { backoffMs, maxBackoffMs } = this.policy;
    const d = Math.min(maxBackoffMs, backoffMs * 2 ** this.#probes);
    this.#probes++;
    return d;
  }

  /** A probe stayed up: forget the crash loop. */
  recovered(): void {
    this.#times = [];
    this.#probes = 0;
  }
}
