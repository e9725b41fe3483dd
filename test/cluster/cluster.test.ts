// The agents' report exchange over real HTTP on loopback addresses (127.0.0.2, .3, .4 play the other
// hosts): the reply format and its validation, the endpoint's signed long poll and its refusals, and a
// Cluster following two remote endpoints — reports arriving within a round trip, entries the config does
// not place there ignored (and counted), an agent gone silent forgotten after the hold, a reload following
// a new host. The servers' and the Cluster's timers run on a FakeClock where the test is about them (a
// held poll, the idle interval, the poll floor, the back-off and the hold before forgetting): exact figures,
// no waiting; what crosses a socket is awaited as it happens. The hostile cases (floods, forgeries,
// replays, slow clients) are in hostile.netns.test.ts.

import assert from 'node:assert/strict';
import { createConnection, createServer } from 'node:net';
import { after, test } from 'node:test';
import { ReportBoard } from '../../src/cluster/board.js';
import { Cluster } from '../../src/cluster/cluster.js';
import { ClusterCounters } from '../../src/cluster/counters.js';
import { MAX_WAITERS_PER_ADDRESS, MIN_IDLE_POLL_MS, POLL_FLOOR_MS } from '../../src/cluster/limits.js';
import { INSTANCES_PATH, parseInstancesReply, RejectedReply } from '../../src/cluster/report.js';
import { parseConfig } from '../../src/config/load.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { waitFor } from '../helpers/wait-for.js';
import { keysOf, newKey, serveOn, signedGet } from './support.js';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

const PORT = await freePort();
const KEYS = keysOf(newKey());
const UP = { state: 'up', new: true, established: true } as const;
const DRAINED = { state: 'drained', new: false, established: true } as const;
const DOWN = { state: 'down', new: false, established: false } as const;

/** A ReportBoard and its StateServer on `address`, both on `clock`. */
async function served(clock: FakeClock, node: string, address = '127.0.0.1', port = 0) {
  const board = new ReportBoard(node, clock);
  const server = await serveOn(board, address, port, KEYS, { clock });
  const at = (target: string) =>
    signedGet({ address, port: server.port, target, keys: KEYS, now: clock.wallNow() });
  return { board, server, at };
}

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

/** The config (parsed from text, so the keys are set here as loadConfig would from the key file). */
const config = (ids = ['h1', 'h2', 'h3']) => {
  const c = parseConfig(configText(ids), '/test/cluster.yaml');
  c.cluster.keys = KEYS;
  return c;
};

async function get(target: string): Promise<{ status: number; text: string }> {
  const r = await signedGet({ address: '127.0.0.1', port: serverPort, target, keys: KEYS });
  return { status: r.status, text: r.body };
}

const board = new ReportBoard('h9');
const server = await serveOn(board, '127.0.0.1', 0, KEYS);
const serverPort = server.port;
after(() => server.close());

test('reply validation names the bad field, bounds names and the entry count', () => {
  const good = {
    node: 'h3',
    token: 'a.1',
    instances: [{ service: 'web', instance: 'h3', state: 'drained', new: false, established: true }],
  };
  assert.deepEqual(parseInstancesReply(good, 'x'), good);
  const cases: [unknown, RegExp][] = [
    [[], /: expected an object, found \[\]/],
    [{ ...good, token: '' }, /token: expected a non-empty string of at most 64 characters, found ""/],
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
      /instances\[0\]\.service: expected a non-empty string of at most 256 characters, found nothing/,
    ],
    [
      { ...good, instances: [{ ...good.instances[0], instance: 'x'.repeat(257) }] },
      /instances\[0\]\.instance: expected a non-empty string of at most 256 characters, found "x{63}$/,
    ],
  ];
  for (const [body, re] of cases)
    assert.throws(
      () => parseInstancesReply(body, '192.0.2.13:947'),
      (err: unknown) => err instanceof RejectedReply && err.reason === 'invalid' && re.test(err.message),
    );
  const many = { ...good, instances: Array.from({ length: 10 }, () => good.instances[0]) };
  assert.throws(
    () => parseInstancesReply(many, '192.0.2.13:947', 9),
    (err: unknown) =>
      err instanceof RejectedReply &&
      err.code === 'ERR_CLUSTER_REPLY' &&
      err.reason === 'too-many-entries' &&
      err.message === 'cluster reply from 192.0.2.13:947: 10 entries, more than the 9 the config can hold',
  );
});

