// The control API over a real unix socket: every method through the client against a handler over a
// real Dataplane and ConfigStore; the socket's mode and group; and bad requests — unknown method,
// malformed protobuf, oversized frame, a handler that throws — each get an error reply while the
// server keeps answering.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import { ApiClient, callOnce } from '../../src/api/client.js';
import { decodeReply, encodeRequest } from '../../src/api/codec.js';
import { FrameReader, frame, MAX_MESSAGE_BYTES } from '../../src/api/framing.js';
import { ApiServer, groupId } from '../../src/api/server.js';
import type { ApiError } from '../../src/api/types.js';
import { CLIENT4, openTestbed, WEB_VIP } from '../metrics/fixture.js';
import { flowFrame } from '../steer/packets.js';
import { testbedHandler } from './handler.js';

function setup(t: import('node:test').TestContext, group?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'acd-api-'));
  const bed = openTestbed();
  const handler = testbedHandler(bed, join(dir, 'anycastd.yaml'));
  t.after(() => {
    bed.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const path = join(dir, 'run', 'anycastd.sock');
  return { dir, bed, handler, path, listen: () => ApiServer.listen({ path, handler, group: group ?? null }) };
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

test('the socket is mode 0660 and owned by the configured group; a stale socket file is replaced', async (t) => {
  const group = 'adm';
  const { path, listen } = setup(t, group);
  const first = await listen();
  const st = statSync(path);
  assert.equal(st.mode & 0o777, 0o660);
  assert.equal(st.gid, groupId(group));
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
