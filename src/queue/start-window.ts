/**
 * The start-rate limit's bucket: at most `tasks` starts in any window of
 * `perMs`. A token bucket whose tokens each come back `perMs` after they
 * were taken (a sliding log of the last `tasks` starts), so the bound holds
 * for every window, not only on average: a plain refilling bucket would let
 * a full burst and then the refill through within one window. Pure and
 * clock-free: the caller passes the time (the pool's injectable clock).
 */
export class StartWindow {
  readonly #perMs: number;
  /** When each of the last `tasks` starts happened, oldest at `#next` (a ring). */
  readonly #starts: Float64Array;
  #next = 0;

  constructor(tasks: number, perMs: number) {
    this.#perMs = perMs;
    this.#starts = new Float64Array(tasks).fill(-Infinity);
  }

  /** Takes a token if one is free at `now`. */
  take(now: number): boolean {
    if (now - (this.#starts[this.#next] as number) < this.#perMs) return false;
    this.#starts[this.#next] = now;
    this.#next = (this.#next + 1) % this.#starts.length;
    return true;
  }

  /** When the next token comes back (now or earlier: one is free). */
  nextAt(): number {
    return (this.#starts[this.#next] as number) + this.#perMs;
  }
}
