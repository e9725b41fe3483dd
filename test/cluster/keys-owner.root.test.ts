// The cluster key file owned by another user is refused, naming the owner (root: making such a file
// takes chown). The other key-file cases run unprivileged in keys.test.ts.

import assert from 'node:assert/strict';
import { chownSync } from 'node:fs';
import { after, test } from 'node:test';
import { configIssue, keyFiles } from './key-files.js';
import { newKey } from './support.js';

const NOBODY_UID = 65534;
const files = keyFiles('acd-cluster-owner-');
after(() => files.remove());

test('a key file owned by a user other than root or the agent is refused, the owner named', async () => {
  assert.equal(process.getuid?.(), 0, 'runs as root (the root tier): chown needs it');
  const foreign = files.keyFile('foreign.key', `${newKey().toString('hex')}\n`);
  chownSync(foreign, NOBODY_UID, NOBODY_UID);
  const file = files.configFile('bad.yaml', `cluster:\n  key_file: ${foreign}`);
  assert.equal(
    await configIssue(file),
    `${file}:7:13: cluster.key_file: expected a key file owned by root or the agent's user (uid 0), found ${foreign}: owned by uid ${NOBODY_UID}`,
  );
});
