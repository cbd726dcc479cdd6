/**
 * The Node flags a worker inherits. Workers get the parent's flags so loader
 * hooks (`--import tsx`, `--loader`, `--experimental-*`) reach them, but
 * flags that describe how the *parent* was started (its eval string, test
 * runner or watch mode) would break a worker, so they are dropped.
 */
const DROP_WITH_VALUE = new Set(['--input-type', '--eval', '-e', '--print', '-p', '--test-reporter', '--test-reporter-destination', '--test-name-pattern', '--test-skip-pattern', '--test-concurrency', '--test-timeout', '--test-shard', '--watch-path']);
const DROP_PREFIX = ['--test', '--watch', '--check', '--interactive', '--inspect', '--debug-port'];
const DROP_EXACT = new Set(['-c', '-i']);

export function inheritedExecArgv(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const name = arg.includes('=') ? arg.slice(0, arg.indexOf('=')) : arg;
    if (DROP_WITH_VALUE.has(name)) {
      if (!arg.includes('=')) i++; // the value is the next argument
      continue;
    }
    if (DROP_EXACT.has(name) || DROP_PREFIX.some((p) => name.startsWith(p))) continue;
    out.push(arg);
  }
  return out;
}
