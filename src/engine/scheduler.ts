/**
 * The engine: owns the queue, the workers and every task's life from
 * submission to settlement. The public `Pool` (pool.ts) is a thin facade.
 *
 * Invariants (each relied on below):
 * - A task settles exactly once, through `#settle`, which is the only place
 *   that calls `resolve`/`reject`, removes abort listeners and cancels timers.
 * - A task is in exactly one place: the waiting list, the queue, a worker's
 *   outbox, a worker's in-flight ring, or nowhere (settled). An "orphan" is a
 *   settled task (aborted, timed out) whose worker may still be running it;
 *   it keeps its in-flight slot until the worker answers or is killed, so the
 *   pool never runs more than it admits to.
 * - Workers are replaced on exit, never before, so there are never more than
 *   `max` threads alive.
 */

import type { Transferable } from '../api/types.js';
import { randomBytes } from 'node:crypto';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { channels } from '../observability/diagnostics.js';
import { attachLogger } from '../observability/logger.js';
import { procStatus, type PoolDiagnostics, type WorkerDiagnostics } from '../observability/worker-diagnostics.js';
import { AbortWatch } from '../time/abort-watch.js';
import type { Clock } from '../time/clock.js';
import { decodeError, type EncodedError } from '../wire/error-codec.js';
import {
  DeadlineExceededError,
  InvalidOptionError,
  TaskDroppedError,
  ModuleLoadError,
  PoolClosedError,
  QueueFullError,
  QueueTimeoutError,
  SerializationError,
  TaskAbortedError,
  UnknownTaskError,
  WorkerCrashedError,
  WorkerInitError,
  WorkerStalledError,
  PoolFailedError,
  ResultLostError,
  type StallReport,
} from '../api/errors.js';
import { Supervisor } from '../supervision/supervisor.js';
import { RestartIntensity } from '../supervision/restart-intensity.js';
import { Breakers, countsAsFailure } from '../supervision/circuit-breaker.js';
import type { RecycleWhy } from '../supervision/recycle.js';
import { AbortKind, epochNow, HookFlag, Op, Status } from '../wire/protocol.js';
import { FifoQueue, type TaskQueue } from '../queue/task-queue.js';
import { PriorityQueue } from '../queue/priority-queue.js';
import type { DeadLetter } from '../dead-letter/sinks.js';
import { LatencyAlarm, SaturationAlarm } from '../sizing/alarms.js';
import { tagCorrelation } from '../observability/failure.js';
import { sampled, summarize, toMicros } from '../observability/latency.js';
import { LoadWindow } from '../sizing/load-window.js';
import { LittleMeter } from '../sizing/little.js';
import { CpuSignal } from '../sizing/cpu-signal.js';
import type { Scaler } from '../sizing/scaler.js';
import { overflowPolicies, type RunOptions } from '../api/options.js';
import { resolveRetry, retryDelay, shouldRetry } from '../supervision/retry.js';
import { WorkerSet } from './worker-set.js';
import { microtask } from '../time/microtask.js';
import { Task, TaskExtra, TaskState, TaskTimer } from './task.js';
import { PoolEvents } from './events.js';
import { DeadLetters } from './dead-letters.js';
import { TimeLimits } from './time-limits.js';
import { chooseSteal } from './steal.js';
import { CallbackTimer, TimerHeap } from '../time/timer-heap.js';
import { checkRunOptions, type ResolvedPoolOptions } from '../config/validate.js';
import { oneOf } from '../config/validate-helpers.js';
import type { ExitInfo, SpawnWorker, WorkerEvents, WorkerHandle } from '../worker/handle.js';
import type { PoolState, PoolStats } from '../api/stats.js';
import { spawnerFor } from '../worker/spawn.js';
import { INFLIGHT_MASK, SlotState, WorkerSlot } from './worker-slot.js';

export type { PoolState, PoolStats, SupervisionStats, WorkerStat } from '../api/stats.js';
/** Events the engine reports to the facade. */
export type EngineEvent = 'saturated' | 'unsaturated' | 'latency-alarm' | 'latency-normal' | 'worker-leaking' | 'pool-failed' | 'pool-recovered';
export type EmitFn = (event: EngineEvent, payload: unknown) => void;



const enum Outcome {
  Completed = 0,
  Failed = 1,
  Rejected = 2,
}

/**
 * The opcode for a batch to this worker: marked while someone listens for
 * task starts, and RunAfter for a task sent ahead (the worker holds it until
 * its running tasks are done). Read once per outbox: it clears the flag.
 */
function runOp(slot: WorkerSlot): Op {
  const marked = channels.taskStarted.hasSubscribers;
  const ahead = slot.ahead;
  slot.ahead = false;
  if (ahead) return marked ? Op.RunAfterMarked : Op.RunAfter;
  return marked ? Op.RunMarked : Op.Run;
}

/** Consecutive worker start failures (after the pool once started) that fail the pool instead of respawning. */
const MAX_START_FAILURES = 3;
/** Auto pipeline: keep about this many milliseconds of work queued on each worker. */
const PIPELINE_TARGET_MS = 1;
const PIPELINE_MAX = 128;

export class Scheduler {
  readonly options: ResolvedPoolOptions;
  readonly #clock: Clock;
  readonly #timers: TimerHeap;
  /** FIFO until the first task with a priority arrives, then a heap (see #usePriorities). */
  #queue: TaskQueue<Task> = new FifoQueue<Task>();
  #priorities: PriorityQueue<Task> | undefined;
  /** Tasks waiting out a retry backoff. */
  readonly #backoff = new Set<Task>();
  readonly #emit: EmitFn;
  readonly #load: LoadWindow;
  #sampler: CallbackTimer | undefined;
  readonly #little: LittleMeter;
  /** Adaptive sizing (size.scaler): the scaler and its CPU signal (the size it wants: WorkerSet.target). */
  readonly #scaler: Scaler | undefined;
  readonly #cpu: CpuSignal | undefined;
  readonly #saturation: SaturationAlarm;
  readonly #latencyAlarm: LatencyAlarm;
  #dropped = 0;
  /** Tasks taken back from one worker's inbox for another (work stealing). */
  #stolen = 0;
  #retried = 0;
  /** Microseconds; Node's HDR histograms, no home-made percentile code. */
  readonly #waitHist: RecordableHistogram = createHistogram();
  readonly #runHist: RecordableHistogram = createHistogram();
  #completedAtLastSample = 0;
  readonly poolId: string;
  #detachLogger: (() => void) | undefined;
  readonly #waiting = new FifoQueue<Task>();
  /** Every worker and the choice among them (engine/worker-set.ts). */
  readonly #workers: WorkerSet;
  readonly #spawnWorker: SpawnWorker;
  readonly #abortWatch = new AbortWatch<Task>((task) => this.#abort(task));
  readonly #events: WorkerEvents;
  readonly corrPrefix: string;
  /** The pool's event publisher (engine/events.ts). */
  readonly #ev: PoolEvents;
  /** The pool's dead-letter queue (engine/dead-letters.ts). */
  readonly #dlq: DeadLetters;
  /** Running-time limits and the abort grace (engine/time-limits.ts). */
  readonly #limits: TimeLimits;
  #state: PoolState = 'starting';
  #failure: Error | undefined;
  #taskNames: Set<string> | undefined;
  #taskList: string[] = [];
  #nextTaskId = 1;
  /** What a task without per-call options shares (see TaskExtra). */
  readonly #taskDefaults: TaskExtra;
  #nextWorkerId = 1;
  /** Kind 'async': workers in this process, which can start a task inside submit (#startNow). */
  readonly #inline: boolean;
  #dirty: WorkerSlot[] = [];
  #flushQueued = false;
  #flushBound = (): void => this.#flush();
  #onTimerBound = (task: Task): void => this.#onTimer(task);
  #onDeadlineBound = (task: Task): void => this.#onDeadline(task);
  #readyWaiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  #startFailures = 0;
  #everReady = false;
  #reffed = true;
  #startPromise: Promise<void>;
  #startResolve!: () => void;
  #startReject!: (err: unknown) => void;
  #closePromise: Promise<void> | undefined;
  #closeTimer: CallbackTimer | undefined;
  #allExited: (() => void)[] = [];
  /** Supervision (docs/supervision.md): periodic checks, restart intensity, breakers. */
  readonly #sup: Supervisor | undefined;
  readonly #intensity: RestartIntensity | undefined;
  readonly #breakers: Breakers | undefined;
  readonly #maxTasks: number;
  /** Workers being recycled (at most one at a time: the capacity bound is max + 1). */
  #recycling = 0;
  #recycled = 0;
  #quarantined = 0;
  /** Failed by restart intensity (recoverable), not by a module that cannot load. */
  #recoverable = false;
  #probeTimer: CallbackTimer | undefined;
  /** Restart intensity's respawn delay: no replacement spawns before this time (pool clock); 0: none. */
  #spawnHeldUntil = 0;
  #respawnTimer: CallbackTimer | undefined;
  #running = 0;
  #submitted = 0;
  #completed = 0;
  #failed = 0;
  #rejected = 0;

