// Netlink notifications on the event loop: sock_diag destroy broadcasts (a killed service's
// listener is reported without polling, only from its own namespace) and rtnetlink changes
// (address, route, link), and no delivery after close.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { createNetns, type Netns, removeNetnsByPrefix, uniquePrefix } from '../../lab/netns.js';
import {
  type InetSocket,
  type NetlinkWatch,
  Rtnetlink,
  type RtnlEvent,
  SockDiag,
  watchRtnl,
  watchSocketDestroy,
} from '../../src/native/index.js';
import { program } from '../helpers/programs.js';
import { waitFor, within } from '../helpers/wait-for.js';

const prefix = uniquePrefix('native-watch');
const PORT = 8080;
const WAIT_MS = 2000;
let ns: Netns;
let other: Netns;

before(() => {
  removeNetnsByPrefix(prefix);
  ns = createNetns(prefix);
  other = createNetns(prefix);
});
after(() => removeNetnsByPrefix(prefix));

/** Resolves with the first value `accept` returns non-undefined for, or rejects after WAIT_MS. */
function firstEvent<T, E>(
  subscribe: (push: (e: E) => void) => NetlinkWatch,
  accept: (e: E) => T | undefined,
) {
  let watch: NetlinkWatch | undefined;
  const result = new Promise<T>((resolve) => {
    watch = subscribe((e) => {
      const v = accept(e);
      if (v !== undefined) resolve(v);
    });
  });
  return { result: within(result, WAIT_MS, 'the event').finally(() => watch?.close()), watch: () => watch };
}

test('a killed service: its listener is reported destroyed at once, only in its namespace', async () => {
  const seenElsewhere: InetSocket[] = [];
  const elsewhere = watchSocketDestroy({ netns: other.name }, (s) => seenElsewhere.push(s));
  try {
    const child = spawn('ip', [
      'netns',
      'exec',
      ns.name,
      ...program('tcp-listen', ['--port', String(PORT), '--bind', '127.0.0.1']),
    ]);
    const diag = SockDiag.open({ netns: ns.name });
    try {
      await waitFor(
        () =>
          diag.inetSockets({ family: 4, protocol: 'tcp', states: ['listen'], localPort: PORT }).length > 0,
        { timeoutMs: WAIT_MS, what: 'the listener' },
      );
    } finally {
      diag.close();
    }
    const destroyed = firstEvent<InetSocket, InetSocket>(
      (push) => watchSocketDestroy({ netns: ns.name, families: [4] }, push),
      (s) => (s.localPort === PORT && s.remotePort === 0 ? s : undefined),
    );
    const killedAt = process.hrtime.bigint();
    child.kill('SIGKILL');
    const s = await destroyed.result;
    const ms = Number(process.hrtime.bigint() - killedAt) / 1e6;
    assert.equal(s.localAddress, '127.0.0.1');
    assert.ok(ms < 500, `destroy reported after ${ms} ms`);
    assert.deepEqual(seenElsewhere, []);
  } finally {
    elsewhere.close();
  }
});

test('rtnetlink changes: address, route and link events, none after close', async () => {
  const events: RtnlEvent[] = [];
  const watch = watchRtnl(['link', 'ipv4-addr', 'ipv4-route', 'ipv6-addr'], (e) => events.push(e), {
    netns: ns.name,
  });
  const rt = Rtnetlink.open({ netns: ns.name });
  try {
    const lo = rt.link('lo').ifindex;
    rt.addAddress({ ifindex: lo, address: '203.0.113.20' });
    rt.addAddress({ ifindex: lo, address: '2001:db8::20' });
    rt.addRoute({ dst: '198.51.100.0/24', type: 'blackhole', nexthops: [] });
    rt.deleteAddress({ ifindex: lo, address: '203.0.113.20' });
    rt.setLinkUp(lo, false);
    rt.setLinkUp(lo, true);
    const has = (pred: (e: RtnlEvent) => boolean): boolean => events.some(pred);
    await waitFor(
      () =>
        has((e) => e.type === 'address' && e.action === 'new' && e.address.address === '203.0.113.20') &&
        has((e) => e.type === 'address' && e.action === 'new' && e.address.address === '2001:db8::20') &&
        has((e) => e.type === 'route' && e.action === 'new' && e.route.dst === '198.51.100.0/24') &&
        has((e) => e.type === 'address' && e.action === 'del' && e.address.address === '203.0.113.20') &&
        has((e) => e.type === 'link' && e.link.name === 'lo' && !e.link.up) &&
        has((e) => e.type === 'link' && e.link.name === 'lo' && e.link.up),
      { timeoutMs: WAIT_MS, what: 'every change reported' },
    );
    assert.ok(!has((e) => e.type === 'overrun'));
    watch.close();
    const count = events.length;
    rt.addAddress({ ifindex: lo, address: '203.0.113.21' });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(events.length, count);
  } finally {
    watch.close();
    rt.close();
  }
});
