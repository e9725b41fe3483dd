// The control API over a real unix socket: every method through the client against a handler over a
// real Dataplane and ConfigStore; the socket's mode and group, and its directory's mode under the unit's
// umask; bad requests — unknown method, malformed protobuf, oversized frame, a handler that throws —
// each get an error reply while the server keeps answering; and the bounds: a client sending garbage,
// one sending nothing or dribbling, one that never reads its replies are dropped, and a flood of
// connections holds at most MAX_CONNECTIONS while the operator's call still gets through. (Only local
// users in the socket's group can connect at all: test/agent/systemd.root.test.ts.)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import { ApiClient, callOnce } from '../../src/api/client.js';
import { decodeReply, encodeRequest } from '../../src/api/codec.js';
import { MAX_BAD_REQUESTS } from '../../src/api/connection.js';
import { FrameReader, frame, MAX_MESSAGE_BYTES } from '../../src/api/framing.js';
import { ApiServer, groupId, MAX_CONNECTIONS } from '../../src/api/server.js';
import type { ApiError } from '../../src/api/types.js';
import { waitFor } from '../helpers/wait-for.js';
import { CLIENT4, openTestbed, WEB_VIP } from '../metrics/fixture.js';
import { flowFrame } from '../steer/packets.js';
import { testbedHandler } from './handler.js';

/** A short idle timeout, so the tests of it wait a fraction of a second. */
const TEST_IDLE_MS = 300;

function setup(t: import('node:test').TestContext, group?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'acd-api-'));
  const bed = openTestbed();
  const handler = testbedHandler(bed, join(dir, 'anycastd.yaml'));
  t.after(() => {
    bed.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const path = join(dir, 'run', 'anycastd.sock');
  return {
    dir,
    bed,
    handler,
    path,
    listen: () => ApiServer.listen({ path, handler, group: group ?? null, idleTimeoutMs: TEST_IDLE_MS }),
  };
}

/** Sends raw bytes on a fresh connection; resolves with the decoded replies received before `count`. */
function raw(
  path: string,
  bytes: Buffer,
  count = 1,
): Promise<{ replies: ReturnType<typeof decodeReply>[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    const reader = new FrameReader();
    const replies: ReturnType<typeof decodeReply>[] = [];
    let closed = false;
    const done = () => {
      s.destroy();
      resolve({ replies, closed });
    };
    s.on('data', (c: Buffer) => {
      for (const f of reader.push(c)) replies.push(decodeReply(f));
      if (replies.length >= count) setTimeout(done, 50);
    });
    s.on('end', () => {
      closed = true;
    });
    s.on('close', () => {
      closed = true;
      done();
    });
    s.on('error', reject);
    s.write(bytes);
  });
}

test('every method answers through the client, with real rings and flows', async (t) => {
  const { bed, path, listen } = setup(t);
  const server = await listen();
  t.after(() => server.close());
  for (let i = 0; i < 10; i++)
    bed.dp.program.testRun({
      data: flowFrame({ family: 4, proto: 'tcp', src: CLIENT4, dst: WEB_VIP, sport: 2000 + i, dport: 80 }),
    });
  const c = await ApiClient.connect(path);
  t.after(() => c.close());
  const status = await c.call('status', {});
  assert.equal(status.nodeId, 'h1');
  assert.equal(status.servicesTotal, 2);
  const peers = await c.call('peers', {});
  assert.deepEqual(
    peers.peers.map((p) => [p.name, p.address, p.remoteAsn, p.state]),
    [
      ['tor1', '203.0.113.1', 65001, 'idle'],
      ['tor2', '203.0.113.2', 65002, 'idle'],
    ],
  );
  const rings = await c.call('rings', { service: 'web' });
  assert.equal(rings.rings.length, 1);
  const ring = rings.rings[0]!;
  assert.equal(ring.kind, 'new');
  assert.equal(ring.size, 65537);
  assert.deepEqual(
    ring.shares.map((s) => s.instance),
    ['web/h1', 'web/h2'],
  );
  assert.equal(
    ring.shares.reduce((a, s) => a + s.entries, 0),
    65537,
  );
  assert.ok(Math.abs(ring.shares[0]!.share - 0.5) < 0.01, 'Maglev splits two equal instances evenly');
  const inst = await c.call('instances', { service: '' });
  assert.equal(inst.instances.length, 4);
  assert.equal(inst.instances.find((i) => i.service === 'web' && i.id === 'h1')?.local, true);
  const flows = await c.call('flows', { vip: WEB_VIP, limit: 3 });
  assert.equal(flows.total, 10);
  assert.equal(flows.flows.length, 3);
  assert.equal(flows.flows[0]!.source, CLIENT4);
  assert.equal(flows.flows[0]!.destinationPort, 80);
  assert.match(flows.flows[0]!.instance, /^web\/h[12]$/);
  assert.deepEqual(await c.call('drain', { service: 'web' }), { changed: true, message: 'web drained' });
  assert.equal((await c.call('drain', { service: 'web' })).changed, false);
  assert.equal((await c.call('services', {})).services.find((s) => s.name === 'web')?.drained, true);
  assert.equal((await c.call('undrain', { service: 'web' })).changed, true);
  assert.deepEqual(await c.call('reload', {}), { changed: false, changes: [] });
  assert.equal((await c.call('routes', {})).routes.length, 2);
  await assert.rejects(c.call('drain', { service: 'nope' }), {
    code: 'ERR_API_REQUEST',
    apiCode: 'NOT_FOUND',
  });
});

