// `anycastd run` as systemd runs it (Type=notify): the real CLI in a network namespace with NOTIFY_SOCKET
// pointing at a datagram socket of the test and WATCHDOG_USEC set. Asserted: STATUS=starting lines, then
// READY=1 once, and at the moment it arrives XDP is attached to the uplink and TCP port 179 (BGP)
// listens; WATCHDOG=1 pings
// arrive every WATCHDOG_USEC/2 (none missing while running); SIGHUP gives RELOADING=1 with
// MONOTONIC_USEC then READY=1 (a bad file: READY=1 again with a STATUS saying the reload was rejected);
// SIGTERM gives STOPPING=1 before the exit, and the exit is 0.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { projectRoot } from '../../src/native/addon.js';
import { createNetns, type Netns, removeNetnsByPrefix, run, uniquePrefix } from '../helpers/netns.js';
import { NotifyListener } from './fixtures/notify-listen.js';

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

function configText(): string {
  return `node: { id: h1, host: { ipv4: 198.51.100.1 }, asn: 65001, uplinks: [up0] }
services:
  - name: web
    vips: [192.0.2.10]
    ports: [{ protocol: tcp, port: 8080 }]
    instances: [{ id: h1, host: { ipv4: 198.51.100.1 } }]
    checks: [{ type: tcp, port: 8080 }]
    drain_file: ${join(dir, 'drain-web')}
dataplane: { xdp_mode: generic, ring_size: 251 }
api: { socket: ${join(dir, 'api.sock')} }
`;
}

before(async () => {
  removeNetnsByPrefix(PREFIX);
  dir = mkdtempSync(join(tmpdir(), PREFIX));
  mkdirSync(join(dir, 'bpffs'));
  run(['mount', '-t', 'bpf', 'bpf', join(dir, 'bpffs')]);
  configFile = join(dir, 'anycastd.yaml');
  writeFileSync(configFile, configText());
  ns = createNetns(PREFIX, 'host');
  ns.ip(['link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up1']);
  ns.ip(['link', 'set', 'up0', 'up']);
  ns.ip(['link', 'set', 'up1', 'up']);
  listener = await NotifyListener.open(join(dir, 'notify.sock'), ns.name);
});

after(() => {
  if (agent && agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
  listener?.close();
  removeNetnsByPrefix(PREFIX);
  try {
    run(['umount', join(dir, 'bpffs')]);
  } catch {
    // not mounted
  }
  rmSync(dir, { recursive: true, force: true });
});

const has = (i: number, line: string): boolean => listener.messages[i]!.lines.includes(line);
const status = (i: number): string =>
  listener.messages[i]!.lines.find((l) => l.startsWith('STATUS='))?.slice('STATUS='.length) ?? '';

test('Type=notify: READY after XDP and BGP, watchdog pings, reload and stop', {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  const cli = join(projectRoot(), 'src', 'cli', 'main.ts');
  const args = ['run', '-c', configFile, '--pin-dir', join(dir, 'bpffs', 'pins')];
  agent = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '--import', 'tsx', cli, ...args], {
    env: { ...process.env, NOTIFY_SOCKET: join(dir, 'notify.sock'), WATCHDOG_USEC: String(WATCHDOG_USEC) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  agent.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => agent.once('exit', (code) => resolve(code)));

  const ready = await listener.waitFor('READY=1');
  const first = listener.messages[0]!;
  console.log(
    `first message ${JSON.stringify(first.lines)}: xdp ${first.xdp}; READY=1 ${((listener.messages[ready]!.t - first.t) * 1000).toFixed(0)} ms later`,
  );
  assert.ok(has(0, 'WATCHDOG=1'), 'the watchdog pings from the start');
  const atReady = listener.messages[ready]!;
  assert.equal(atReady.xdp, true, 'XDP attached to up0 when READY=1 arrives');
  assert.equal(atReady.bgpListening, true, 'BGP listens on 179 when READY=1 arrives');
  assert.match(status(ready), /^running: 1 services, 0 peers, XDP on up0$/);
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
  assert.equal(await exited, 0, stderr.slice(-2000));
});
