/**
 * The CLI's exit codes and the one error class that maps to "usage error".
 * Scripts branch on these numbers, so they are a contract like the API.
 */

export const ExitCode = {
  /** Every input line succeeded. */
  Ok: 0,
  /** At least one line ended in the dead-letter file (bad JSON or a failed task). */
  Failures: 1,
  /** Bad flags, a missing module or input, an unknown task, a journal that does not match. */
  Usage: 2,
  /** The worker module exists but fails to load. */
  ModuleLoad: 3,
  /** Stopped by SIGINT or SIGTERM (128 + SIGINT's number, as shells report it). */
  Interrupted: 130,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * A mistake in how the CLI was invoked. Not a SluiceError: the library's
 * error codes describe pool failures, and this one never leaves the CLI.
 */
export class UsageError extends Error {
  readonly code = 'ERR_SLUICE_CLI_USAGE';
  override get name(): string {
    return 'UsageError';
  }
}

/** The worker module could not be loaded (exit code 3). */
export class ModuleLoadFailure extends Error {
  readonly code = 'ERR_SLUICE_CLI_MODULE_LOAD';
  override get name(): string {
    return 'ModuleLoadFailure';
  }
}
