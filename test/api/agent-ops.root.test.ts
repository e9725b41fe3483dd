// The ops surfaces wired to a real Agent: the agent's own Steering over a real Dataplane, recording
// fakes for BGP/lo/health (as in test/agent), a peer snapshot in the speaker's PeerStatus shape.
// startOps serves /metrics and the control socket; health transitions and drains made through the
// socket show up in the agent, in the API's replies and in the metrics.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent } from '../../src/agent/agent.js';
import { silentSink } from '../../src/agent/log.js';
import { Steering } from '../../src/agent/steering.js';
import { ApiClient } from '../../src/api/client.js';
import type { PeerStatus } from '../../src/bgp/speaker-status.js';
import { startOps } from '../../src/daemon/ops.js';
import { AnycastdMetrics } from '../../src/metrics/metrics.js';
import { Dataplane } from '../../src/steer/dataplane.js';
import { XDP_PASS, XDP_TX } from '../../src/steer/proto.js';
import { config, FakeAnnouncer, FakeHost, fakeHealthFactory, Recorder, serviceYaml } from '../agent/fakes.js';
import { parseExposition, value } from '../metrics/exposition.js';
import { flowFrame } from '../steer/packets.js';

const VIP = '203.0.113.10';

const peer: PeerStatus = {
  name: 'tor1',
  address: '198.51.100.0',
  interface: null,
  remoteAsn: 65001,
  state: 'established',
  uptimeMs: 5000,
  messagesIn: 12,
  messagesOut: 15,
  updatesIn: 2,
  updatesOut: 4,
  sentByType: { open: 1, update: 4, notification: 0, keepalive: 10, 'route-refresh': 0 },
  receivedByType: { open: 1, update: 2, notification: 0, keepalive: 8, 'route-refresh': 1 },
  flaps: 0,
  notificationsIn: 0,
  notificationsOut: 0,
  lastNotificationIn: null,
  lastNotificationOut: null,
  routeRefreshIn: 1,
  endOfRibIn: 1,
  endOfRibOut: 1,
  prefixesAdvertised: 2,
  prefixesReceived: 1,
  prefixesAccepted: 1,
  announcementsReceived: 1,
  announcementsAccepted: 1,
  staleRoutes: 0,
  maxPrefixExceeded: 0,
  overMaxPrefix: false,
  rfc7606: { 'treat-as-withdraw:bad-origin': 2, 'session-reset:duplicate-mp-reach-nlri': 1 },
  routesRejected: {
    'family-not-negotiated': 1,
    'nexthop-own-address': 3,
    'nexthop-not-on-link': 0,
    'nexthop-missing': 0,
  },
};

/** A real Agent and Steering over a real (unpinned) Dataplane; BGP, lo and health are recording fakes. */
function realAgent(service: string) {
  const dp = Dataplane.open({ pin: false, host4: '192.0.2.11' });
  const health = fakeHealthFactory();
  const steering = new Steering(dp);
  const agent = new Agent(config([service]), {
    announcer: new FakeAnnouncer(new Recorder()),
    host: new FakeHost(new Recorder()),
    steering,
    health: health.factory,
    sink: silentSink,
    flushTimeoutMs: 200,
  });
  return { dp, health, steering, agent };
}