test('endpoint: the reply at once, a long poll woken by the first change, the same token when none came', async () => {
  const clock = new FakeClock({ wallStart: Date.now() });
  const { board: b, server: s, at } = await served(clock, 'h9');
  const json = async (target: string) => JSON.parse((await at(target)).body);
  const held = (what: string) => waitFor(() => b.waiting === 1, { what: `${what}: the poll held` });
  try {
    b.publish('web', 'h9', UP);
    const first = await json(INSTANCES_PATH);
    assert.equal(first.node, 'h9');
    assert.deepEqual(first.instances, [
      { service: 'web', instance: 'h9', state: 'up', new: true, established: true },
    ]);
    const polled = json(`${INSTANCES_PATH}?since=${first.token}&wait=5000`);
    await held('wait=5000');
    b.publish('web', 'h9', DRAINED);
    const reply = await polled;
    assert.equal(clock.now(), 0, 'woken by the change, with no time passing (not by the 5 s wait)');
    assert.notEqual(reply.token, first.token);
    assert.equal(reply.instances[0].state, 'drained');
    const idle = json(`${INSTANCES_PATH}?since=${reply.token}&wait=150`);
    await held('wait=150');
    await clock.advance(149);
    assert.equal(b.waiting, 1, 'still held at 149 ms');
    await clock.advance(1);
    assert.equal((await idle).token, reply.token, 'no change: the same token at 150 ms');
    b.publish('web', 'h9', DRAINED);
    const again = json(`${INSTANCES_PATH}?since=${reply.token}&wait=150`);
    await held('the same report');
    await clock.advance(150);
    assert.equal((await again).token, reply.token, 'the same report is no change');
  } finally {
    await s.close();
  }
});

test('endpoint: a poll answered at once with nothing new is refused within the idle interval', async () => {
  const clock = new FakeClock({ wallStart: Date.now() });
  const { board: b, server: s, at } = await served(clock, 'h8');
  try {
    const first = await at(INSTANCES_PATH);
    assert.equal(first.status, 200);
    const token = JSON.parse(first.body).token as string;
    const tight = await at(`${INSTANCES_PATH}?since=${token}&wait=0`);
    assert.equal(tight.status, 429);
    assert.equal(tight.headers['retry-after'], String(MIN_IDLE_POLL_MS / 1000));
    assert.match(
      tight.body,
      /^nothing new since the last answer to 127\.0\.0\.1: poll with since=<token>&wait=<ms>\n$/,
    );
    await clock.advance(MIN_IDLE_POLL_MS - 1);
    assert.equal((await at(`${INSTANCES_PATH}?since=${token}&wait=0`)).status, 429, 'refused at 999 ms');
    await clock.advance(1);
    assert.equal(
      (await at(`${INSTANCES_PATH}?since=${token}&wait=0`)).status,
      200,
      `answered ${MIN_IDLE_POLL_MS} ms after the last answer`,
    );
    b.publish('web', 'h8', UP);
    assert.equal(
      (await at(`${INSTANCES_PATH}?since=${token}&wait=0`)).status,
      200,
      'something new: answered at once',
    );
  } finally {
    await s.close();
  }
});

