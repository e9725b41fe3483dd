// `anycastd --version` and `-V`: the version of package.json beside the program, exit 0 (in this process,
// run-cli.ts; cli.root.test.ts runs it as the program).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { projectRoot } from '../../src/native/addon.js';
import { cli } from './run-cli.js';

test('--version and -V print the package version', async () => {
  const root = projectRoot();
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const run = await cli([flag]);
    assert.deepEqual([run.code, run.stdout], [0, `${version}\n`], flag);
  }
});