test('the socket is mode 0660 and owned by the configured group, in a 0755 directory whatever the umask; a stale socket file is replaced', async (t) => {
  const group = 'adm';
  const { path, listen } = setup(t, group);
  const umask = process.umask(0o077); // the unit's UMask=
  let first: ApiServer;
  try {
    first = await listen();
  } finally {
    process.umask(umask);
  }
  const st = statSync(path);
  assert.equal(st.mode & 0o777, 0o660);
  assert.equal(st.gid, groupId(group));
  assert.equal(statSync(join(path, '..')).mode & 0o777, 0o755, 'the group can reach the socket');
  await assert.rejects(listen(), /another agent is listening/);
  await first.close();
  writeFileSync(join(path, '..', 'x'), ''); // unrelated file in the directory stays
  const second = await listen();
  t.after(() => second.close());
  assert.equal((await callOnce(path, 'status', {})).nodeId, 'h1');
});

test('bad requests get an error reply and the server keeps running', async (t) => {
  const { path, listen, dir } = setup(t);
  const server = await listen();
  t.after(() => server.close());

  // unknown method: a Request whose method field (99) this agent does not know
  const w = protobuf.Writer.create();
  w.uint32((1 << 3) | 0).uint32(7); // id = 7
  w.uint32((99 << 3) | 2).bytes(new Uint8Array(0)); // field 99, an empty message
  const unknown = await raw(path, frame(w.finish()));
  assert.equal(unknown.replies[0]!.id, 7);
  assert.deepEqual(unknown.replies[0]!.body, {
    error: { code: 'UNKNOWN_METHOD', message: 'the request names no known method' },
  });

  // malformed protobuf: a length-delimited field that runs past the end; then a good request on the same connection
  const bad = Buffer.from([0x52, 0x05, 0x01]);
  const both = await raw(path, Buffer.concat([frame(bad), frame(encodeRequest(8, 'status', {}))]), 2);
  assert.equal('error' in both.replies[0]!.body && both.replies[0]!.body.error.code, 'MALFORMED_REQUEST');
  assert.equal(both.replies[1]!.id, 8);
  assert.ok('method' in both.replies[1]!.body && both.replies[1]!.body.method === 'status');

  // oversized frame: refused from its length prefix alone, then the connection is closed
  const head = Buffer.alloc(4);
  head.writeUInt32BE(MAX_MESSAGE_BYTES + 1);
  const big = await raw(path, head);
  assert.equal('error' in big.replies[0]!.body && big.replies[0]!.body.error.code, 'MESSAGE_TOO_LARGE');
  assert.equal(big.closed, true);

  // a handler that fails: reload of a file that became invalid → INVALID_CONFIG, running config kept
  writeFileSync(join(dir, 'anycastd.yaml'), 'node: [\n');
  await assert.rejects(
    callOnce(path, 'reload', {}),
    (e: ApiError) => e.apiCode === 'INVALID_CONFIG' && /anycastd\.yaml/.test(e.message),
  );

  // still answering
  assert.equal((await callOnce(path, 'status', {})).nodeId, 'h1');
});

test('frames split at every byte boundary are reassembled; an unreachable socket is ERR_API_UNREACHABLE', async () => {
  const msg = frame(encodeRequest(3, 'flows', { vip: WEB_VIP, limit: 5 }));
  for (let cut = 0; cut <= msg.length; cut++) {
    const r = new FrameReader();
    const frames = [...r.push(msg.subarray(0, cut)), ...r.push(msg.subarray(cut))];
    assert.equal(frames.length, 1);
  }
  await assert.rejects(ApiClient.connect('/nonexistent/anycastd.sock'), { code: 'ERR_API_UNREACHABLE' });
});

/** A raw connection; resolves when the server closes it, with what it received and when. */
function hold(path: string): { socket: Socket; closed: Promise<{ ms: number; bytes: number }> } {
  const socket = createConnection(path);
  const started = performance.now();
  let bytes = 0;
  socket.on('data', (c: Buffer) => {
    bytes += c.length;
  });
  socket.on('error', () => {});
  const closed = new Promise<{ ms: number; bytes: number }>((resolve) =>
    socket.once('close', () => resolve({ ms: performance.now() - started, bytes })),
  );
  return { socket, closed };
}

