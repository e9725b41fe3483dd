// The exposition read back: names follow the Prometheus rules, every labelled series the config implies
// exists at 0 before anything happened, snapshot values and kernel counters appear per scrape (counters
// follow the kernel's monotonic values and restart when they reset), pushed events count, and the
// HTTP endpoint serves /metrics only.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addVethPair, createNetns, removeNetnsByPrefix, uniquePrefix } from '../../lab/netns.js';
import { flowCountSettled, flowEntries, readDataplaneMetrics } from '../../src/metrics/dataplane-source.js';
import { AnycastdMetrics } from '../../src/metrics/metrics.js';
import { MetricsServer } from '../../src/metrics/server.js';
import {
  BGP_MESSAGE_TYPES,
  FSM_STATES,
  type PeerMetrics,
  RFC7606_ACTIONS,
  ROUTE_REJECT_REASONS,
  TRANSITION_REASONS,
} from '../../src/metrics/sources.js';
import { xdpAttachments } from '../../src/metrics/xdp-source.js';
import { ifIndex, withNetns } from '../../src/native/index.js';
import { DROP_REASONS } from '../../src/steer/layout.js';
import { TCP_ACK, XDP_PASS, XDP_TX } from '../../src/steer/proto.js';
import { flowFrame } from '../steer/packets.js';
import { find, parseExposition, value } from './exposition.js';
import { CLIENT4, DNS_VIP, HOST4, openTestbed, REMOTE4, testConfig, WEB_VIP } from './fixture.js';

const BUILD = { version: '0.1.0', node: 'h1' };

test('names follow the Prometheus rules and every labelled series exists at 0 from the start', async () => {
  const m = new AnycastdMetrics({}, BUILD, testConfig());
  const e = parseExposition(await m.text());
  for (const [name, type] of e.types) {
    // the runtime's standard families keep their standard names (test/metrics/process-metrics.test.ts)
    assert.match(name, /^(anycastd|process|nodejs)_[a-z0-9_]+$/, name);
    // prom-client names a few nodejs_ gauges *_total (nodejs_active_resources_total): not ours to rename
    if (!name.startsWith('nodejs_'))
      assert.equal(name.endsWith('_total'), type === 'counter', `${name} is a ${type}`);
    assert.doesNotMatch(name, /_(milliseconds|ms|kilobytes|percent)\b/, `${name}: base units only`);
  }
  assert.equal(e.types.get('anycastd_build_info'), 'gauge');
  assert.equal(value(e, 'anycastd_build_info', { version: '0.1.0', node: 'h1' }), 1);
  for (const peer of ['tor1', 'tor2']) {
    assert.equal(value(e, 'anycastd_bgp_session_up', { peer }), 0);
    for (const state of FSM_STATES) assert.equal(value(e, 'anycastd_bgp_session_state', { peer, state }), 0);
    for (const type of BGP_MESSAGE_TYPES) {
      assert.equal(value(e, 'anycastd_bgp_messages_sent_total', { peer, type }), 0);
      assert.equal(value(e, 'anycastd_bgp_messages_received_total', { peer, type }), 0);
    }
    for (const action of RFC7606_ACTIONS)
      assert.equal(value(e, 'anycastd_bgp_update_errors_total', { peer, action }), 0);
    for (const reason of ROUTE_REJECT_REASONS)
      assert.equal(value(e, 'anycastd_bgp_routes_rejected_total', { peer, reason }), 0);
    assert.equal(value(e, 'anycastd_bgp_session_flaps_total', { peer }), 0);
    assert.equal(value(e, 'anycastd_bgp_session_established_timestamp_seconds', { peer }), 0);
  }
  assert.equal(value(e, 'anycastd_vip_announced', { service: 'web', vip: WEB_VIP }), 0);
  assert.equal(
    value(e, 'anycastd_health_check_up', { service: 'web', instance_id: 'h2', check: 'http#1' }),
    0,
  );
  assert.equal(find(e, 'anycastd_health_check_up').length, 2 * 2 + 2 * 1, 'instances × checks');
  assert.equal(
    value(e, 'anycastd_health_check_duration_seconds_count', {
      service: 'dns',
      instance_id: 'h1',
      check: 'dns#0',
    }),
    0,
  );
  assert.equal(find(e, 'anycastd_health_transitions_total').length, 4 * TRANSITION_REASONS.length);
  assert.equal(find(e, 'anycastd_ring_share_ratio', { service: 'web' }).length, 2 * 2, 'rings × instances');
  assert.equal(
    find(e, 'anycastd_instance_reported_state', { service: 'web' }).length,
    4,
    'the remote instance × up, down, drained, none',
  );
  assert.equal(
    value(e, 'anycastd_instance_reported_state', { service: 'web', instance_id: 'h2', state: 'none' }),
    0,
  );
  const vip = { service: 'dns', vip: DNS_VIP, protocol: 'udp', port: '53' };
  assert.equal(value(e, 'anycastd_dataplane_received_packets_total', vip), 0);
  assert.equal(value(e, 'anycastd_dataplane_packets_total', { ...vip, action: 'forwarded' }), 0);
  for (const reason of DROP_REASONS)
    assert.equal(value(e, 'anycastd_dataplane_dropped_packets_total', { ...vip, reason }), 0);
  assert.equal(value(e, 'anycastd_xdp_attached', { interface: 'eth1', mode: 'native' }), 0);
  assert.equal(value(e, 'anycastd_config_reloads_total', { result: 'failure' }), 0);
  assert.equal(value(e, 'anycastd_dataplane_flow_table_fill_ratio'), 0);
});

