/**
 * The `sluice` command line: subcommands, help, and the mapping of every way
 * a command can end to an exit code. Subcommands live one per file; to add
 * one, write it as a CliCommand and list it in COMMANDS.
 */

import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import type { CliCommand, CliIO } from './cli-command.js';
import { ExitCode, ModuleLoadFailure, UsageError } from './exit-codes.js';
import { runCommand } from './run/run-command.js';
import { serveCommand } from './serve/serve-command.js';
import { tuneCommand } from './tune/tune-command.js';

const COMMANDS: readonly CliCommand[] = [runCommand, tuneCommand, serveCommand];

function version(): string {
  // A chunk at the root of dist/ in a package (the bin loads this module on demand), .test-build/src/cli/ in tests.
  for (const rel of ['../package.json', '../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'sluice' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // try the next location
    }
  }
  return '0.0.0';
}

/** Runs the CLI on `argv` (as process.argv: node, script, args...) and resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  let code: number = ExitCode.Ok;
  const program = new Command('sluice')
    .description('Bounded parallelism for Node.js: run a task module over a JSONL stream on a worker pool.')
    .version(version(), '-V, --version')
    // Commander must not call process.exit itself: exit codes are decided here.
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', '\nExamples:\n  $ sluice run ./tasks.js --task hash --input data.jsonl --output out.jsonl\n  $ sluice tune ./tasks.js --task hash --input sample.jsonl\n  $ sluice serve ./tasks.js --queue jobs --redis redis://127.0.0.1:6379\n\nRun `sluice <command> --help` for every flag.');
  for (const command of COMMANDS) command.register(program, io, (c) => (code = c));
  if (argv.length <= 2) {
    program.outputHelp({ error: true });
    return ExitCode.Usage;
  }
  try {
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version end through exitOverride with code 0; parse errors were already printed.
      return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    if (err instanceof UsageError) {
      io.stderr.write(`sluice: ${err.message}\n`);
      return ExitCode.Usage;
    }
    if (err instanceof ModuleLoadFailure) {
      io.stderr.write(`sluice: ${err.message}\n`);
      return ExitCode.ModuleLoad;
    }
    io.stderr.write(`sluice: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return ExitCode.Failures;
  }
}
