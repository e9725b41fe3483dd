// Two BgpSessions over loopback TCP (no daemons): active and passive open to Established, an UPDATE
// across, shutdown communication on stop, a collision when both open at once (the connection opened
// by the higher BGP identifier survives on both sides, with a Cease 6/7 sent), and errors from a raw
// socket: a treat-as-withdraw UPDATE keeps the session up and is counted, a duplicate MP_REACH_NLRI
// resets it with NOTIFICATION 3/1 and is counted as a session-reset UPDATE error, a bad marker with
// NOTIFICATION 1/1 (no UPDATE error); a handler that throws ends the session with a Cease (6/0) and an
// onError report instead of ending the process.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, test } from 'node:test';
import { Framer } from '../../src/bgp/codec/framer.js';
import { encodeKeepalive } from '../../src/bgp/codec/keepalive.js';
import { decodeMessage } from '../../src/bgp/codec/message.js';
import type { NotificationMessage } from '../../src/bgp/codec/notification.js';
import { shutdownMessage } from '../../src/bgp/codec/notification.js';
import { encodeOpen } from '../../src/bgp/codec/open.js';
import type { DecodedUpdate } from '../../src/bgp/codec/update.js';
import { BgpSession, type SessionHandlers, type SessionOptions } from '../../src/bgp/session.js';
import { waitFor } from '../helpers/wait-for.js';
import { BASE_ATTRS, NLRI_V4, rawUpdate } from './codec/vectors.js';

const servers: net.Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

function listen(host: string, onSocket: (s: net.Socket) => void): Promise<number> {
  const server = net.createServer(onSocket);
  servers.push(server);
  return new Promise((resolve) =>
    server.listen(0, host, () => resolve((server.address() as net.AddressInfo).port)),
  );
}

const BASE = { holdTime: 9, retryBaseMs: 100, retryMaxMs: 400 };
/** ConnectRetry of a test that counts messages on one connection: far above any connect's time. */
const ONE_CONNECTION_RETRY_MS = 30_000;

test('active and passive open reach Established; UPDATE across; stop sends a shutdown communication', async (t) => {
  const updates: DecodedUpdate[] = [];
  const notes: NotificationMessage[] = [];
  const b = new BgpSession(
    { ...BASE, localAs: 65002, localId: '192.0.2.2', peerAs: 65001, peerAddress: '127.0.0.1', passive: true },
    { onUpdate: (u) => updates.push(u), onNotification: (d, n) => d === 'received' && notes.push(n) },
  );
  const port = await listen('127.0.0.2', (s) => b.accept(s));
  b.start();
  const a = new BgpSession({
    ...BASE,
    // one connection and one OPEN each way: no ConnectRetry expiry while a loaded box (an event loop
    // stalled past BASE's 100 ms) completes the first connect, which would open a second one
    retryBaseMs: ONE_CONNECTION_RETRY_MS,
    retryMaxMs: ONE_CONNECTION_RETRY_MS,
    localAs: 65001,
    localId: '192.0.2.1',
    peerAs: 65002,
    peerAddress: '127.0.0.2',
    port,
  });
  t.after(() => {
    a.stop();
    b.stop();
  }); // a failed assertion must not leave their timers holding the process open
  a.start();
  await waitFor(() => a.state === 'established' && b.state === 'established');
  assert.equal(a.negotiated?.holdTime, 9);
  assert.equal(a.negotiated?.as4, true);
  assert.deepEqual(a.families, [
    { afi: 1, safi: 1 },
    { afi: 2, safi: 1 },
  ]);
  assert.ok(
    a.send({
      attributes: { origin: 0, asPath: [{ type: 'sequence', asns: [65001] }], nextHop: '192.0.2.1' },
      nlri: [{ afi: 1, addr: '203.0.113.7', len: 32 }],
    }),
  );
  await waitFor(() => updates.length === 1);
  assert.deepEqual(updates[0]!.nlri, [{ afi: 1, addr: '203.0.113.7', len: 32 }]);
  // messages by type: one OPEN each way, KEEPALIVEs of the handshake, the one UPDATE
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const) {
    assert.equal(x.counters.sentByType.open, 1);
    assert.equal(x.counters.receivedByType.open, 1);
    assert.ok(x.counters.sentByType.keepalive >= 1);
    assert.ok(y.counters.receivedByType.keepalive >= 1);
  }
  assert.deepEqual([a.counters.sentByType.update, b.counters.receivedByType.update], [1, 1]);
  a.stop('maintenance');
  await waitFor(() => notes.length === 1 && b.state !== 'established');
  assert.deepEqual([a.counters.sentByType.notification, b.counters.receivedByType.notification], [1, 1]);
  assert.deepEqual([notes[0]!.code, notes[0]!.subcode], [6, 2]);
  assert.equal(shutdownMessage(notes[0]!), 'maintenance');
  assert.equal(a.state, 'idle');
  b.stop();
});