test('endpoint: long polls held per address and connections in total are capped', async () => {
  const b = new ReportBoard('h7');
  const counters = new ClusterCounters();
  const s = await serveOn(b, '127.0.0.1', 0, KEYS, {
    counters,
    maxConnections: () => MAX_WAITERS_PER_ADDRESS + 1,
  });
  try {
    const at = (target: string) => signedGet({ address: '127.0.0.1', port: s.port, target, keys: KEYS });
    const token = JSON.parse((await at(INSTANCES_PATH)).body).token as string;
    const held = Array.from({ length: MAX_WAITERS_PER_ADDRESS }, () =>
      at(`${INSTANCES_PATH}?since=${token}&wait=3000`),
    );
    await waitFor(() => s.connections === MAX_WAITERS_PER_ADDRESS);
    const over = await at(`${INSTANCES_PATH}?since=${token}&wait=3000`);
    assert.equal(over.status, 429);
    assert.equal(over.body, `${MAX_WAITERS_PER_ADDRESS} polls from 127.0.0.1 are already held\n`);
    assert.equal(counters.requestsRefused['too-many-waiters'], 1);
    // the total: one more connection fits, the next is closed at accept
    const extra = createConnection({ host: '127.0.0.1', port: s.port });
    await waitFor(() => s.connections === MAX_WAITERS_PER_ADDRESS + 1);
    await assert.rejects(at(INSTANCES_PATH), { code: 'ECONNRESET' });
    assert.equal(counters.connectionsRefused['total-limit'], 1);
    extra.destroy();
    b.publish('web', 'h7', { state: 'up', new: true, established: true });
    for (const r of await Promise.all(held))
      assert.equal(r.status, 200, 'the held polls are woken by the change');
  } finally {
    await s.close();
  }
});

