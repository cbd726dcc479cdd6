/**
 * Whether a worker's flags ask for a loader at all: a cheap check, so the
 * loader-hooks module (and what it imports) is only loaded by the workers
 * that need it. Start-up time is per module.
 */
export function needsLoaderHooks(execArgv: readonly string[]): boolean {
  return execArgv.some((a) => a === '--import' || a === '--loader' || a === '--experimental-loader' || a.startsWith('--import=') || a.startsWith('--loader=') || a.startsWith('--experimental-loader='));
}
