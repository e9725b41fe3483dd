// The agents against a hostile network, end to end, with three real agents in the lab: malformed
// requests to the cluster port (at the VIP, at the host address, from an unknown client and from a
// configured host), connection floods and slow clients on the cluster and BGP ports, and an
// unprivileged local user trying to take the cluster port. After every attack each agent must still
// be the same process, every BGP session Established, the VIP advertised by every host, memory and
// open files bounded and the log not flooded. The figures (RSS before/after, fds, log lines, held
// connections) are printed.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { HOST_PLAN, HOSTS, type HostName, linkBetween, VIP4, VIP6 } from '../../lab/addressing.js';
import { bringUp } from '../../lab/agent-steps.js';
import { HostAgents } from '../../lab/agents.js';
import { runInAsync } from '../../lab/exec.js';
import { waitVipAt } from '../../lab/fabric-checks.js';
import { buildLab, type Lab } from '../../lab/topology.js';
import { loadConfig } from '../../src/config/load.js';
import { program } from '../helpers/programs.js';

const BGP_PORT = 179;
/** A flood's size in `make test` (ANYCASTD_HOSTILE_FLOOD for longer runs: `make fuzz`). */
const FLOOD = Number(process.env.ANYCASTD_HOSTILE_FLOOD ?? 2_000);
/** Growth of an agent's resident memory an attack may cause (the agent is ~100 MB at rest). */
const RSS_GROWTH_BOUND_MB = 64;
/** Open files an agent may hold beyond its resting count after a flood ended. */
const FD_GROWTH_BOUND = 32;
/** Log lines one attack may cause per agent (refusals are counted, logged at most once per address and interval). */
const LOG_LINES_BOUND = 20;
/** A slow client must be dropped within the header timeout plus this margin. */
const SLOW_CLIENT_BOUND_MS = 10_000;
const MALFORMED = Buffer.from('GET http://[ HTTP/1.1\r\nHost: x\r\n\r\n').toString('hex');

const log = (l: string): void => void process.stderr.write(`${l}\n`);

let lab: Lab;
let agents: HostAgents;
let clusterPort: number;
const pids = new Map<HostName, number>();

before(async () => {
  lab = await buildLab({ log });
  agents = new HostAgents(lab);
  await bringUp(lab, agents);
  for (const h of HOSTS) pids.set(h, agents.running(h)!.pid);
  clusterPort = (await loadConfig(agents.paths('h1').config)).cluster.port;
});

after(() => lab?.teardown());

interface Vitals {
  rssMb: number;
  fds: number;
  logLines: number;
}

function vitals(h: HostName): Vitals {
  const pid = pids.get(h)!;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return {
    rssMb: Math.round(rssKb / 1024),
    fds: readdirSync(`/proc/${pid}/fd`).length,
    logLines: readFileSync(agents.paths(h).log, 'utf8').split('\n').length,
  };
}