test('snapshot values and pushed events appear; a reload drops the series of a removed peer', async () => {
  const zero = Object.fromEntries(BGP_MESSAGE_TYPES.map((t) => [t, 0])) as PeerMetrics['messagesSent'];
  const peer: PeerMetrics = {
    name: 'tor1',
    state: 'established',
    establishedSince: 1_700_000_000_500,
    flaps: 2,
    messagesSent: { ...zero, open: 1, update: 5, keepalive: 7 },
    messagesReceived: { ...zero, open: 1, keepalive: 6 },
    prefixesAdvertised: 3,
    prefixesReceived: 1,
    prefixesAccepted: 1,
    updateErrors: { 'session-reset': 0, 'treat-as-withdraw': 4, 'attribute-discard': 0 },
    routesRejected: {
      'family-not-negotiated': 0,
      'nexthop-own-address': 0,
      'nexthop-not-on-link': 5,
      'nexthop-missing': 0,
    },
  };
  const cfg = testConfig();
  const m = new AnycastdMetrics({ peers: () => [peer] }, BUILD, cfg);
  m.transition('web', 'h1', 'socket-gone');
  m.checkDuration('web', 'h1', 'tcp#0', 0.003);
  m.reload('success');
  const e = parseExposition(await m.text());
  assert.equal(value(e, 'anycastd_bgp_session_up', { peer: 'tor1' }), 1);
  assert.equal(value(e, 'anycastd_bgp_session_state', { peer: 'tor1', state: 'established' }), 1);
  assert.equal(value(e, 'anycastd_bgp_session_state', { peer: 'tor1', state: 'idle' }), 0);
  assert.equal(
    value(e, 'anycastd_bgp_session_established_timestamp_seconds', { peer: 'tor1' }),
    1_700_000_000.5,
  );
  assert.equal(value(e, 'anycastd_bgp_messages_sent_total', { peer: 'tor1', type: 'update' }), 5);
  assert.equal(
    value(e, 'anycastd_bgp_update_errors_total', { peer: 'tor1', action: 'treat-as-withdraw' }),
    4,
  );
  assert.equal(value(e, 'anycastd_bgp_session_flaps_total', { peer: 'tor1' }), 2);
  assert.equal(
    value(e, 'anycastd_bgp_routes_rejected_total', { peer: 'tor1', reason: 'nexthop-not-on-link' }),
    5,
  );
  assert.equal(
    value(e, 'anycastd_health_transitions_total', {
      service: 'web',
      instance_id: 'h1',
      reason: 'socket-gone',
    }),
    1,
  );
  assert.equal(
    value(e, 'anycastd_health_check_duration_seconds_bucket', {
      service: 'web',
      instance_id: 'h1',
      check: 'tcp#0',
      le: '0.005',
    }),
    1,
  );
  assert.equal(value(e, 'anycastd_config_reloads_total', { result: 'success' }), 1);

  peer.messagesSent = { ...peer.messagesSent, update: 9 };
  const again = parseExposition(await m.text());
  assert.equal(value(again, 'anycastd_bgp_messages_sent_total', { peer: 'tor1', type: 'update' }), 9);

  m.configure({ ...cfg, peers: cfg.peers.filter((p) => p.name === 'tor1') });
  const after = parseExposition(await m.text());
  assert.equal(find(after, 'anycastd_bgp_session_up', { peer: 'tor2' }).length, 0);
  assert.equal(
    value(after, 'anycastd_health_transitions_total', {
      service: 'web',
      instance_id: 'h1',
      reason: 'socket-gone',
    }),
    1,
    'kept across a reload',
  );
});

