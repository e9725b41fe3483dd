// `show peer NAME` and `peer reset NAME [--hard]` against FRR: the real speaker (sockets in the host
// namespace) served by startOps. The detail shows the session Established with the families, 4-octet
// AS and route refresh negotiated and FRR's OPEN capabilities; a soft reset reaches FRR as a
// ROUTE-REFRESH and leaves the session up (no flap, no dropped connection at FRR); a hard reset ends it
// with Cease 6/4 (FRR counts the dropped connection), and it comes back by itself.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitFor } from '../../lab/exec.js';
import { vtyshJson } from '../../lab/frr.js';
import { Agent } from '../../src/agent/agent.js';
import { silentSink } from '../../src/agent/log.js';
import { NoSteering } from '../../src/agent/no-steering.js';
import { callOnce } from '../../src/api/client.js';
import { BgpSpeaker } from '../../src/bgp/speaker.js';
import { parseConfig } from '../../src/config/load.js';
import { startOps } from '../../src/daemon/ops.js';
import { FakeHost, fakeHealthFactory, Recorder } from '../agent/fakes.js';
import { SpeakerLab } from '../bgp/speaker-lab.js';
import { cli } from '../cli/run-cli.js';
import { LINK, NODE_AND_PEER_YAML, startTorLab, TOR_AS, torLabNames } from './tor-lab.js';

const lab = new SpeakerLab('peer');
const NS = torLabNames(lab);

interface FrrNeighbor {
  connectionsDropped?: number;
  messageStats?: { routeRefreshRecv?: number };
}

async function frrNeighbor(): Promise<FrrNeighbor> {
  const j = await vtyshJson<Record<string, FrrNeighbor>>(NS.frrDir, `show bgp neighbors ${LINK.h4} json`);
  return j[LINK.h4] ?? {};
}

test('show peer and peer reset (soft, hard) against FRR', { timeout: 120_000 }, async () => {
  await startTorLab(lab);
  const config = parseConfig(
    `${NODE_AND_PEER_YAML}services: []\ndataplane: { mode: none }\n`,
    join(lab.dir, 'anycastd.yaml'),
  );
  const speaker = await BgpSpeaker.start(config, { netns: NS.host, retryBaseMs: 200, retryMaxMs: 1000 });
  lab.speaker = speaker;
  const agent = new Agent(config, {
    announcer: speaker,
    host: new FakeHost(new Recorder()),
    steering: new NoSteering(),
    health: fakeHealthFactory().factory,
    sink: silentSink,
    flushTimeoutMs: 1000,
  });
  mkdirSync(lab.dir, { recursive: true });
  const socket = join(lab.dir, 'anycastd.sock');
  const ops = await startOps(
    {
      agent,
      peers: () => speaker.peers(),
      peerDetail: (n) => speaker.peerDetail(n),
      resetPeer: (n, hard) => speaker.resetPeer(n, hard),
      version: '0.1.0',
      startedAt: Date.now(),
    },
    { metricsListen: '127.0.0.1:0', socket },
  );
  lab.onTeardown(() => void ops.close());
  agent.start();
  const established = () =>
    waitFor(
      'tor1 established',
      async () => {
        const d = await callOnce(socket, 'peer', { name: 'tor1' });
        return d.peer.state === 'established' && d.capabilitiesNegotiated.length > 0 ? d : undefined;
      },
      30_000,
      100,
    );
  const d = await established();
  assert.deepEqual(d.capabilitiesNegotiated.slice(0, 3), ['ipv4-unicast', 'four-octet-as', 'route-refresh']);
  assert.ok(d.capabilitiesOffered.includes(`four-octet-as ${TOR_AS}`), d.capabilitiesOffered.join());
  assert.ok(d.capabilitiesOffered.includes('route-refresh'));
  assert.equal(d.peerId, '192.0.2.101');
  assert.ok(d.holdTime > 0 && d.keepalive === Math.floor(d.holdTime / 3), `${d.holdTime}/${d.keepalive}`);
  assert.ok(d.messagesIn > 0 && d.messagesOut > 0);
  const flaps = d.peer.flaps;

  const [text, json, missing] = await Promise.all([
    cli(['show', 'peer', 'tor1', '--socket', socket]),
    cli(['show', 'peer', 'tor1', '--json', '--socket', socket]),
    cli(['show', 'peer', 'nope', '--socket', socket]),
  ]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^state +established for \d+s, \d+ flaps$/m);
  assert.match(text.stdout, /^negotiated +ipv4-unicast, four-octet-as, route-refresh/m);
  assert.equal(JSON.parse(json.stdout).peer.name, 'tor1');
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no peer named nope/);

  // soft: FRR receives a ROUTE-REFRESH, nothing drops
  const before = await frrNeighbor();
  const soft = await cli(['peer', 'reset', 'tor1', '--socket', socket]);
  assert.equal(soft.code, 0, soft.stderr);
  assert.match(soft.stdout, /route refresh asked/);
  await waitFor(
    'FRR got the ROUTE-REFRESH',
    async () =>
      ((await frrNeighbor()).messageStats?.routeRefreshRecv ?? 0) >
      (before.messageStats?.routeRefreshRecv ?? 0)
        ? true
        : undefined,
    10_000,
    100,
  );
  assert.equal((await frrNeighbor()).connectionsDropped, before.connectionsDropped, 'no drop at FRR');
  assert.equal((await callOnce(socket, 'peer', { name: 'tor1' })).peer.flaps, flaps, 'no flap');

  // hard: Cease 6/4 out, FRR drops the connection, the session comes back
  const hard = await callOnce(socket, 'peerReset', { name: 'tor1', hard: true });
  assert.match(hard.message, /session reset/);
  await waitFor(
    'FRR dropped the connection',
    async () =>
      ((await frrNeighbor()).connectionsDropped ?? 0) > (before.connectionsDropped ?? 0) ? true : undefined,
    10_000,
    100,
  );
  const after = await established();
  assert.equal(after.peer.flaps, flaps + 1);
  assert.equal(after.lastNotificationOut, '6/4');
});
