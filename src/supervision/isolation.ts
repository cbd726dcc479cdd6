/**
 * Isolating the failing subset: which workers are under suspicion, from
 * each worker's recent outcomes against its peers'. Quarantine drains and
 * replaces a suspect; the circuit breakers leave a suspect's outcomes out,
 * so one bad worker never cuts off a task name that its peers run fine;
 * placement sends work to the others while they have room. Pure: the
 * engine reports each outcome with the worker it came from.
 *
 * The rule (docs/supervision.md, "Breakers and quarantine"): worker w,
 * with k failures in its last n outcomes, is an outlier when
 *
 * - n >= minTasks, and its peers (the other workers not already suspect
 *   whose rates are at most those workers' median) have N >= minTasks
 *   outcomes since w's oldest recorded failure, K of them failures;
 * - k/n >= minErrorRate and k/n > factor * K/N;
 * - P[X >= k] <= significance for X ~ Binomial(n, p0), p0 = (K+1)/(N+2):
 *   under "w fails like its peers" (the peers' rate, smoothed so that a
 *   clean record is not read as a rate of zero), so many failures would be
 *   that unlikely.
 *
 * With the defaults (5, 0.2, 3, 1e-4), a worker that fails everything
 * while its peers succeed is suspect at its 5th failure when its peers
 * have 5 clean outcomes (p0 = 1/7, tail 6e-5), or at its 3rd when they
 * have 20 ((1/22)^3 = 9e-5); one failing 30 % where its peers fail 1 % (2
 * in 200) after 12 outcomes. The tail falls exponentially with the
 * evidence, so strong evidence needs few tasks.
 * At most half the pool (rounded down) is ever suspect: when more fail,
 * the failures are spread and the breaker's business.
 */

export interface OutlierRule {
  factor: number;
  minErrorRate: number;
  minTasks: number;
  significance: number;
}

/** The rule when quarantine is off but a breaker needs to tell a bad worker from a bad task. */
export const DEFAULT_OUTLIER_RULE: OutlierRule = Object.freeze({ factor: 5, minErrorRate: 0.2, minTasks: 3, significance: 1e-4 });

/** Outcomes kept per worker: its recent record, so a worker that turns bad late is judged on now, not its whole life. */
export const RECORD_LENGTH = 64;

/** P[X >= k] for X ~ Binomial(n, p), summed in log space (n is at most RECORD_LENGTH here, any n works). */
export function binomialTail(n: number, k: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  const lp = Math.log(p);
  const lq = Math.log1p(-p);
  // log C(n, k), then each next term from the previous one.
  let logC = 0;
  for (let i = 1; i <= k; i++) logC += Math.log((n - k + i) / i);
  let logTerm = logC + k * lp + (n - k) * lq;
  let sum = 0;
  for (let i = k; i <= n; i++) {
    sum += Math.exp(logTerm);
    logTerm += Math.log((n - i) / (i + 1)) + lp - lq;
  }
  return Math.min(1, sum);
}

/** Whether k failures in n outcomes are an outlier against peers' K in N (the rule above). */
export function isOutlier(n: number, k: number, peersN: number, peersK: number, rule: OutlierRule): boolean {
  if (n < rule.minTasks || peersN < rule.minTasks) return false;
  const rate = k / n;
  if (rate < rule.minErrorRate || !(rate > rule.factor * (peersK / peersN))) return false;
  return binomialTail(n, k, (peersK + 1) / (peersN + 2)) <= rule.significance;
}

/** One worker's last RECORD_LENGTH outcomes (1 = failed), each with its place in the pool's sequence of outcomes. */
class Record {
  readonly ring = new Uint8Array(RECORD_LENGTH);
  readonly at = new Float64Array(RECORD_LENGTH);
  pos = 0;
  n = 0;
  k = 0;
  /** Failures in a row, up to now. */
  streak = 0;

  add(failed: boolean, at: number): void {
    this.streak = failed ? this.streak + 1 : 0;
    const ring = this.ring;
    if (this.n === RECORD_LENGTH) this.k -= ring[this.pos] as number;
    else this.n++;
    ring[this.pos] = failed ? 1 : 0;
    this.at[this.pos] = at;
    if (failed) this.k++;
    this.pos = (this.pos + 1) % RECORD_LENGTH;
  }

  /** Where in the pool's sequence the oldest failure it still holds came; Infinity if none. */
  firstFailure(): number {
    let first = Infinity;
    for (let i = 0; i < this.n; i++) if (this.ring[i] === 1 && (this.at[i] as number) < first) first = this.at[i] as number;
    return first;
  }

  /** Its outcomes from `since` on (in the pool's sequence): how many, and how many failed. */
  countSince(since: number): { n: number; k: number } {
    let n = 0;
    let k = 0;
    for (let i = 0; i < this.n; i++) {
      if ((this.at[i] as number) < since) continue;
      n++;
      k += this.ring[i] as number;
    }
    return { n, k };
  }
}

/**
 * Failures in a row after which a worker is in doubt: placement prefers its
 * peers until it succeeds again. Not a verdict: it makes the peers run
 * tasks, so the evidence the rule needs (their outcomes) comes in. Without
 * it, a worker that fails fast finishes the most tasks, and with low
 * concurrency the least-loaded choice gives it nearly all of them.
 */
const DOUBT_STREAK = 3;

