/**
 * Ctrl-C handling, decoupled from `process` so tests can drive it in-process.
 * The first interrupt asks for a graceful drain, the second for an immediate
 * stop; the count is kept so an interrupt that arrives before the runner
 * listens is not lost.
 */

import { EventEmitter } from 'node:events';

export class Interrupts extends EventEmitter<{ interrupt: [count: number, signal: string] }> {
  #count = 0;

  get count(): number {
    return this.#count;
  }

  trigger(signal = 'SIGINT'): void {
    this.#count++;
    this.emit('interrupt', this.#count, signal);
  }

  /** Routes SIGINT and SIGTERM here (replacing Node's default of dying at once). Returns the uninstaller. */
  listenToProcess(): () => void {
    const onSignal = (signal: NodeJS.Signals): void => this.trigger(signal);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    return () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
  }
}
