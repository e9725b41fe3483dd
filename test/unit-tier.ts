// The unit tier in one process: every file named in ANYCASTD_UNIT_FILES (space-separated, the Makefile's
// list) is imported inside a suite of its own, so a file's top-level tests and hooks (before/after/
// afterEach) attach to that suite and run with it, not with every other file's tests. One process means
// one node start and one TypeScript load of src/ for the whole tier, instead of one per file. Files
// still run one after another (the root runs its suites in order), as they did one process at a time.
// Run by `make test-unit`; not itself named *.test.ts, so `make test` does not run it.

import { resolve } from 'node:path';
import { describe } from 'node:test';
import { pathToFileURL } from 'node:url';

const files = (process.env.ANYCASTD_UNIT_FILES ?? '').split(/\s+/).filter((f) => f !== '');
if (files.length === 0) throw new Error('ANYCASTD_UNIT_FILES names no test file');

for (const file of files)
  describe(file, async () => {
    await import(pathToFileURL(resolve(file)).href);
  });
