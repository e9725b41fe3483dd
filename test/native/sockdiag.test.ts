// sock_diag against the kernel: a listener made in a fresh namespace shows up in state 'listen'
// with its address and port, an accepted connection as 'established', and the listener is gone
// from the list once closed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createNetns, type Netns, removeNetnsByPrefix, uniquePrefix } from '../../lab/netns.js';
import { connectTcp, listenTcp, SockDiag } from '../../src/native/index.js';

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
