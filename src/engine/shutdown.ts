/**
 * How a pool stops: a two-phase close (stop accepting; drain queued and
 * running work; then stop the workers, with teardown where the module has
 * one), terminate (every pending task rejects with PoolClosedError now and
 * every worker is killed), and failure (a module that cannot load, restart
 * intensity exceeded: what has not run is rejected with the pool's error).
 * Whichever way, the close promise settles once every worker has exited.
 */

import { PoolClosedError } from '../api/errors.js';
import { CallbackTimer } from '../time/timer-heap.js';
import type { Scheduler } from './scheduler.js';
import { Outcome } from './task.js';

export class Shutdown {
  #closePromise: Promise<void> | undefined;
  #closeTimer: CallbackTimer | undefined;
  #allExited: (() => void)[] = [];
  readonly #engine: Scheduler;

  constructor(engine: Scheduler) {
    this.#engine = engine;
  }

  /** Two-phase: stop accepting, drain queued and running work, then stop the workers; after `timeoutMs`, terminate. */
  close(timeoutMs: number): Promise<void> {
    if (this.#closePromise !== undefined) return this.#closePromise;
    const engine = this.#engine;
    engine.supervised.recoverable = false;
    if (engine.state === 'failed' || engine.state === 'closed') return (this.#closePromise = this.#terminateAll(new PoolClosedError()));
    engine.state = 'closing';
    engine.backlog.rejectReady(new PoolClosedError());
    this.#closePromise = this.#exited();
    if (timeoutMs !== Infinity) {
      this.#closeTimer = new CallbackTimer(() => {
        void this.#terminateAll(new PoolClosedError(`pool closed after its close timeout of ${timeoutMs} ms; the task had not finished`));
      });
      engine.timers.schedule(this.#closeTimer, engine.clock.now() + timeoutMs);
    }
    engine.life.setRef(true);
    this.checkDrained();
    return this.#closePromise;
  }

  /** Immediate: every pending task rejects with PoolClosedError and all workers are killed. */
  terminate(): Promise<void> {
    this.#engine.supervised.recoverable = false;
    const p = this.#terminateAll(new PoolClosedError('pool was terminated'));
    this.#closePromise ??= p;
    return p;
  }

  /** The pool cannot go on: what has not run fails with `err`, and every worker is killed. */
  fail(err: Error): void {
    const engine = this.#engine;
    if (engine.state === 'failed' || engine.state === 'closed') return;
    engine.state = 'failed';
    engine.failure = err;
    // What was assigned to workers but never sent fails with the pool now, not when each worker has gone.
    for (const s of engine.workers.list) engine.requeueOutbox(s);
    this.#rejectPending(err);
    for (const s of [...engine.workers.list]) engine.life.kill(s, 'close');
  }

  /** Phase two of a close once nothing is left to run; and the end of the engine once every worker has exited. */
  checkDrained(): void {
    const engine = this.#engine;
    if (engine.state === 'closing' && engine.backlog.depth === 0 && engine.counts.running === 0 && engine.retries.size === 0) {
      // Nothing left to run: stop the workers (orphans included), with teardown where the module has one.
      engine.life.stopAll();
      engine.supervised.checks?.stop();
      engine.state = 'closed';
    }
    if ((engine.state === 'closed' || (engine.state === 'failed' && !engine.supervised.recoverable)) && engine.workers.list.length === 0) {
      if (this.#closeTimer !== undefined) engine.timers.cancel(this.#closeTimer);
      engine.dispose();
      const waiters = this.#allExited;
      this.#allExited = [];
      for (const w of waiters) w();
    }
  }

  #terminateAll(err: PoolClosedError): Promise<void> {
    const engine = this.#engine;
    if (engine.state !== 'failed') engine.state = 'closed';
    // Hold the process open until every worker has really exited: an idle
    // pool's unref'd child processes would otherwise let it end first.
    engine.life.setRef(true);
    this.#rejectPending(err);
    for (const s of engine.workers.list) {
      for (const t of s.outbox) engine.settle(t, err, undefined, Outcome.Rejected);
      for (const t of s.inflight) if (t !== undefined) engine.settle(t, err, undefined, Outcome.Rejected);
      engine.life.kill(s, 'close');
    }
    const done = this.#exited();
    this.checkDrained();
    return done;
  }

  /** Everyone waiting to start or for room hears `err`; tasks not on a worker are rejected with it. */
  #rejectPending(err: unknown): void {
    const engine = this.#engine;
    engine.life.startFailed(err);
    engine.backlog.rejectReady(err);
    for (const t of engine.backlog.drain()) engine.settle(t, err, undefined, Outcome.Rejected);
    for (const t of engine.retries.drain()) engine.settle(t, err, undefined, Outcome.Rejected);
  }

  /** Resolves once every worker has exited. */
  #exited(): Promise<void> {
    return new Promise<void>((resolve) => this.#allExited.push(resolve));
  }
}
