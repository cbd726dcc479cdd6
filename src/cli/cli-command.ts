/**
 * The contract of a subcommand. Adding one (e.g. `sluice tune`) means one new
 * file exporting a CliCommand and one entry in program.ts's list.
 */

import type { Command } from 'commander';
import type { Readable } from 'node:stream';

export interface CliIO {
  stdin: Readable;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  cwd: string;
}

export interface CliCommand {
  /** Adds the subcommand to `program`; its action reports its exit code through `exit`. */
  register(program: Command, io: CliIO, exit: (code: number) => void): void;
}
