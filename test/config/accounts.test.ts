// The local accounts a config names: an exec check's user (default nobody) and api.group must exist in
// /etc/passwd and /etc/group. `check` reports each missing one at its key (file, line, key path, the
// value) and writes nothing; the lookups never read an empty or odd id field as uid/gid 0.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { lookupGroup, lookupUser } from '../../src/config/accounts.js';
import { check } from '../../src/config/load.js';
import { variant } from './fixtures.js';

const MISSING_USER = 'acd-no-such-user';
const MISSING_GROUP = 'acd-no-such-group';
const EXEC = `      - type: exec
        command: [/usr/local/bin/check-web]
        timeout: 500ms
`;

function configFile(t: import('node:test').TestContext, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'acd-accounts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'anycastd.yaml');
  writeFileSync(file, text);
  return file;
}

const withExec = (user?: string) =>
  variant('    checks:\n', `    checks:\n${EXEC}${user ? `        user: ${user}\n` : ''}`);

test('an exec check runs as nobody by default; a user and a group that exist pass check', async (t) => {
  const r = await check(configFile(t, `${withExec()}api: { group: root }\n`));
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  const exec = r.config.services[0]!.checks.find((c) => c.type === 'exec');
  assert.equal(exec?.type === 'exec' && exec.user, 'nobody');
});

test('check names a missing exec user and a missing api group: file, line, key path, value', async (t) => {
  const text = `${withExec(MISSING_USER)}api: { group: ${MISSING_GROUP} }\n`;
  const file = configFile(t, text);
  const before = [statSync('/etc/passwd').mtimeMs, statSync('/etc/group').mtimeMs];
  const r = await check(file);
  assert.ok(!r.ok);
  const lines = text.split('\n');
  const issues = r.error.issues.map((i) => ({
    path: i.path,
    found: i.found,
    text: lines[i.line - 1]?.trim(),
  }));
  console.log(r.error.message);
  assert.deepEqual(issues, [
    { path: 'services[0].checks[0].user', found: `"${MISSING_USER}"`, text: `user: ${MISSING_USER}` },
    { path: 'api.group', found: `"${MISSING_GROUP}"`, text: `api: { group: ${MISSING_GROUP} }` },
  ]);
  assert.match(
    r.error.message,
    /services\[0\]\.checks\[0\]\.user: expected a user that exists in \/etc\/passwd/,
  );
  assert.match(r.error.message, /api\.group: expected a group that exists in \/etc\/group/);
  assert.deepEqual(
    [statSync('/etc/passwd').mtimeMs, statSync('/etc/group').mtimeMs],
    before,
    'nothing written',
  );
});

test('lookups: by exact name; an empty or non-numeric id is no account (never uid/gid 0)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'acd-accounts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const passwd = join(dir, 'passwd');
  const group = join(dir, 'group');
  writeFileSync(
    passwd,
    'good:x:1234:4321::/home/good:/bin/sh\nempty:x:::::\nodd:x:12a:1::/:/bin/sh\nshort:x:5\n',
  );
  writeFileSync(group, 'ops:x:777:alice\nempty:x::\n');
  assert.deepEqual(lookupUser('good', passwd), { name: 'good', uid: 1234, gid: 4321, home: '/home/good' });
  for (const name of ['empty', 'odd', 'short', 'goo', 'missing'])
    assert.equal(lookupUser(name, passwd), undefined, name);
  assert.equal(lookupGroup('ops', group), 777);
  assert.equal(lookupGroup('empty', group), undefined);
  assert.equal(lookupGroup('op', group), undefined);
  assert.equal(lookupUser('good', join(dir, 'nonexistent')), undefined);
});
