/**
 * Whether a worker was started with any preload at all (`--import`,
 * `--require`, `--loader`, in its flags or in NODE_OPTIONS): a cheap check,
 * so the loader-hooks module (and what it imports) is only loaded by the
 * workers that may need it. Start-up time is per module.
 */
const PRELOAD = /(?:^|\s)(?:--import|--require|-r|--loader|--experimental-loader)(?:[\s=]|$)/;

export function needsLoaderHooks(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return execArgv.some((a) => PRELOAD.test(a)) || (nodeOptions !== undefined && PRELOAD.test(nodeOptions));
}
