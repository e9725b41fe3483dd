// The agents' report exchange over real HTTP on loopback addresses (127.0.0.2, .3, .4 play the other
// hosts): the reply format and its validation, the endpoint's long poll and its refusals, and a Cluster
// following two remote endpoints — reports arriving within a round trip, entries the config does not
// place there ignored, an agent gone silent forgotten after the hold, a reload following a new host.

import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, test } from 'node:test';
import { ReportBoard } from '../../src/cluster/board.js';
import { Cluster } from '../../src/cluster/cluster.js';
import { INSTANCES_PATH, parseInstancesReply } from '../../src/cluster/report.js';
import { StateServer } from '../../src/cluster/server.js';
import { parseConfig } from '../../src/config/load.js';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

const PORT = await freePort();

function configText(instances: string[]): string {
  return `node:
  id: h1
  host: { ipv4: 127.0.0.1 }
  asn: 65101
  uplinks: [lo]
cluster: { port: ${PORT} }
services:
  - name: web
    vips: [203.0.113.10]
    ports: [{ protocol: tcp, port: 80 }]
    instances:
${instances.map((id) => `      - { id: ${id}, host: { ipv4: 127.0.0.${id.slice(1)} } }`).join('\n')}
    checks: [{ type: tcp, port: 80 }]
`;
}

const config = (ids = ['h1', 'h2', 'h3']) => parseConfig(configText(ids), '/test/cluster.yaml');

async function get(path: string, init: RequestInit = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${serverPort}${path}`, init);
  return { status: res.status, text: await res.text() };
}

const board = new ReportBoard('h9');
const server = await StateServer.start({
  board,
  port: 0,
  host: '127.0.0.1',
  allowed: () => true,
});
const serverPort = server.port;
after(() => server.close());

async function waitFor(pred: () => boolean, ms = 3000): Promise<void> {
  const until = performance.now() + ms;
  while (!pred()) {
    if (performance.now() > until) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('reply validation names the bad field', () => {
  const good = {
    node: 'h3',
    token: 'a.1',
    instances: [{ service: 'web', instance: 'h3', state: 'drained', new: false, established: true }],
  };
  assert.deepEqual(parseInstancesReply(good, 'x'), good);
  const cases: [unknown, RegExp][] = [
    [[], /: expected an object, found \[\]/],
    [{ ...good, token: '' }, /token: expected a non-empty string, found ""/],
    [{ ...good, instances: {} }, /instances: expected an array/],
    [
      { ...good, instances: [{ ...good.instances[0], state: 'sleepy' }] },
      /instances\[0\]\.state: expected up \| down \| drained, found "sleepy"/,
    ],
    [
      { ...good, instances: [{ ...good.instances[0], new: 'yes' }] },
      /instances\[0\]\.new: expected true or false/,
    ],
    [
      { ...good, instances: [{ ...good.instances[0], service: undefined }] },
      /instances\[0\]\.service: expected a non-empty string, found nothing/,
    ],
  ];
  for (const [body, re] of cases) assert.throws(() => parseInstancesReply(body, '192.0.2.13:9470'), re);
});

test('endpoint: the reply at once, a long poll woken by the first change, the same token when none came', async () => {
  board.publish('web', 'h9', { state: 'up', new: true, established: true });
  const first = JSON.parse((await get(INSTANCES_PATH)).text);
  assert.equal(first.node, 'h9');
  assert.deepEqual(first.instances, [
    { service: 'web', instance: 'h9', state: 'up', new: true, established: true },
  ]);
  const t0 = performance.now();
  const polled = get(`${INSTANCES_PATH}?since=${first.token}&wait=5000`);
  setTimeout(() => board.publish('web', 'h9', { state: 'drained', new: false, established: true }), 50);
  const reply = JSON.parse((await polled).text);
  const ms = performance.now() - t0;
  assert.notEqual(reply.token, first.token);
  assert.equal(reply.instances[0].state, 'drained');
  assert.ok(ms < 2500, `woken by the change (${ms.toFixed(0)} ms), not by the 5 s wait`);
  const idle = JSON.parse((await get(`${INSTANCES_PATH}?since=${reply.token}&wait=150`)).text);
  assert.equal(idle.token, reply.token, 'no change: the same token after the wait');
  board.publish('web', 'h9', { state: 'drained', new: false, established: true });
  assert.equal(
    JSON.parse((await get(INSTANCES_PATH)).text).token,
    reply.token,
    'the same report is no change',
  );
});

test('endpoint refusals name what is wrong', async () => {
  assert.deepEqual(await get('/v1/nothing'), { status: 404, text: 'no such path: /v1/nothing\n' });
  assert.deepEqual(await get(INSTANCES_PATH, { method: 'POST', body: 'x' }), {
    status: 405,
    text: 'method POST: use GET\n',
  });
  assert.deepEqual(await get(`${INSTANCES_PATH}?since=x&wait=soon`), {
    status: 400,
    text: 'wait: expected milliseconds 0..60000, found "soon"\n',
  });
  assert.equal((await get(`${INSTANCES_PATH}?wait=600000`)).status, 400);
  const strict = await StateServer.start({
    board,
    port: 0,
    host: '127.0.0.1',
    allowLoopback: false,
    allowed: (a) => a === '192.0.2.11',
  });
  try {
    const res = await fetch(`http://127.0.0.1:${strict.port}${INSTANCES_PATH}`);
    assert.equal(res.status, 403);
    assert.equal(await res.text(), '127.0.0.1 is not the host of a configured instance\n');
  } finally {
    await strict.close();
  }
});

