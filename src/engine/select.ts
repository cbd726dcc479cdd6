/**
 * Which worker gets the next task: a pure function of the workers' loads,
 * testable without spawning anything. Least-loaded first, so work spreads
 * across workers before it pipelines onto any one of them; among equals the
 * earliest in the list, which keeps a warm worker warm.
 */
export interface Candidate {
  readonly hasRoom: boolean;
  readonly load: number;
}

export function selectWorker<T extends Candidate>(workers: readonly T[]): T | undefined {
  let best: T | undefined;
  let bestLoad = Infinity;
  for (let i = 0; i < workers.length; i++) {
    const w = workers[i] as T;
    if (!w.hasRoom) continue;
    const load = w.load;
    if (load === 0) return w;
    if (load < bestLoad) {
      best = w;
      bestLoad = load;
    }
  }
  return best;
}
