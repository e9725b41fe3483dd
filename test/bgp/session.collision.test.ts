// A second connection from the peer, over loopback against raw TCP clients standing in for the peer
// (RFC 4271 §6.8, RFC 4486, RFC 6608, RFC 4724 §4.2): a silent connection that the FSM took in Active
// does not keep out a connection that sends an OPEN, whichever BGP identifier is higher (the silent one
// gets Cease 6/5); a KEEPALIVE as the first message of a held connection gets FSM Error 5/0; a storm
// beyond MAX_HELD_CONNECTIONS gets Cease 6/5 at once and the session stays up; a held connection silent
// for the whole open wait gets Hold Timer Expired 4/0; two OPENs of the peer collide for real (6/7); a
// peer with graceful restart that opens anew while Established replaces the old session.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, test } from 'node:test';
import type { Capability } from '../../src/bgp/codec/capabilities.js';
import { Framer } from '../../src/bgp/codec/framer.js';
import { encodeKeepalive } from '../../src/bgp/codec/keepalive.js';
import { type BgpMessage, decodeMessage } from '../../src/bgp/codec/message.js';
import { encodeOpen } from '../../src/bgp/codec/open.js';
import { BgpSession, COLLISION_OPEN_WAIT_MS, MAX_HELD_CONNECTIONS } from '../../src/bgp/session.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { waitFor } from '../helpers/wait-for.js';

const servers: net.Server[] = [];
const sockets: net.Socket[] = [];
after(() => {
  for (const s of sockets) s.destroy();
  for (const s of servers) s.close();
});

const LOCAL_ID = '192.0.2.10';
const PEER_AS = 65001;

/** A passive session behind a loopback listener; every accepted socket goes to session.accept. */
async function passiveSession(
  opts: { clock?: FakeClock } = {},
): Promise<{ session: BgpSession; port: number }> {
  const session = new BgpSession({
    localAs: 65010,
    localId: LOCAL_ID,
    peerAs: PEER_AS,
    peerAddress: '127.0.0.1',
    passive: true,
    holdTime: 9,
    retryBaseMs: 100,
    retryMaxMs: 400,
    clock: opts.clock,
  });
  const server = net.createServer((s) => session.accept(s));
  servers.push(server);
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
  session.start();
  return { session, port };
}

/** A raw connection from the "peer": what it received, and ways to speak. */
interface Raw {
  sock: net.Socket;
  got: BgpMessage[];
  closed: boolean;
  open(bgpId: string, caps?: Capability[]): void;
  keepalive(): void;
  notes(): string[];
}

async function raw(port: number): Promise<Raw> {
  const sock = net.connect({ host: '127.0.0.1', port });
  sockets.push(sock);
  const r: Raw = {
    sock,
    got: [],
    closed: false,
    open: (bgpId, caps = []) =>
      sock.write(
        encodeOpen({
          myAs: PEER_AS,
          holdTime: 9,
          bgpId,
          capabilities: [{ kind: 'four-octet-as', asn: PEER_AS }, ...caps],
        }),
      ),
    keepalive: () => sock.write(encodeKeepalive()),
    notes: () => r.got.flatMap((m) => (m.type === 'notification' ? [`${m.code}/${m.subcode}`] : [])),
  };
  const f = new Framer();
  sock.on('data', (chunk) => {
    for (const m of f.push(chunk)) r.got.push(decodeMessage(m, { as4: true, ebgp: true }));
  });
  sock.on('error', () => {});
  sock.on('close', () => {
    r.closed = true;
  });
  await new Promise((resolve) => sock.once('connect', resolve));
  return r;
}

/** Bring `r` to Established on `session` (its OPEN, then the KEEPALIVE after ours). */
async function establish(session: BgpSession, r: Raw, bgpId: string, caps?: Capability[]): Promise<void> {
  r.open(bgpId, caps);
  await waitFor(() => r.got.some((m) => m.type === 'keepalive'), { what: 'our KEEPALIVE' });
  r.keepalive();
  await waitFor(() => session.state === 'established', { what: 'Established' });
}