test('connection collision: both sides connect, one connection survives on both', async () => {
  let a!: BgpSession;
  let b!: BgpSession;
  const portA = await listen('127.0.0.1', (s) => a.accept(s));
  const portB = await listen('127.0.0.2', (s) => b.accept(s));
  // Both peers' connect() waits until both have sent SYNs, so that both connections exist.
  let gate!: () => void;
  const bothStarted = new Promise<void>((r) => {
    gate = r;
  });
  let waiting = 0;
  const gated = (host: string, port: number) => async (_o: SessionOptions) => {
    if (++waiting === 2) gate();
    await bothStarted;
    return await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host, port }, () => resolve(s));
      s.once('error', reject);
    });
  };
  const ceases: string[] = [];
  const ceaseLog = (who: string) => (d: 'sent' | 'received', n: NotificationMessage) => {
    if (d === 'sent' && n.code === 6 && n.subcode === 7) ceases.push(who);
  };
  a = new BgpSession(
    {
      ...BASE,
      localAs: 65001,
      localId: '192.0.2.1',
      peerAs: 65002,
      peerAddress: '127.0.0.2',
      connect: gated('127.0.0.2', portB),
    },
    { onNotification: ceaseLog('a') },
  );
  b = new BgpSession(
    {
      ...BASE,
      localAs: 65002,
      localId: '192.0.2.2',
      peerAs: 65001,
      peerAddress: '127.0.0.1',
      connect: gated('127.0.0.1', portA),
    },
    { onNotification: ceaseLog('b') },
  );
  a.start();
  b.start();
  await waitFor(() => a.state === 'established' && b.state === 'established');
  // §6.8: B has the higher identifier, so the connection B opened stays: outbound at B, inbound at A.
  const direction = (x: BgpSession) => (x as unknown as { conn: { direction: string } }).conn.direction;
  assert.equal(direction(a), 'inbound');
  assert.equal(direction(b), 'outbound');
  assert.ok(ceases.length >= 1, 'a Cease / Connection Collision Resolution was sent');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(a.state, 'established');
  assert.equal(b.state, 'established');
  assert.equal(direction(a), 'inbound');
  a.stop();
  b.stop();
});

/** A raw peer (AS 65001, the first AS of the test vectors): completes the OPEN exchange by hand, then lets the test write any bytes. */
async function rawPeer(handlers: SessionHandlers = {}): Promise<{
  session: BgpSession;
  sock: net.Socket;
  received: () => ReturnType<typeof decodeMessage>[];
}> {
  const got: ReturnType<typeof decodeMessage>[] = [];
  let sock!: net.Socket;
  const port = await listen('127.0.0.3', (s) => {
    sock = s;
    const f = new Framer();
    s.on('data', (chunk) => {
      for (const m of f.push(chunk)) {
        const msg = decodeMessage(m, { as4: true, ebgp: true });
        got.push(msg);
        if (msg.type === 'open') {
          s.write(
            encodeOpen({
              myAs: 65001,
              holdTime: 9,
              bgpId: '192.0.2.3',
              capabilities: [
                { kind: 'four-octet-as', asn: 65001 },
                { kind: 'multiprotocol', afi: 2, safi: 1 },
              ],
            }),
          );
          s.write(encodeKeepalive());
        }
      }
    });
    s.on('error', () => {});
  });
  const session = new BgpSession(
    {
      ...BASE,
      localAs: 65003,
      localId: '192.0.2.1',
      peerAs: 65001,
      peerAddress: '127.0.0.3',
      port,
      autoRestart: false,
    },
    handlers,
  );
  session.start();
  await waitFor(() => session.state === 'established');
  return { session, sock, received: () => got };
}

