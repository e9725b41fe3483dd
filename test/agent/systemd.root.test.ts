// `anycastd run` as systemd runs it (Type=notify): the real CLI in a network namespace with NOTIFY_SOCKET
// pointing at a datagram socket of the test and WATCHDOG_USEC set, holding the unit's credentials and
// nothing more (fixtures/unit-sandbox.ts: uid 0 with exactly the unit's capabilities, a test group as its
// Group=, UMask, LimitNOFILE) and a secret in its environment. Asserted: STATUS=starting lines, then
// READY=1 once, and at the moment it arrives XDP is attached to the uplink and TCP port 179 (BGP)
// listens; WATCHDOG=1 pings
// arrive every WATCHDOG_USEC/2 (none missing while running); SIGHUP gives RELOADING=1 with
// MONOTONIC_USEC then READY=1 (a bad file: READY=1 again with a STATUS saying the reload was rejected);
// SIGTERM gives STOPPING=1 before the exit, and the exit is 0. Without CAP_CHOWN the control socket is
// the group's, mode 0660, in a directory the group can reach: a member of the group gets an answer, a
// local user outside it gets EACCES. The exec check runs as its configured user with no capability and
// none of the agent's environment.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { run } from '../../lab/exec.js';
import { createNetns, type Netns, removeNetnsByPrefix, uniquePrefix } from '../../lab/netns.js';
import { projectRoot } from '../../src/native/addon.js';
import { type TestAccounts, testAccounts } from '../helpers/accounts.js';
import { program } from '../helpers/programs.js';
import { waitFor } from '../helpers/wait-for.js';
import { NotifyListener } from './fixtures/notify-listen.js';
import { sandboxArgv, unitDirectives } from './fixtures/unit-sandbox.js';

const PREFIX = uniquePrefix('notify');
const WATCHDOG_USEC = 400_000;
const PING_MS = WATCHDOG_USEC / 2000;
const TEST_TIMEOUT_MS = 60_000;
/** Watching the pings this long while the agent runs. */
const WATCH_MS = 1500;

let dir: string;
let ns: Netns;
let listener: NotifyListener;
let agent: ChildProcess;
let configFile: string;
let accounts: TestAccounts;
/** Stands in for the unit's Group=anycastd. */
let group: { name: string; gid: number };
let member: { name: string; uid: number; gid: number };
let outsider: { name: string; uid: number; gid: number };
/** Where the exec check (running as `outsider`) writes what it sees. */
let checkOut: string;
const SECRET_ENV = 'ANYCASTD_TEST_SECRET';
/** A passive peer on up0's /31 (nothing answers there): BGP listens on the address facing it, 192.0.2.0. */
const PEER = '192.0.2.1';
const LINK_ADDRESS = '192.0.2.0/31';

function configText(): string {
  return `node: { id: h1, host: { ipv4: 198.51.100.1 }, asn: 65001, uplinks: [up0] }
bgp:
  peers: [{ name: tor, address: ${PEER}, remote_asn: 65002, passive: true }]
services:
  - name: web
    vips: [192.0.2.10]
    ports: [{ protocol: tcp, port: 8080 }]
    instances: [{ id: h1, host: { ipv4: 198.51.100.1 } }]
    checks:
      - { type: tcp, port: 8080 }
      - type: exec
        user: ${outsider.name}
        interval: 200ms
        timeout: 150ms
        command: [sh, -c, 'tr "\\0" "\\n" < /proc/$$/environ > ${checkOut}/env; cat /proc/$$/status > ${checkOut}/status']
    drain_file: ${join(dir, 'drain-web')}
dataplane: { xdp_mode: generic, ring_size: 251 }
api: { socket: ${apiSocket()} }
`;
}

/** In a directory the agent makes itself (under the unit's UMask). */
const apiSocket = (): string => join(dir, 'run', 'api.sock');

