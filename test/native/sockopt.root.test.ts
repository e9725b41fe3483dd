// TCP MD5 (RFC 2385) and GTSM (RFC 5082) on real connections over loopback inside a namespace
// this test creates: the right key connects and carries data, a wrong or missing key never
// completes the handshake; a listener requiring TTL 255 refuses a client sending TTL 64.
import assert from 'node:assert/strict';
import type net from 'node:net';
import { after, before, test } from 'node:test';
import { createNetns, type Netns, removeNetnsByPrefix, uniquePrefix } from '../../lab/netns.js';
import { SystemError } from '../../src/errors.js';
import { connectTcp, listenTcp, MAX_TTL, type TcpListener, TcpSocketFd } from '../../src/native/index.js';
import type { IpFamily } from '../../src/netlink/ip.js';

const prefix = uniquePrefix('native-sock');
/** Long enough for a handshake on loopback, short enough that refusals keep the test fast. */
const REFUSED_AFTER_MS = 300;
const KEY = 'anycastd-test-key';
const LOOPBACK: Record<IpFamily, string> = { 4: '127.0.0.1', 6: '::1' };
const GREETING = 'hello over tcp';
let ns: Netns;
const listeners: TcpListener[] = [];

before(() => {
  removeNetnsByPrefix(prefix);
  ns = createNetns(prefix);
});

after(async () => {
  for (const l of listeners) await new Promise((resolve) => l.server.close(resolve));
  removeNetnsByPrefix(prefix);
});

async function listen(family: IpFamily, opts: { md5?: boolean; minTtl?: number }): Promise<TcpListener> {
  const l = await listenTcp(
    {
      family,
      netns: ns.name,
      port: 0,
      localAddress: LOOPBACK[family],
      ...(opts.md5 ? { md5: [{ address: LOOPBACK[family], key: KEY }] } : {}),
      ...(opts.minTtl ? { minTtl: opts.minTtl } : {}),
    },
    (socket) => socket.end(GREETING),
  );
  listeners.push(l);
  return l;
}

/** Connects and reads the greeting; rejects with the connect error. */
async function exchange(
  family: IpFamily,
  port: number,
  opts: { key?: string; ttl?: number },
): Promise<string> {
  const socket: net.Socket = await connectTcp({
    family,
    netns: ns.name,
    address: LOOPBACK[family],
    port,
    timeoutMs: REFUSED_AFTER_MS,
    ...(opts.key ? { md5: [{ address: LOOPBACK[family], key: opts.key }] } : {}),
    ...(opts.ttl ? { ttl: opts.ttl } : {}),
  });
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

function isTimeout(err: unknown): boolean {
  return err instanceof SystemError && err.code === 'ETIMEDOUT' && /connect to/.test(err.attempt);
}

for (const family of [4, 6] as IpFamily[]) {
  test(`IPv${family} TCP MD5: right key connects, wrong or missing key never completes`, async () => {
    const l = await listen(family, { md5: true });
    assert.equal(await exchange(family, l.port, { key: KEY }), GREETING);
    await assert.rejects(exchange(family, l.port, { key: 'wrong-key' }), isTimeout);
    await assert.rejects(exchange(family, l.port, {}), isTimeout);
    // Keys can change on the running listener: after removal the keyless client gets in.
    l.socket.removeMd5Key(LOOPBACK[family]);
    assert.equal(await exchange(family, l.port, {}), GREETING);
  });

  test(`IPv${family} GTSM: minimum TTL 255 refuses TTL 64, accepts TTL 255`, async () => {
    const l = await listen(family, { minTtl: MAX_TTL });
    assert.equal(l.socket.getMinTtl(), MAX_TTL);
    await assert.rejects(exchange(family, l.port, { ttl: 64 }), isTimeout);
    assert.equal(await exchange(family, l.port, { ttl: MAX_TTL }), GREETING);
  });
}

test('connection refused is a SystemError with the attempt', async () => {
  const l = await listen(4, {});
  const port = l.port;
  await new Promise((resolve) => l.server.close(resolve));
  listeners.splice(listeners.indexOf(l), 1);
  await assert.rejects(exchange(4, port, {}), (err: unknown) => {
    assert.ok(err instanceof SystemError);
    assert.equal(err.code, 'ECONNREFUSED');
    assert.equal(err.attempt, `connect to 127.0.0.1:${port}`);
    return true;
  });
});

test('IPv6 link-local: listen on fe80::a%ll0, connect from the peer link by scope id', async () => {
  ns.ip(['link', 'add', 'll0', 'type', 'veth', 'peer', 'name', 'll1']);
  ns.ip(['link', 'set', 'll0', 'up']);
  ns.ip(['link', 'set', 'll1', 'up']);
  ns.ip(['addr', 'add', 'fe80::a/64', 'dev', 'll0', 'nodad']);
  ns.ip(['addr', 'add', 'fe80::b/64', 'dev', 'll1', 'nodad']); // a usable source before DAD ends
  const index = (dev: string): number => Number(ns.exec(['cat', `/sys/class/net/${dev}/ifindex`]).trim());
  const l = await listenTcp(
    { family: 6, netns: ns.name, localAddress: 'fe80::a', localScopeId: index('ll0'), port: 0, ttl: MAX_TTL },
    (socket) => socket.end(GREETING),
  );
  listeners.push(l);
  const socket = await connectTcp({
    family: 6,
    netns: ns.name,
    address: 'fe80::a',
    scopeId: index('ll1'),
    port: l.port,
    timeoutMs: 2000,
  });
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  assert.equal(Buffer.concat(chunks).toString(), GREETING);
});

test('adopt: per-connection TTL on a socket a listener accepted', async () => {
  const ttls: number[] = [];
  const l = await listenTcp({ family: 4, netns: ns.name, localAddress: '127.0.0.1', port: 0 }, (socket) => {
    const s = TcpSocketFd.adopt(socket);
    ttls.push(s.getTtl());
    s.setTtl(MAX_TTL);
    ttls.push(s.getTtl());
    s.close(); // Node still owns the fd
    socket.end(GREETING);
  });
  listeners.push(l);
  assert.equal(await exchange(4, l.port, {}), GREETING);
  assert.equal(ttls[1], MAX_TTL);
  assert.notEqual(ttls[0], MAX_TTL);
});

test('options are validated and applied', () => {
  const s = TcpSocketFd.create({ family: 6, netns: ns.name, ttl: MAX_TTL, device: 'lo' });
  try {
    assert.equal(s.getTtl(), MAX_TTL);
    assert.throws(() => s.setTtl(0), { code: 'ERR_INVALID_ARGUMENT' });
    assert.throws(() => s.setMd5Key({ address: '192.0.2.1', key: KEY }), { code: 'ERR_INVALID_ARGUMENT' });
    assert.throws(() => s.setMd5Key({ address: '2001:db8::1', key: 'x'.repeat(81) }), {
      code: 'ERR_INVALID_ARGUMENT',
    });
    s.setMd5Key({ address: '2001:db8::', prefixLength: 64, key: KEY });
    // An ifindex must name a VRF (L3 master); lo is not one.
    assert.throws(() => s.setMd5Key({ address: 'fe80::1', ifindex: 1, key: KEY }), {
      code: 'EINVAL',
      syscall: 'setsockopt(TCP_MD5SIG_EXT)',
    });
  } finally {
    s.close();
  }
  assert.throws(() => TcpSocketFd.create({ family: 4, netns: ns.name, device: 'nosuchdev0' }), {
    code: 'ENODEV',
  });
});