test('RFC 7606 over the wire: treat-as-withdraw keeps the session up and is counted', async () => {
  const { session, sock } = await rawPeer();
  sock.write(rawUpdate({ attrs: `40 01 01 05 ${BASE_ATTRS.slice(12)}`, nlri: NLRI_V4 })); // ORIGIN 5
  sock.write(rawUpdate({ attrs: `${BASE_ATTRS} 40 06 01 00`, nlri: NLRI_V4 })); // ATOMIC_AGGREGATE length 1
  await waitFor(() => session.counters.updatesIn === 2);
  assert.equal(session.state, 'established');
  assert.deepEqual(Object.fromEntries(session.counters.rfc7606), {
    'treat-as-withdraw:origin-bad-value': 1,
    'attribute-discard:atomic-aggregate-bad-length': 1,
  });
  session.stop();
});

test('RFC 7606 over the wire: a duplicate MP_REACH_NLRI resets the session with NOTIFICATION 3/1', async () => {
  const { session, sock, received } = await rawPeer();
  const mp = '80 0e 26 0002 01 10 20010db8000000000000000000000001 00 80 20010db8000000000000000000000007';
  sock.write(rawUpdate({ attrs: `${mp} ${mp} 40 01 01 00 40 02 00`, nlri: '' }));
  await waitFor(() => session.state === 'idle');
  await waitFor(() => received().some((m) => m.type === 'notification'));
  const n = received().find((m) => m.type === 'notification');
  assert.ok(n && n.type === 'notification');
  assert.deepEqual([n.code, n.subcode], [3, 1]);
  // counted as an UPDATE error whose action was a session reset (anycastd_bgp_update_errors_total)
  assert.deepEqual(Object.fromEntries(session.counters.rfc7606), {
    'session-reset:duplicate-mp-reach-nlri': 1,
  });
});

test('a bad marker on the wire: NOTIFICATION 1/1 (Connection Not Synchronized), session down', async () => {
  const { session, sock, received } = await rawPeer();
  const keepalive = encodeKeepalive();
  keepalive[0] = 0;
  sock.write(keepalive);
  await waitFor(() => session.state === 'idle');
  await waitFor(() => received().some((m) => m.type === 'notification'));
  const n = received().find((m) => m.type === 'notification');
  assert.ok(n && n.type === 'notification');
  assert.deepEqual([n.code, n.subcode], [1, 1]);
  assert.deepEqual(Object.fromEntries(session.counters.rfc7606), {}, 'a header error is no UPDATE error');
});

test('a handler that throws: the session ends with a Cease and reports it, the process goes on', async () => {
  const errors: string[] = [];
  const { session, sock, received } = await rawPeer({
    onUpdate: () => {
      throw new TypeError('a bug in a handler');
    },
    onError: (where, err) => errors.push(`${where}: ${(err as Error).message}`),
  });
  sock.write(rawUpdate({ attrs: BASE_ATTRS, nlri: NLRI_V4 }));
  await waitFor(() => session.state === 'idle');
  await waitFor(() => received().some((m) => m.type === 'notification'));
  const n = received().find((m) => m.type === 'notification');
  assert.ok(n && n.type === 'notification');
  assert.deepEqual([n.code, n.subcode], [6, 0]);
  assert.deepEqual(errors, ['receive: a bug in a handler']);
  assert.equal(session.counters.handlerErrors, 1);
});
