// The ops surfaces of an agent in a lab namespace, end to end: the real BGP speaker (its sockets in the
// host namespace) with an FRR ToR, the real Agent and its Steering over a real Dataplane, fake lo and
// health ports (the agent's own netns test runs those for real), and startOps. A real Prometheus scrapes
// /metrics: the session up, the VIP announced (and at FRR), packet counters that rise as packets run
// through the program; a drain through the control socket withdraws the VIP at FRR and in the metrics;
// `anycastd show peers` (a process) shows the session Established.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { waitFor } from '../../lab/exec.js';
import { vtyshJson } from '../../lab/frr.js';
import { Agent } from '../../src/agent/agent.js';
import { silentSink } from '../../src/agent/log.js';
import { Steering } from '../../src/agent/steering.js';
import { callOnce } from '../../src/api/client.js';
import { BgpSpeaker } from '../../src/bgp/speaker.js';
import { parseConfig } from '../../src/config/load.js';
import { startOps } from '../../src/daemon/ops.js';
import { projectRoot } from '../../src/native/addon.js';
import { Dataplane } from '../../src/steer/dataplane.js';
import { FakeHost, fakeHealthFactory, Recorder } from '../agent/fakes.js';
import { SpeakerLab } from '../bgp/speaker-lab.js';
import { Prometheus } from '../metrics/prometheus.js';
import { flowFrame } from '../steer/packets.js';
import { HOST4, LINK, NODE_AND_PEER_YAML, startTorLab, TOR_AS, torLabNames } from './tor-lab.js';

const lab = new SpeakerLab('ops');
const NS = torLabNames(lab);
const VIP = '203.0.113.10';
const CLIENT = '198.51.100.99';

const CONFIG = `${NODE_AND_PEER_YAML}services:
  - name: web
    vips: [${VIP}]
    ports: [{ protocol: tcp, port: 80 }]
    instances:
      - { id: h1, host: { ipv4: ${HOST4} } }
      - { id: h2, host: { ipv4: 198.51.100.12 } }
    checks: [{ type: tcp, port: 80, interval: 1s }]
    drain_time: 50ms
    drain_file: /nonexistent/acd-ops-test/web
`;

async function frrHas(prefix: string): Promise<boolean> {
  const j = await vtyshJson<{ routes?: Record<string, unknown> }>(NS.frrDir, 'show bgp ipv4 unicast json');
  return prefix in (j.routes ?? {});
}

test('an agent in a lab namespace: Prometheus sees the session, the VIP and rising packet counters; the CLI and a drain work', {
  timeout: 90_000,
}, async () => {
  await startTorLab(lab);
  const config = parseConfig(CONFIG, join(lab.dir, 'anycastd.yaml'));
  const speaker = await BgpSpeaker.start(config, { netns: NS.host, retryBaseMs: 200, retryMaxMs: 1000 });
  lab.speaker = speaker;
  const dp = Dataplane.open({ pin: false, host4: HOST4 });
  lab.onTeardown(() => dp.close());
  const steering = new Steering(dp);
  const health = fakeHealthFactory();
  const agent = new Agent(config, {
    announcer: speaker,
    host: new FakeHost(new Recorder()),
    steering,
    health: health.factory,
    sink: silentSink,
    flushTimeoutMs: 1000,
  });
  mkdirSync(lab.dir, { recursive: true });
  const socket = join(lab.dir, 'anycastd.sock');
  const ops = await startOps(
    { agent, peers: () => speaker.peers(), steering, version: '0.1.0', startedAt: Date.now() },
    { metricsListen: '127.0.0.1:0', socket },
  );
  const prom = await Prometheus.start(lab.dir, `127.0.0.1:${ops.metricsServer.address.port}`);
  lab.onTeardown(() => {
    void prom.stop();
    void ops.close();
  });

  agent.start();
  const web = health.made.get('web')!;
  web.set('h1', 'up', 'rise-reached');
  web.set('h2', 'up', 'rise-reached');
  await agent.idle();

  // the session and the VIP, seen by Prometheus and at FRR
  await prom.until('anycastd_bgp_session_up{peer="tor1"}', (v) => v[0]?.value[1] === '1', 30_000);
  await prom.until(`anycastd_vip_announced{service="web",vip="${VIP}"}`, (v) => v[0]?.value[1] === '1');
  await waitFor('the VIP at FRR', async () => ((await frrHas(`${VIP}/32`)) ? true : undefined), 10_000, 50);
  assert.ok(
    Number(await prom.value('anycastd_bgp_prefixes_advertised{peer="tor1"}')) >= 2,
    'host /32 and VIP',
  );
  assert.equal(await prom.value('anycastd_bgp_prefixes_accepted{peer="tor1"}'), '1', 'the default route');
  assert.ok(
    Number(await prom.value('anycastd_bgp_session_established_timestamp_seconds{peer="tor1"}')) > 1e9,
  );
  const share = Number(
    await prom.value('anycastd_ring_share_ratio{service="web",ring="new",instance_id="h1"}'),
  );
  assert.ok(Math.abs(share - 0.5) < 0.001, `two equal instances share the ring: ${share}`);

  // packets through the agent's own program: the counters rise between scrapes
  const sel = `sum(anycastd_dataplane_received_packets_total{vip="${VIP}"})`;
  await prom.until(sel, (v) => v[0]?.value[1] === '0');
  for (let i = 0; i < 40; i++)
    dp.program.testRun({
      data: flowFrame({ family: 4, proto: 'tcp', src: CLIENT, dst: VIP, sport: 5000 + i, dport: 80 }),
    });
  await prom.until(sel, (v) => v[0]?.value[1] === '40');
  assert.equal(
    await prom.value(`sum(anycastd_dataplane_packets_total{vip="${VIP}",action=~"local|forwarded"})`),
    '40',
  );

  // the CLI as a process against the agent's socket
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'show', 'peers', '--socket', socket],
    { cwd: projectRoot() },
  );
  // both sides connect at start: a collision (RFC 4271 §6.8) may close one of the two connections with
  // Cease 6/7, which the peer's last error shows; the session itself never failed (0 flaps)
  assert.match(
    stdout,
    new RegExp(
      `^tor1 +${LINK.t4.replaceAll('.', '\\.')} +${TOR_AS} +established +\\d+s +0 +[23] +1 +1 +- +- +- +(-|6/7)$`,
      'm',
    ),
  );

  // a drain through the socket: withdrawn at FRR, announced 0 in Prometheus, a transition counted
  assert.equal((await callOnce(socket, 'drain', { service: 'web' })).changed, true);
  await waitFor(
    'the VIP gone from FRR',
    async () => ((await frrHas(`${VIP}/32`)) ? undefined : true),
    10_000,
    50,
  );
  await prom.until(`anycastd_vip_announced{vip="${VIP}"}`, (v) => v[0]?.value[1] === '0');
  assert.equal(
    await prom.value('anycastd_health_transitions_total{service="web",instance_id="h1",reason="drained"}'),
    '1',
  );
  await agent.stop(2000);
});
