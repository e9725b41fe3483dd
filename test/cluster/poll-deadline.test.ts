// The reply deadline of one poll (src/cluster/poll-request.ts) is a total one on the clock: a peer that
// drips its reply one byte at a time, each well inside any inactivity timeout, is dropped once the wait
// plus the slack has passed — it cannot hold the poll (and its last report) open for ever.
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { pollOnce, REPLY_SLACK_MS } from '../../src/cluster/poll-request.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { waitFor } from '../helpers/wait-for.js';
import { keysOf, newKey } from './support.js';

test('a peer dripping its reply byte by byte is dropped at wait + slack, whatever its pace', async (t) => {
  const sockets: Socket[] = [];
  let sent = 0;
  const drip = 'HTTP/1.1 200 OK\r\nX-Slow: ' + 'x'.repeat(1_000);
  const server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    s.on('data', () => {
      if (sent > 0) return;
      const timer = setInterval(() => {
        if (s.destroyed || sent >= drip.length) return clearInterval(timer);
        s.write(drip[sent++]!);
      }, 5);
      s.on('close', () => clearInterval(timer));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const port = (server.address() as { port: number }).port;
  const clock = new FakeClock({ wallStart: Date.now() });
  const wait = 1_000;
  let outcome: unknown = null;
  pollOnce({
    address: '127.0.0.1',
    port,
    keys: keysOf(newKey()),
    clock,
    since: '',
    wait,
    maxEntries: 4,
  }).then(
    () => (outcome = 'resolved'),
    (err: Error) => (outcome = err),
  );
  await waitFor(() => sent > 20, { what: 'the peer dripping' });
  await clock.advance(wait + REPLY_SLACK_MS - 1);
  assert.equal(outcome, null, 'still waiting just before the deadline');
  await clock.advance(1);
  await waitFor(() => outcome !== null, { what: 'the poll settled' });
  assert.match(String(outcome), /no reply in time/);
  assert.ok(sent < drip.length, `dropped mid-drip (${sent} of ${drip.length} bytes sent)`);
});
