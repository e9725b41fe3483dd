// The systemd unit in packaging/: the least capabilities (no CAP_SYS_ADMIN), Type=notify with a
// watchdog (the agent's side: systemd.test.ts), reload by SIGHUP, stop by SIGTERM with a stop timeout
// above the agent's own bound, and `systemd-analyze verify` finds nothing
// wrong beyond the binary and man page not being installed on the build machine.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_STOP_TIMEOUT_MS } from '../../src/agent/agent.js';
import { EXIT_GRACE_MS } from '../../src/agent/run.js';
import { projectRoot } from '../../src/native/addon.js';

const UNIT = join(projectRoot(), 'packaging', 'anycastd.service');
const CAPS = ['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_PERFMON'];

function directives(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(UNIT, 'utf8').split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

test('capabilities: exactly the five the agent needs, bounding and ambient alike', () => {
  const d = directives();
  for (const key of ['CapabilityBoundingSet', 'AmbientCapabilities'])
    assert.deepEqual(d.get(key)!.split(/\s+/).sort(), CAPS, key);
  assert.ok(!readFileSync(UNIT, 'utf8').match(/^[^#]*CAP_SYS_ADMIN/m));
  assert.equal(d.get('NoNewPrivileges'), 'yes');
});

test('signals: SIGHUP reloads, SIGTERM stops within a bound above the agent’s own', () => {
  const d = directives();
  assert.equal(d.get('Type'), 'notify');
  assert.equal(d.get('NotifyAccess'), 'main', 'only the agent, not its exec checks, may notify');
  assert.match(d.get('WatchdogSec') ?? '', /^\d+s$/);
  assert.equal(d.get('ExecReload'), '/bin/kill -HUP $MAINPID');
  assert.equal(d.get('KillSignal'), 'SIGTERM');
  assert.match(d.get('ExecStart')!, /anycastd run -c \/etc\/anycastd\/anycastd\.yaml$/);
  const stopS = Number(/^(\d+)s$/.exec(d.get('TimeoutStopSec')!)![1]);
  assert.ok(
    stopS * 1000 > DEFAULT_STOP_TIMEOUT_MS + EXIT_GRACE_MS && stopS <= 30,
    `TimeoutStopSec ${stopS}s`,
  );
});

test('systemd-analyze verify: no complaint but the uninstalled binary and man page', () => {
  const r = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
  const complaints = `${r.stdout}${r.stderr}`
    .split('\n')
    .filter((l) => l.trim() !== '')
    .filter((l) => !/\/usr\/bin\/anycastd is not executable|man anycastd\(8\)/.test(l));
  assert.deepEqual(complaints, []);
});