  constructor(options: ResolvedPoolOptions, spawnWorker?: SpawnWorker, emit: EmitFn = () => undefined) {
    this.options = options;
    this.#inline = options.kind === 'async';
    this.#taskDefaults = new TaskExtra(true, options.timeoutMs, Infinity, options.queueTimeoutMs, options.retry.attempts > 1 ? options.retry : undefined);
    this.#emit = emit;
    this.#load = new LoadWindow(options.saturation.sampleMs, options.saturation.windowMs);
    this.#saturation = new SaturationAlarm(options.saturation.afterMs, options.saturation.factor * options.max, emit);
    this.#latencyAlarm = new LatencyAlarm(options.saturation.afterMs, options.saturation.latencyFactor, emit);
    this.#clock = options.clock;
    this.#timers = new TimerHeap(options.clock);
    this.corrPrefix = `${options.name}-${randomBytes(3).toString('hex')}-`;
    this.poolId = this.corrPrefix.slice(0, -1);
    this.#ev = new PoolEvents(options.name, this.corrPrefix, options.kind);
    this.#dlq = new DeadLetters(options.deadLetter, options.clock, this.#ev);
    this.#limits = new TimeLimits(
      {
        alive: (slot) => this.#workers.byId.get(slot.handle.id) === slot,
        timedOut: (task, slot, seq, err) => {
          this.#little.ran(this.#clock.now() - (slot.sentAt[seq & INFLIGHT_MASK] as number));
          this.#taskFailed(task, err);
        },
        kill: (slot, why) => this.#kill(slot, why),
      },
      this.#timers,
      options.clock,
      options.abortGraceMs,
    );
    if (options.logger !== undefined) this.#detachLogger = attachLogger(this.poolId, options.logger);
    this.#spawnWorker = spawnWorker ?? spawnerFor(options, this.corrPrefix);
    this.#events = {
      ready: (h, names, flags) => this.#onReady(h, names, flags),
      initError: (h, err, phase) => this.#onInitError(h, err, phase),
      results: (h, msg) => this.#onResults(h, msg),
      started: (h, first, last) => this.#onStarted(h, first, last),
      exit: (h, info) => this.#onExit(h, info),
      health: (h, ok) => {
        const slot = this.#workers.byId.get(h.id);
        if (!ok && slot !== undefined) this.#recycle(slot, 'unhealthy');
      },
    };
    const sup = options.supervision;
    this.#maxTasks = sup.recycle.maxTasks;
    this.#intensity = sup.restartIntensity === undefined ? undefined : new RestartIntensity(sup.restartIntensity);
    this.#breakers = sup.circuitBreaker === undefined ? undefined : new Breakers(sup.circuitBreaker);
    this.#sup =
      options.kind === 'async'
        ? undefined
        : new Supervisor(
            sup,
            {
              kind: options.kind,
              slots: () => this.#workers.list,
              stalled: (slot, report, task) => this.#onStalled(slot, report, task),
              recycle: (slot, why) => this.#recycle(slot, why),
              leaking: (slot, heapUsed) => this.#emit('worker-leaking', { workerId: slot.handle.id, heapUsed }),
            },
            this.#timers,
            this.#clock,
          );
    this.#startPromise = new Promise<void>((resolve, reject) => {
      this.#startResolve = resolve;
      this.#startReject = reject;
    });
    // Nobody may be listening yet; the rejection is delivered through start(), run() and ready().
    this.#startPromise.catch(() => undefined);
    const initial = Math.max(options.min, 1);
    this.#little = new LittleMeter(this.#clock.now(), 10 * options.saturation.sampleMs);
    this.#scaler = options.scaler;
    this.#cpu = options.scaler === undefined ? undefined : new CpuSignal(options.cpus);
    this.#workers = new WorkerSet(options.pipeline, options.scaler === undefined ? options.max : Math.min(initial, options.max));
    for (let i = 0; i < initial; i++) this.#spawn();
    this.#sampler = new CallbackTimer(() => this.#sample());
    this.#timers.schedule(this.#sampler, this.#clock.now() + options.saturation.sampleMs);
  }

  get state(): PoolState {
    return this.#state;
  }

  start(): Promise<void> {
    return this.#startPromise;
  }

  /** Task names the module exports, once a worker has loaded it. */
  get taskNames(): readonly string[] {
    return this.#taskList;
  }

  submit(name: string, input: unknown, opts: RunOptions | undefined): Promise<unknown> {
    this.#submitted++;
    const st = this.#state;
    if (st !== 'running' && st !== 'starting') return this.#refuse(st === 'failed' ? (this.#failure) : new PoolClosedError(), name, opts);
    let timeoutMs = this.options.timeoutMs;
    let deadlineMs = Infinity;
    let queueTimeoutMs = this.options.queueTimeoutMs;
    let signal: AbortSignal | undefined;
    let correlation: string | null = null;
    let retry = this.options.retry;
    if (opts !== undefined) {
      try {
        checkRunOptions(opts);
      } catch (err) {
        return this.#refuse(err, name, opts);
      }
      if (opts.timeoutMs !== undefined) timeoutMs = opts.timeoutMs;
      if (opts.deadlineMs !== undefined) deadlineMs = opts.deadlineMs;
      if (opts.queueTimeoutMs !== undefined) queueTimeoutMs = opts.queueTimeoutMs;
      if (opts.correlationId !== undefined) correlation = opts.correlationId;
      if (opts.retry !== undefined) {
        try {
          retry = resolveRetry('retry', opts.retry, this.options.retry);
        } catch (err) {
          return this.#refuse(err, name, opts);
        }
      }
      signal = opts.signal;
      if (signal?.aborted) {
        this.#failed++;
        return Promise.reject(new TaskAbortedError(name, signal.reason));
      }
    }
    if (typeof name !== 'string') return this.#refuse(new UnknownTaskError(String(name), this.#taskList), String(name), opts);
    if (this.#taskNames !== undefined && !this.#taskNames.has(name)) return this.#refuse(new UnknownTaskError(name, this.#taskList), name, opts);

    const now = this.#clock.now();
    const open = this.#breakers?.check(name, now);
    if (open !== undefined && (this.#breakers as Breakers).policy.onOpen === 'reject') return this.#refuse(open, name, opts);
    const task = new Task(this.#nextTaskId++, name, input, correlation, now, this.#taskDefaults);
    if (opts !== undefined) {
      // The setters copy the defaults only for a value that differs.
      task.timeoutMs = timeoutMs;
      task.deadlineMs = deadlineMs;
      task.queueTimeoutMs = queueTimeoutMs;
    }
    this.#little.arrived++;
    const promise = new Promise<unknown>((resolve, reject) => {
      task.resolve = resolve;
      task.reject = reject;
    });
    task.retry = retry.attempts > 1 ? retry : undefined;
    if (open !== undefined) {
      // onOpen 'dead-letter': accepted, failed at once, recorded for redrive.
      this.#dlq.record(task, open, 'failed');
      this.#settle(task, open, undefined, Outcome.Failed);
      return promise;
    }
    if (opts !== undefined) {
      if (opts.stallMs !== undefined) task.stallMs = opts.stallMs;
      if (opts.blocking === true) task.stallMs = Infinity;
      if (opts.priority !== undefined && opts.priority !== 0) {
        task.priority = opts.priority;
        if (this.#priorities === undefined) this.#usePriorities();
      }
      if (opts.transfer !== undefined && opts.transfer.length > 0) task.transfer = opts.transfer;
      if (opts.traceContext !== undefined) task.meta = opts.traceContext;
      if (signal !== undefined) {
        task.signal = signal;
        this.#abortWatch.add(signal, task);
      }
      if (deadlineMs !== Infinity) {
        task.deadline = new TaskTimer(task, this.#onDeadlineBound);
        this.#timers.schedule(task.deadline, now + deadlineMs);
      }
    }

    // A tracing subscriber may attach the submitter's trace context.
    if (channels.taskQueued.hasSubscribers) task.meta = this.#ev.taskQueued(task, this.#queue.size);
    if (this.#queue.size === 0) {
      const slot = this.#workers.pick();
      if (slot !== undefined) {
        if (this.#inline && slot.load === 0 && slot.state === SlotState.Ready) this.#startNow(task, slot);
        else this.#assign(task, slot);
        return promise;
      }
    }
    if (this.#queue.size < this.options.capacity) {
      this.#enqueue(task);
      this.#grow();
      if (!this.#reffed) this.#setRef(true);
    } else {
      this.#overflow(task);
    }
    return promise;
  }

  /**
   * The synchronous door: accepted (a worker or the queue has room) or
   * refused, never waiting, dropping or throwing. A refused try is not
   * counted as a submission.
   */
  trySubmit(name: string, input: unknown, opts: RunOptions | undefined): { accepted: true; result: Promise<unknown> } | { accepted: false; reason: 'queue-full' | 'closed' | 'failed'; error: Error } {
    if (this.#state === 'failed') return { accepted: false, reason: 'failed', error: this.#failure as Error };
    if (this.#state !== 'running' && this.#state !== 'starting') return { accepted: false, reason: 'closed', error: new PoolClosedError() };
    if (this.#queue.size >= this.options.capacity || this.#waiting.size > 0) {
      if (this.#queue.size > 0 || !this.#workers.anyRoom()) {
        return { accepted: false, reason: 'queue-full', error: new QueueFullError(this.options.capacity, this.#running) };
      }
    }
    return { accepted: true, result: this.submit(name, input, opts) };
  }

  /** A task's place in the priority heap: its priority, aged by how long ago it was submitted (higher runs first). */
  #keyOf(task: Task): number {
    return task.priority - task.submittedAt * this.options.agingRate;
  }

  /** Switches from the FIFO to the priority heap, keeping what is queued in order. */
  #usePriorities(): void {
    const pq = new PriorityQueue<Task>();
    for (const t of this.#queue.drain()) {
      t.qkey = this.#keyOf(t);
      pq.push(t);
    }
    this.#priorities = pq;
    this.#queue = pq;
  }

  #enqueue(task: Task): void {
    task.state = TaskState.Queued;
    if (this.#priorities !== undefined) task.qkey = this.#keyOf(task);
    this.#queue.push(task);
  }

  /** The queue is full: the overflow policy decides. */
  #overflow(task: Task): void {
    let policy = this.options.overflow;
    if (typeof policy === 'function') {
      try {
        policy = oneOf('queue.overflow() result', policy({ name: task.name, priority: task.priority, correlationId: this.#ev.corrOf(task), queued: this.#queue.size, capacity: this.options.capacity }), overflowPolicies(this.options.kind));
      } catch (err) {
        this.#settle(task, err instanceof InvalidOptionError ? err : new InvalidOptionError('queue.overflow', 'a function that returns a policy', err), undefined, Outcome.Rejected);
        return;
      }
    }
    switch (policy) {
      case 'reject':
        this.#settle(task, new QueueFullError(this.options.capacity, this.#running), undefined, Outcome.Rejected);
        return;
      case 'wait':
        if (this.#waiting.size >= this.options.maxWaiting) {
          // Callers that never await would otherwise grow memory without bound.
          this.#settle(task, new QueueFullError(this.options.capacity, this.#running, this.#waiting.size), undefined, Outcome.Rejected);
          return;
        }
        task.state = TaskState.Waiting;
        this.#waiting.push(task);
        if (task.queueTimeoutMs !== Infinity) {
          task.timer = new TaskTimer(task, this.#onTimerBound);
          this.#timers.schedule(task.timer, this.#clock.now() + task.queueTimeoutMs);
        }
        if (!this.#reffed) this.#setRef(true);
        return;
      case 'caller-runs':
        this.#callerRuns(task);
        return;
      case 'drop-oldest': {
        const victim = this.#queue.evictOldest();
        if (victim !== undefined) this.#drop(victim);
        this.#enqueue(task);
        return;
      }
      default: {
        // drop-lowest-priority: the incoming task is a candidate too; among equals the newest loses.
        const pq = this.#priorities;
        const lowest = pq?.peekLowest();
        const key = this.#keyOf(task);
        if (pq === undefined || lowest === undefined || key <= lowest.qkey) {
          this.#drop(task);
          return;
        }
        this.#drop(pq.evictLowest() as Task);
        this.#enqueue(task);
      }
    }
  }

  #drop(task: Task): void {
    this.#dropped++;
    this.#ev.taskDropped(task, this.#queue.size);
    const err = new TaskDroppedError(task.name, this.#ev.corrOf(task), this.options.capacity);
    this.#dlq.record(task, err, 'dropped');
    this.#settle(task, err, undefined, Outcome.Failed);
  }


  /** Resolves when the queue has room for one more task. */
  ready(): Promise<void> {
    if (this.#state === 'failed') return Promise.reject(this.#failure ?? new PoolClosedError());
    if (this.#state === 'closing' || this.#state === 'closed') return Promise.reject(new PoolClosedError());
    if (this.#queue.size < this.options.capacity && this.#waiting.size === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
  }

  stats(): PoolStats {
    let busy = 0;
    let idle = 0;
    let starting = 0;
    for (const s of this.#workers.list) {
      if (s.state === SlotState.Starting) starting++;
      else if (s.state === SlotState.Ready) {
        if (s.load > 0) busy++;
        else idle++;
      }
    }
    return Object.freeze({
      size: this.#workers.list.length,
      workers: Object.freeze({ busy, idle, starting }),
      queued: this.#queue.size,
      waiting: this.#waiting.size,
      running: this.#running,
      submitted: this.#submitted,
      completed: this.#completed,
      failed: this.#failed,
      rejected: this.#rejected,
      dropped: this.#dropped,
      retried: this.#retried,
      backoff: this.#backoff.size,
      deadLettered: this.#dlq.written,
      deadLetterErrors: this.#dlq.failures,
      stolen: this.#stolen,
      window: this.#load.summary(),
      latency: Object.freeze({ wait: summarize(this.#waitHist), run: summarize(this.#runHist) }),
      workerList: Object.freeze(
        this.#workers.list.map((s) =>
          Object.freeze({ id: s.handle.id, state: s.state === SlotState.Starting ? 'starting' : s.state === SlotState.Ready ? 'ready' : 'stopping', inflight: s.load, completed: s.completed, depth: s.depth, failures: s.failures, leaking: s.leaking } as const),
        ),
      ),
      targetSize: this.#workers.target,
      little: this.#little.summary(),
      state: this.#state,
      supervision: Object.freeze({
        restarts: this.#intensity?.total ?? 0,
        stalls: this.#sup?.stalls ?? 0,
        recycled: this.#recycled,
        quarantined: this.#quarantined,
        leaking: this.#workers.list.filter((x) => x.leaking).length,
        breakers: Object.freeze(this.#breakers?.states() ?? {}),
      }),
    });
  }

  /** Two-phase: stop accepting, drain queued and running work, then stop the workers; after `timeoutMs`, terminate. */
  close(timeoutMs: number): Promise<void> {
    if (this.#closePromise !== undefined) return this.#closePromise;
    this.#recoverable = false;
    if (this.#state === 'failed' || this.#state === 'closed') return (this.#closePromise = this.#terminateAll(new PoolClosedError()));
    this.#state = 'closing';
    this.#rejectReadyWaiters(new PoolClosedError());
    this.#closePromise = new Promise<void>((resolve) => {
      this.#allExited.push(resolve);
    });
    if (timeoutMs !== Infinity) {
      this.#closeTimer = new CallbackTimer(() => {
        void this.#terminateAll(new PoolClosedError(`pool closed after its close timeout of ${timeoutMs} ms; the task had not finished`));
      });
      this.#timers.schedule(this.#closeTimer, this.#clock.now() + timeoutMs);
    }
    this.#setRef(true);
    this.#checkDrained();
    return this.#closePromise;
  }

  /** Immediate: every pending task rejects with PoolClosedError and all workers are killed. */
  terminate(): Promise<void> {
    this.#recoverable = false;
    const p = this.#terminateAll(new PoolClosedError('pool was terminated'));
    this.#closePromise ??= p;
    return p;
  }

  // ---- placement ----------------------------------------------------------

  #assign(task: Task, slot: WorkerSlot): void {
    this.#dispatched(task, slot);
    if (slot.outbox.length === 0) this.#markDirty(slot);
    slot.outbox.push(task);
  }

  /** The task now belongs to this worker (in its outbox, or started at once): counted as running, its time limit armed. */
  #dispatched(task: Task, slot: WorkerSlot): void {
    if (!this.#reffed) this.#setRef(true);
    task.state = TaskState.Dispatched;
    task.slot = slot;
    this.#running++;
    if (slot.idleTimer !== undefined) this.#timers.cancel(slot.idleTimer);
    if (task.timeoutMs !== Infinity) {
      task.timer ??= new TaskTimer(task, this.#onTimerBound);
      this.#timers.schedule(task.timer, this.#clock.now() + task.timeoutMs);
    }
  }

  /**
   * Kind 'async': a task submitted while a slot is free starts now, inside
   * submit (as with p-queue), not a microtask later. Last thing submit does:
   * the task may settle, or call run() again, from in here, and finds the
   * books settled. Only on a worker with nothing in flight, so no earlier
   * batch can be overtaken.
   */
  #startNow(task: Task, slot: WorkerSlot): void {
    this.#dispatched(task, slot);
    const now = this.#clock.now();
    const idx = (slot.names as Map<string, number>).get(task.name) as number;
    const op = runOp(slot);
    this.#markSent(slot, task, now);
    (slot.handle.runNow as (message: unknown[]) => void)([op, idx, task.input, task.id, task.meta === null ? task.correlation : [task.correlation, task.meta]]);
  }

  /** The slot's outbox goes out with the next flush (one microtask from now). */
  #markDirty(slot: WorkerSlot): void {
    this.#dirty.push(slot);
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      microtask(this.#flushBound);
    }
  }

  /** Tasks assigned to a worker but never sent go back to the head of the queue, in order; one settled meanwhile stays settled. */
  #requeueOutbox(slot: WorkerSlot): void {
    const batch = slot.outbox;
    if (batch.length === 0) return;
    slot.outbox = [];
    for (let i = batch.length - 1; i >= 0; i--) {
      const t = batch[i] as Task;
      if (t.state === TaskState.Dispatched && t.slot === slot) this.#requeue(t);
    }
  }

  /** Sends each worker's assembled batch as one message. */
  #flush(): void {
    this.#flushQueued = false;
    const dirty = this.#dirty;
    this.#dirty = [];
    // One clock reading for the whole flush: every task in it is dispatched now.
    const now = this.#clock.now();
    for (const slot of dirty) {
      // Still starting: its batch goes out when it is ready (#onReady).
      if (slot.state === SlotState.Starting) continue;
      const batch = slot.outbox;
      slot.outbox = [];
      const op = runOp(slot);
      if (slot.state !== SlotState.Ready) {
        // The worker died or is stopping between assignment and flush.
        slot.outbox = batch;
        this.#requeueOutbox(slot);
        continue;
      }
      const msg: unknown[] = [op];
      let transfer: Transferable[] | undefined;
      const sent: Task[] = [];
      for (const task of batch) {
        const idx = (slot.names as Map<string, number>).get(task.name);
        if (idx === undefined) {
          this.#running--;
          task.state = TaskState.Queued;
          this.#settle(task, new UnknownTaskError(task.name, this.#taskList), undefined, Outcome.Rejected);
          continue;
        }
        msg.push(idx, task.input, task.id, task.meta === null ? task.correlation : [task.correlation, task.meta]);
        if (task.transfer !== undefined) (transfer ??= []).push(...task.transfer);
        sent.push(task);
      }
      if (sent.length === 0) {
        if (slot.load === 0) this.#workers.freed(slot);
        continue;
      }
      try {
        slot.handle.send(msg, transfer);
      } catch {
        // One or more inputs cannot be cloned: send one by one to find them.
        this.#sendOneByOne(slot, sent, now, op);
        continue;
      }
      for (const task of sent) this.#markSent(slot, task, now);
    }
    this.#pump();
  }

  /**
   * `overflow: 'caller-runs'` (kind 'async' only): start the task now, past
   * the concurrency limit, on the least-loaded ready in-process worker, so it
   * keeps the pool's timeouts, cancellation and stats.
   */
  #callerRuns(task: Task): void {
    let best: WorkerSlot | undefined;
    for (const s of this.#workers.list) {
      // Past its pipeline depth, but its in-flight ring must have a free place for one more.
      if (s.state !== SlotState.Ready || !s.ringHasRoom) continue;
      if (best === undefined || s.load < best.load) best = s;
    }
    if (best !== undefined) this.#assign(task, best);
    else this.#settle(task, new QueueFullError(this.options.capacity, this.#running), undefined, Outcome.Rejected);
  }

  #sendOneByOne(slot: WorkerSlot, tasks: Task[], now: number, op: Op): void {
    for (const task of tasks) {
      const idx = (slot.names as Map<string, number>).get(task.name) as number;
      try {
        slot.handle.send([op, idx, task.input, task.id, task.meta === null ? task.correlation : [task.correlation, task.meta]], task.transfer);
      } catch (err) {
        this.#running--;
        task.state = TaskState.Queued;
        this.#settle(task, new SerializationError(task.name, 'input', err), undefined, Outcome.Rejected);
        continue;
      }
      this.#markSent(slot, task, now);
    }
    if (slot.load === 0) this.#workers.freed(slot);
  }

  #markSent(slot: WorkerSlot, task: Task, now: number): void {
    if (slot.inflightCount === 0 && this.options.pipeline === 'auto') slot.busySince = performance.now();
    const seq = ++slot.seq;
    task.seq = seq;
    task.attempt++;
    const waitMs = now - task.readyAt;
    slot.sentAt[seq & INFLIGHT_MASK] = now;
    if (sampled(task.id)) this.#waitHist.record(toMicros(waitMs));
    this.#ev.taskDispatched(task, slot.handle.id, waitMs);
    slot.inflight[seq & INFLIGHT_MASK] = task;
    slot.inflightCount++;
    slot.left--;
  }

  /** Moves queued work onto workers with room; grows a dynamic pool under pressure. */
  #pump(): void {
    const queue = this.#queue;
    while (queue.size > 0) {
      let slot = this.#workers.pick();
      if (slot === undefined) {
        slot = this.#workers.prefetchSlot(queue);
        if (slot === undefined) break;
        slot.ahead = true;
      }
      this.#assign(queue.shift() as Task, slot);
    }
    this.#admitWaiting();
    this.#grow();
  }

  #admitWaiting(): void {
    const cap = this.options.capacity;
    while (this.#waiting.size > 0 && this.#queue.size < cap) {
      const task = this.#waiting.shift() as Task;
      if (task.timer !== undefined) this.#timers.cancel(task.timer);
      const slot = this.#queue.size === 0 ? this.#workers.pick() : undefined;
      if (slot !== undefined) this.#assign(task, slot);
      else this.#enqueue(task);
    }
    if (this.#readyWaiters.length > 0 && this.#waiting.size === 0 && this.#queue.size < cap) {
      const waiters = this.#readyWaiters;
      this.#readyWaiters = [];
      for (const w of waiters) w.resolve();
    }
  }

  #grow(): void {
    if (this.#state !== 'running' && this.#state !== 'starting') return;
    const pending = this.#queue.size;
    if (pending === 0 || this.#workers.list.length >= this.options.max || this.#spawnsHeld()) return;
    let stopping = 0;
    for (const s of this.#workers.list) if (s.state === SlotState.Stopping) stopping++;
    // Queued work gets at least one worker, even after resize(0).
    if (this.#workers.list.length - stopping >= Math.max(this.#workers.target, 1)) return;
    // Every worker, started or starting, is full (the queue would be empty
    // otherwise): a backlog grows the pool toward max at once, also before
    // the first worker is ready (the new worker takes queued work at once: #spawn).
    this.#spawn();
  }

  #requeue(task: Task): void {
    this.#running--;
    task.slot = undefined;
    // Sent but never started: that send was not an attempt (retries count runs).
    if (task.seq !== 0) task.attempt--;
    task.seq = 0;
    if (task.timer !== undefined) this.#timers.cancel(task.timer);
    task.state = TaskState.Queued;
    // Its own key, for drop-lowest-priority (it goes back to the front whatever the key).
    if (this.#priorities !== undefined) task.qkey = this.#keyOf(task);
    this.#queue.unshift(task);
  }

  // ---- worker lifecycle ----------------------------------------------------

  #spawn(): WorkerSlot | undefined {
    const id = this.#nextWorkerId++;
    let handle: WorkerHandle;
    try {
      handle = this.#spawnWorker(id, this.#events);
    } catch (err) {
      this.#fail(new ModuleLoadError(this.options.moduleUrl, err));
      return undefined;
    }
    const depth = this.options.pipeline === 'auto' ? 1 : this.options.pipeline;
    const slot = new WorkerSlot(handle, depth, this.#maxTasks);
    slot.spawnedAt = this.#clock.now();
    const startMs = this.options.startTimeoutMs;
    if (startMs !== Infinity && this.options.kind !== 'async') {
      slot.startTimer = new CallbackTimer(() => this.#startTimedOut(slot, startMs));
      this.#timers.schedule(slot.startTimer, slot.spawnedAt + startMs);
    }
    this.#workers.add(slot);
    this.#ev.workerSpawned(id, handle.pid);
    if (!this.#reffed) handle.ref?.(false);
    // A new worker takes queued work while it starts, up to its room: the queue holds only what is beyond every worker's room.
    const queue = this.#queue;
    while (queue.size > 0 && slot.canTake && this.#state !== 'failed') this.#assign(queue.shift() as Task, slot);
    return slot;
  }

  /**
   * A worker did not become ready within startTimeoutMs (a module whose top
   * level never finishes, an init() that never settles). Before the pool was
   * ever ready that fails the pool like a module that cannot load; later it
   * is a failed start, which restart intensity counts.
   */
  #startTimedOut(slot: WorkerSlot, ms: number): void {
    slot.startTimer = undefined;
    if (slot.state !== SlotState.Starting) return;
    const cause = new Error(`worker ${slot.handle.id} did not become ready within ${ms} ms (startTimeoutMs)`);
    if (!this.#everReady) {
      this.#fail(new ModuleLoadError(this.options.moduleUrl, cause));
      return;
    }
    this.#failedStart(slot, cause);
  }

  /**
   * A worker that will not become ready (start-up timeout, a throwing
   * `sluice.init`) after the pool once ran: it takes no more work, what was
   * assigned to it goes back to the queue, and it is stopped. Not marked as
   * killed on purpose: its exit counts as a failed start (and a restart).
   */
  #failedStart(slot: WorkerSlot, cause: Error): void {
    this.#workers.leftStarting(slot);
    slot.state = SlotState.Stopping;
    slot.startError = cause;
    this.#requeueOutbox(slot);
    slot.handle.terminate('init');
    // What was assigned to it goes to a worker that can take it now.
    this.#pump();
  }

  #onReady(handle: WorkerHandle, names: string[], hookFlags = 0): void {
    const slot = this.#workers.byId.get(handle.id);
    if (slot === undefined || slot.state !== SlotState.Starting) return;
    if (slot.startTimer !== undefined) {
      this.#timers.cancel(slot.startTimer);
      slot.startTimer = undefined;
    }
    this.#workers.leftStarting(slot);
    slot.names = new Map(names.map((n, i) => [n, i]));
    slot.state = SlotState.Ready;
    // Assigned while it started, but the pool has shrunk since: placement decides again, under the resize's bound.
    if (this.#workers.draining.size > 0) this.#requeueOutbox(slot);
    // Tasks assigned while it started go out now.
    if (slot.outbox.length > 0) this.#markDirty(slot);
    else this.#workers.freed(slot);
    slot.hooks = hookFlags;
    this.#sup?.ready(slot, this.#clock.now());
    if (slot.replaces !== undefined) this.#drainRecycled(slot);
    if (this.#recoverable) this.#probeReady(slot);
    this.#ev.workerReady(handle.id, this.#clock.now() - slot.spawnedAt);
    this.#startFailures = 0;
    if (!this.#everReady) {
      this.#everReady = true;
      this.#taskList = names;
      this.#taskNames = new Set(names);
      if (this.#state === 'starting') this.#state = 'running';
      this.#startResolve();
      // Tasks queued before the module's names were known: refuse unknown ones now,
      // once the known ones are back in the queue (a settle may be what a close waits for).
      // In place: the queue keeps its order (drop-oldest goes by age).
      if (this.#queue.size > 0) {
        const unknown = this.#queue.snapshot().filter((t) => !(this.#taskNames as Set<string>).has(t.name));
        for (const t of unknown) this.#settle(t, new UnknownTaskError(t.name, names), undefined, Outcome.Rejected);
      }
    }
    if (this.#state === 'closing' || this.#state === 'closed') {
      this.#checkDrained();
      if (this.#state === 'closing' && this.#queue.size === 0 && slot.outbox.length === 0) this.#kill(slot, 'close');
    }
    this.#pump();
    this.#scheduleIdle(slot);
    this.#unrefIfIdle();
  }

  #onInitError(handle: WorkerHandle, enc: EncodedError, phase?: string): void {
    if (phase === 'init') {
      // The module loaded but its sluice.init threw: before the pool ever
      // started this fails it like a module that cannot load; later it is a
      // worker that failed to start (restart intensity counts it).
      const err = new WorkerInitError(handle.id, decodeError(enc, '(sluice.init)'));
      const slot = this.#workers.byId.get(handle.id);
      if (!this.#everReady) this.#fail(err);
      else if (slot !== undefined) this.#failedStart(slot, err);
      return;
    }
    const cause = decodeError(enc, '(module load)');
    this.#fail(new ModuleLoadError(this.options.moduleUrl, cause));
    const slot = this.#workers.byId.get(handle.id);
    if (slot !== undefined) this.#kill(slot, 'close');
  }

  #onResults(handle: WorkerHandle, msg: unknown[]): void {
    const slot = this.#workers.byId.get(handle.id);
    if (slot === undefined) return;
    const inflight = slot.inflight;
    const now = this.#clock.now();
    const wall = epochNow();
    if (this.#breakers !== undefined) this.#breakers.now = now;
    let n = 0;
    let revoked = 0;
    const stealing = slot.revoking.size !== 0;
    for (let i = 1; i < msg.length; i += 3) {
      const seq = msg[i] as number;
      const idx = seq & INFLIGHT_MASK;
      const task = inflight[idx];
      if (task === undefined || slot.seqOf(idx) !== seq) continue;
      inflight[idx] = undefined;
      // Asked back (work stealing): answered either way now.
      if (stealing) slot.revoking.delete(seq);
      if (msg[i + 1] === Status.Revoked) {
        // Taken back before it started: it goes to a worker with room, and its place in this worker's maxTasks comes back.
        revoked++;
        this.#stolen++;
        slot.left++;
        if (task.state === TaskState.Dispatched && task.slot === slot && task.seq === seq) this.#requeue(task);
        else this.#limits.answered(slot, seq);
        continue;
      }
      n++;
      if (task.state !== TaskState.Dispatched || task.slot !== slot || task.seq !== seq) {
        // An orphan: its caller already has its outcome; its grace timer can stop.
        this.#limits.answered(slot, seq);
        continue;
      }
      let runMs = 0;
      if (sampled(task.id) || channels.taskCompleted.hasSubscribers) {
        const startedAt = handle.startedAt(seq);
        if (startedAt !== undefined) {
          runMs = wall - startedAt;
          this.#runHist.record(toMicros(runMs));
        }
        this.#latencyAlarm.record(toMicros(now - task.submittedAt));
      }
      // Little's W: dispatch to result, one clock reading per batch.
      this.#little.ran(now - (slot.sentAt[idx] as number));
      const status = msg[i + 1] as Status;
      if (status === Status.Ok) this.#settle(task, undefined, msg[i + 2], Outcome.Completed, runMs);
      else if (status === Status.Error) {
        slot.failures++;
        this.#taskFailed(task, decodeError(msg[i + 2] as EncodedError, task.name));
      } else if (status === Status.Thrown) {
        slot.failures++;
        this.#taskFailed(task, msg[i + 2]);
      }
      else this.#taskFailed(task, new SerializationError(task.name, 'output', decodeError(msg[i + 2] as EncodedError, task.name)));
    }
    slot.inflightCount -= n + revoked;
    slot.completed += n;
    // Sent all it may ever be sent: its replacement starts while it finishes them.
    if (slot.left <= 0) this.#recycle(slot, 'max-tasks');
    if (slot.load === 0 && this.#workers.draining.delete(slot)) this.#retireNow(slot);
    if (slot.load === 0) this.#workers.freed(slot);
    if (this.options.pipeline === 'auto' && n > 0) this.#tunePipeline(slot, n);
    if (this.#state === 'closing') {
      this.#pump();
      this.#checkDrained();
      return;
    }
    this.#pump();
    if (slot.load === 0) {
      // Only the auto pipeline sends work ahead of knowing its cost (and measures serviceMs); a fixed depth is the user's choice.
      if (this.options.pipeline === 'auto' && this.#queue.size === 0 && this.#workers.list.length > 1) this.#steal(slot);
      this.#scheduleIdle(slot);
    }
    this.#unrefIfIdle();
  }

  /** Work stealing (engine/steal.ts chooses): ask a busy worker for unstarted tasks back, for `idle`. */
  #steal(idle: WorkerSlot): void {
    const pick = chooseSteal(idle, this.#workers.list);
    if (pick === undefined) return;
    const { victim, seqs } = pick;
    try {
      victim.handle.send([Op.Revoke, ...seqs]);
    } catch {
      return; // gone: its exit requeues what never started
    }
    for (const seq of seqs) victim.revoking.add(seq);
  }

  /** The worker reported tasks first..last started (only sent while someone subscribes). */
  #onStarted(handle: WorkerHandle, first: number, last: number): void {
    if (!channels.taskStarted.hasSubscribers) return;
    const slot = this.#workers.byId.get(handle.id);
    if (slot === undefined) return;
    for (let seq = first; seq <= last; seq++) {
      const task = slot.inflight[seq & INFLIGHT_MASK];
      if (task === undefined || task.seq !== seq || task.state !== TaskState.Dispatched) continue;
      this.#ev.taskStarted(task, handle.id);
    }
  }

  /**
   * Auto pipeline depth from the time one task occupies the worker. This is a
   * throughput heuristic, not a semantic timer, so it reads the real clock.
   */
  #tunePipeline(slot: WorkerSlot, n: number): void {
    const now = performance.now();
    if (slot.busySince > 0) {
      const sample = (now - slot.busySince) / n;
      slot.serviceMs = slot.serviceMs < 0 ? sample : slot.serviceMs * 0.75 + sample * 0.25;
      const depth = Math.floor(PIPELINE_TARGET_MS / Math.max(slot.serviceMs, 1e-3)) + 1;
      slot.depth = depth > PIPELINE_MAX ? PIPELINE_MAX : depth;
    }
    slot.busySince = slot.inflightCount > 0 ? now : 0;
  }

  #onExit(handle: WorkerHandle, info: ExitInfo): void {
    const slot = this.#workers.byId.get(handle.id);
    if (slot === undefined) return;
    this.#workers.remove(slot);
    slot.state = SlotState.Stopping; // gone: a stale entry on the idle stack must not be picked
    if (slot.idleTimer !== undefined) this.#timers.cancel(slot.idleTimer);
    if (slot.startTimer !== undefined) this.#timers.cancel(slot.startTimer);
    const wasReady = slot.names !== undefined;
    const deliberate = slot.killedFor !== undefined;
    this.#ev.workerExited(slot, info);

    // In-flight tasks, in the order they were sent. Each gets its own fate:
    // finished (its result should have come: it was lost), never started
    // (requeued), or running when the worker died (the crash is its fate).
    const seqs: number[] = [];
    for (let idx = 0; idx < slot.inflight.length; idx++) if (slot.inflight[idx] !== undefined) seqs.push(slot.seqOf(idx));
    seqs.sort((a, b) => a - b);
    const inflight = slot.inflight.slice();
    slot.inflight.fill(undefined);
    slot.inflightCount = 0;
    const toRequeue: Task[] = [];
    const canRequeue = this.#state !== 'failed' && this.#state !== 'closed';
    for (const seq of seqs) {
      const task = inflight[seq & INFLIGHT_MASK] as Task;
      this.#limits.answered(slot, seq);
      if (task.state !== TaskState.Dispatched || task.slot !== slot || task.seq !== seq) continue; // an orphan
      if (handle.finished?.(seq) === true) {
        this.#taskFailed(task, this.#state === 'failed' && this.#failure !== undefined ? this.#failure : new ResultLostError(handle.id, task.name, this.#lostWhy(slot, info)));
      } else if (handle.startedAt(seq) === undefined && task.transfer === undefined && canRequeue) {
        toRequeue.push(task);
      } else {
        // Never started but its transfer list already moved its buffers into the dead worker: it cannot be sent again.
        this.#taskFailed(task, this.#crashError(slot, info, task.name));
      }
    }
    // Back to the head of the queue in send order: first what was assigned but never sent, then in front of it what was sent.
    this.#requeueOutbox(slot);
    for (let k = toRequeue.length - 1; k >= 0; k--) this.#requeue(toRequeue[k] as Task);
    this.#supervisedExit(slot, info);

    if (!wasReady && !deliberate && this.#state !== 'failed' && !(this.#everReady && this.#intensity !== undefined)) {
      this.#startFailures++;
      if (!this.#everReady || this.#startFailures >= MAX_START_FAILURES) {
        const cause = info.error ?? new Error(`worker exited with code ${String(info.code)} before it was ready`);
        this.#fail(new ModuleLoadError(this.options.moduleUrl, cause));
      }
    }
    if (this.#state === 'failed' || this.#state === 'closed') {
      for (const t of this.#queue.drain()) this.#settle(t, this.#failure ?? new PoolClosedError(), undefined, Outcome.Rejected);
    } else {
      this.#replenish();
      this.#pump();
    }
    this.#checkDrained();
  }

  /** Why a finished task's result never arrived, for ResultLostError. */
  #lostWhy(slot: WorkerSlot, info: ExitInfo): string {
    switch (slot.killedFor) {
      case 'timeout':
        return 'its worker was stopped because another task on it ran past its time limit';
      case 'abort':
        return 'its worker was stopped because a cancelled task on it did not stop within abortGraceMs';
      case 'stalled':
        return 'its worker was stopped because another task blocked its event loop (stalled)';
      default:
        if (info.oom) return 'the worker ran out of memory before sending it';
        if (info.signal !== null) return `the worker was killed by ${info.signal} before sending it`;
        return `the worker exited with code ${String(info.code)} before sending it`;
    }
  }

  #crashError(slot: WorkerSlot, info: ExitInfo, taskName: string): Error {
    if (slot.stallError !== undefined) return slot.stallError;
    if (this.#state === 'failed' && this.#failure !== undefined) return this.#failure;
    if (slot.killedFor === 'close') return new PoolClosedError('pool was terminated before the task finished');
    return new WorkerCrashedError(
      {
        workerId: slot.handle.id,
        taskName,
        exitCode: info.code,
        signal: info.signal,
        reason: info.oom ? 'oom' : info.signal !== null ? 'signal' : info.error !== undefined ? 'error' : 'exit',
      },
      info.error,
    );
  }

  /** Keeps at least `min` workers (at least one while work is queued). */
  #replenish(): void {
    if (this.#state !== 'running' && this.#state !== 'starting' && this.#state !== 'closing') return;
    const want = Math.max(this.options.min, this.#queue.size > 0 || this.#waiting.size > 0 ? 1 : 0);
    if (this.#workers.list.length < want && this.#spawnsHeld()) return;
    while (this.#workers.list.length < want) this.#spawn();
  }

  #scheduleIdle(slot: WorkerSlot): void {
    if (this.options.idleTimeoutMs === Infinity || slot.state !== SlotState.Ready || slot.load > 0) return;
    if (this.#workers.list.length <= this.options.min || this.#workers.live() <= this.options.min) return;
    // Workers already stopping do not count toward min: they are going.
    slot.idleTimer ??= new CallbackTimer(() => {
      if (slot.state === SlotState.Ready && slot.load === 0 && this.#workers.live() > this.options.min) this.#kill(slot, 'retire');
    });
    this.#timers.schedule(slot.idleTimer, this.#clock.now() + this.options.idleTimeoutMs);
  }

  #kill(slot: WorkerSlot, why: NonNullable<WorkerSlot['killedFor']>): void {
    // A draining worker is Stopping but still running its last tasks: it can still be killed.
    if (slot.state === SlotState.Stopping && !this.#workers.draining.delete(slot)) return;
    slot.killedFor = why;
    slot.state = SlotState.Stopping;
    if (slot.idleTimer !== undefined) this.#timers.cancel(slot.idleTimer);
    slot.handle.terminate(why);
  }

  /** A running pool with no work anywhere lets its workers stop holding the process open. */
  #unrefIfIdle(): void {
    if (this.#state === 'running' && this.#running === 0 && this.#queue.size === 0 && this.#waiting.size === 0 && this.#backoff.size === 0) this.#setRef(false);
  }

  #setRef(on: boolean): void {
    this.#reffed = on;
    for (const s of this.#workers.list) s.handle.ref?.(on);
  }

  // ---- cancellation and time ------------------------------------------------

  #abort(task: Task): void {
    const reason: unknown = task.signal?.reason;
    const state = task.state;
    if (state === TaskState.Settled) return;
    const { slot, seq } = task;
    this.#settle(task, new TaskAbortedError(task.name, reason), undefined, Outcome.Failed);
    if (state === TaskState.Dispatched) this.#limits.stop(slot, seq, task, AbortKind.Cancelled);
    // Its place (in the queue, or in a starting worker's outbox) is free: queued work and waiting callers move up.
    if (state !== TaskState.Dispatched || seq === 0) this.#pump();
  }

  #onTimer(task: Task): void {
    switch (task.state) {
      case TaskState.Waiting:
        this.#waiting.delete(task);
        this.#settle(task, new QueueTimeoutError(task.queueTimeoutMs), undefined, Outcome.Rejected);
        return;
      case TaskState.Dispatched:
        this.#limits.check(task);
        return;
      case TaskState.Backoff:
        this.#backoff.delete(task);
        this.#requeueAfterBackoff(task);
        return;
      default:
        return;
    }
  }

  #onDeadline(task: Task): void {
    const state = task.state;
    if (state === TaskState.Settled) return;
    const err = new DeadlineExceededError(task.name, task.deadlineMs, state !== TaskState.Dispatched);
    const { slot, seq } = task;
    this.#dlq.record(task, err, 'deadline');
    this.#settle(task, err, undefined, Outcome.Failed);
    if (state === TaskState.Dispatched) this.#limits.stop(slot, seq, task, AbortKind.TimedOut);
    if (state !== TaskState.Dispatched || seq === 0) this.#pump();
  }

  // ---- retries and dead letters ---------------------------------------------

  /**
   * A task failed (threw, timed out, its worker crashed, its output could not
   * be cloned). Retry it after a backoff if its policy says so, else settle
   * it and record it in the dead-letter queue.
   */
  #taskFailed(task: Task, err: unknown): void {
    const policy = task.retry;
    const stopped = this.#state === 'closed' || this.#state === 'failed';
    if (policy !== undefined && task.transfer === undefined && !stopped && shouldRetry(policy, err, task.attempt)) {
      this.#retried++;
      (task.errors ??= []).push(err);
      const delayMs = retryDelay(policy, task.attempt);
      this.#ev.taskRetried(task, delayMs, err);
      if (task.state === TaskState.Dispatched) this.#running--;
      task.state = TaskState.Backoff;
      task.slot = undefined;
      task.seq = 0;
      this.#backoff.add(task);
      task.timer ??= new TaskTimer(task, this.#onTimerBound);
      this.#timers.schedule(task.timer, this.#clock.now() + delayMs);
      return;
    }
    if (policy !== undefined && err !== null && typeof err === 'object') {
      // The final error says how many tries were made and what the earlier ones hit.
      Object.defineProperty(err, 'attempts', { value: task.attempt, enumerable: true, configurable: true, writable: true });
      Object.defineProperty(err, 'previousErrors', { value: task.errors ?? [], enumerable: false, configurable: true, writable: true });
    }
    this.#dlq.record(task, err, 'failed');
    this.#settle(task, err, undefined, Outcome.Failed);
  }

  /** Back into the queue after a backoff; accepted work re-enters even a full queue. */
  #requeueAfterBackoff(task: Task): void {
    task.readyAt = this.#clock.now();
    const slot = this.#queue.size === 0 ? this.#workers.pick() : undefined;
    if (slot !== undefined) this.#assign(task, slot);
    else {
      this.#enqueue(task);
      this.#replenish();
      this.#grow();
    }
  }

  /** The dead-letter entries held by the sink. */
  deadLetters(): DeadLetter[] {
    return this.#dlq.list();
  }

  /** Removes the entries `filter` accepts from the dead-letter queue and runs them again. */
  redrive(filter: (entry: DeadLetter) => boolean): Promise<unknown>[] {
    return this.#dlq.take(filter).map((e) => this.submit(e.taskName, e.input, { correlationId: e.correlationId }));
  }

  /** Asks every live worker about itself; settles even when a worker is stuck (its entry then lacks its own figures). */
  async diagnostics(): Promise<PoolDiagnostics> {
    const slots = this.#workers.list.filter((s) => s.state !== SlotState.Stopping);
    const reports = await Promise.all(slots.map((s) => s.handle.diagnose()));
    const empty = { heapUsed: 0, heapTotal: 0, rss: 0, external: 0, eventLoopUtilization: 0, cpuUserMs: undefined, cpuSystemMs: undefined };
    const workers: WorkerDiagnostics[] = slots.map((s, i) => {
      const r = reports[i] as Awaited<ReturnType<WorkerHandle['diagnose']>>;
      return { ...(r.self ?? empty), reported: r.self !== undefined, workerId: s.handle.id, kind: this.options.kind, pid: r.pid, inflight: s.load, completed: s.completed, proc: r.proc };
    });
    return { workers, live: this.#workers.list.length, configured: this.options.max, process: procStatus('self') };
  }

  // ---- load window and saturation --------------------------------------------

  #sample(): void {
    if (this.#state === 'closed' || this.#state === 'failed') return;
    const depth = this.#queue.size + this.#waiting.size;
    let busy = 0;
    let ready = 0;
    for (const s of this.#workers.list) {
      if (s.state !== SlotState.Ready) continue;
      ready++;
      if (s.load > 0) busy++;
    }
    const now = this.#clock.now();
    this.#load.record(depth, ready === 0 ? 0 : busy / ready, this.#completed - this.#completedAtLastSample);
    this.#completedAtLastSample = this.#completed;
    this.#latencyAlarm.sample(now);
    this.#saturation.sample(now, depth);
    this.#little.fold(now);
    if (this.#scaler !== undefined && this.#state === 'running') this.#scale(now, depth, busy, ready - busy);
    this.#timers.schedule(this.#sampler as CallbackTimer, now + this.options.saturation.sampleMs);
  }

  // ---- adaptive size -----------------------------------------------------------

  /** Hands the scaler a sample and applies the size it wants. */
  #scale(now: number, depth: number, busy: number, idle: number): void {
    const { cpu, elu } = (this.#cpu as CpuSignal).read(this.#workers.list.map((s) => s.handle));
    const little = this.#little.summary();
    const { min, max, cpus } = this.options;
    const size = this.#workers.live();
    const want = (this.#scaler as Scaler).sample({ now, size, min, max, cpus, queueDepth: depth, busy, idle, cpu, elu, ...little });
    if (typeof want === 'number' && Number.isFinite(want)) this.resize(Math.round(want));
  }

  /**
   * Sets the size the pool heads for, clamped to [min, max]: grows by
   * spawning at once; shrinks by retiring idle workers first, then draining
   * busy ones (they take no new work and stop once their tasks finish).
   */
  resize(n: number): void {
    if (this.#state !== 'running' && this.#state !== 'starting') return;
    const target = Math.min(this.options.max, Math.max(this.options.min, n));
    this.#workers.target = target;
    let live = this.#workers.live();
    // Never more than max threads alive: workers still exiting count until they are gone (#grow adds the rest later).
    while (live < target && this.#workers.list.length < this.options.max && !this.#spawnsHeld()) {
      this.#spawn();
      live++;
    }
    if (live <= target) return;
    // Idle first, then the least loaded (a starting worker's load is what was assigned to it; retiring it puts that back in the queue).
    const candidates = this.#workers.list.filter((s) => s.state !== SlotState.Stopping && !this.#workers.draining.has(s));
    candidates.sort((a, b) => a.load - b.load);
    for (const slot of candidates) {
      if (live <= target) break;
      live--;
      if (slot.inflightCount === 0) this.#retireNow(slot);
      else {
        this.#workers.draining.add(slot);
        // No new work: a draining worker is not Ready, so selection skips it.
        slot.state = SlotState.Stopping;
      }
    }
  }

  /** Stops a worker the pool no longer wants (a draining one is already marked Stopping). */
  #retireNow(slot: WorkerSlot): void {
    const why = slot.recycling ? 'recycle' : 'retire';
    slot.killedFor = why;
    this.#workers.leftStarting(slot);
    slot.state = SlotState.Stopping;
    // A worker retired while starting may hold tasks assigned to it: they go back to the queue now, not at its exit.
    this.#requeueOutbox(slot);
    if (slot.idleTimer !== undefined) this.#timers.cancel(slot.idleTimer);
    this.#stopWorker(slot, why);
  }

  /** Graceful where the module has a teardown (it runs, bounded by teardownTimeoutMs); otherwise terminate at once. */
  #stopWorker(slot: WorkerSlot, why: 'retire' | 'recycle' | 'close'): void {
    const h = slot.handle;
    if ((slot.hooks & HookFlag.Teardown) !== 0 && h.stop !== undefined) h.stop(this.options.supervision.teardownTimeoutMs);
    else h.terminate(why);
  }

  // ---- supervision hooks (logic in src/supervision/) ---------------------------

  /**
   * Retires a worker and replaces it. The replacement starts first and the
   * old worker keeps taking work until it is ready (then it drains: no new
   * work, finishes its tasks, runs teardown, exits). One recycle at a time,
   * so at most max + 1 workers are alive; a deferred recycle is retried at
   * the next check (or result batch, for maxTasks).
   */
  #recycle(slot: WorkerSlot, why: RecycleWhy): void {
    // While closing too: a worker at its maxTasks takes no more work, and the queue still has to drain.
    if ((this.#state !== 'running' && this.#state !== 'closing') || slot.state !== SlotState.Ready || slot.recycling || this.#recycling > 0) return;
    this.#recycling++;
    slot.recycling = true;
    if (why === 'quarantine') this.#quarantined++;
    this.#ev.workerRecycled(slot.handle.id, why);
    // Quarantine and a failed health check mean the worker is bad: stop its new work now.
    if (why === 'quarantine' || why === 'unhealthy') this.#drainRecycled(undefined, slot);
    const spawned = this.#spawn();
    if (spawned !== undefined) spawned.replaces = slot;
  }

  /** The replacement is ready (or the worker is bad): the old worker drains and leaves. */
  #drainRecycled(replacement: WorkerSlot | undefined, old = replacement?.replaces): void {
    if (replacement !== undefined) replacement.replaces = undefined;
    if (old === undefined || old.state !== SlotState.Ready) return;
    this.#recycled++;
    if (old.inflightCount === 0) this.#retireNow(old);
    else {
      this.#workers.draining.add(old);
      old.state = SlotState.Stopping;
    }
  }

  #onStalled(slot: WorkerSlot, report: StallReport, task: Task | undefined): void {
    const err = new WorkerStalledError(report);
    slot.stallError = err;
    this.#ev.workerStalled(slot.handle.id, task, report, err);
    this.#kill(slot, 'stalled');
  }

  /** Supervision's part of a worker exit: recycle bookkeeping and restart intensity. */
  #supervisedExit(slot: WorkerSlot, info: ExitInfo): void {
    this.#sup?.gone(slot);
    if (slot.recycling) {
      this.#recycling--;
      slot.recycling = false;
    }
    // A replacement that died before it was ready: the old worker stays on (and, if it is due, is recycled again below).
    const old = slot.replaces;
    if (old !== undefined && old.recycling && old.state === SlotState.Ready) {
      old.recycling = false;
      this.#recycling--;
    }
    // One recycle at a time: a worker that came due meanwhile goes next, even in an idle pool.
    if (this.#maxTasks !== Infinity && this.#recycling === 0) {
      for (const s of this.#workers.list) {
        if (s.state === SlotState.Ready && s.left <= 0) {
          this.#recycle(s, 'max-tasks');
          break;
        }
      }
    }
    const why = slot.killedFor;
    const restart = why === undefined || why === 'stalled' || why === 'init';
    const intensity = this.#intensity;
    if (!restart || intensity === undefined || this.#state === 'closing' || this.#state === 'closed') return;
    if (this.#state === 'failed') {
      if (this.#recoverable) this.#scheduleProbe();
      return;
    }
    const cause = slot.stallError ?? slot.startError ?? info.error ?? new Error(`worker ${slot.handle.id} exited with code ${String(info.code)}${info.signal !== null ? ` (${info.signal})` : ''}`);
    const now = this.#clock.now();
    // Barren: it did no work, or it ended itself while running no task (a timer in the module calling exit),
    // within the intensity window of its spawn: restarting it does not help, however much it did meanwhile.
    const barren = (slot.completed === 0 || info.idle === true) && now - slot.spawnedAt < intensity.policy.withinMs;
    if (!intensity.record(now, cause, barren)) {
      // Restarts in a row that did no work wait a growing delay: a crash loop then costs little CPU until it is stopped.
      const delay = intensity.respawnDelay();
      if (delay > 0) this.#holdSpawns(now + delay);
      return;
    }
    // Too many restarts too fast, or too many in a row that did no work: stop the spawn loop; fail recoverably.
    const err = new PoolFailedError(intensity.recent, intensity.policy.withinMs, intensity.causes, intensity.barren);
    this.#fail(err);
    this.#recoverable = true;
    this.#emit('pool-failed', { error: err });
    this.#scheduleProbe();
  }

  /** No replacement or growth spawns before `until` (restart intensity's respawn delay); then the pool fills up again. */
  #holdSpawns(until: number): void {
    this.#spawnHeldUntil = until;
    const timer = (this.#respawnTimer ??= new CallbackTimer(() => {
      if (this.#state !== 'running' && this.#state !== 'starting' && this.#state !== 'closing') return;
      this.#replenish();
      this.#pump();
    }));
    this.#timers.schedule(timer, until);
  }

  /** Whether restart intensity holds spawning back right now. */
  #spawnsHeld(): boolean {
    return this.#spawnHeldUntil > 0 && this.#clock.now() < this.#spawnHeldUntil;
  }

  /** While failed by restart intensity: one probe worker after a growing backoff. */
  #scheduleProbe(): void {
    const intensity = this.#intensity as RestartIntensity;
    const timer = (this.#probeTimer ??= new CallbackTimer(() => {
      if (!this.#recoverable || this.#state !== 'failed') return;
      // Workers stopped by the failure may still be exiting: wait for them (never more than max alive).
      if (this.#workers.list.length === 0) this.#spawn();
      else this.#timers.schedule(timer, this.#clock.now() + intensity.policy.backoffMs);
    }));
    if (timer.index !== -1) return;
    this.#timers.schedule(timer, this.#clock.now() + intensity.nextProbeDelay());
  }

  /** A probe is ready: if it is still up after recoverAfterMs, the pool runs again. */
  #probeReady(slot: WorkerSlot): void {
    const intensity = this.#intensity as RestartIntensity;
    const timer = new CallbackTimer(() => {
      if (!this.#recoverable || this.#state !== 'failed' || slot.state !== SlotState.Ready) return;
      this.#recoverable = false;
      intensity.recovered();
      this.#failure = undefined;
      this.#state = 'running';
      this.#emit('pool-recovered', { workerId: slot.handle.id });
      this.#replenish();
      this.#pump();
    });
    this.#timers.schedule(timer, this.#clock.now() + intensity.policy.recoverAfterMs);
  }

  // ---- settlement ------------------------------------------------------------

  #refuse(err: unknown, name: string, opts: RunOptions | undefined): Promise<never> {
    this.#rejected++;
    const correlationId = typeof opts?.correlationId === 'string' ? opts.correlationId : undefined;
    if (correlationId !== undefined) tagCorrelation(err, correlationId);
    this.#ev.taskRejected(undefined, name, correlationId, err);
    return Promise.reject(err);
  }

  #settle(task: Task, err: unknown, value: unknown, outcome: Outcome, runMs = 0): void {
    const state = task.state;
    if (state === TaskState.Settled) return;
    if (state === TaskState.Dispatched) {
      this.#running--;
      // Assigned, not sent (cancelled while its worker starts, say): its place in that worker's outbox is free again.
      if (task.seq === 0 && task.slot !== undefined) {
        const outbox = task.slot.outbox;
        const i = outbox.indexOf(task);
        if (i !== -1) outbox.splice(i, 1);
      }
    } else if (state === TaskState.Backoff) this.#backoff.delete(task);
    else if (task.queued) {
      if (state === TaskState.Waiting) this.#waiting.delete(task);
      else this.#queue.delete(task);
    }
    task.state = TaskState.Settled;
    if (task.signal !== undefined) {
      this.#abortWatch.delete(task.signal, task);
      task.signal = undefined;
    }
    if (task.timer !== undefined) this.#timers.cancel(task.timer);
    if (task.deadline !== undefined) this.#timers.cancel(task.deadline);
    task.input = undefined;
    if (task.transfer !== undefined) task.transfer = undefined;
    if (outcome === Outcome.Completed) {
      this.#completed++;
      if (this.#breakers !== undefined) this.#breakers.record(task.name, false);
      this.#ev.taskCompleted(task, runMs);
      task.resolve(value);
    } else {
      const correlationId = this.#ev.corrOf(task);
      tagCorrelation(err, correlationId);
      if (outcome === Outcome.Failed) {
        this.#failed++;
        if (this.#breakers !== undefined && countsAsFailure((err as { code?: unknown } | null)?.code)) this.#breakers.record(task.name, true);
        this.#ev.taskFailed(task, correlationId, err);
      } else {
        this.#rejected++;
        this.#ev.taskRejected(task.id, task.name, correlationId, err);
      }
      task.reject(err);
    }
    // A task settled by cancellation, a deadline or a queue timeout may be the last thing a close waits for.
    if (this.#state === 'closing') this.#checkDrained();
  }

  // ---- shutdown -----------------------------------------------------------------


  #fail(err: Error): void {
    if (this.#state === 'failed' || this.#state === 'closed') return;
    this.#state = 'failed';
    this.#failure = err;
    this.#startReject(err);
    this.#rejectReadyWaiters(err);
    // What was assigned to workers but never sent fails with the pool now, not when each worker has gone.
    for (const s of this.#workers.list) this.#requeueOutbox(s);
    for (const t of this.#waiting.drain()) this.#settle(t, err, undefined, Outcome.Rejected);
    for (const t of this.#queue.drain()) this.#settle(t, err, undefined, Outcome.Rejected);
    for (const t of [...this.#backoff]) this.#settle(t, err, undefined, Outcome.Rejected);
    for (const s of [...this.#workers.list]) this.#kill(s, 'close');
  }

  #rejectReadyWaiters(err: unknown): void {
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const w of waiters) w.reject(err);
  }

  #checkDrained(): void {
    if (this.#state === 'closing' && this.#queue.size === 0 && this.#waiting.size === 0 && this.#running === 0 && this.#backoff.size === 0) {
      // Phase two: nothing left to run; stop the workers (orphans included), with teardown where the module has one.
      for (const s of [...this.#workers.list]) {
        if (s.state === SlotState.Stopping && !this.#workers.draining.delete(s)) continue;
        s.killedFor = 'close';
        s.state = SlotState.Stopping;
        if (s.idleTimer !== undefined) this.#timers.cancel(s.idleTimer);
        this.#stopWorker(s, 'close');
      }
      this.#sup?.stop();
      this.#state = 'closed';
    }
    if ((this.#state === 'closed' || (this.#state === 'failed' && !this.#recoverable)) && this.#workers.list.length === 0) {
      if (this.#closeTimer !== undefined) this.#timers.cancel(this.#closeTimer);
      this.#timers.clear();
      this.#dlq.close();
      this.#detachLogger?.();
      this.#detachLogger = undefined;
      const waiters = this.#allExited;
      this.#allExited = [];
      for (const w of waiters) w();
    }
  }

  #terminateAll(err: PoolClosedError): Promise<void> {
    if (this.#state !== 'failed') this.#state = 'closed';
    // Hold the process open until every worker has really exited: an idle
    // pool's unref'd child processes would otherwise let it end first.
    this.#setRef(true);
    this.#rejectReadyWaiters(err);
    this.#startReject(err);
    for (const t of this.#waiting.drain()) this.#settle(t, err, undefined, Outcome.Rejected);
    for (const t of this.#queue.drain()) this.#settle(t, err, undefined, Outcome.Rejected);
    for (const t of [...this.#backoff]) this.#settle(t, err, undefined, Outcome.Rejected);
    for (const s of this.#workers.list) {
      for (const t of s.outbox) this.#settle(t, err, undefined, Outcome.Rejected);
      for (const t of s.inflight) if (t !== undefined) this.#settle(t, err, undefined, Outcome.Rejected);
      this.#kill(s, 'close');
    }
    const done = new Promise<void>((resolve) => this.#allExited.push(resolve));
    this.#checkDrained();
    return done;
  }
}
