// `anycastd cleanup` against what a real agent leaves: the real `anycastd run` in a network namespace
// (XDP on a veth uplink, maps pinned on a bpffs of the test's own, its VIP on lo once an exec check
// passes) is stopped with SIGTERM; a default route of the agent's protocol stands for what a killed agent
// leaves. Asserted: cleanup refuses (exit 1, nothing touched) while the agent answers on its socket;
// after the stop it takes the VIP off lo (the host address stays), detaches XDP, removes every pin and
// the pin directory and the route, reporting each; a second run finds nothing (exit 0); the kernel's view
// agrees at each step. With `dataplane.mode: none` an XDP program on the uplinks is not the agent's and stays.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { run } from '../../lab/exec.js';
import { addVethPair, createNetns, type Netns, removeNetnsByPrefix, uniquePrefix } from '../../lab/netns.js';
import type { CleanupReport } from '../../src/daemon/cleanup.js';
import { projectRoot } from '../../src/native/addon.js';
import { MAP_NAMES } from '../../src/steer/dataplane.js';
import { LINK_PINS } from '../../src/steer/pin-plan.js';

/** What a stopped agent leaves pinned: its maps and the flow reaper's link. */
const PINS = [...MAP_NAMES, ...LINK_PINS];

import { waitFor } from '../helpers/wait-for.js';

const PREFIX = uniquePrefix('cleanup');
const HOST = '198.51.100.1';
const TOR = '198.51.100.0';
const VIP = '192.0.2.10';
const ROUTE_PROTOCOL = 201;
/** The agent's start: node, tsx, the data plane loaded, the first check passed. */
const START_TIMEOUT_MS = 30_000;
const CLI = join(projectRoot(), 'src/cli/main.ts');

let ns: Netns;
let tor: Netns;
let dir: string;
let bpffs: string;
let pins: string;
let configFile: string;
let socket: string;
let agent: ChildProcess | undefined;

/** `anycastd ARGS` in the namespace (tsx, from the checkout): exit status and output. */
function cli(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns.name, process.execPath, '--import', 'tsx', CLI, ...args], {
    cwd: projectRoot(),
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function cleanup(): { status: number | null; report: CleanupReport & { ok: boolean }; stderr: string } {
  const r = cli(['cleanup', '-c', configFile, '--pin-dir', pins, '--json']);
  return {
    status: r.status,
    report: JSON.parse(r.stdout) as CleanupReport & { ok: boolean },
    stderr: r.stderr,
  };
}

function loAddresses(): string[] {
  const links = JSON.parse(ns.ip(['-j', 'addr', 'show', 'dev', 'lo'])) as {
    addr_info: { local: string }[];
  }[];
  return links.flatMap((l) => l.addr_info.map((a) => a.local));
}

function xdpProgId(): number | undefined {
  const [link] = JSON.parse(ns.ip(['-j', '-d', 'link', 'show', 'dev', 'up0'])) as {
    xdp?: { prog?: { id: number } };
  }[];
  return link?.xdp?.prog?.id;
}

function defaultRoutes(): string[] {
  return (JSON.parse(ns.ip(['-4', '-j', 'route', 'show', 'default'])) as { dst: string }[]).map((r) => r.dst);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'acd-cleanup-'));
  bpffs = join(dir, 'bpffs');
  pins = join(bpffs, 'h1');
  configFile = join(dir, 'anycastd.yaml');
  socket = join(dir, 'anycastd.sock');
  mkdirSync(bpffs);
  run('mount', ['-t', 'bpf', 'bpf', bpffs]);
  ns = createNetns(PREFIX, 'h');
  tor = createNetns(PREFIX, 't');
  addVethPair(ns, 'up0', 'tor0', tor);
  ns.ip(['addr', 'add', `${HOST}/31`, 'dev', 'up0']);
  writeFileSync(
    configFile,
    `node: { id: h1, host: { ipv4: ${HOST} }, asn: 65001, uplinks: [up0] }
kernel_route: { protocol: ${ROUTE_PROTOCOL} }
services:
  - name: web
    vips: [${VIP}]
    ports: [{ protocol: tcp, port: 80 }]
    instances: [{ id: h1, host: { ipv4: ${HOST} } }]
    checks: [{ type: exec, command: [/bin/true], interval: 1s, fast_interval: 100ms, rise: 1, fall: 1 }]
    grace_time: 0s
    drain_file: ${join(dir, 'drain-web')}
metrics: { listen: "127.0.0.1:9469" }
api: { socket: ${socket} }
dataplane: { xdp_mode: generic, ring_size: 251 }
cluster: { enabled: false }
`,
  );
});