/** A loaded test bed whose data plane the metrics read at each scrape; `web`: its TCP VIP's labels. */
function dataplaneMetrics(t: { after: (fn: () => void) => void }) {
  const bed = openTestbed();
  t.after(() => bed.close());
  const m = new AnycastdMetrics(
    { dataplane: () => readDataplaneMetrics(bed.dp, bed.vips) },
    BUILD,
    bed.config,
  );
  const web = { service: 'web', vip: WEB_VIP, protocol: 'tcp', port: '80' };
  return { bed, m, web };
}

test('data-plane counters are the per-CPU kernel values summed, read at each scrape', async (t) => {
  const { bed, m, web } = dataplaneMetrics(t);
  const frames = Array.from({ length: 40 }, (_, i) =>
    flowFrame({ family: 4, proto: 'tcp', src: CLIENT4, dst: WEB_VIP, sport: 10_000 + i, dport: 80 }),
  );
  let local = 0;
  let forwarded = 0;
  let bytes = 0;
  for (const data of frames) {
    const r = bed.dp.program.testRun({ data });
    if (r.retval === XDP_PASS) local++;
    else if (r.retval === XDP_TX) forwarded++;
    bytes += data.length;
  }
  assert.ok(local > 0 && forwarded > 0, 'both owners of the web ring were chosen');
  const e = parseExposition(await m.text());
  assert.equal(value(e, 'anycastd_dataplane_received_packets_total', web), frames.length);
  assert.equal(value(e, 'anycastd_dataplane_received_bytes_total', web), bytes);
  assert.equal(value(e, 'anycastd_dataplane_packets_total', { ...web, action: 'local' }), local);
  assert.equal(value(e, 'anycastd_dataplane_packets_total', { ...web, action: 'forwarded' }), forwarded);
  assert.equal(value(e, 'anycastd_dataplane_flow_lookups_total', { result: 'miss' }), frames.length);
  assert.equal(value(e, 'anycastd_dataplane_flow_table_entries'), frames.length);
  assert.equal(
    value(e, 'anycastd_dataplane_flow_table_fill_ratio'),
    frames.length / bed.dp.map('flows').maxEntries,
  );

  // The first flow's next packet (an ACK: a SYN never reads the flow table) is a flow-table hit.
  const ack = flowFrame({
    family: 4,
    proto: 'tcp',
    src: CLIENT4,
    dst: WEB_VIP,
    sport: 10_000,
    dport: 80,
    flags: TCP_ACK,
  });
  bed.dp.program.testRun({ data: ack });
  const e2 = parseExposition(await m.text());
  assert.equal(value(e2, 'anycastd_dataplane_received_packets_total', web), frames.length + 1);
  assert.equal(value(e2, 'anycastd_dataplane_flow_lookups_total', { result: 'hit' }), 1);

  bed.dp.resetStats(); // the kernel's counters start again: so does the series
  const e3 = parseExposition(await m.text());
  assert.equal(value(e3, 'anycastd_dataplane_received_packets_total', web), 0);
});

