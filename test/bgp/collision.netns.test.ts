// RFC 4271 §6.8 against a real peer: a silent TCP connection from the peer's address (opened in the
// ToR's namespace from FRR's own addresses before FRR starts, never sending a byte) must not keep FRR's
// real connections out. FRR's router id is higher than ours, so §6.8 prefers FRR's connections; the
// silent ones carry no OPEN, so nothing collides. One session is passive (the silent connection is
// taken by the FSM in Active and sits in OpenSent), one active (the silent one is held). Asserts: both
// sessions Established well within the open-wait of a held connection (COLLISION_OPEN_WAIT_MS), the
// silent connection of the passive session closed with Cease 6/5 (RFC 4486 Connection Rejected, not
// 6/7), and no Cease 6/7 sent to a silent connection. Before the fix the passive session stayed down
// for the whole open hold time (240 s): FRR's connection got Cease 6/7 every second.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitFor } from '../../lab/exec.js';
import { renderBgpd, startFrr } from '../../lab/frr.js';
import { addAddress, createNamespace, createVeth, linkUp } from '../../lab/netns.js';
import { singleHostTorPeers } from '../../lab/peers.js';
import { COLLISION_OPEN_WAIT_MS } from '../../src/bgp/session.js';
import { BgpSpeaker } from '../../src/bgp/speaker.js';
import { program } from '../helpers/programs.js';
import { labPeer, SpeakerLab, withEvents } from './speaker-lab.js';

const lab = new SpeakerLab('col');
const NS = { host: lab.ns('h'), tor: lab.ns('t') };
const HOST_AS = 65100;
const TOR_AS = 65001;
const HOST_ID = '198.51.100.11';
/** Higher than HOST_ID: §6.8 keeps the connection FRR opened. */
const TOR_ID = '203.0.113.250';
const LINK = { h4: '192.0.2.0', t4: '192.0.2.1', h6: '2001:db8:1::', t6: '2001:db8:1::1' };
const BGP_PORT = 179;
/** A BGP NOTIFICATION's type octet, after the 16-octet marker and 2-octet length. */
const NOTIFICATION_TYPE = 3;
const HEADER_LEN = 19;

/** A silent connection from `from` to our BGP port: what it received, and whether it closed. */
function silentConnection(
  from: string,
  to: string,
): { p: ChildProcess; out: Buffer[]; closed: () => boolean } {
  const p = spawn('ip', [
    'netns',
    'exec',
    NS.tor,
    ...program('tcp-hold', ['--from', from, '--to', to, '--port', String(BGP_PORT)]),
  ]);
  const out: Buffer[] = [];
  p.stdout?.on('data', (d: Buffer) => out.push(d));
  lab.onTeardown(() => p.kill());
  return { p, out, closed: () => Buffer.concat(out).includes('closed:') };
}

/** [code, subcode] of the NOTIFICATIONs in the bytes a silent connection received. */
function notifications(out: Buffer[]): string[] {
  const all = Buffer.concat(out);
  const found: string[] = [];
  for (let i = all.indexOf(Buffer.alloc(16, 0xff)); i >= 0; i = all.indexOf(Buffer.alloc(16, 0xff), i + 1)) {
    if (all[i + 18] === NOTIFICATION_TYPE && i + HEADER_LEN + 1 < all.length)
      found.push(`${all[i + HEADER_LEN]}/${all[i + HEADER_LEN + 1]}`);
  }
  return found;
}

test('a silent connection from the peer address does not keep FRR (higher router id) out', {
  timeout: 60_000,
}, async () => {
  createNamespace(NS.host);
  createNamespace(NS.tor);
  createVeth(NS.host, 'to-tor', NS.tor, 'to-host');
  addAddress(NS.host, 'to-tor', `${LINK.h4}/31`);
  addAddress(NS.host, 'to-tor', `${LINK.h6}/127`);
  addAddress(NS.tor, 'to-host', `${LINK.t4}/31`);
  addAddress(NS.tor, 'to-host', `${LINK.t6}/127`);
  linkUp(NS.host, 'to-tor');
  linkUp(NS.tor, 'to-host');
  const events: string[] = [];
  lab.speaker = await BgpSpeaker.start(
    {
      node: { id: 'h1', host: { ipv4: HOST_ID, ipv6: null }, asn: HOST_AS, routerId: HOST_ID, uplinks: [] },
      peers: [labPeer('tor_4', LINK.t4, TOR_AS, { passive: true }), labPeer('tor_6', LINK.t6, TOR_AS)],
    },
    {
      netns: NS.host,
      retryBaseMs: 200,
      retryMaxMs: 1000,
      log: (e, f) => events.push(`${e} ${JSON.stringify(f)}`),
    },
  );
  const sp = lab.speaker;
  await withEvents(events, async () => {
    await waitFor(
      'listening on both link addresses',
      async () => (sp.listening().length >= 2 ? true : undefined),
      10_000,
      20,
    );
    const silent4 = silentConnection(LINK.t4, LINK.h4);
    const silent6 = silentConnection(LINK.t6, LINK.h6);
    await waitFor(
      'silent connections open',
      async () =>
        Buffer.concat([...silent4.out, ...silent6.out])
          .toString()
          .split('connected').length === 3
          ? true
          : undefined,
      10_000,
      20,
    );
    const t0 = Date.now();
    await startFrr(
      lab.procs,
      NS.tor,
      join(lab.dir, 'tor'),
      'tor',
      renderBgpd('tor', TOR_ID, singleHostTorPeers(LINK, TOR_AS, HOST_AS)),
    );
    await waitFor(
      'both sessions Established',
      async () => (sp.peers().every((p) => p.state === 'established') ? true : undefined),
      COLLISION_OPEN_WAIT_MS,
      20,
    );
    const upMs = Date.now() - t0;
    console.log(
      `# Established ${upMs} ms after FRR started, with a silent connection from each peer address`,
    );
    assert.ok(upMs < COLLISION_OPEN_WAIT_MS / 2, `up in ${upMs} ms`);
    // The passive session's silent connection sat in OpenSent and was replaced: Cease 6/5, not 6/7.
    await waitFor(
      'the stalled connection closed',
      async () => (silent4.closed() ? true : undefined),
      5_000,
      20,
    );
    assert.deepEqual(notifications(silent4.out), ['6/5']);
    for (const s of [silent4, silent6])
      assert.ok(!notifications(s.out).includes('6/7'), 'no collision with a silent connection');
  });
});
