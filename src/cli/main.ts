#!/usr/bin/env node
/** The `sluice` executable (package.json "bin"). All logic is in program.ts, so tests can call it in-process. */

import { prestartRunner } from './run/runner-thread.js';

// `sluice run` runs on a thread of its own; started first, it boots while the CLI loads (runner-thread.ts).
if (process.argv[2] === 'run') prestartRunner();
const { main } = await import('./program.js');
const code = await main(process.argv, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() });
// Exit now: a stdin that was not read to its end would otherwise keep the process alive.
process.exit(code);
