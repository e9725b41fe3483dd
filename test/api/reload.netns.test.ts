// A reload that changes one service touches nothing else, seen from a real peer: the real BGP
// speaker (sockets in a lab namespace) with an FRR ToR, the real Agent and Steering over a real
// Dataplane whose maps are pinned on a bpffs directory of this test, the real health layer with exec
// checks timed into the metrics (realHealth's probeFor), lo faked (the agent's own netns test runs it).
// Two services, web (A) and api (B), are advertised; a reload changes only api (an instance weight and
// a second VIP). Asserted: FRR's session did not flap (connectionsEstablished/Dropped unchanged, its
// uptime grown by the time elapsed); the agent asked the speaker only about api's prefixes and FRR
// received just the UPDATEs the speaker sent for them (one, the new VIP, when that is all it asked);
// web's route at FRR kept its table version and lastUpdate; web's service entry and rings in the pinned maps are unchanged byte for
// byte while api's ring changed. Through /metrics: one OPEN sent and one received, KEEPALIVEs both
// ways, no flap, and the check-duration histogram count rising. The control API's `routes` and
// `anycastd show routes` (a process) list the default route learned from FRR.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { run, waitFor } from '../../lab/exec.js';
import { vtyshJson } from '../../lab/frr.js';
import { Agent } from '../../src/agent/agent.js';
import { silentSink } from '../../src/agent/log.js';
import { Steering } from '../../src/agent/steering.js';
import { receivedRouteInfo } from '../../src/api/agent-handler.js';
import { callOnce } from '../../src/api/client.js';
import type { RouteAnnouncer } from '../../src/bgp/announcer.js';
import { prefixKey } from '../../src/bgp/codec/prefix.js';
import { BgpSpeaker } from '../../src/bgp/speaker.js';
import { parseConfig } from '../../src/config/load.js';
import { realHealth } from '../../src/daemon/health.js';
import { startOps } from '../../src/daemon/ops.js';
import { AnycastdMetrics } from '../../src/metrics/metrics.js';
import { timedProbeFor } from '../../src/metrics/probe-timing.js';
import { projectRoot } from '../../src/native/addon.js';
import { BpfMap } from '../../src/native/map.js';
import { Dataplane } from '../../src/steer/dataplane.js';
import { RING_SLOTS } from '../../src/steer/layout.js';
import { FakeHost, Recorder } from '../agent/fakes.js';
import { SpeakerLab } from '../bgp/speaker-lab.js';
import { type Exposition, find, parseExposition, value } from '../metrics/exposition.js';
import { HOST4, LINK, NODE_AND_PEER_YAML, startTorLab, TOR_AS, torLabNames } from './tor-lab.js';

const lab = new SpeakerLab('rld');
const NS = torLabNames(lab);
const WEB_VIP = '203.0.113.10';
const API_VIP = '203.0.113.20';
const API_VIP2 = '203.0.113.21';
const TEST_TIMEOUT_MS = 60_000;
/** FRR reports uptime at 1 s granularity in places; a reset would lose the whole interval. */
const UPTIME_SLACK_MS = 1000;
const BPFFS = join(lab.dir, 'bpffs');

function configYaml(api: { weight: number; vips: string[] }): string {
  const checks = '[{ type: exec, command: [/bin/true], interval: 200ms, timeout: 150ms, rise: 1, fall: 1 }]';
  return `${NODE_AND_PEER_YAML}services:
  - name: web
    vips: [${WEB_VIP}]
    ports: [{ protocol: tcp, port: 80 }]
    instances:
      - { id: h1, host: { ipv4: ${HOST4} } }
      - { id: h2, host: { ipv4: 198.51.100.12 } }
    checks: ${checks}
  - name: api
    vips: [${api.vips.join(', ')}]
    ports: [{ protocol: tcp, port: 8080 }]
    instances:
      - { id: h1, host: { ipv4: ${HOST4} } }
      - { id: h3, host: { ipv4: 198.51.100.13 }, weight: ${api.weight} }
    checks: ${checks}
`;
}

