// The capabilities the unit grants for exec checks, each shown necessary and the set sufficient: an exec
// probe runs in a child process holding exactly the unit's credentials (fixtures/unit-sandbox.ts: uid 0,
// the unit's bounding set, Group= as gid) and runs its command as `nobody`. With the unit's set the
// command holds no capability and none of the agent's groups, and a timeout kills its whole process
// group; without CAP_SETUID or CAP_SETGID the spawn fails (EPERM); without CAP_KILL the kill of the
// group does (EPERM).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { lookupUser } from '../../src/config/accounts.js';
import { projectRoot } from '../../src/native/addon.js';
import { type TestAccounts, testAccounts } from '../helpers/accounts.js';
import { isGone, waitGone } from '../helpers/process-gone.js';
import { sandboxArgv, unitCapabilities } from './fixtures/unit-sandbox.js';

const NOBODY = lookupUser('nobody')!;
const CHILD_TIMEOUT_MS = 30_000;
let accounts: TestAccounts;
let gid: number;
let dir: string;

before(() => {
  accounts = testAccounts();
  gid = accounts.group('ag').gid;
  dir = mkdtempSync(join(tmpdir(), 'acd-lp-'));
  chmodSync(dir, 0o1777);
});

after(() => {
  accounts.remove();
  rmSync(dir, { recursive: true, force: true });
});

interface ProbeOut {
  ok: boolean;
  detail: string;
  pid: number;
}

/** One exec probe run by a child with the unit's credentials (or `caps` instead of its set). */
function probeInSandbox(command: string[], timeoutMs: number, caps?: string[]): ProbeOut {
  const script = join(projectRoot(), 'test', 'agent', 'fixtures', 'exec-probe.ts');
  const opts = JSON.stringify({ command, timeoutMs, uid: NOBODY.uid, gid: NOBODY.gid });
  const argv = sandboxArgv({ gid, ...(caps ? { caps } : {}) }, [
    process.execPath,
    '--import',
    'tsx',
    script,
    opts,
  ]);
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: CHILD_TIMEOUT_MS });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ProbeOut;
}

const without = (cap: string) => unitCapabilities().filter((c) => c !== cap);

test('with the unit’s capabilities: the check runs as nobody with none of them, and a timeout kills its group', async () => {
  const status = join(dir, 'status');
  const ran = probeInSandbox(['sh', '-c', `cat /proc/$$/status > ${status}`], 2000);
  assert.deepEqual([ran.ok, ran.detail], [true, 'exit 0']);
  const fields = Object.fromEntries(
    readFileSync(status, 'utf8')
      .split('\n')
      .map((l) => l.split(':\t'))
      .filter((kv) => kv.length === 2),
  ) as Record<string, string>;
  console.log(
    `agent caps ${unitCapabilities().join(' ')} → check: Uid ${fields.Uid} Gid ${fields.Gid} Groups "${fields.Groups?.trim()}" CapPrm ${fields.CapPrm} CapEff ${fields.CapEff} CapAmb ${fields.CapAmb} CapInh ${fields.CapInh}`,
  );
  for (const set of ['CapPrm', 'CapEff', 'CapAmb', 'CapInh'])
    assert.equal(BigInt(`0x${fields[set]}`), 0n, set);
  assert.equal(fields.Uid!.split('\t')[0], String(NOBODY.uid));
  assert.equal(fields.Gid!.split('\t')[0], String(NOBODY.gid));
  assert.equal(fields.Groups!.trim(), '', 'no group of the agent’s (its gid is the unit’s Group=)');

  const childPid = join(dir, 'child.pid');
  const killed = probeInSandbox(['sh', '-c', `sleep 30 & echo $! > ${childPid}; wait`], 200);
  assert.deepEqual([killed.ok, killed.detail], [false, 'killed after timeout 200ms']);
  assert.equal(await waitGone(killed.pid), true, 'the command is gone');
  assert.equal(await waitGone(Number(readFileSync(childPid, 'utf8'))), true, 'its child is gone');
});

test('without CAP_SETUID or CAP_SETGID the check cannot be started as another user', () => {
  for (const cap of ['CAP_SETUID', 'CAP_SETGID']) {
    const r = probeInSandbox(['true'], 2000, without(cap));
    console.log(`without ${cap}: ${r.detail}`);
    assert.equal(r.ok, false, cap);
    assert.match(r.detail, /\bEPERM$/, cap);
  }
});

test('without CAP_KILL a timed-out check of another user cannot be killed', async () => {
  const r = probeInSandbox(['sleep', '30'], 200, without('CAP_KILL'));
  console.log(`without CAP_KILL: ${r.detail}`);
  try {
    assert.equal(r.ok, false);
    assert.match(r.detail, /kill of the process group failed: EPERM$/);
    assert.equal(isGone(r.pid), false, 'the command still runs');
  } finally {
    if (!isGone(r.pid)) process.kill(-r.pid, 'SIGKILL');
  }
});