async function attack(ns: string, mode: string, args: Record<string, string | number>): Promise<unknown> {
  const argv = [mode, ...Object.entries(args).flatMap(([k, v]) => [`--${k}`, String(v)])];
  const [node, ...rest] = program('attacker', argv);
  const out = await runInAsync(ns, node!, rest);
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

/** Every agent the same process, every session up, the VIP at every host; the figures since `before`. */
async function assertUnharmed(what: string, before: Map<HostName, Vitals>): Promise<void> {
  for (const h of HOSTS) {
    const proc = agents.running(h);
    assert.ok(proc && proc.child.exitCode === null, `${what}: agent ${h} exited (${proc?.child.exitCode})`);
    assert.equal(proc.pid, pids.get(h), `${what}: agent ${h} restarted`);
  }
  await lab.waitEstablished(HOSTS, 5_000);
  await waitVipAt(lab, HOSTS, 5_000);
  for (const h of HOSTS) {
    const a = before.get(h)!;
    const b = vitals(h);
    log(
      `hostile ${what}: ${h} RSS ${a.rssMb} → ${b.rssMb} MB, fds ${a.fds} → ${b.fds}, ` +
        `log lines +${b.logLines - a.logLines}`,
    );
    assert.ok(b.rssMb - a.rssMb < RSS_GROWTH_BOUND_MB, `${what}: ${h} RSS ${a.rssMb} → ${b.rssMb} MB`);
    assert.ok(b.fds - a.fds < FD_GROWTH_BOUND, `${what}: ${h} fds ${a.fds} → ${b.fds}`);
    assert.ok(
      b.logLines - a.logLines <= LOG_LINES_BOUND,
      `${what}: ${h} +${b.logLines - a.logLines} log lines`,
    );
  }
}

function snapshot(): Map<HostName, Vitals> {
  return new Map(HOSTS.map((h) => [h, vitals(h)]));
}

test('malformed HTTP to the cluster port at the VIP, the host address (unknown client and a configured host)', async () => {
  const before = snapshot();
  const client = lab.ns('client');
  const targets = [VIP4, VIP6, HOST_PLAN.h1.lo4, HOST_PLAN.h1.lo6];
  for (const target of targets) {
    const r = (await attack(client, 'raw', {
      target,
      port: clusterPort,
      'payload-hex': MALFORMED,
      count: 10,
      'every-ms': 200,
    })) as { results: string[] };
    log(`hostile malformed → ${target}:${clusterPort} from the client: ${JSON.stringify(r.results)}`);
    for (const x of r.results) assert.ok(!x.startsWith('HTTP/'), `an unknown client was answered: ${x}`);
  }
  // a configured host's agent is allowed to connect: it gets an answer naming the fault
  const fromH2 = (await attack(lab.ns('h2'), 'raw', {
    target: HOST_PLAN.h1.lo4,
    port: clusterPort,
    'payload-hex': MALFORMED,
    count: 5,
  })) as { results: string[] };
  log(`hostile malformed → h1 from h2: ${JSON.stringify(fromH2.results)}`);
  for (const x of fromH2.results) assert.match(x, /^HTTP\/1\.1 4\d\d /, `h2's malformed request: ${x}`);
  await assertUnharmed('malformed', before);
});

test('nothing listens at the VIP: the cluster and BGP ports of the VIP refuse', async () => {
  const client = lab.ns('client');
  for (const port of [clusterPort, BGP_PORT])
    for (const target of [VIP4, VIP6]) {
      const r = (await attack(client, 'raw', { target, port, count: 3 })) as { results: string[] };
      // the VIP's flows may reach any host: each must refuse
      assert.deepEqual(r.results, ['refused', 'refused', 'refused'], `${target}:${port}`);
    }
});

/**
 * Runs a flood from `ns` and samples the open files of h1's agent while it lasts: what the agent holds is
 * the measure (the client's own view counts connections the kernel completed but the agent never took).
 */
async function floodWatched(
  ns: string,
  port: number,
  target: string,
): Promise<{ peakFds: number; r: unknown }> {
  let peakFds = vitals('h1').fds;
  const sampler = setInterval(() => {
    peakFds = Math.max(peakFds, vitals('h1').fds);
  }, 100);
  try {
    const r = await attack(ns, 'flood', { target, port, count: FLOOD, 'hold-ms': 3_000 });
    return { peakFds, r };
  } finally {
    clearInterval(sampler);
  }
}

test(`a flood of ${FLOOD} idle connections to the cluster port (unknown client, then a configured host)`, async () => {
  const before = snapshot();
  const rest = before.get('h1')!.fds;
  for (const [who, ns] of [
    ['the client', lab.ns('client')],
    ['h2', lab.ns('h2')],
  ] as const) {
    const { peakFds, r } = await floodWatched(ns, clusterPort, HOST_PLAN.h1.lo4);
    log(
      `hostile flood from ${who} → h1 cluster port: h1 fds ${rest} → peak ${peakFds}; client's view ${JSON.stringify(r)}`,
    );
    assert.ok(peakFds - rest < FD_GROWTH_BOUND, `${who}'s flood: h1 held up to ${peakFds - rest} more files`);
  }
  await assertUnharmed('cluster flood', before);
});

test(`a flood of ${FLOOD} connections to BGP from an address that is not a peer: refused, no log line each`, async () => {
  const before = snapshot();
  // h1's session address toward tor1, reached from h2 (through tor1): h2 is no peer of h1
  const uplink = linkBetween('tor1', 'h1').b.v4;
  const r = (await attack(lab.ns('h2'), 'flood', {
    target: uplink,
    port: BGP_PORT,
    count: FLOOD,
    'hold-ms': 1_000,
  })) as { connected: number; heldAtEnd: number };
  log(`hostile BGP flood from h2 → h1 ${uplink}:${BGP_PORT}: ${JSON.stringify(r)}`);
  assert.ok(r.connected > 0, 'the flood reached the listener');
  assert.equal(r.heldAtEnd, 0, 'no connection from a non-peer is kept');
  await assertUnharmed('bgp flood', before);
});

test('a slow client on the cluster port is dropped within the header timeout', async () => {
  const before = snapshot();
  const r = (await attack(lab.ns('h2'), 'slow', {
    target: HOST_PLAN.h1.lo4,
    port: clusterPort,
    'payload-hex': Buffer.from('GET /v1/instances HTTP/1.1\r\nHost: x\r\n').toString('hex'),
    'byte-every-ms': 500,
    'max-ms': 30_000,
  })) as { result: string; heldMs: number };
  log(`hostile slow client → h1: ${JSON.stringify(r)}`);
  assert.notEqual(r.result, 'still-open');
  assert.ok(r.heldMs < SLOW_CLIENT_BOUND_MS, `held ${r.heldMs} ms`);
  await assertUnharmed('slow client', before);
});

test('an unprivileged local user cannot take the cluster port (it is privileged)', async () => {
  const out = await runInAsync(lab.ns('h1'), 'setpriv', [
    '--reuid=nobody',
    '--regid=nogroup',
    '--clear-groups',
    '--inh-caps=-all',
    '--bounding-set=-all',
    ...program('try-bind', ['--bind', HOST_PLAN.h1.lo4, '--port', String(clusterPort)]),
  ]);
  log(`hostile local user binding ${HOST_PLAN.h1.lo4}:${clusterPort} in h1: ${out.trim()}`);
  assert.equal(out.trim(), 'EACCES');
});
