// The entry of `anycastd demo` (src/cli/demo.ts runs it with tsx from a source checkout; so does
// `make demo`): builds the lab, tells the story of demo-story.ts a line per step, tears everything down.
// Exit status 0 when every step held, 1 when one failed (the lab is torn down either way).
import { runLabDemo } from './demo-story.js';

const EXIT_FAILED = 1;

const ok = await runLabDemo((line) => process.stdout.write(`${line}\n`));
if (!ok) process.exitCode = EXIT_FAILED;
