// The systemd unit in packaging/: exactly the capabilities the agent uses (each one named with its reason
// in the header; least-privilege.root.test.ts shows the exec-check ones necessary), root uid with
// Group=anycastd and no ambient set, the sandbox settings, Type=notify with a watchdog (the agent's side:
// systemd.root.test.ts), reload by SIGHUP, stop by SIGTERM with a stop timeout above the agent's own bound;
// `systemd-analyze security --offline=yes` exposure at most 3.0 (printed, and the figure the header
// states), `systemd-analyze verify` finds nothing wrong beyond the binary and man page not being
// installed on the build machine; the sysusers.d file creates the group, tried on an empty root.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_STOP_TIMEOUT_MS } from '../../src/agent/agent.js';
import { EXIT_GRACE_MS } from '../../src/daemon/run.js';
import { projectRoot } from '../../src/native/addon.js';
import { UNIT, unitCapabilities, unitDirectives, unitValue } from './fixtures/unit-sandbox.js';

const SYSUSERS = join(projectRoot(), 'packaging', 'anycastd.sysusers');
const CAPS = [
  'CAP_BPF',
  'CAP_KILL',
  'CAP_NET_ADMIN',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_RAW',
  'CAP_PERFMON',
  'CAP_SETGID',
  'CAP_SETUID',
];
const MAX_EXPOSURE = 3.0;
const d = (key: string): string | undefined => unitDirectives().get(key)?.at(-1);

test('capabilities: exactly the eight the agent uses, each explained in the header; no ambient set', () => {
  assert.deepEqual(unitCapabilities(), CAPS);
  assert.equal(
    d('AmbientCapabilities'),
    undefined,
    'uid 0 gets its bounding set; no inheritable/ambient set',
  );
  const text = readFileSync(UNIT, 'utf8');
  assert.ok(!text.match(/^[^#]*CAP_(SYS_ADMIN|CHOWN|DAC_OVERRIDE)/m));
  const header = text.split('\n[Unit]')[0]!;
  for (const cap of CAPS) assert.match(header, new RegExp(`^#\\s+(\\S+ )?${cap}\\b.*\\S`, 'm'), cap);
  assert.equal(d('NoNewPrivileges'), 'yes');
  assert.equal(d('User'), undefined, 'uid 0: it reads root-owned key files and pins in bpffs');
  assert.equal(d('Group'), 'anycastd', 'the control socket is born with this group');
});

test('sandbox: read-only system but bpffs and the runtime directory, kernel and devices protected', () => {
  const expect: Record<string, string> = {
    ProtectSystem: 'strict',
    ReadWritePaths: '/sys/fs/bpf /run/anycastd',
    RuntimeDirectory: 'anycastd',
    RuntimeDirectoryMode: '0755',
    StateDirectory: 'anycastd',
    StateDirectoryMode: '0750',
    ProtectHome: 'yes',
    PrivateTmp: 'yes',
    PrivateDevices: 'yes',
    ProtectKernelTunables: 'yes',
    ProtectKernelModules: 'yes',
    ProtectKernelLogs: 'yes',
    ProtectClock: 'yes',
    ProtectHostname: 'yes',
    ProtectControlGroups: 'yes',
    RestrictSUIDSGID: 'yes',
    RestrictNamespaces: 'yes',
    LimitNOFILE: '65536',
    UMask: '0077',
    SystemCallErrorNumber: 'EPERM',
  };
  for (const [key, value] of Object.entries(expect)) assert.equal(d(key), value, key);
  assert.deepEqual(unitDirectives().get('SystemCallFilter'), [
    '@system-service @pkey bpf',
    '~@resources @mount @debug @obsolete @swap @reboot @module @raw-io @clock @cpu-emulation',
  ]);
  assert.equal(d('ConfigurationDirectory'), undefined, 'it would bind /etc/anycastd read-write');
  assert.equal(d('MemoryDenyWriteExecute'), undefined, 'V8 JIT');
});

test('signals: SIGHUP reloads, SIGTERM stops within a bound above the agent’s own', () => {
  assert.equal(d('Type'), 'notify');
  assert.equal(d('NotifyAccess'), 'main', 'only the agent, not its exec checks, may notify');
  assert.match(d('WatchdogSec') ?? '', /^\d+s$/);
  assert.equal(d('ExecReload'), '/bin/kill -HUP $MAINPID');
  assert.equal(d('KillSignal'), 'SIGTERM');
  assert.match(d('ExecStart')!, /^\/usr\/bin\/anycastd run -c \/etc\/anycastd\/anycastd\.yaml$/);
  const stopS = Number(/^(\d+)s$/.exec(unitValue('TimeoutStopSec'))![1]);
  assert.ok(
    stopS * 1000 > DEFAULT_STOP_TIMEOUT_MS + EXIT_GRACE_MS && stopS <= 30,
    `TimeoutStopSec ${stopS}s`,
  );
});

test(`systemd-analyze security --offline=yes: exposure at most ${MAX_EXPOSURE.toFixed(1)}, as the header says`, () => {
  const r = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', UNIT], {
    encoding: 'utf8',
  });
  const out = `${r.stdout}${r.stderr}`;
  const m = /Overall exposure level for anycastd\.service: (\d+\.\d+)/.exec(out);
  assert.ok(m, out);
  const exposure = Number(m[1]);
  const open = out.split('\n').filter((l) => l.startsWith('✗'));
  console.log(`systemd-analyze security exposure ${exposure.toFixed(1)}; ${open.length} settings open:`);
  for (const l of open) console.log(`  ${l.replace(/\s{2,}/g, ' | ')}`);
  assert.ok(exposure <= MAX_EXPOSURE, `exposure ${exposure}`);
  assert.match(
    readFileSync(UNIT, 'utf8'),
    new RegExp(`Exposure: \`systemd-analyze security --offline=yes\` ${exposure.toFixed(1)}\\b`),
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

test('sysusers.d: the file creates the group anycastd (on an empty root, never this host’s)', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'acd-sysusers-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'etc'));
  const r = spawnSync('systemd-sysusers', [`--root=${root}`, SYSUSERS], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const groups = readFileSync(join(root, 'etc', 'group'), 'utf8');
  assert.match(groups, /^anycastd:x:\d+:$/m);
  assert.equal(unitValue('Group'), 'anycastd');
  // The package ships it where systemd-sysusers reads it (the package's postinst runs it).
  const build = readFileSync(join(projectRoot(), 'scripts', 'build-deb.sh'), 'utf8');
  assert.match(
    build,
    /install -m 644 packaging\/anycastd\.sysusers "\$PKG\/usr\/lib\/sysusers\.d\/anycastd\.conf"/,
  );
});
