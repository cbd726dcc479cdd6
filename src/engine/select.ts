/**
 * Which worker gets the next task: a pure function of the workers' loads,
 * testable without spawning anything. Least-loaded first, so work spreads
 * across workers before it pipelines onto any one of them; among equals the
 * earliest in the list, which keeps a warm worker warm.
 */
export interface Candidate {
  readonly hasRoom: boolean;
  readonly load: number;
  /** Under suspicion (supervision/isolation.ts): chosen only when no other worker has room. */
  readonly suspect?: boolean;
}

export function selectWorker<T extends Candidate>(workers: readonly T[]): T | undefined {
  let best: T | undefined;
  let bestLoad = Infinity;
  let fallback: T | undefined;
  for (let i = 0; i < workers.length; i++) {
    const w = workers[i] as T;
    if (!w.hasRoom) continue;
    // A suspect's failures are not the task's: its work goes to the others
    // (half-open trials included) while they have room.
    if (w.suspect === true) {
      if (fallback === undefined || w.load < fallback.load) fallback = w;
      continue;
    }
    const load = w.load;
    if (load === 0) return w;
    if (load < bestLoad) {
      best = w;
      bestLoad = load;
    }
  }
  return best ?? fallback;
}
