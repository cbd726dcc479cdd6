/**
 * The periodic half of supervision: one timer on the pool's clock (the
 * TimerHeap) that checks every worker's heartbeat, age, memory, health and
 * error rate, and tells the scheduler what to do through `SupervisorHost`.
 * Nothing here runs per task: the dispatch path never sees it.
 */

import type { EventLoopUtilization } from 'node:perf_hooks';
import type { Clock } from '../time/clock.js';
import type { StallReport } from '../api/errors.js';
import { epochNow, HookFlag, Op } from '../wire/protocol.js';
import type { Task } from '../engine/task.js';
import { CallbackTimer, type TimerHeap } from '../time/timer-heap.js';
import type { ResolvedSupervision } from '../config/validate.js';
import { procStatus } from '../observability/worker-diagnostics.js';
import { SlotState, type WorkerSlot } from '../engine/worker-slot.js';
import { BeatWatch, isStalled } from './heartbeat.js';
import { LeakDetector, recycleReason, type RecycleWhy } from './recycle.js';

export interface SupervisorHost {
  readonly kind: 'thread' | 'process' | 'async';
  slots(): readonly WorkerSlot[];
  stalled(slot: WorkerSlot, report: StallReport, task: Task | undefined): void;
  recycle(slot: WorkerSlot, why: RecycleWhy): void;
  leaking(slot: WorkerSlot, heapUsed: number): void;
  /** Workers under suspicion after a fresh review of every worker's record (isolation.ts); quarantine drains them. */
  suspects(): Iterable<number>;
}

interface Watch {
  beat: BeatWatch;
  leak: LeakDetector;
  completedAtSample: number;
  elu: EventLoopUtilization | undefined;
  nextHealthAt: number;
}


export class Supervisor {
  readonly #s: ResolvedSupervision;
  readonly #host: SupervisorHost;
  readonly #timers: TimerHeap;
  readonly #tickMs: number;
  readonly #watch = new Map<WorkerSlot, Watch>();
  readonly #timer = new CallbackTimer(() => this.#tick());
  #running = false;
  readonly #clock: Clock;
  /** Stalls seen over the pool's life. */
  stalls = 0;

  constructor(s: ResolvedSupervision, host: SupervisorHost, timers: TimerHeap, clock: Clock) {
    this.#s = s;
    this.#clock = clock;
    this.#host = host;
    this.#timers = timers;
    this.#tickMs = s.heartbeat?.intervalMs ?? Math.min(1000, s.healthCheckMs);
  }

  /** Whether anything needs the periodic check even before a worker reports hooks. */
  get periodic(): boolean {
    const s = this.#s;
    return s.heartbeat !== undefined || s.recycle.maxAgeMs !== Infinity || s.recycle.maxRssBytes !== Infinity || s.recycle.maxHeapBytes !== Infinity || s.quarantine !== undefined;
  }

  /** A worker became ready: start watching it. */
  ready(slot: WorkerSlot, now: number): void {
    this.#watch.set(slot, { beat: new BeatWatch(), leak: new LeakDetector(), completedAtSample: 0, elu: undefined, nextHealthAt: now + this.#s.healthCheckMs });
    if (this.periodic || (slot.hooks & HookFlag.Health) !== 0) this.start(now);
  }

  gone(slot: WorkerSlot): void {
    this.#watch.delete(slot);
  }