/** Ids of workers isolated (quarantined) over the pool's life, kept so their outcomes stay out of the breakers' windows. */
const ISOLATED_KEPT = 1024;

export class Suspicion {
  readonly rule: OutlierRule;
  readonly #records = new Map<number, Record>();
  readonly #suspects = new Set<number>();
  readonly #isolated = new Set<number>();
  /** Outcomes recorded so far: each outcome's place in the pool's sequence. */
  #seq = 0;
  /** Workers with DOUBT_STREAK failures in a row or more, suspects included. */
  #doubted = 0;
  /** Workers that became suspect over the pool's life. */
  suspected = 0;

  constructor(rule: OutlierRule) {
    this.rule = rule;
  }

  /**
   * Records one counted outcome of `worker`. Returns true when a worker
   * became suspect: this one, on a failure, or one in doubt, on a peer's
   * success (see `suspects` for which).
   */
  record(worker: number, failed: boolean): boolean {
    let r = this.#records.get(worker);
    if (r === undefined) this.#records.set(worker, (r = new Record()));
    const doubted = r.streak >= DOUBT_STREAK;
    r.add(failed, this.#seq++);
    if (doubted !== r.streak >= DOUBT_STREAK) this.#doubted += doubted ? -1 : 1;
    if (failed) return !this.#suspects.has(worker) && this.#judge(worker, r);
    // A peer's success is evidence against a worker in doubt: judge those again (rarely more than one).
    if (this.#doubted === 0) return false;
    let fresh = false;
    for (const [id, d] of this.#records) {
      if (d.streak >= DOUBT_STREAK && !this.#suspects.has(id) && this.#judge(id, d)) fresh = true;
    }
    return fresh;
  }

  /** Under suspicion now, or isolated before: the breakers leave its outcomes out. */
  excluded(worker: number): boolean {
    return this.#suspects.has(worker) || this.#isolated.has(worker);
  }

  suspect(worker: number): boolean {
    return this.#suspects.has(worker);
  }

  /** Suspect, or DOUBT_STREAK failures in a row: placement passes it over while others have room. */
  avoid(worker: number): boolean {
    return this.#suspects.has(worker) || (this.#records.get(worker)?.streak ?? 0) >= DOUBT_STREAK;
  }

  get suspects(): ReadonlySet<number> {
    return this.#suspects;
  }

  /** The worker is being drained and replaced: it stays excluded, and stops counting as a peer. */
  isolate(worker: number): void {
    this.#forget(worker);
    this.#isolated.add(worker);
    if (this.#isolated.size > ISOLATED_KEPT) this.#isolated.delete(this.#isolated.values().next().value as number);
  }

  /** The worker is gone (exited for any reason): its record goes; an isolated id stays excluded. */
  gone(worker: number): void {
    this.#forget(worker);
  }

  #forget(worker: number): void {
    if ((this.#records.get(worker)?.streak ?? 0) >= DOUBT_STREAK) this.#doubted--;
    this.#records.delete(worker);
    this.#suspects.delete(worker);
  }

  /**
   * The periodic re-check: suspects whose record no longer stands out are
   * cleared (a worker that recovered, where nothing replaced it), then each
   * other worker is judged. Returns the workers that became suspect.
   */
  review(): number[] {
    for (const id of [...this.#suspects]) {
      this.#suspects.delete(id);
      const r = this.#records.get(id);
      if (r !== undefined && this.#stands(id, r)) this.#suspects.add(id);
    }
    const fresh: number[] = [];
    for (const [id, r] of this.#records) {
      if (!this.#suspects.has(id) && r.k > 0 && this.#judge(id, r)) fresh.push(id);
    }
    return fresh;
  }

  #judge(worker: number, r: Record): boolean {
    if (!this.#stands(worker, r)) return false;
    this.#suspects.add(worker);
    this.suspected++;
    return true;
  }

  /**
   * Whether `worker` is an outlier against its peers, and there is room for
   * one more suspect. Its peers' outcomes count from its oldest failure on:
   * peers that succeeded while it failed are evidence against it, their
   * older successes are not (a dependency that fails for everyone would
   * otherwise make the first worker to meet it look bad against its peers'
   * clean past). Its peers are the other workers not suspect whose rate
   * over that span is at most their median: a second bad worker must not
   * hide the first by raising the peers' rate (the median is taken over
   * all of them and the worker itself).
   */
  #stands(worker: number, r: Record): boolean {
    // Never half the pool or more: failures that widespread are not a subset.
    if ((this.#suspects.size + 1) * 2 > this.#records.size) return false;
    const since = r.firstFailure();
    if (since === Infinity) return false;
    const peers: { n: number; k: number }[] = [];
    for (const [id, p] of this.#records) {
      if (id === worker || this.#suspects.has(id)) continue;
      const c = p.countSince(since);
      if (c.n > 0) peers.push(c);
    }
    // The median counts the worker itself: with two bad workers of three, the median is bad, and neither stands out.
    const rates = [r.k / r.n, ...peers.map((c) => c.k / c.n)].sort((a, b) => a - b);
    const median = rates[(rates.length - 1) >> 1] ?? 0;
    let peersN = 0;
    let peersK = 0;
    for (const c of peers) {
      if (c.k / c.n > median) continue;
      peersN += c.n;
      peersK += c.k;
    }
    return isOutlier(r.n, r.k, peersN, peersK, this.rule);
  }
}