after(() => {
  if (agent?.exitCode === null) agent.kill('SIGKILL');
  removeNetnsByPrefix(PREFIX);
  spawnSync('umount', [bpffs]);
  rmSync(dir, { recursive: true, force: true });
});

test('cleanup refuses while the agent runs, then removes what the stopped agent left, and is idempotent', async () => {
  agent = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns.name,
      process.execPath,
      '--import',
      'tsx',
      CLI,
      'run',
      '-c',
      configFile,
      '--pin-dir',
      pins,
    ],
    {
      cwd: projectRoot(),
      stdio: ['ignore', 'ignore', openSync(join(dir, 'agent.log'), 'w')],
    },
  );
  const started = agent;
  await waitFor(
    () => {
      if (started.exitCode !== null) throw new Error(`the agent exited ${started.exitCode}`);
      return loAddresses().includes(VIP) && xdpProgId() !== undefined && existsSync(socket);
    },
    {
      timeoutMs: START_TIMEOUT_MS,
      what: 'the agent up: VIP on lo, XDP on up0, control socket',
    },
  );

  const refused = cleanup();
  assert.equal(refused.status, 1, 'exit 1 while the agent runs');
  assert.equal(refused.report.ok, false);
  assert.match(JSON.stringify(refused.report), /stop it first/);
  assert.ok(loAddresses().includes(VIP), 'VIP untouched');
  assert.ok(xdpProgId() !== undefined, 'XDP untouched');

  agent.kill('SIGTERM');
  const [code] = (await once(agent, 'exit')) as [number | null];
  assert.equal(code, 0, 'the agent stopped cleanly');
  // What a stopped agent keeps for a restart, and a route a killed one would have left.
  assert.ok(loAddresses().includes(VIP), 'the stopped agent left its VIP on lo');
  const progId = xdpProgId();
  assert.ok(progId !== undefined, 'the stopped agent left XDP attached');
  assert.deepEqual(
    readdirSync(pins).sort(),
    [...PINS].sort(),
    'the stopped agent left its pins (maps, reaper link)',
  );
  ns.ip(['route', 'add', 'default', 'via', TOR, 'dev', 'up0', 'proto', String(ROUTE_PROTOCOL)]);

  const first = cleanup();
  assert.equal(first.status, 0, first.stderr);
  assert.deepEqual(first.report.vips, [VIP]);
  assert.deepEqual(first.report.xdp, [{ uplink: 'up0', progId, mode: 'generic' }]);
  assert.deepEqual(first.report.pins.sort(), PINS.map((m) => join(pins, m)).sort());
  assert.equal(first.report.pinDirRemoved, true);
  assert.deepEqual(first.report.routes, ['0.0.0.0/0']);
  assert.equal(loAddresses().includes(VIP), false, 'VIP off lo');
  assert.ok(loAddresses().includes(HOST), 'the host address stays on lo');
  assert.equal(xdpProgId(), undefined, 'XDP detached');
  assert.equal(existsSync(pins), false, 'pin directory gone');
  assert.deepEqual(defaultRoutes(), [], "the agent's default route gone");

  const second = cleanup();
  assert.equal(second.status, 0, second.stderr);
  assert.deepEqual(
    {
      vips: second.report.vips,
      xdp: second.report.xdp,
      pins: second.report.pins,
      routes: second.report.routes,
    },
    { vips: [], xdp: [], pins: [], routes: [] },
    'a second run finds nothing',
  );
  const text = cli(['cleanup', '-c', configFile, '--pin-dir', pins]);
  assert.equal(text.status, 0);
  assert.equal(text.stdout.trim(), 'nothing left to remove');
});

test('with dataplane.mode none, cleanup leaves an XDP program on the uplinks alone (not the agent’s)', () => {
  const none = join(dir, 'none.yaml');
  writeFileSync(
    none,
    readFileSync(configFile, 'utf8').replace(/^dataplane: .*$/m, 'dataplane: { mode: none }'),
  );
  const xdpPass = join(projectRoot(), 'build/bpf/xdp_pass.bpf.o');
  ns.ip(['link', 'set', 'dev', 'up0', 'xdpgeneric', 'obj', xdpPass, 'sec', 'xdp']);
  const r = cli(['cleanup', '-c', none, '--pin-dir', pins, '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as CleanupReport).xdp, []);
  assert.ok(xdpProgId() !== undefined, 'the other program stays attached');
});

test('cleanup with an invalid config exits 2 and touches nothing', () => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'node: {}\n');
  const r = cli(['cleanup', '-c', bad]);
  assert.equal(r.status, 2, r.stderr);
});