  start(now: number): void {
    if (this.#running) return;
    this.#running = true;
    this.#timers.schedule(this.#timer, now + this.#tickMs);
  }

  stop(): void {
    this.#running = false;
    this.#timers.cancel(this.#timer);
  }

  #tick(): void {
    if (!this.#running) return;
    const now = this.#clock.now();
    const s = this.#s;
    const hb = s.heartbeat;
    for (const slot of [...this.#host.slots()]) {
      const w = this.#watch.get(slot);
      if (w === undefined || slot.state !== SlotState.Ready) continue;
      const h = slot.handle;
      if (hb !== undefined && h.beats !== undefined) {
        const missed = w.beat.observe(h.beats(), now);
        if (missed >= hb.missedBeats) {
          const running = runningTask(slot);
          const silentMs = now - w.beat.lastBeatAt;
          if (isStalled(missed, silentMs, hb.missedBeats, hb.intervalMs, running?.task.stallMs ?? 0)) {
            this.stalls++;
            this.#watch.delete(slot);
            this.#host.stalled(slot, this.#report(slot, w, missed, silentMs, running), running?.task);
            continue;
          }
        }
      }
      if (h.eventLoopUtilization !== undefined) w.elu = h.eventLoopUtilization();
      const heap = h.heapUsed?.();
      let rss = h.rss?.();
      if (rss === undefined && s.recycle.maxRssBytes !== Infinity) {
        const pid = h.pid;
        rss = pid === undefined ? undefined : procStatus(pid)?.rss;
      }
      if (heap !== undefined && slot.completed > w.completedAtSample) {
        w.completedAtSample = slot.completed;
        const wasLeaking = w.leak.leaking;
        if (w.leak.add(heap) && !wasLeaking) {
          slot.leaking = true;
          this.#host.leaking(slot, heap);
        }
      }
      const why = recycleReason(s.recycle, slot.completed, now - slot.spawnedAt, heap, rss);
      if (why !== undefined) {
        this.#host.recycle(slot, why);
        continue;
      }
      if ((slot.hooks & HookFlag.Health) !== 0 && now >= w.nextHealthAt) {
        w.nextHealthAt = now + s.healthCheckMs;
        try {
          h.send([Op.Health, 0]);
        } catch {
          // gone; its exit is on its way
        }
      }
    }
    // Suspects are quarantined the moment they become suspect; this catches
    // one that could not be then (another recycle was under way).
    if (s.quarantine !== undefined) {
      for (const id of this.#host.suspects()) {
        const slot = this.#host.slots().find((x) => x.handle.id === id);
        if (slot !== undefined && slot.state === SlotState.Ready && !slot.recycling) this.#host.recycle(slot, 'quarantine');
      }
    }
    this.#timers.schedule(this.#timer, now + this.#tickMs);
  }

  #report(slot: WorkerSlot, w: Watch, missed: number, silentMs: number, running: { task: Task; runningMs: number } | undefined): StallReport {
    const h = slot.handle;
    const pid = h.pid;
    let elu: number | undefined;
    if (h.eventLoopUtilization !== undefined) {
      // Readable from this side even though the thread is stuck.
      const nowElu = h.eventLoopUtilization();
      elu = (w.elu === undefined ? nowElu : h.eventLoopUtilization(nowElu, w.elu)).utilization;
    }
    let reportFile: string | undefined;
    if (pid !== undefined && this.#s.heartbeat?.processReport === true) {
      h.signal?.('SIGUSR2');
      reportFile = `report.*.${pid}.*.json (in the child's working directory, only if it was started with --report-on-signal and could still run its handler)`;
    }
    return {
      workerId: h.id,
      kind: this.#host.kind,
      task: running?.task.name,
      taskId: running?.task.id,
      correlationId: running === undefined ? undefined : (running.task.correlation ?? undefined),
      runningMs: running?.runningMs,
      missedBeats: missed,
      silentMs,
      heapUsed: h.heapUsed?.(),
      rss: pid === undefined ? undefined : procStatus(pid)?.rss,
      eventLoopUtilization: elu,
      pid,
      reportFile,
    };
  }
}

/** The task the worker runs now: the latest started task still in flight. */
export function runningTask(slot: WorkerSlot): { task: Task; runningMs: number } | undefined {
  let best: Task | undefined;
  let at = 0;
  for (const t of slot.inflight) {
    if (t === undefined || t.seq === 0 || t.slot !== slot) continue;
    const started = slot.handle.startedAt(t.seq);
    if (started === undefined) continue;
    if (best === undefined || t.seq > best.seq) {
      best = t;
      at = started;
    }
  }
  return best === undefined ? undefined : { task: best, runningMs: epochNow() - at };
}