interface FrrNeighbor {
  bgpState?: string;
  connectionsEstablished?: number;
  connectionsDropped?: number;
  /** How long the session has been up (FRR's clock, ms). */
  bgpTimerUpMsec?: number;
  messageStats?: { updatesRecv?: number };
}

async function frrNeighbor(): Promise<FrrNeighbor> {
  const j = await vtyshJson<Record<string, FrrNeighbor>>(NS.frrDir, 'show bgp neighbors json');
  return j[LINK.h4] ?? {};
}

interface FrrPath {
  valid?: boolean;
  /** FRR's table version of the path: bumped whenever the path is replaced. */
  version?: number;
  /** When the path was last updated; FRR derives the epoch from its monotonic clock (±1 s). */
  lastUpdate?: { epoch?: number };
  aspath?: { string?: string };
  nexthops?: { ip?: string }[];
}

/** The prefix is in FRR's table with a valid path (next hop resolved). */
async function frrValid(prefix: string): Promise<boolean> {
  return (await frrPaths(prefix)).some((p) => p.valid === true);
}

/** A path without its lastUpdate, whose epoch FRR recomputes at each query (it may move by 1 s). */
function withoutAge(p: FrrPath): FrrPath {
  const { lastUpdate: _, ...rest } = p;
  return rest;
}

/** FRR's paths for a prefix (none when it is not in its table). */
async function frrPaths(prefix: string): Promise<FrrPath[]> {
  const j = await vtyshJson<{ paths?: FrrPath[] }>(NS.frrDir, `show bgp ipv4 unicast ${prefix} json`);
  return j.paths ?? [];
}

/** A service's entry in the pinned `services` map and all of its ring slots, as raw bytes. */
function pinnedRings(serviceId: number): Buffer[] {
  const services = BpfMap.openPinned(join(BPFFS, 'services'));
  const rings = BpfMap.openPinned(join(BPFFS, 'rings'));
  try {
    const key = (k: number): Buffer => Buffer.from(new Uint32Array([k]).buffer);
    return [
      services.lookup(key(serviceId))!,
      ...Array.from({ length: RING_SLOTS }, (_, s) => rings.lookup(key(serviceId * RING_SLOTS + s))!),
    ];
  } finally {
    services.close();
    rings.close();
  }
}

const checkCount = (e: Exposition, service: string): number =>
  find(e, 'anycastd_health_check_duration_seconds_count', { service }).reduce((n, s) => n + s.value, 0);

