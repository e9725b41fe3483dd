// The members cache file (src/cluster/etcd/members-cache.ts) is read like a hostile value: the wrong
// prefix, an old one, a bad record or an oversized file are refused with the reason, never thrown. An
// agent restarted while a real etcd is away ringing the cached members: members-cache.slow.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { MEMBERS_CACHE_MAX_AGE_MS, MEMBERS_CACHE_MAX_BYTES } from '../../../src/cluster/etcd/limits.js';
import {
  encodeMembersCache,
  MembersCacheFile,
  membersCachePath,
  parseMembersCache,
} from '../../../src/cluster/etcd/members-cache.js';
import type { Member } from '../../../src/cluster/etcd/membership.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { record } from './records.js';

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'etcdc-cache-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const member = (id: string, octet: number, departing = false): Member => ({
  ...record(id, octet),
  id,
  modRevision: 7,
  lease: '1a',
  departing,
  departsAt: departing ? 1 : null,
});
const NOW = 1_800_000_000_000;

test('encoded and parsed back: the records, ids and revisions; departing members left out', () => {
  const text = encodeMembersCache('/f', 42, NOW, [['web', [member('h1', 1), member('h2', 2, true)]]]);
  const back = parseMembersCache(text, '/f', NOW + 1_000);
  assert.ok(typeof back !== 'string', String(back));
  assert.equal(back.revision, 42);
  assert.deepEqual(back.services.get('web'), [{ ...member('h1', 1), lease: '' }]);
});

test('a cache of another prefix, too old, malformed or too big is refused, with the reason', () => {
  const good = encodeMembersCache('/f', 1, NOW, [['web', [member('h1', 1)]]]);
  assert.match(String(parseMembersCache(good, '/g', NOW)), /prefix "\/f", not \/g/);
  assert.match(String(parseMembersCache(good, '/f', NOW + MEMBERS_CACHE_MAX_AGE_MS + 1)), /s ago/);
  assert.match(String(parseMembersCache(good, '/f', NOW - 3_600_000)), /s ago/, 'from the future');
  assert.equal(parseMembersCache('{"version":1', '/f', NOW), 'not JSON');
  assert.match(String(parseMembersCache('[]', '/f', NOW)), /not a version 1/);
  const bad = (mutate: (o: Record<string, unknown>) => void): string => {
    const o = JSON.parse(good);
    mutate(o.services.web[0]);
    return String(parseMembersCache(JSON.stringify(o), '/f', NOW));
  };
  assert.match(
    bad((e) => (e.weight = 0)),
    /service web: instance 0 invalid/,
  );
  assert.match(
    bad((e) => (e.id = '../x')),
    /instance 0 invalid/,
  );
  assert.match(
    bad((e) => (e.host = { ipv4: '198.51.100.1%eth0' })),
    /instance 0 invalid/,
  );
  const o = JSON.parse(good);
  o.services['a/b'] = [];
  assert.match(String(parseMembersCache(JSON.stringify(o), '/f', NOW)), /service "a\/b": not an id/);
  o.services = { web: Array(5000).fill(o.services.web[0]) };
  assert.match(String(parseMembersCache(JSON.stringify(o), '/f', NOW)), /at most 4096/);

  const problems: string[] = [];
  const file = (path: string) =>
    new MembersCacheFile({
      path,
      prefix: '/f',
      clock: new FakeClock(),
      onProblem: (what, detail) => problems.push(`${what}: ${detail}`),
    });
  assert.equal(file(join(dir, 'none.json')).load(), null, 'no file yet: no problem');
  assert.deepEqual(problems, []);
  const big = join(dir, 'big.json');
  writeFileSync(big, Buffer.alloc(MEMBERS_CACHE_MAX_BYTES + 1, 0x20));
  assert.equal(file(big).load(), null);
  assert.match(problems[0]!, /^members-cache-read: .*big\.json: \d+ bytes, more than/);
  const wrong = join(dir, 'wrong.json');
  writeFileSync(wrong, good);
  assert.equal(file(wrong).load(), null, 'written at NOW, read on a clock of the epoch: from the future');
  assert.match(problems[1]!, /wrong\.json: written -\d+ s ago/);
});

test('the path: the configured file, else the first state directory, else none', () => {
  assert.equal(membersCachePath('/etc/x.json', '/var/lib/anycastd'), '/etc/x.json');
  assert.equal(
    membersCachePath(null, '/var/lib/anycastd:/var/lib/other'),
    '/var/lib/anycastd/etcd-members.json',
  );
  assert.equal(membersCachePath(null, null), null);
});
