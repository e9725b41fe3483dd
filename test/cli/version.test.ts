// `anycastd --version` and `-V`: the version of package.json beside the program, exit 0.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { projectRoot } from '../../src/native/addon.js';
import { cliNodeArgs } from '../helpers/cli-command.js';

test('--version and -V print the package version', () => {
  const root = projectRoot();
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const out = execFileSync(process.execPath, [...cliNodeArgs(), flag], {
      cwd: root,
      encoding: 'utf8',
    });
    assert.equal(out, `${version}\n`, flag);
  }
});