for (const peerId of ['192.0.2.200', '192.0.2.1']) {
  test(`a silent connection in OpenSent does not keep out the peer's OPEN (peer id ${peerId})`, async () => {
    const { session, port } = await passiveSession();
    const silent = await raw(port);
    await waitFor(() => session.state === 'open-sent', { what: 'the silent one taken in Active' });
    const real = await raw(port);
    await establish(session, real, peerId);
    await waitFor(() => silent.closed, { what: 'the silent one closed' });
    assert.deepEqual(silent.notes(), ['6/5'], 'Connection Rejected, not a collision');
    assert.deepEqual(real.notes(), []);
    session.stop();
  });
}

test('a KEEPALIVE as the first message of a held connection: FSM Error 5/0, not Cease 6/7', async () => {
  const { session, port } = await passiveSession();
  const first = await raw(port); // taken in Active: the session is in OpenSent
  await waitFor(() => session.state === 'open-sent');
  const second = await raw(port);
  second.keepalive();
  await waitFor(() => second.closed, { what: 'closed' });
  assert.deepEqual(second.notes(), ['5/0']);
  assert.equal(session.state, 'open-sent', 'the session is untouched');
  first.sock.destroy();
  session.stop();
});

test(`a storm beyond ${MAX_HELD_CONNECTIONS} held connections: Cease 6/5 at once, the session stays up`, async () => {
  const { session, port } = await passiveSession();
  const real = await raw(port);
  await establish(session, real, '192.0.2.200');
  const storm = await Promise.all(Array.from({ length: MAX_HELD_CONNECTIONS + 3 }, () => raw(port)));
  await waitFor(() => storm.filter((s) => s.closed).length === 3, { what: 'the extra three refused' });
  assert.deepEqual(
    storm.filter((s) => s.closed).map((s) => s.notes()),
    [['6/5'], ['6/5'], ['6/5']],
  );
  // A held one that sends an OPEN while Established (no graceful restart): a real collision, 6/7.
  const held = storm.find((s) => !s.closed)!;
  held.open('192.0.2.200');
  await waitFor(() => held.closed);
  assert.deepEqual(held.notes(), ['6/7']);
  assert.equal(session.state, 'established');
  session.stop();
});

test('a held connection silent for the whole open wait: Hold Timer Expired 4/0', async () => {
  const clock = new FakeClock();
  const { session, port } = await passiveSession({ clock });
  const first = await raw(port);
  await waitFor(() => session.state === 'open-sent');
  const silent = await raw(port);
  await waitFor(() => clock.pending >= 2, { what: 'the open-wait timer armed' });
  await clock.advance(COLLISION_OPEN_WAIT_MS);
  await waitFor(() => silent.closed, { what: 'closed' });
  assert.deepEqual(silent.notes(), ['4/0']);
  first.sock.destroy();
  session.stop();
});

test('graceful restart (RFC 4724 §4.2): an Established peer opening anew replaces the old session', async () => {
  const { session, port } = await passiveSession();
  const gr: Capability[] = [
    { kind: 'graceful-restart', restarting: false, notification: false, time: 120, families: [] },
  ];
  const before = await raw(port);
  await establish(session, before, '192.0.2.200', gr);
  const after = await raw(port);
  after.open('192.0.2.200', [{ ...gr[0]!, restarting: true } as Capability]);
  await waitFor(() => before.closed, { what: 'the old connection closed' });
  assert.deepEqual(before.notes(), [], 'no NOTIFICATION on the old session');
  await waitFor(() => after.got.some((m) => m.type === 'keepalive'));
  after.keepalive();
  await waitFor(() => session.state === 'established');
  assert.deepEqual(after.notes(), []);
  session.stop();
});
