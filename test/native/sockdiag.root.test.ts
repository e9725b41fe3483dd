// sock_diag against the kernel: a listener made in a fresh namespace shows up in state 'listen'
// with its address and port, an accepted connection as 'established', and the listener is gone
// from the list once closed; a stopped server's queued connections (inode 0, unread bytes, tcp_info)
// with the port filtered by the kernel.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { createNetns, type Netns, removeNetnsByPrefix, uniquePrefix } from '../../lab/netns.js';
import { connectTcp, listenTcp, SockDiag } from '../../src/native/index.js';
import { program } from '../helpers/programs.js';
import { waitFor } from '../helpers/wait-for.js';

const prefix = uniquePrefix('native-diag');
let ns: Netns;

before(() => {
  removeNetnsByPrefix(prefix);
  ns = createNetns(prefix);
});
after(() => removeNetnsByPrefix(prefix));

for (const [family, address] of [
  [4, '127.0.0.1'],
  [6, '::1'],
] as const) {
  test(`IPv${family}: listening and established sockets, and the listener gone after close`, async () => {
    const diag = SockDiag.open({ netns: ns.name });
    try {
      const l = await listenTcp({ family, netns: ns.name, localAddress: address, port: 0 });
      const listening = diag.inetSockets({ family, protocol: 'tcp', states: ['listen'], localPort: l.port });
      assert.equal(listening.length, 1);
      assert.equal(listening[0]?.localAddress, address);
      assert.equal(listening[0]?.state, 'listen');
      assert.ok((listening[0]?.inode ?? 0) > 0);

      const accepted = new Promise<void>((resolve) => l.server.once('connection', () => resolve()));
      const client = await connectTcp({ family, netns: ns.name, address, port: l.port });
      await accepted;
      const est = diag.inetSockets({ family, protocol: 'tcp', states: ['established'] });
      assert.ok(est.some((s) => s.localPort === l.port && s.remotePort === client.localPort));
      client.destroy();

      await new Promise((resolve) => l.server.close(resolve));
      assert.deepEqual(
        diag.inetSockets({ family, protocol: 'tcp', states: ['listen'], localPort: l.port }),
        [],
      );
    } finally {
      diag.close();
    }
  });
}

test('queues and tcp_info: a stopped server leaves connections unaccepted (inode 0) in its accept queue', async () => {
  const [node, ...args] = program('tcp-listen', ['--bind', '127.0.0.1']);
  const child = spawn('ip', ['netns', 'exec', ns.name, node!, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const diag = SockDiag.open({ netns: ns.name });
  const clients: Socket[] = [];
  try {
    const port = await new Promise<number>((r) => child.stdout!.once('data', (d: Buffer) => r(Number(d))));
    child.kill('SIGSTOP');
    for (let i = 0; i < 2; i++) {
      const c = await connectTcp({ family: 4, netns: ns.name, address: '127.0.0.1', port });
      c.write('hello\n');
      clients.push(c);
    }
    const seen = await waitFor(
      () => {
        const l = diag.inetSockets({ family: 4, protocol: 'tcp', states: ['listen'], localPort: port });
        const est = diag.inetSockets({
          family: 4,
          protocol: 'tcp',
          states: ['established'],
          localPort: port,
          tcpInfo: true,
        });
        return l[0]?.rqueue === 2 && est.every((s) => s.tcpInfo?.dataSegsIn === 1) ? { l, est } : undefined;
      },
      { what: 'two connections queued, each with its data in' },
    );
    assert.ok((seen.l[0]?.wqueue ?? 0) >= 2, 'the backlog limit');
    // The port filter runs in the kernel: the clients' own ends (other local ports) are not listed.
    assert.equal(seen.est.length, 2);
    for (const s of seen.est) {
      assert.equal(s.localPort, port);
      assert.equal(s.inode, 0, 'not accepted: no socket inode yet');
      assert.equal(s.rqueue, 'hello\n'.length, 'unread bytes');
      assert.equal(s.tcpInfo?.dataSegsOut, 0);
      assert.equal(s.tcpInfo?.bytesReceived, 'hello\n'.length);
    }
  } finally {
    for (const c of clients) c.destroy();
    child.kill('SIGKILL');
    diag.close();
  }
});

test('several local ports in one dump (one bytecode program), and one connection by its 4-tuple', async () => {
  const diag = SockDiag.open({ netns: ns.name });
  const listeners = await Promise.all(
    [0, 1, 2].map(() => listenTcp({ family: 4, netns: ns.name, localAddress: '127.0.0.1', port: 0 })),
  );
  const clients: Socket[] = [];
  try {
    for (const l of listeners)
      clients.push(await connectTcp({ family: 4, netns: ns.name, address: '127.0.0.1', port: l.port }));
    const [a, b, c] = listeners.map((l) => l.port) as [number, number, number];
    const est = await waitFor(
      () => {
        const got = diag.inetSockets({
          family: 4,
          protocol: 'tcp',
          states: ['established'],
          localPorts: [a, c],
        });
        return got.length === 2 ? got : undefined;
      },
      { what: 'the connections to two of the three ports' },
    );
    assert.deepEqual(est.map((s) => s.localPort).sort(), [a, c].sort());
    // A program longer than a u8 jump (40 ports × 20 bytes) still passes the kernel's audit.
    const many = [...Array.from({ length: 40 }, (_, i) => 1000 + i), b];
    assert.deepEqual(
      diag
        .inetSockets({ family: 4, protocol: 'tcp', states: ['established'], localPorts: many })
        .map((s) => s.localPort),
      [b],
    );
    assert.deepEqual(diag.inetSockets({ family: 4, protocol: 'tcp', localPorts: [] }), []);
    const one = est[0]!;
    const tuple = {
      family: 4 as const,
      localAddress: one.localAddress,
      localPort: one.localPort,
      remoteAddress: one.remoteAddress,
      remotePort: one.remotePort,
    };
    const found = diag.tcpConnection({ ...tuple, tcpInfo: true });
    assert.equal(found?.remotePort, one.remotePort);
    assert.equal(found?.state, 'established');
    assert.ok(found?.tcpInfo, 'with tcp_info');
    assert.equal(diag.tcpConnection({ ...tuple, remotePort: 1 }), null, 'no such connection: null');
  } finally {
    for (const cl of clients) cl.destroy();
    for (const l of listeners) l.server.close();
    diag.close();
  }
});