test('endpoint refusals name what is wrong', async () => {
  const raw = (target: string, opts: { keys?: typeof KEYS; now?: number } = {}) =>
    signedGet({ address: '127.0.0.1', port: serverPort, target, ...opts });
  assert.deepEqual(await get('/v1/nothing'), { status: 404, text: 'no such path: "/v1/nothing"\n' });
  assert.deepEqual(await get(`${INSTANCES_PATH}?since=x&wait=soon`), {
    status: 400,
    text: 'since: expected a token this endpoint gave, found "x"\n',
  });
  assert.deepEqual(await get(`${INSTANCES_PATH}?wait=soon`), {
    status: 400,
    text: 'wait: expected milliseconds 0..30000, found "soon"\n',
  });
  assert.equal((await get(`${INSTANCES_PATH}?wait=600000`)).status, 400);
  assert.match(
    (await get(`${INSTANCES_PATH}?colour=red`)).text,
    /^unknown parameter "colour": use since and wait\n$/,
  );
  const unsigned = await raw(INSTANCES_PATH);
  assert.deepEqual(
    [unsigned.status, unsigned.body],
    [401, 'request signature: unsigned: no authorization header\n'],
  );
  const wrongKey = await raw(INSTANCES_PATH, { keys: keysOf(newKey()) });
  assert.equal(wrongKey.status, 401);
  assert.match(wrongKey.body, /^request signature: bad-signature: /);
  const old = await raw(INSTANCES_PATH, { keys: KEYS, now: Date.now() - 31_000 });
  assert.equal(old.status, 401);
  assert.match(old.body, /^request signature: expired: x-anycastd-time is -31\.\d s from this host's clock/);
  const post = await fetch(`http://127.0.0.1:${serverPort}${INSTANCES_PATH}`, { method: 'POST', body: 'x' });
  assert.deepEqual([post.status, await post.text()], [405, 'method "POST": use GET\n']);
  // a source that is not a configured host is closed at accept: no answer at all
  const counters = new ClusterCounters();
  const strict = await serveOn(board, '127.0.0.1', 0, KEYS, { allowed: (a) => a === '192.0.2.11', counters });
  try {
    await assert.rejects(
      signedGet({ address: '127.0.0.1', port: strict.port, target: INSTANCES_PATH, keys: KEYS }),
      {
        code: 'ECONNRESET',
      },
    );
    assert.equal(counters.connectionsRefused['not-configured'], 1);
  } finally {
    await strict.close();
  }
});

test('a Cluster follows the other hosts: reports within a round trip, strays ignored, silence forgotten, reload', async () => {
  const clock = new FakeClock({ wallStart: Date.now() });
  const FORGET_MS = 300;
  const h2 = await served(clock, 'h2', '127.0.0.2', PORT);
  const h3 = await served(clock, 'h3', '127.0.0.3', PORT);
  const logs: { event: string; fields: Record<string, unknown> }[] = [];
  const changes: string[] = [];
  const cluster = new Cluster(config(), {
    log: (_level, event, fields) => logs.push({ event, fields }),
    serve: false,
    waitMs: 2000,
    forgetAfterMs: FORGET_MS,
    clock,
  });
  cluster.subscribe((service, instance) => changes.push(`${service}/${instance}`));
  /** Moves the clock by `ms`, which starts one request to `address`, and waits for its end (real I/O). */
  const step = async (address: string, ms: number) => {
    const p = cluster.poller(address)!;
    const sent = p.requests;
    await clock.advance(ms);
    assert.equal(p.requests, sent + 1, `one request to ${address} at ${clock.now()} ms`);
    await waitFor(() => !p.busy, { what: `the end of the request to ${address}` });
  };
  try {
    h2.board.publish('web', 'h2', UP);
    await cluster.start();
    await waitFor(() => cluster.reported('web', 'h2')?.state === 'up');
    await waitFor(() => cluster.poller('127.0.0.3')?.replies === 1);
    assert.equal(cluster.reported('web', 'h3'), undefined, 'h3 said nothing yet');
    // the next request waits for the poll floor, then is held at h2 until something changes there
    const p2 = cluster.poller('127.0.0.2')!;
    await clock.advance(POLL_FLOOR_MS - 1);
    assert.equal(p2.requests, 1, `no second request before ${POLL_FLOOR_MS} ms`);
    await clock.advance(1);
    assert.equal(p2.requests, 2, `the long poll at ${POLL_FLOOR_MS} ms`);
    await waitFor(() => h2.board.waiting === 1, { what: 'the long poll held at h2' });
    // a drain at h2 arrives by the pending long poll: within a round trip, no time passing
    h2.board.publish('web', 'h2', DRAINED);
    await waitFor(() => cluster.reported('web', 'h2')?.new === false);
    assert.equal(clock.now(), POLL_FLOOR_MS, 'no poll interval passed');
    const lastReply = clock.now();
    // h3 claims h2's instance (the config places h2 on 127.0.0.2): ignored, counted and logged once;
    // an entry of a service this host does not have is counted only
    await waitFor(() => h3.board.waiting === 1, { what: 'the long poll held at h3' });
    h3.board.publish('web', 'h2', DOWN);
    h3.board.publish('web2', 'h3', DOWN);
    await waitFor(() => cluster.counters().entriesIgnored['unknown-service'] === 1);
    assert.equal(cluster.counters().entriesIgnored['not-configured-there'], 1);
    assert.equal(logs.filter((l) => l.event === 'cluster-report-ignored').length, 1);
    assert.equal(cluster.reported('web', 'h2')?.state, 'drained', 'a stray does not override the owner');
    // h2's agent goes away: the report is held for FORGET_MS after the last reply, then forgotten at the
    // first failed request after that (the back-off doubles from 250 ms)
    await h2.server.close();
    await step('127.0.0.2', POLL_FLOOR_MS);
    assert.ok(logs.some((l) => l.event === 'cluster-peer-unreachable' && l.fields.address === '127.0.0.2'));
    assert.equal(cluster.reported('web', 'h2')?.state, 'drained', 'held through a short outage');
    await step('127.0.0.2', 250);
    assert.equal(clock.now() - lastReply, FORGET_MS);
    assert.equal(cluster.reported('web', 'h2')?.state, 'drained', `held at ${FORGET_MS} ms of silence`);
    await step('127.0.0.2', 500);
    assert.equal(cluster.reported('web', 'h2'), undefined, `forgotten past ${FORGET_MS} ms of silence`);
    const back = await served(clock, 'h2', '127.0.0.2', PORT);
    back.board.publish('web', 'h2', UP);
    await step('127.0.0.2', 1000);
    assert.equal(cluster.reported('web', 'h2')?.state, 'up', 'back at the first request after the back-off');
    await back.server.close();
    // a reload that adds h4 follows it too
    const h4 = await served(clock, 'h4', '127.0.0.4', PORT);
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
    assert.deepEqual(changes, ['web/h2', 'web/h2', 'web/h2', 'web/h2', 'web/h4']);
  } finally {
    await cluster.close();
    await h3.server.close();
  }
});
