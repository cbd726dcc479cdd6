#!/usr/bin/env node
/** The `sluice` executable (package.json "bin"). All logic is in program.ts, so tests can call it in-process. */

import { main } from './program.js';

const code = await main(process.argv, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() });
// Exit now: a stdin that was not read to its end would otherwise keep the process alive.
process.exit(code);