test('a reload that changes one service touches nothing else: no flap at FRR, no UPDATE for the other, its ring unchanged; message and check-duration metrics', {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  await startTorLab(lab);
  mkdirSync(BPFFS, { recursive: true });
  run('mount', ['-t', 'bpf', 'bpf', BPFFS]);
  let dp: Dataplane | undefined;
  lab.onTeardown(() => {
    dp?.close();
    run('umount', [BPFFS]);
  });
  const file = join(lab.dir, 'anycastd.yaml');
  writeFileSync(file, configYaml({ weight: 1, vips: [API_VIP] }));
  const config = parseConfig(configYaml({ weight: 1, vips: [API_VIP] }), file);
  const speaker = await BgpSpeaker.start(config, { netns: NS.host, retryBaseMs: 200, retryMaxMs: 1000 });
  lab.speaker = speaker;
  // what the agent asks the speaker to send, in order
  const asked: string[] = [];
  const announcer: RouteAnnouncer = {
    advertise: (p, attrs) => {
      asked.push(`advertise ${prefixKey(p)}`);
      speaker.advertise(p, attrs);
    },
    withdraw: (p) => {
      asked.push(`withdraw ${prefixKey(p)}`);
      speaker.withdraw(p);
    },
    flushed: (ms) => speaker.flushed(ms),
    releaseEndOfRib: () => speaker.releaseEndOfRib(),
  };
  dp = Dataplane.open({ pinDir: BPFFS, host4: HOST4 });
  const steering = new Steering(dp);
  const metrics = new AnycastdMetrics({}, { version: '0.1.0', node: 'h1' }, config);
  const agent = new Agent(config, {
    announcer,
    host: new FakeHost(new Recorder()),
    steering,
    health: realHealth({ probeFor: (s) => timedProbeFor(metrics, s) }),
    sink: silentSink,
    flushTimeoutMs: 1000,
  });
  const socket = join(lab.dir, 'anycastd.sock');
  const ops = await startOps(
    {
      agent,
      peers: () => speaker.peers(),
      received: () => speaker.received().map(receivedRouteInfo),
      steering,
      version: '0.1.0',
      startedAt: Date.now(),
    },
    { metricsListen: '127.0.0.1:0', socket, metrics },
  );
  lab.onTeardown(() => void ops.close());
  const scrape = async (): Promise<Exposition> =>
    parseExposition(await (await fetch(`http://127.0.0.1:${ops.metricsServer.address.port}/metrics`)).text());
  agent.start();

  // both VIPs at FRR over an Established session
  for (const vip of [WEB_VIP, API_VIP])
    await waitFor(
      `${vip} at FRR`,
      async () => ((await frrValid(`${vip}/32`)) ? true : undefined),
      20_000,
      50,
    );
  const e0 = await scrape();
  const peer = { peer: 'tor1' };
  assert.equal(value(e0, 'anycastd_bgp_session_up', peer), 1);
  assert.equal(
    value(e0, 'anycastd_health_transitions_total', {
      service: 'web',
      instance_id: 'h1',
      reason: 'rise-reached',
    }),
    1,
    'the first transitions (right after start) are counted',
  );

  // the default route learned from FRR, as `show routes` lists it
  const received = (await callOnce(socket, 'routes', {})).routes.filter((r) => r.direction === 'received');
  assert.deepEqual(
    received.map((r) => [r.peer, r.prefix, r.nextHop, r.asPath, r.best]),
    [['tor1', '0.0.0.0/0', LINK.t4, String(TOR_AS), true]],
  );
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'show', 'routes', '--socket', socket],
    { cwd: projectRoot() },
  );
  assert.match(
    stdout,
    new RegExp(
      `^0\\.0\\.0\\.0/0 +received +tor1 +${LINK.t4.replaceAll('.', '\\.')} +- +0 +${TOR_AS} +-$`,
      'm',
    ),
  );

  // settled: End-of-RIB sent and every UPDATE we sent counted by FRR (its update groups coalesce)
  const ourUpdates = (): number => speaker.peers()[0]!.updatesOut;
  const before = await waitFor(
    'FRR has every UPDATE we sent',
    async () => {
      const n = await frrNeighbor();
      const eor = speaker.peers()[0]!.endOfRibOut > 0;
      return eor && n.messageStats?.updatesRecv === ourUpdates() ? n : undefined;
    },
    10_000,
    50,
  );
  const ourBefore = ourUpdates();
  const refreshes = (): number => speaker.peers()[0]!.routeRefreshIn;
  const refreshesBefore = refreshes();
  const beforeAt = performance.now();
  const webBefore = await frrPaths(`${WEB_VIP}/32`);
  const webId = steering.serviceId('web')!;
  const apiId = steering.serviceId('api')!;
  const webRings = pinnedRings(webId);
  const apiRings = pinnedRings(apiId);
  const checksBefore = checkCount(await scrape(), 'web');
  assert.equal(before.bgpState, 'Established');
  assert.ok(
    webBefore[0]?.lastUpdate?.epoch && webBefore[0].version,
    `FRR shows the route's age and version: ${JSON.stringify(webBefore)}`,
  );

  // reload: only api changes (h3's weight, a second VIP)
  const mark = asked.length;
  writeFileSync(file, configYaml({ weight: 3, vips: [API_VIP, API_VIP2] }));
  const r = await agent.reload(file);
  assert.ok(r.ok, 'the reload is accepted');
  assert.deepEqual(
    [r.diff.services.changed.map((s) => s.name), r.diff.services.added.length, r.diff.peers.changed.length],
    [['api'], 0, 0],
  );
  await waitFor(
    `${API_VIP2} at FRR`,
    async () => ((await frrValid(`${API_VIP2}/32`)) ? true : undefined),
    10_000,
    50,
  );
  await agent.idle();
  await sleep(1500); // anything else the reload might have sent would arrive by now

  const after = await frrNeighbor();
  assert.equal(after.bgpState, 'Established');
  assert.equal(after.connectionsEstablished, before.connectionsEstablished, 'no new session');
  assert.equal(after.connectionsDropped, before.connectionsDropped, 'no session dropped');
  const upBefore = before.bgpTimerUpMsec ?? 0;
  const elapsed = performance.now() - beforeAt;
  assert.ok(
    (after.bgpTimerUpMsec ?? 0) >= upBefore + elapsed - UPTIME_SLACK_MS,
    `uptime not reset: ${upBefore} ms → ${after.bgpTimerUpMsec} ms over ${Math.round(elapsed)} ms`,
  );
  const frrDelta = (after.messageStats?.updatesRecv ?? 0) - (before.messageStats?.updatesRecv ?? 0);
  const ourDelta = ourUpdates() - ourBefore;
  const since = asked.slice(mark);
  assert.deepEqual(
    [...new Set(since.map((a) => a.split(' ')[1]))].filter((p) => p !== `${API_VIP}/32`),
    [`${API_VIP2}/32`],
    `only api's prefixes are touched: ${since.join('; ')}`,
  );
  assert.equal(frrDelta, ourDelta, 'FRR received exactly the UPDATEs we sent');
  // FRR 8.4 now and then sends a ROUTE-REFRESH a few seconds into the session; the answer (RFC 2918) is
  // our whole Adj-RIB-Out again, one UPDATE since every route shares its attributes, which FRR takes as
  // no change (web's path keeps its table version, asserted below).
  if (since.length === 1)
    assert.equal(ourDelta, 1 + refreshes() - refreshesBefore, 'one UPDATE for the new VIP of api');
  const webAfter = await frrPaths(`${WEB_VIP}/32`);
  assert.deepEqual(
    webAfter.map(withoutAge),
    webBefore.map(withoutAge),
    "web's route at FRR untouched (same attributes and table version)",
  );
  const age = (p: FrrPath[]): number => p[0]?.lastUpdate?.epoch ?? 0;
  // a ROUTE-REFRESH answered meanwhile re-sends web's route, which renews its lastUpdate at FRR (the
  // table version above still shows it unchanged); without one, nothing may have touched it
  if (refreshes() === refreshesBefore)
    assert.ok(Math.abs(age(webAfter) - age(webBefore)) <= 1, "web's lastUpdate not renewed");
  assert.equal((await frrPaths(`${API_VIP}/32`)).length, 1, "api's first VIP still there");
  assert.deepEqual(pinnedRings(webId), webRings, "web's service entry and rings unchanged byte for byte");
  assert.notDeepEqual(pinnedRings(apiId), apiRings, "api's ring follows the new weight");

  // the message counters by type, flaps, and check durations
  const e1 = await scrape();
  for (const dir of ['sent', 'received'] as const) {
    const m = `anycastd_bgp_messages_${dir}_total`;
    assert.equal(value(e1, m, { ...peer, type: 'open' }), 1, `one OPEN ${dir}`);
    assert.ok(value(e1, m, { ...peer, type: 'keepalive' }) > 0, `KEEPALIVEs ${dir}`);
    assert.equal(value(e1, m, { ...peer, type: 'notification' }), 0);
  }
  const updatesSent = value(e1, 'anycastd_bgp_messages_sent_total', { ...peer, type: 'update' });
  assert.equal(
    updatesSent,
    after.messageStats?.updatesRecv,
    'the UPDATEs we count as sent are the ones FRR counts as received',
  );
  assert.equal(value(e1, 'anycastd_bgp_session_flaps_total', peer), 0);
  assert.equal(value(e1, 'anycastd_config_reloads_total', { result: 'success' }), 1);
  const checksAfter = checkCount(e1, 'web');
  assert.ok(
    checksBefore > 0 && checksAfter > checksBefore,
    `check durations observed: ${checksBefore} → ${checksAfter}`,
  );
  await agent.stop(2000);
});