test('second-chance outcomes are counted per VIP, and the socket lookups behind them', async (t) => {
  const { bed, m, web } = dataplaneMetrics(t);
  const h1 = { id: 'web/h1', host4: HOST4, local: true };
  const h2 = { id: 'web/h2', host4: REMOTE4, local: false };
  const ack = (sport: number) =>
    flowFrame({ family: 4, proto: 'tcp', src: CLIENT4, dst: WEB_VIP, sport, dport: 80, flags: TCP_ACK });
  const outcome = (e: ReturnType<typeof parseExposition>, o: string) =>
    value(e, 'anycastd_dataplane_second_chance_total', { ...web, outcome: o });
  // established ring: this host alone, new ring: h2 alone — an ACK without a socket here goes to h2, once
  bed.dp.setServiceRings(0, { new: [h2], established: [h1] });
  assert.equal(bed.dp.program.testRun({ data: ack(20_000) }).retval, XDP_TX);
  // both rings (and the previous ones, by now) name only this host: nobody else can serve it
  bed.dp.setServiceRings(0, { new: [h1], established: [h1] });
  bed.dp.setServiceRings(0, { new: [h1], established: [h1] });
  assert.equal(bed.dp.program.testRun({ data: ack(20_001) }).retval, XDP_PASS);
  const e = parseExposition(await m.text());
  assert.equal(outcome(e, 'forwarded'), 1);
  assert.equal(outcome(e, 'none'), 1);
  assert.equal(outcome(e, 'socket'), 0);
  assert.equal(outcome(e, 'used'), 0);
  assert.equal(value(e, 'anycastd_dataplane_socket_lookups_total'), 2);
  assert.equal(value(e, 'anycastd_dataplane_stale_flows_total'), 0);
  assert.equal(value(e, 'anycastd_dataplane_flood_bypass_total'), 0);
  assert.equal(value(e, 'anycastd_dataplane_stale_sockets_total', web), 0);
  // a one-ring service (dns) has no second chance, but its series exist at 0
  const dns = { service: 'dns', vip: DNS_VIP, protocol: 'udp', port: '53' };
  assert.equal(value(e, 'anycastd_dataplane_second_chance_total', { ...dns, outcome: 'none' }), 0);
});

test('the HTTP endpoint serves /metrics, 404 elsewhere, 405 for other methods', async (t) => {
  const m = new AnycastdMetrics({}, BUILD, testConfig());
  const server = await MetricsServer.listen(m, '127.0.0.1:0');
  t.after(() => server.close());
  const base = `http://127.0.0.1:${server.address.port}`;
  const ok = await fetch(`${base}/metrics`);
  assert.equal(ok.status, 200);
  assert.match(ok.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  assert.equal(value(parseExposition(await ok.text()), 'anycastd_build_info', { node: 'h1' }), 1);
  assert.equal((await fetch(`${base}/`)).status, 404);
  assert.equal((await fetch(`${base}/metrics/x`)).status, 404);
  assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
});

test('XDP attachment is read from the kernel per uplink', (t) => {
  const prefix = uniquePrefix('metrics');
  t.after(() => removeNetnsByPrefix(prefix));
  const ns = createNetns(prefix);
  addVethPair(ns, 'up0', 'up1');
  const bed = openTestbed();
  t.after(() => bed.close());
  withNetns(ns.name, () => {
    bed.dp.attach(ifIndex('up0'), 'native');
    const found = xdpAttachments(['up0', 'up1', 'gone0'], bed.dp.program.id, 'native');
    assert.deepEqual(found, [
      { interface: 'up0', mode: 'native', attached: true },
      { interface: 'up1', mode: 'native', attached: false },
      { interface: 'gone0', mode: 'native', attached: false },
    ]);
    bed.dp.detach(ifIndex('up0'), 'native');
  });
});

test('the flow-table count is reused between scrapes until it is older than the interval, then counted again in the background', async (t) => {
  const bed = openTestbed();
  t.after(() => bed.close());
  const frame = (sport: number) =>
    flowFrame({ family: 4, proto: 'tcp', src: CLIENT4, dst: WEB_VIP, sport, dport: 80 });
  bed.dp.program.testRun({ data: frame(1) });
  assert.equal(flowEntries(bed.dp, 10_000, 0), 1, 'the first count is made in the scrape');
  bed.dp.program.testRun({ data: frame(2) });
  assert.equal(flowEntries(bed.dp, 10_000, 5_000), 1, 'within the interval: the last count');
  assert.equal(flowEntries(bed.dp, 10_000, 10_000), 1, 'after it: the last count, a new one started');
  await flowCountSettled(bed.dp);
  assert.equal(flowEntries(bed.dp, 10_000, 10_001), 2, 'the background count, read by the next scrape');
});
