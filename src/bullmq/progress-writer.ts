/**
 * A task's `ctx.progress(value)` written to its BullMQ job as
 * `job.updateProgress(value)`, throttled: one Redis write in flight per job
 * at a time and at most one every `intervalMs`; values reported meanwhile
 * are coalesced to the latest. `finish()` writes the last value reported and
 * resolves once it is stored, so it reaches Redis (and the queue's event
 * stream, where QueueEvents listeners read 'progress') before the job's
 * outcome does. A failed write is reported and dropped, never thrown:
 * progress is advisory, and the job goes on.
 */

import type { Clock, TimerHandle } from '../time/clock.js';

/** Between two progress writes of one job. */
export const PROGRESS_INTERVAL_MS = 100;

type Write = (value: unknown) => Promise<unknown>;

/** Nothing pending: a value may be anything, `undefined` included. */
const NONE: unique symbol = Symbol('none');

export class ProgressWriter {
  readonly #write: Write;
  readonly #onError: (err: unknown) => void;
  readonly #clock: Clock;
  readonly #intervalMs: number;
  #pending: unknown = NONE;
  #inFlight: Promise<void> | undefined;
  #timer: TimerHandle | undefined;
  #lastAt = Number.NEGATIVE_INFINITY;
  #finished = false;

  constructor(write: Write, onError: (err: unknown) => void, clock: Clock, intervalMs = PROGRESS_INTERVAL_MS) {
    this.#write = write;
    this.#onError = onError;
    this.#clock = clock;
    this.#intervalMs = intervalMs;
  }

  /** The task reported `value`: written now, or once the interval has passed (the latest value then). */
  report(value: unknown): void {
    if (this.#finished) return;
    this.#pending = value;
    this.#pump();
  }

  /** Writes the last value reported, if not yet written; resolves once it is stored (or its write failed). */
  async finish(): Promise<void> {
    this.#finished = true;
    if (this.#timer !== undefined) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    while (this.#inFlight !== undefined) await this.#inFlight;
    if (this.#pending !== NONE) await this.#send();
  }

  #pump(): void {
    if (this.#inFlight !== undefined || this.#timer !== undefined || this.#pending === NONE) return;
    const wait = this.#lastAt + this.#intervalMs - this.#clock.now();
    if (wait > 0 && !this.#finished) {
      this.#timer = this.#clock.setTimeout(() => {
        this.#timer = undefined;
        this.#pump();
      }, wait);
      return;
    }
    void this.#send();
  }

  #send(): Promise<void> {
    const value = this.#pending;
    this.#pending = NONE;
    this.#lastAt = this.#clock.now();
    let written: Promise<unknown>;
    try {
      written = this.#write(value);
    } catch (err) {
      written = Promise.reject(err);
    }
    const p = written.then(
      () => undefined,
      (err: unknown) => this.#onError(err),
    );
    this.#inFlight = p.then(() => {
      this.#inFlight = undefined;
      if (!this.#finished) this.#pump();
    });
    return this.#inFlight;
  }
}
