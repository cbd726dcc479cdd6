/**
 * The heartbeat watchdog's judgement, per worker, on the pool's clock. The
 * worker beats from its own timer (a shared counter for threads, a tiny
 * message for processes), so a beat proves its event loop is free. Each
 * watchdog check compares the beat count with the previous one.
 *
 * Blocking tasks: a task run with `stallMs` (or `blocking: true`, meaning
 * Infinity) may hold its worker's event loop that long. While such a task
 * is the one running, silence is expected until it has been silent
 * `stallMs` plus the usual `missedBeats` intervals; after that the worker is
 * hung. Without a declaration, `missedBeats` intervals of silence is a stall.
 */

export class BeatWatch {
  #lastBeats = -1;
  /** Pool-clock time of the last check that saw a new beat (or of the first check). */
  lastBeatAt = 0;
  missed = 0;

  /** Takes one check's beat count; returns the intervals missed in a row. */
  observe(beats: number, now: number): number {
    if (beats !== this.#lastBeats) {
      this.#lastBeats = beats;
      this.lastBeatAt = now;
      this.missed = 0;
    } else {
      this.missed++;
    }
    return this.missed;
  }
}

/** Whether a silent worker is stalled, given the `stallMs` of the task it runs (0: none declared). */
export function isStalled(missed: number, silentMs: number, missedBeats: number, intervalMs: number, stallMs: number): boolean {
  if (missed < missedBeats) return false;
  if (stallMs <= 0) return true;
  return silentMs >= stallMs + missedBeats * intervalMs;
}
