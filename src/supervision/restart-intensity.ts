/**
 * Restart intensity, as an Erlang/OTP supervisor counts it: more than
 * `maxRestarts` worker restarts within `withinMs` means restarting is not
 * helping (a crash loop), so the pool stops respawning at full speed and
 * fails, recoverably. A rate alone misses the slow loop: a process worker
 * takes 50 to 100 ms to start, so workers that die right after loading
 * restart fewer than 100 times in 10 s and burn a core for ever. So it also
 * counts consecutive restarts of workers that finished no task in their
 * life, or that ended themselves while running no task (`maxBarrenRestarts`,
 * the scheduler decides what is barren): more of those in a row fail the
 * pool too, however slowly they come, and each one in a row waits a
 * growing respawn delay (`respawnDelay`) so that the loop costs little CPU
 * meanwhile. Any other restart ends the streak. While failed it starts one probe worker after a
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
  /** Consecutive restarts of workers that did no work, past which the pool fails. */
  maxBarrenRestarts: number;
}

/** First respawn delay within a barren streak; it doubles per restart, up to `backoffMs`. */
const RESPAWN_BASE_MS = 25;

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
  /** Consecutive restarts of workers that finished no task. */
  #barren = 0;

  constructor(policy: IntensityPolicy) {
    this.policy = policy;
  }

  /** Counts one restart (`barren`: the worker finished no task in its life); true when the intensity is exceeded. */
  record(now: number, cause: unknown, barren = false): boolean {
    this.total++;
    this.#barren = barren ? this.#barren + 1 : 0;
    this.#causes.push(cause);
    if (this.#causes.length > KEEP_CAUSES) this.#causes.shift();
    const times = this.#times;
    times.push(now);
    const from = now - this.policy.withinMs;
    while (times.length > 0 && (times[0] as number) <= from) times.shift();
    return times.length > this.policy.maxRestarts || this.#barren > this.policy.maxBarrenRestarts;
  }

  /** Restarts in a row of workers that finished no task; past `maxBarrenRestarts` it is what failed the pool. */
  get barren(): number {
    return this.#barren > this.policy.maxBarrenRestarts ? this.#barren : 0;
  }

  /** How long to wait before replacing a worker now: 0 unless restarts in a row have done no work. */
  respawnDelay(): number {
    if (this.#barren <= 1) return 0;
    return Math.min(this.policy.backoffMs, RESPAWN_BASE_MS * 2 ** (this.#barren - 2));
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
    this.#barren = 0;
    this.#probes = 0;
  }
}
