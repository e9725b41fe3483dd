#!/usr/bin/env node
// The `anycastd` program: the command line (program.ts) run on this process's arguments, output and
// exit status (0 ok, 1 failure of the job, 2 bad usage or invalid config, 3 agent not reachable:
// src/cli/exit.ts).
import { processIo } from './io.js';
import { runCli } from './program.js';

export { EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE } from './exit.js';

process.exitCode = await runCli(process.argv.slice(2), processIo());