test('startOps over a real Agent and Steering: API replies, drain through the socket, metrics', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'acd-ops-'));
  const { dp, health, steering, agent } = realAgent(serviceYaml({ grace: '10s' }));
  const socket = join(dir, 'anycastd.sock');
  let state: PeerStatus['state'] = 'established';
  const early = new AnycastdMetrics({}, { version: '0.1.0', node: 'h1' });
  const ops = await startOps(
    {
      agent,
      peers: () => [
        { ...peer, state, uptimeMs: state === 'established' ? 5000 : null, flaps: state === 'idle' ? 1 : 0 },
      ],
      steering,
      xdp: () => [{ interface: 'eth0', mode: 'native', attached: true }],
      // the host address went out to tor1; the VIP to no peer (say, a family no session carries)
      sent: () => [{ peer: 'tor1', prefix: '192.0.2.11/32' }],
      version: '0.1.0',
      startedAt: Date.now() - 60_000,
    },
    { metricsListen: '127.0.0.1:0', socket, metrics: early },
  );
  assert.equal(ops.metrics, early, 'metrics made before the agent (for timed probes) are the ones served');
  const client = await ApiClient.connect(socket);
  t.after(async () => {
    client.close();
    await ops.close();
    await agent.stop(500);
    dp.close();
    rmSync(dir, { recursive: true, force: true });
  });
  agent.start();
  const web = health.made.get('web')!;
  web.set('h1', 'up', 'rise-reached');
  web.set('h2', 'up', 'rise-reached');
  await agent.idle();

  const services = (await client.call('services', {})).services;
  assert.deepEqual(
    services.map((s) => [s.name, s.state, s.announced, s.drained, s.instancesHealthy, s.lastReason]),
    [['web', 'up', true, false, 2, 'rise-reached']],
  );
  const rings = (await client.call('rings', { service: 'web' })).rings;
  assert.deepEqual(
    rings.map((r) => r.kind),
    ['new', 'established'],
  );
  const h2 = rings[0]!.shares.find((s) => s.instance === 'web/h2')!;
  assert.ok(Math.abs(h2.share - 2 / 3) < 0.01, `h2 has weight 2: ${h2.share}`);
  const routes = (await client.call('routes', {})).routes;
  assert.deepEqual(
    routes.map((r) => [r.prefix, r.direction, r.peer]),
    [
      ['192.0.2.11/32', 'advertised', 'tor1'],
      [`${VIP}/32`, 'unsent', ''],
    ],
    'per peer what was sent, never "advertised all"',
  );
  const peers = (await client.call('peers', {})).peers;
  assert.equal(peers[0]!.state, 'established');
  assert.deepEqual(
    peers[0]!.routesRejected.filter((r) => r.count > 0),
    [
      { reason: 'family-not-negotiated', count: 1 },
      { reason: 'nexthop-own-address', count: 3 },
    ],
  );

  // packets through the real program: flows and counters
  let passed = 0;
  for (let i = 0; i < 30; i++) {
    const r = dp.program.testRun({
      data: flowFrame({
        family: 4,
        proto: 'tcp',
        src: '198.51.100.77',
        dst: VIP,
        sport: 4000 + i,
        dport: 80,
      }),
    });
    assert.ok(r.retval === XDP_PASS || r.retval === XDP_TX);
    if (r.retval === XDP_PASS) passed++;
  }
  const flows = await client.call('flows', { vip: VIP, limit: 0 });
  assert.equal(flows.total, 30);
  assert.equal(flows.flows.filter((f) => f.instance === 'web/h1').length, passed, 'local flows are h1');

  // drain through the socket reaches the agent
  assert.deepEqual(await client.call('drain', { service: 'web' }), { changed: true, message: 'web drained' });
  await agent.idle();
  assert.equal(agent.status().services[0]!.drained, true);
  await assert.rejects(client.call('drain', { service: 'nope' }), { apiCode: 'NOT_FOUND' });

  state = 'idle'; // the session dropped
  const e = parseExposition(
    await (await fetch(`http://127.0.0.1:${ops.metricsServer.address.port}/metrics`)).text(),
  );
  assert.equal(value(e, 'anycastd_bgp_session_up', { peer: 'tor1' }), 0);
  assert.equal(value(e, 'anycastd_bgp_messages_received_total', { peer: 'tor1', type: 'update' }), 2);
  assert.equal(value(e, 'anycastd_bgp_messages_received_total', { peer: 'tor1', type: 'route_refresh' }), 1);
  assert.equal(value(e, 'anycastd_bgp_messages_received_total', { peer: 'tor1', type: 'open' }), 1);
  assert.equal(value(e, 'anycastd_bgp_messages_sent_total', { peer: 'tor1', type: 'keepalive' }), 10);
  assert.equal(
    value(e, 'anycastd_bgp_update_errors_total', { peer: 'tor1', action: 'treat-as-withdraw' }),
    2,
  );
  assert.equal(value(e, 'anycastd_bgp_session_flaps_total', { peer: 'tor1' }), 1, "the speaker's flap count");
  assert.equal(value(e, 'anycastd_bgp_update_errors_total', { peer: 'tor1', action: 'session-reset' }), 1);
  assert.equal(
    value(e, 'anycastd_bgp_routes_rejected_total', { peer: 'tor1', reason: 'nexthop-own-address' }),
    3,
  );
  assert.equal(
    value(e, 'anycastd_bgp_routes_rejected_total', { peer: 'tor1', reason: 'nexthop-not-on-link' }),
    0,
  );
  assert.equal(
    value(e, 'anycastd_health_transitions_total', {
      service: 'web',
      instance_id: 'h1',
      reason: 'rise-reached',
    }),
    1,
  );
  assert.equal(
    value(e, 'anycastd_health_transitions_total', { service: 'web', instance_id: 'h1', reason: 'drained' }),
    1,
  );
  assert.equal(value(e, 'anycastd_vip_announced', { service: 'web', vip: VIP }), 0, 'withdrawn by the drain');
  assert.equal(
    value(e, 'anycastd_dataplane_received_packets_total', {
      service: 'web',
      vip: VIP,
      protocol: 'tcp',
      port: '80',
    }),
    30,
  );
  assert.equal(value(e, 'anycastd_xdp_attached', { interface: 'eth0', mode: 'native' }), 1);
});

test('routes: a worsened VIP shows its MED, AS-path prepend or GRACEFUL_SHUTDOWN community', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'acd-ops-'));
  const cases = [
    ['med', { med: 5000, asPath: '', communities: [] as string[] }],
    ['prepend', { med: 0, asPath: '4200000011 4200000011', communities: [] as string[] }],
    ['graceful_shutdown', { med: 0, asPath: '', communities: ['65535:0'] }],
  ] as const;
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [action, expected] of cases) {
    const { dp, health, steering, agent } = realAgent(
      serviceYaml({ onDown: `{ action: ${action}, delay: 10s, med: 5000, prepend: 2 }` }),
    );
    const socket = join(dir, `${action}.sock`);
    const ops = await startOps(
      { agent, steering, version: '0.1.0', startedAt: Date.now() },
      { metricsListen: '127.0.0.1:0', socket },
    );
    try {
      agent.start();
      const web = health.made.get('web')!;
      web.set('h1', 'up', 'rise-reached');
      web.set('h2', 'up', 'rise-reached');
      await agent.idle();
      web.set('h1', 'down', 'check-failed'); // worsened now, withdrawn after the 10 s delay
      while (agent.status().services[0]!.route !== 'worsened') await new Promise((r) => setTimeout(r, 5));
      const c = await ApiClient.connect(socket);
      const vip = (await c.call('routes', {})).routes.find((r) => r.prefix === '203.0.113.10/32');
      c.close();
      assert.deepEqual(
        { med: vip?.med, asPath: vip?.asPath, communities: vip?.communities },
        expected,
        action,
      );
    } finally {
      await ops.close();
      await agent.stop(300);
      dp.close();
    }
  }
});