before(async () => {
  removeNetnsByPrefix(PREFIX);
  dir = mkdtempSync(join(tmpdir(), PREFIX));
  chmodSync(dir, 0o755); // the test users reach the socket through it
  checkOut = join(dir, 'check');
  mkdirSync(checkOut);
  chmodSync(checkOut, 0o1777);
  accounts = testAccounts();
  group = accounts.group('g');
  member = accounts.user('m', [group.name]);
  outsider = accounts.user('o');
  mkdirSync(join(dir, 'bpffs'));
  run('mount', ['-t', 'bpf', 'bpf', join(dir, 'bpffs')]);
  configFile = join(dir, 'anycastd.yaml');
  writeFileSync(configFile, configText());
  ns = createNetns(PREFIX, 'host');
  ns.ip(['link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up1']);
  ns.ip(['link', 'set', 'up0', 'up']);
  ns.ip(['link', 'set', 'up1', 'up']);
  ns.ip(['addr', 'add', LINK_ADDRESS, 'dev', 'up0']);
  listener = await NotifyListener.open(join(dir, 'notify.sock'), ns.name);
});

after(() => {
  if (agent && agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
  listener?.close();
  removeNetnsByPrefix(PREFIX);
  try {
    run('umount', [join(dir, 'bpffs')]);
  } catch {
    // not mounted
  }
  rmSync(dir, { recursive: true, force: true });
  accounts?.remove();
});

/** Connects to the control socket as local user `name` (with its groups) and asks for status. */
function connectAs(name: string): string {
  const r = spawnSync(
    'setpriv',
    [
      '--reuid',
      name,
      '--regid',
      'users',
      '--init-groups',
      ...program('api-status', ['--socket', apiSocket()]),
    ],
    { encoding: 'utf8', timeout: 10_000 },
  );
  return r.stdout.trim() || r.stderr.trim();
}

const has = (i: number, line: string): boolean => listener.messages[i]!.lines.includes(line);
const status = (i: number): string =>
  listener.messages[i]!.lines.find((l) => l.startsWith('STATUS='))?.slice('STATUS='.length) ?? '';

interface Started {
  exited: Promise<number | null>;
  stderr: () => string;
}

/** Starts the real CLI's `run` in the namespace with the unit's credentials, `wrap` before node. */
function startAgent(wrap: string[] = []): Started {
  const cli = join(projectRoot(), 'src', 'cli', 'main.ts');
  const args = ['run', '-c', configFile, '--pin-dir', join(dir, 'bpffs', 'pins')];
  const argv = sandboxArgv({ gid: group.gid }, [...wrap, process.execPath, '--import', 'tsx', cli, ...args]);
  // `ip netns exec` mounts a fresh /sys; bpffs goes on /sys/fs/bpf as systemd mounts it at boot (the
  // agent, holding no CAP_SYS_ADMIN, cannot mount it).
  const mountBpffs = ['sh', '-c', 'mount -t bpf bpf /sys/fs/bpf && exec "$@"', 'sh'];
  agent = spawn('ip', ['netns', 'exec', ns.name, ...mountBpffs, ...argv], {
    env: {
      ...process.env,
      NOTIFY_SOCKET: join(dir, 'notify.sock'),
      WATCHDOG_USEC: String(WATCHDOG_USEC),
      [SECRET_ENV]: 'hunter2',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  agent.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => agent.once('exit', (code) => resolve(code)));
  return { exited, stderr: () => stderr };
}

test('Type=notify: READY after XDP and BGP, watchdog pings, reload and stop', {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  const { exited, stderr: agentStderr } = startAgent();
  const ready = await listener.waitFor('READY=1').catch((err: Error) => {
    throw new Error(`${err.message}\nagent stderr:\n${agentStderr().slice(-3000)}`);
  });
  const first = listener.messages[0]!;
  console.log(
    `first message ${JSON.stringify(first.lines)}: xdp ${first.xdp}; READY=1 ${((listener.messages[ready]!.t - first.t) * 1000).toFixed(0)} ms later`,
  );
  assert.ok(has(0, 'WATCHDOG=1'), 'the watchdog pings from the start');
  const atReady = listener.messages[ready]!;
  assert.equal(atReady.xdp, true, 'XDP attached to up0 when READY=1 arrives');
  assert.equal(atReady.bgpListening, true, 'BGP listens on 179 when READY=1 arrives');
  assert.match(status(ready), /^running: 1 services, 1 peers, XDP on up0$/);
  assert.ok(
    listener.messages.slice(0, ready).every((m) => !m.lines.includes('READY=1')),
    'READY=1 only once',
  );
  const starting = listener.messages
    .slice(0, ready)
    .map((_, i) => status(i))
    .filter((st) => st !== '');
  assert.deepEqual(starting, [
    'starting: attaching XDP to up0',
    'starting: BGP listening, waiting for a peer route',
  ]);

  // Pings while running: every PING_MS, none missing.
  const from = listener.messages.length;
  await new Promise((r) => setTimeout(r, WATCH_MS));
  const pings = listener.messages.slice(from).filter((m) => m.lines.includes('WATCHDOG=1'));
  const gaps = pings.slice(1).map((m, i) => (m.t - pings[i]!.t) * 1000);
  console.log(`${pings.length} pings in ${WATCH_MS} ms, gaps ${gaps.map((g) => g.toFixed(0)).join(' ')} ms`);
  assert.ok(pings.length >= WATCH_MS / PING_MS - 2, `${pings.length} pings`);
  assert.ok(
    gaps.every((g) => g > PING_MS / 2 && g < PING_MS * 2),
    `gaps ${gaps.join(',')}`,
  );

  // The control socket: the unit's group, 0660, reachable by the group; members only.
  const sock = statSync(apiSocket());
  console.log(
    `control socket uid ${sock.uid} gid ${sock.gid} (test group ${group.gid}) mode ${(sock.mode & 0o777).toString(8)}; its directory ${(statSync(join(dir, 'run')).mode & 0o777).toString(8)}`,
  );
  assert.equal(sock.gid, group.gid, 'the socket has the unit’s group without CAP_CHOWN');
  assert.equal(sock.mode & 0o777, 0o660);
  assert.equal(connectAs(member.name), 'status answered', 'a member of the group is answered');
  assert.equal(connectAs(outsider.name), 'EACCES', 'a local user outside the group cannot connect');

  // The exec check: its user, no capability, only its own environment.
  // the check writes two files: wait until the second has its lines (read half-written, it was empty)
  const written = (f: string) =>
    existsSync(join(checkOut, f)) && readFileSync(join(checkOut, f), 'utf8').trim() !== '';
  await waitFor(() => written('status') && written('env'), { what: 'the exec check' });
  const procStatus = readFileSync(join(checkOut, 'status'), 'utf8');
  const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(procStatus)?.[1]?.trim() ?? '';
  console.log(
    `exec check: Uid ${field('Uid')} CapPrm ${field('CapPrm')} CapEff ${field('CapEff')} CapAmb ${field('CapAmb')}`,
  );
  assert.equal(field('Uid').split(/\s+/)[0], String(outsider.uid));
  for (const set of ['CapPrm', 'CapEff', 'CapAmb']) assert.equal(BigInt(`0x${field(set)}`), 0n, set);
  const env = readFileSync(join(checkOut, 'env'), 'utf8').trim().split('\n').sort();
  assert.deepEqual(
    env.map((l) => l.split('=')[0]),
    ['ANYCASTD_TARGET', 'LANG', 'PATH'],
    `no ${SECRET_ENV}, nothing of the agent's: ${env.join(' ')}`,
  );

  // SIGHUP: RELOADING=1 (with MONOTONIC_USEC) → READY=1.
  let mark = listener.messages.length;
  agent.kill('SIGHUP');
  const reloading = await listener.waitFor('RELOADING=1', mark);
  const usec = listener.messages[reloading]!.lines.find((l) => l.startsWith('MONOTONIC_USEC='));
  assert.match(usec ?? '', /^MONOTONIC_USEC=\d+$/);
  const reloaded = await listener.waitFor('READY=1', reloading);
  assert.match(status(reloaded), /^running: /);
  assert.doesNotMatch(status(reloaded), /rejected/);

  // A bad file: the reload is rejected, the agent is ready again with the running config, and says so.
  writeFileSync(configFile, `${configText()}surprise: 1\n`);
  mark = listener.messages.length;
  agent.kill('SIGHUP');
  const rejected = await listener.waitFor('READY=1', await listener.waitFor('RELOADING=1', mark));
  assert.match(status(rejected), /reload rejected; the running config is kept/);

  // SIGTERM: STOPPING=1 before the exit, exit 0.
  mark = listener.messages.length;
  agent.kill('SIGTERM');
  const stopping = await listener.waitFor('STOPPING=1', mark);
  assert.match(status(stopping), /^stopping \(SIGTERM\)/);
  assert.equal(await exited, 0, agentStderr().slice(-2000));
});

/** The syscall names a systemd filter expression's groups stand for (nested groups expanded). */
function syscallSet(names: string[]): Set<string> {
  const out = new Set<string>();
  for (const name of names) {
    if (!name.startsWith('@')) {
      out.add(name);
      continue;
    }
    const r = spawnSync('systemd-analyze', ['syscall-filter', '--no-pager', name], { encoding: 'utf8' });
    const members = r.stdout
      .split('\n')
      .slice(1)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    for (const m of syscallSet(members)) out.add(m);
  }
  return out;
}

test('SystemCallFilter: every syscall of a start, an exec check, a reload and a stop is allowed', {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const [allow, deny] = unitDirectives().get('SystemCallFilter')!;
  const allowed = syscallSet(allow!.split(/\s+/));
  for (const name of syscallSet(deny!.replace(/^~/, '').split(/\s+/))) allowed.delete(name);
  // Not in `dir`: the agent watches it (the drain file's directory) and each line strace writes would wake it.
  const traceDir = mkdtempSync(join(tmpdir(), `${PREFIX}trace-`));
  t.after(() => rmSync(traceDir, { recursive: true, force: true }));
  const trace = join(traceDir, 'syscalls.trace');
  rmSync(join(checkOut, 'status'), { force: true });
  writeFileSync(configFile, configText());
  const mark = listener.messages.length;
  // strace inside the sandbox: it traces node and everything node starts, as the filter would apply.
  const { exited, stderr: agentStderr } = startAgent([
    'strace',
    '-f',
    '-qq',
    '-e',
    'signal=none',
    '-o',
    trace,
  ]);
  await listener.waitFor('READY=1', mark).catch((err: Error) => {
    throw new Error(`${err.message}\nagent stderr:\n${agentStderr().slice(-3000)}`);
  });
  // Signals go to node, strace's child (strace itself would detach and leave it running).
  const node = Number(readFileSync(`/proc/${agent.pid}/task/${agent.pid}/children`, 'utf8').split(' ')[0]);
  try {
    await waitFor(() => existsSync(join(checkOut, 'status')), { timeoutMs: 10_000, what: 'the exec check' });
    const reload = listener.messages.length;
    process.kill(node, 'SIGHUP');
    await listener.waitFor('READY=1', await listener.waitFor('RELOADING=1', reload));
    process.kill(node, 'SIGTERM');
    assert.equal(await exited, 0, agentStderr().slice(-2000));
  } finally {
    try {
      process.kill(node, 'SIGKILL');
    } catch {
      // it exited
    }
  }

  const used = new Map<string, number>();
  for (const line of readFileSync(trace, 'utf8').split('\n')) {
    const m = /^\d+\s+([a-z_0-9]+)\(/.exec(line);
    if (m) used.set(m[1]!, (used.get(m[1]!) ?? 0) + 1);
  }
  const outside = [...used.keys()].filter((n) => !allowed.has(n)).sort();
  console.log(
    `${used.size} distinct syscalls traced, ${allowed.size} allowed by the unit; outside: [${outside.join(' ')}]`,
  );
  assert.ok(
    used.has('bpf') && used.has('setuid') && used.has('execve'),
    'the trace covers BPF and the exec check',
  );
  assert.deepEqual(outside, []);
});