test('a Cluster follows the other hosts: reports within a round trip, strays ignored, silence forgotten, reload', async () => {
  const remote = async (address: string, node: string) => {
    const b = new ReportBoard(node);
    return {
      board: b,
      server: await StateServer.start({ board: b, port: PORT, host: address, allowed: () => true }),
    };
  };
  const h2 = await remote('127.0.0.2', 'h2');
  const h3 = await remote('127.0.0.3', 'h3');
  const logs: { event: string; fields: Record<string, unknown> }[] = [];
  const changes: string[] = [];
  const cluster = new Cluster(config(), {
    log: (_level, event, fields) => logs.push({ event, fields }),
    serve: false,
    waitMs: 2000,
    forgetAfterMs: 300,
  });
  cluster.subscribe((service, instance) => changes.push(`${service}/${instance}`));
  try {
    h2.board.publish('web', 'h2', { state: 'up', new: true, established: true });
    await cluster.start();
    await waitFor(() => cluster.reported('web', 'h2')?.state === 'up');
    assert.equal(cluster.reported('web', 'h3'), undefined, 'h3 said nothing yet');
    // a drain at h2 arrives by the pending long poll
    const t0 = performance.now();
    h2.board.publish('web', 'h2', { state: 'drained', new: false, established: true });
    await waitFor(() => cluster.reported('web', 'h2')?.new === false);
    const ms = performance.now() - t0;
    assert.ok(ms < 1000, `within a round trip (${ms.toFixed(1)} ms), not a poll interval`);
    // h3 claims h2's instance (the config places h2 on 127.0.0.2): ignored and logged once
    h3.board.publish('web', 'h2', { state: 'down', new: false, established: false });
    h3.board.publish('web2', 'h3', { state: 'down', new: false, established: false });
    await waitFor(() => logs.filter((l) => l.event === 'cluster-report-ignored').length === 2);
    assert.equal(cluster.reported('web', 'h2')?.state, 'drained', 'a stray does not override the owner');
    // h2's agent goes away: the report is held for forgetAfterMs, then forgotten
    await h2.server.close();
    await waitFor(() =>
      logs.some((l) => l.event === 'cluster-peer-unreachable' && l.fields.address === '127.0.0.2'),
    );
    assert.equal(cluster.reported('web', 'h2')?.state, 'drained', 'held through a short outage');
    await waitFor(() => cluster.reported('web', 'h2') === undefined, 5000);
    const back = await remote('127.0.0.2', 'h2');
    back.board.publish('web', 'h2', { state: 'up', new: true, established: true });
    await waitFor(() => cluster.reported('web', 'h2')?.state === 'up', 8000);
    await back.server.close();
    // a reload that adds h4 follows it too
    const h4 = await remote('127.0.0.4', 'h4');
    h4.board.publish('web', 'h4', { state: 'up', new: true, established: false });
    await cluster.apply(config(['h1', 'h2', 'h3', 'h4']));
    await waitFor(() => cluster.reported('web', 'h4')?.established === false);
    assert.deepEqual(
      cluster
        .peers()
        .map((p) => p.address)
        .sort(),
      ['127.0.0.2', '127.0.0.3', '127.0.0.4'],
    );
    await h4.server.close();
    assert.ok(changes.includes('web/h4') && changes.filter((c) => c === 'web/h2').length >= 4);
  } finally {
    await cluster.close();
    await h3.server.close();
  }
});