test('garbage: undecodable requests are answered, then the connection is dropped; random bytes are too', async (t) => {
  const { path, listen } = setup(t);
  const server = await listen();
  t.after(() => server.close());
  const bad = frame(Buffer.from([0x52, 0x05, 0x01]));
  const r = await raw(path, Buffer.concat(Array.from({ length: MAX_BAD_REQUESTS + 5 }, () => bad)), 100);
  assert.equal(r.replies.length, MAX_BAD_REQUESTS, 'one error reply per bad request up to the limit');
  assert.ok(r.replies.every((x) => 'error' in x.body && x.body.error.code === 'MALFORMED_REQUEST'));
  assert.equal(r.closed, true);

  const ROUNDS = 50;
  const closes = await Promise.all(
    Array.from({ length: ROUNDS }, () => {
      const c = hold(path);
      c.socket.write(randomBytes(64 * 1024));
      return c.closed;
    }),
  );
  const slowest = Math.max(...closes.map((c) => c.ms));
  console.log(
    `${ROUNDS} connections of 64 KiB random bytes: all closed, the slowest after ${slowest.toFixed(0)} ms`,
  );
  assert.ok(slowest < TEST_IDLE_MS * 4, `closed after ${slowest} ms`);
  assert.equal((await callOnce(path, 'status', {})).nodeId, 'h1', 'still answering');
  await waitFor(() => server.stats().open === 0, { timeoutMs: TEST_IDLE_MS * 3 });
});

test('idle and slow clients: nothing sent, or a frame dribbled a byte at a time, is dropped after the idle timeout', async (t) => {
  const { path, listen } = setup(t);
  const server = await listen();
  t.after(() => server.close());
  const silent = hold(path);
  const dribble = hold(path);
  const msg = frame(encodeRequest(1, 'status', {}));
  let i = 0;
  const timer = setInterval(() => {
    if (i < msg.length - 1) dribble.socket.write(msg.subarray(i, ++i)); // never the last byte
  }, TEST_IDLE_MS / 10);
  t.after(() => clearInterval(timer));
  const [a, b] = await Promise.all([silent.closed, dribble.closed]);
  console.log(
    `idle timeout ${TEST_IDLE_MS} ms: silent client dropped after ${a.ms.toFixed(0)} ms, dribbling one after ${b.ms.toFixed(0)} ms (${i} bytes sent)`,
  );
  for (const c of [a, b]) assert.ok(c.ms >= TEST_IDLE_MS * 0.9 && c.ms < TEST_IDLE_MS * 3, `${c.ms} ms`);
  assert.equal(b.bytes, 0, 'the incomplete frame was never answered');
});

test('a client that never reads its replies is dropped; its requests stop being read meanwhile', async (t) => {
  const { path, listen } = setup(t);
  const server = await listen();
  t.after(() => server.close());
  const REQUESTS = 20_000;
  const c = hold(path);
  c.socket.pause(); // never reads (so it never notices the close either: the server's count tells)
  t.after(() => c.socket.destroy());
  const one = frame(encodeRequest(1, 'status', {}));
  const started = performance.now();
  const rssBefore = process.memoryUsage().rss;
  c.socket.write(Buffer.concat(Array.from({ length: REQUESTS }, () => one)));
  await waitFor(() => server.stats().open === 1);
  // Meanwhile the server answers others.
  assert.equal((await callOnce(path, 'status', {})).nodeId, 'h1');
  await waitFor(() => server.stats().open === 0, { timeoutMs: TEST_IDLE_MS * 10, what: 'drop' });
  const ms = performance.now() - started;
  const grew = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
  console.log(
    `${REQUESTS} pipelined requests (${((REQUESTS * one.length) / 1024).toFixed(0)} KiB), replies never read: dropped after ${ms.toFixed(0)} ms; RSS +${grew.toFixed(1)} MiB`,
  );
});

test(`connection flood: at most ${MAX_CONNECTIONS} held, idle ones make room, the operator still gets an answer`, async (t) => {
  const { path, listen } = setup(t);
  const server = await listen();
  t.after(() => server.close());
  const FLOOD = 500;
  const flood: ReturnType<typeof hold>[] = [];
  let maxOpen = 0;
  for (let i = 0; i < FLOOD; i++) {
    flood.push(hold(path));
    if (i % 50 === 49) {
      await new Promise((r) => setTimeout(r, 5));
      maxOpen = Math.max(maxOpen, server.stats().open);
    }
  }
  const started = performance.now();
  assert.equal((await callOnce(path, 'status', {})).nodeId, 'h1', 'answered during the flood');
  const callMs = performance.now() - started;
  maxOpen = Math.max(maxOpen, server.stats().open);
  const stats = server.stats();
  await Promise.all(flood.map((c) => c.closed));
  console.log(
    `${FLOOD} idle connections: at most ${maxOpen} held, ${stats.evicted} evicted, ${stats.refused} refused; a status call during the flood took ${callMs.toFixed(0)} ms; all flood connections closed`,
  );
  assert.ok(maxOpen <= MAX_CONNECTIONS, `held ${maxOpen}`);
  assert.ok(stats.evicted >= FLOOD - MAX_CONNECTIONS, `evicted ${stats.evicted}`);
  await waitFor(() => server.stats().open === 0, { timeoutMs: TEST_IDLE_MS * 3 });
});
