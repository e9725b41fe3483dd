// The lab's naming and cleanup rules: the prefix encodes the creating pid; cleanupStale() removes a
// crashed run's namespaces (and the processes left in them) but never a live run's; a lab process
// that is signalled (SIGTERM, SIGINT) stops its daemons and removes its namespaces before exiting.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run } from '../../lab/exec.js';
import {
  cleanupStale,
  createNamespace,
  labPrefix,
  listNamespaces,
  PREFIX_FAMILY,
  prefixPid,
  removeByPrefix,
} from '../../lab/netns.js';
import { pidAlive } from '../../lab/processes.js';

const HOLD_LAB = fileURLToPath(new URL('./fixtures/hold-lab.ts', import.meta.url));
const TSX_LOADER = import.meta.resolve('tsx');
/** Exit status of a process that handled signal N and exited with 128 + N. */
const EXIT_SIGTERM = 128 + 15;
const EXIT_SIGINT = 128 + 2;

/** A pid that has just exited (a finished `true`). */
function deadPid(): number {
  const r = spawnSync('true');
  assert.ok(r.pid !== undefined && r.pid > 0);
  return r.pid;
}

test('the prefix encodes the creating pid and stays short', () => {
  const p = labPrefix(3, 4_194_303);
  assert.equal(p, `${PREFIX_FAMILY}2hwcf-3-`);
  assert.equal(prefixPid(`${p}spine`), 4_194_303);
  assert.equal(prefixPid('acdlab-zz'), undefined);
  assert.equal(prefixPid('other-1-0-spine'), undefined);
});

test('cleanupStale removes a dead run (and its processes) and keeps a live one', () => {
  const stale = labPrefix(0, deadPid());
  const live = labPrefix(97);
  createNamespace(`${stale}x`);
  createNamespace(`${live}x`);
  const sleeper = spawn('ip', ['netns', 'exec', `${stale}x`, 'sleep', '60'], {
    stdio: 'ignore',
    detached: true,
  });
  try {
    // wait until the sleeper is inside the namespace
    for (let i = 0; i < 100 && run('ip', ['netns', 'pids', `${stale}x`]).trim() === ''; i++) {
      spawnSync('sleep', ['0.02']);
    }
    const removed = cleanupStale();
    assert.ok(removed.includes(`${stale}x`), `removed: ${removed.join(' ')}`);
    const left = listNamespaces();
    assert.ok(!left.includes(`${stale}x`));
    assert.ok(left.includes(`${live}x`), 'a live run is never touched');
    assert.equal(pidAlive(sleeper.pid!), false, 'the process left in the stale namespace was stopped');
  } finally {
    removeByPrefix(live);
    removeByPrefix(stale);
    if (sleeper.pid !== undefined && pidAlive(sleeper.pid)) process.kill(sleeper.pid, 'SIGKILL');
  }
});

async function holdLab(run: number): Promise<{ child: ChildProcess; prefix: string; pids: number[] }> {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, HOLD_LAB, String(run)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const rl = createInterface({ input: child.stdout! });
  const [line] = (await once(rl, 'line')) as [string];
  rl.close();
  const { prefix, pids } = JSON.parse(line) as { prefix: string; pids: number[] };
  return { child, prefix, pids };
}

for (const [sig, status] of [
  ['SIGTERM', EXIT_SIGTERM],
  ['SIGINT', EXIT_SIGINT],
] as const) {
  test(`a lab process signalled with ${sig} stops its daemons and removes its namespaces`, async () => {
    const { child, prefix, pids } = await holdLab(status);
    try {
      assert.equal(listNamespaces().filter((n) => n.startsWith(prefix)).length, 7);
      assert.ok(pids.length >= 4 && pids.every(pidAlive), 'daemons running');
      const exited = once(child, 'exit');
      child.kill(sig);
      const [code] = (await exited) as [number | null];
      assert.equal(code, status);
      assert.deepEqual(
        listNamespaces().filter((n) => n.startsWith(prefix)),
        [],
      );
      assert.deepEqual(pids.filter(pidAlive), [], 'every daemon stopped');
      assert.deepEqual(
        readdirSync('/var/run/frr').filter((d) => d.startsWith(prefix)),
        [],
        "FRR's per-namespace directories are gone",
      );
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      removeByPrefix(prefix);
    }
  });
}
