// The cluster channel against a hostile network, with real agents' Cluster objects in processes of their
// own inside network namespaces (netns-lab.ts: h1 under attack, h2 its peer, x an attacker whose address
// no config names). Each attack must leave h1 running, its exchange with h2 working, its memory and file
// descriptors bounded and the forged state unapplied; the figures (RSS, fds, connections held, log lines)
// are printed.
//   - the endpoint listens at once, before the host addresses are on lo, and only on them (no VIP, no wildcard)
//   - malformed requests (`GET http://[`, oversized headers, bad methods, garbage, bad queries) get an answer
//   - an unconfigured source is closed at accept before a byte is read; one log line per address and interval
//   - 2,000 connections from x and 2,000 from a configured address: nothing held from x, at most the
//     per-address cap from the other
//   - a client sending one header byte per second is dropped within the header timeout
//   - key rotation through reloads (old and new accepted together), a bad key file on reload kept out
//   - a fake peer on h2's address (h2's agent down): unsigned, wrong-key, oversized, too many entries and
//     invalid replies dropped and counted; a signed peer answering at once meets the poll floor; no other
//     user can take the privileged port
//   - a reply of h2's recorded on the way and served again later is dropped as replayed

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { removeNetnsByPrefix, uniquePrefix } from '../../lab/netns.js';
import { NONCE_HEADER, signReply, signRequest } from '../../src/cluster/auth.js';
import {
  HEADERS_TIMEOUT_MS,
  MAX_CONNECTIONS_PER_ADDRESS,
  MAX_HEADER_BYTES,
  POLL_FLOOR_MS,
} from '../../src/cluster/limits.js';
import { INSTANCES_PATH } from '../../src/cluster/report.js';
import { DEFAULT_CLUSTER_PORT } from '../../src/config/schema.js';
import { connectTcp, listenTcp } from '../../src/native/tcp.js';
import { program } from '../helpers/programs.js';
import { waitFor, within } from '../helpers/wait-for.js';
import {
  AgentProc,
  addH1Addresses,
  buildFabric,
  type Fabric,
  H1,
  H2,
  VIP,
  writeAgentConfig,
  writeKeys,
  X_ADDRESS,
} from './netns-lab.js';
import { keysOf, newKey, rawExchange } from './support.js';

const PORT = DEFAULT_CLUSTER_PORT;
const RELAY_PORT = 9471;
const FLOOD = 2_000;
const FLOOD_BATCH = 250;
/** Polls counted against a peer that answers at once (they take about this many poll floors). */
const FAST_POLLS = 40;
/** The victim's growth bounds under each attack (RSS, file descriptors). */
const MAX_RSS_GROWTH = 40 * 1024 * 1024;
const MAX_FD_GROWTH = MAX_CONNECTIONS_PER_ADDRESS + 8;
const MB = 1024 * 1024;

const prefix = uniquePrefix('cluster');
const dir = mkdtempSync(join(tmpdir(), 'acd-cluster-hostile-'));
const KEY_A = newKey();
const KEY_B = newKey();
const keyFile1 = join(dir, 'h1.key');
const keyFile2 = join(dir, 'h2.key');
let fabric: Fabric;
let h1: AgentProc;
let h2: AgentProc | null = null;

const UP = { state: 'up', new: true, established: true } as const;
const DRAINED = { state: 'drained', new: false, established: true } as const;

before(async () => {
  removeNetnsByPrefix(prefix);
  fabric = buildFabric(prefix, false);
  writeKeys(keyFile1, [KEY_A]);
  writeKeys(keyFile2, [KEY_A]);
});

after(async () => {
  await h2?.stop();
  await h1?.stop();
  removeNetnsByPrefix(prefix);
  rmSync(dir, { recursive: true, force: true });
});

/** Polls an answer of the agents (other processes) until `pred` holds. */
const eventually = (pred: () => Promise<boolean>, timeoutMs: number, what: string) =>
  waitFor(pred, { timeoutMs, intervalMs: 20, what });

/** h1 learns what h2 says and h2 what h1 says (the channel works both ways). */
async function exchangeWorks(what: string, state: 'up' | 'drained' = 'drained'): Promise<void> {
  const report = state === 'up' ? UP : DRAINED;
  await h2!.publish('web', 'h2', report);
  await h1.publish('web', 'h1', report);
  await eventually(
    async () => (await h1.reported('web', 'h2'))?.state === state,
    15_000,
    `${what}: h1 hears h2`,
  );
  await eventually(
    async () => (await h2!.reported('web', 'h1'))?.state === state,
    15_000,
    `${what}: h2 hears h1`,
  );
}

/** A connection into h1's endpoint made inside `ns`, from `localAddress` (the kernel's choice when omitted). */
function connectFrom(ns: string, address: string, localAddress?: string): Promise<Socket> {
  return connectTcp({
    family: address.includes(':') ? 6 : 4,
    netns: ns,
    address,
    port: PORT,
    ...(localAddress ? { localAddress } : {}),
    timeoutMs: 10_000,
  });
}

test('the endpoint listens at once before the host addresses are on lo, and only on them', async () => {
  const t0 = performance.now();
  h1 = await AgentProc.start(fabric.h1, writeAgentConfig(dir, 'h1', keyFile1));
  const startMs = performance.now() - t0;
  await waitFor(() => h1.events('cluster-listening').length === 1, {
    timeoutMs: 2000,
    what: 'cluster-listening logged',
  });
  assert.equal(h1.events('cluster-listen-failed').length, 0, 'no listen failure, no retry delay');
  console.log(`cluster: h1 started and listening in ${startMs.toFixed(0)} ms (process start included)`);
  addH1Addresses(fabric);
  const listening = fabric.h1
    .exec(['ss', '-Hltn'])
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[3])
    .sort();
  assert.deepEqual(listening, [`${H1.v4}:${PORT}`, `[${H1.v6}]:${PORT}`].sort());
  await assert.rejects(
    connectTcp({ family: 4, netns: fabric.x.name, address: VIP, port: PORT, timeoutMs: 3000 }),
    {
      code: 'ECONNREFUSED',
    },
  );
  h2 = await AgentProc.start(fabric.h2, writeAgentConfig(dir, 'h2', keyFile2));
  await exchangeWorks('after start', 'up');
});

test('malformed requests get an answer naming what is wrong, and the endpoint stays up', async () => {
  const keys = keysOf(KEY_A);
  const signed = (target: string) => {
    const s = signRequest(keys, 'GET', target);
    const h = Object.entries(s.headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    return `GET ${target} HTTP/1.1\r\nhost: x\r\n${h}\r\n`;
  };
  const cases: [string, string | Buffer, RegExp][] = [
    [
      'GET http://[',
      'GET http://[ HTTP/1.1\r\nHost: x\r\n\r\n',
      /^HTTP\/1\.1 400 [\s\S]*request target "http:\/\/\[": expected a path/,
    ],
    [
      'oversized headers',
      `GET ${INSTANCES_PATH} HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(MAX_HEADER_BYTES)}\r\n\r\n`,
      /^HTTP\/1\.1 431 [\s\S]*headers over 4096 bytes: HPE_HEADER_OVERFLOW/,
    ],
    ['a long target', `GET /${'a'.repeat(10_000)} HTTP/1.1\r\n\r\n`, /^HTTP\/1\.1 431 /],
    [
      'an unknown method',
      `BREW ${INSTANCES_PATH} HTTP/1.1\r\nHost: x\r\n\r\n`,
      /^HTTP\/1\.1 400 [\s\S]*HPE_INVALID_METHOD/,
    ],
    [
      'POST',
      `POST ${INSTANCES_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi`,
      /^HTTP\/1\.1 405 [\s\S]*method "POST": use GET/,
    ],
    ['DELETE', `DELETE ${INSTANCES_PATH} HTTP/1.1\r\nHost: x\r\n\r\n`, /^HTTP\/1\.1 405 /],
    ['garbage bytes', randomBytes(1024), /^HTTP\/1\.1 400 [\s\S]*bad request: HPE_/],
    ['NUL in the target', `GET /v1/\0instances HTTP/1.1\r\n\r\n`, /^HTTP\/1\.1 400 /],
    [
      'unsigned',
      `GET ${INSTANCES_PATH} HTTP/1.1\r\nHost: x\r\n\r\n`,
      /^HTTP\/1\.1 401 [\s\S]*request signature: unsigned/,
    ],
    [
      'a bad query (signed)',
      signed(`${INSTANCES_PATH}?wait=-1`),
      /^HTTP\/1\.1 400 [\s\S]*wait: expected milliseconds 0\.\.30000, found "-1"/,
    ],
    [
      'a bad escape (signed)',
      signed(`${INSTANCES_PATH}?since=%ZZ`),
      /^HTTP\/1\.1 400 [\s\S]*since: expected a token/,
    ],
    [
      'a repeated key (signed)',
      signed(`${INSTANCES_PATH}?wait=1&wait=2`),
      /^HTTP\/1\.1 400 [\s\S]*parameter wait given twice/,
    ],
    [
      'a body on a GET (signed)',
      signed(INSTANCES_PATH).replace('\r\n\r\n', '\r\ncontent-length: 3\r\n\r\nabc'),
      /^HTTP\/1\.1 400 [\s\S]*a GET carries no body/,
    ],
  ];
  const before = await h1.status();
  for (const [name, bytes, re] of cases) {
    const socket = await connectFrom(fabric.h2.name, H1.v4, H2.v4);
    const r = await rawExchange(H1.v4, PORT, bytes, socket);
    assert.match(r.reply, re, `${name}: ${JSON.stringify(r.reply.slice(0, 200))}`);
    assert.ok(h1.alive, `${name}: the agent is still running`);
  }
  // the same from the attacker's address: closed at accept, no answer at all
  const fromX = await rawExchange(
    H1.v4,
    PORT,
    'GET http://[ HTTP/1.1\r\n\r\n',
    await connectFrom(fabric.x.name, H1.v4),
  );
  assert.equal(fromX.reply, '');
  const after_ = await h1.status();
  const refused = Object.values(after_.counters.requestsRefused).reduce((a, b) => a + b, 0);
  const refusedBefore = Object.values(before.counters.requestsRefused).reduce((a, b) => a + b, 0);
  assert.equal(refused - refusedBefore, cases.length, 'each counted once');
  console.log(
    `cluster: ${cases.length} malformed requests answered; refusals by reason ${JSON.stringify(after_.counters.requestsRefused)}`,
  );
  await exchangeWorks('after the malformed requests');
});

test('a source no config names is closed at accept, before a byte is read; logged once', async () => {
  const before = await h1.status();
  const logsBefore = h1.events('cluster-connection-refused').length;
  const attempts = 50;
  for (let i = 0; i < attempts; i++) {
    const s = await connectFrom(fabric.x.name, H1.v4);
    const r = await rawExchange(H1.v4, PORT, `GET ${INSTANCES_PATH} HTTP/1.1\r\nHost: x\r\n\r\n`, s);
    assert.equal(r.reply, '', 'no byte answered');
  }
  const after_ = await h1.status();
  assert.equal(
    after_.counters.connectionsRefused['not-configured'] -
      before.counters.connectionsRefused['not-configured'],
    attempts,
  );
  assert.deepEqual(after_.counters.requestsRefused, before.counters.requestsRefused, 'nothing was parsed');
  const lines = h1.events('cluster-connection-refused').slice(logsBefore);
  assert.ok(lines.length <= 1, `at most one line for ${X_ADDRESS} per interval, found ${lines.length}`);
  console.log(
    `cluster: ${attempts} connections from ${X_ADDRESS} refused at accept, ${lines.length} log line`,
  );
});

/**
 * Opens `n` connections from `ns` (batches), waits until the endpoint has closed all but `cap` of them
 * (it closes the refused ones at accept), and says how many it holds (more than `cap` after 10 s).
 */
async function flood(
  ns: string,
  n: number,
  cap: number,
  localAddress?: string,
): Promise<{ held: number; failed: number }> {
  const sockets: Socket[] = [];
  let failed = 0;
  for (let i = 0; i < n; i += FLOOD_BATCH) {
    const batch = await Promise.allSettled(
      Array.from({ length: Math.min(FLOOD_BATCH, n - i) }, () => connectFrom(ns, H1.v4, localAddress)),
    );
    for (const r of batch) {
      if (r.status === 'fulfilled') {
        r.value.on('error', () => {});
        sockets.push(r.value);
      } else failed++;
    }
  }
  const open = () => sockets.filter((s) => !s.destroyed && s.readyState === 'open').length;
  await waitFor(() => open() <= cap, { timeoutMs: 10_000 }).catch(() => {}); // the caller asserts on it
  const held = open();
  for (const s of sockets) s.destroy();
  return { held, failed };
}

test('a flood of connections is capped: none held from an unknown source, the per-address cap from a known one', async () => {
  const s0 = await h1.status();
  const logs0 = h1.logs.length;
  const fromX = await flood(fabric.x.name, FLOOD, 0);
  const s1 = await h1.status();
  const fromH2 = await flood(fabric.h2.name, FLOOD, MAX_CONNECTIONS_PER_ADDRESS, H2.v4);
  const s2 = await h1.status();
  const lines = h1.logs.length - logs0;
  console.log(
    `cluster flood: ${FLOOD} conns from ${X_ADDRESS}: held ${fromX.held} (connect failures ${fromX.failed}); ` +
      `${FLOOD} from ${H2.v4}: held ${fromH2.held}; victim RSS ${(s0.rss / MB).toFixed(1)} → ${(s1.rss / MB).toFixed(1)} → ` +
      `${(s2.rss / MB).toFixed(1)} MB, fds ${s0.fds} → ${s1.fds} → ${s2.fds}, log lines ${lines}`,
  );
  assert.equal(fromX.held, 0);
  assert.ok(fromH2.held <= MAX_CONNECTIONS_PER_ADDRESS, `held ${fromH2.held} from one address`);
  assert.ok(s2.rss - s0.rss < MAX_RSS_GROWTH, `RSS grew ${((s2.rss - s0.rss) / MB).toFixed(1)} MB`);
  assert.ok(s1.fds - s0.fds <= MAX_FD_GROWTH && s2.fds - s0.fds <= MAX_FD_GROWTH, 'fds bounded');
  assert.ok(lines <= 4, `log lines bounded (${lines})`);
  assert.ok(s2.counters.connectionsRefused['address-limit'] > 0);
  await exchangeWorks('after the floods', 'up');
});

test('a client sending one header byte per second is dropped within the header timeout', async () => {
  const s = await connectFrom(fabric.h2.name, H1.v4, H2.v4);
  const request = `GET ${INSTANCES_PATH} HTTP/1.1\r\nHost: x\r\n\r\n`;
  const t0 = performance.now();
  let sent = 0;
  const closed = new Promise<number>((resolve) => s.once('close', () => resolve(performance.now() - t0)));
  s.on('error', () => {});
  const drip = setInterval(() => {
    if (!s.destroyed && sent < request.length) s.write(request[sent++]!);
  }, 1000);
  s.write(request[sent++]!);
  const ms = await within(closed, HEADERS_TIMEOUT_MS + 5000, 'the slow client dropped').finally(() => {
    clearInterval(drip);
    s.destroy();
  });
  console.log(`cluster: slow client (1 byte/s) dropped after ${ms.toFixed(0)} ms, ${sent} bytes sent`);
  assert.ok(ms > 0 && ms < HEADERS_TIMEOUT_MS + 1000, `dropped after ${ms.toFixed(0)} ms`);
  assert.ok((await h1.status()).counters.requestsRefused.timeout >= 1);
});

test('key rotation through reloads: old and new keys accepted together; a bad key file keeps the running keys', async () => {
  const reload = async (a: AgentProc) => {
    const r = await a.call<{ ok: boolean; error?: string }>('reload');
    assert.ok(r.ok, r.error);
  };
  const steps: [string, Buffer[], Buffer[]][] = [
    ['the new key added on h2', [KEY_A], [KEY_A, KEY_B]],
    ['and on h1', [KEY_A, KEY_B], [KEY_A, KEY_B]],
    ['the new key first on h2 (h2 signs with it)', [KEY_A, KEY_B], [KEY_B, KEY_A]],
    ['and on h1', [KEY_B, KEY_A], [KEY_B, KEY_A]],
    ['the old key removed on h2', [KEY_B, KEY_A], [KEY_B]],
    ['and on h1', [KEY_B], [KEY_B]],
  ];
  let state: 'up' | 'drained' = 'up';
  for (const [what, k1, k2] of steps) {
    writeKeys(keyFile1, k1);
    writeKeys(keyFile2, k2);
    await reload(h1);
    await reload(h2!);
    state = state === 'up' ? 'drained' : 'up';
    await exchangeWorks(`rotation: ${what}`, state);
  }
  // a bad key file on reload: rejected, the running key (B) stays in force
  writeKeys(keyFile1, []);
  const bad = await h1.call<{ ok: boolean; error?: string }>('reload');
  assert.equal(bad.ok, false);
  assert.match(bad.error!, /cluster\.key_file: expected keys of at least 32 bytes .*: no key/);
  state = state === 'up' ? 'drained' : 'up';
  await exchangeWorks('after a rejected key file', state);
  // a host with another key cannot talk to h1 at all
  writeKeys(keyFile2, [newKey()]);
  await reload(h2!);
  const before = (await h1.status()).counters;
  await h2!.publish('web', 'h2', state === 'up' ? DRAINED : UP);
  await eventually(
    async () =>
      (await h1.status()).counters.requestsRefused.unauthorized > before.requestsRefused.unauthorized,
    15_000,
    "h1 refuses h2's requests",
  );
  await eventually(
    async () => (await h2!.status()).counters.requestsRefused.unauthorized > 0,
    15_000,
    "h2 refuses h1's requests",
  );
  assert.equal(
    (await h1.reported('web', 'h2'))?.state,
    state,
    'what h2 says with another key is not applied',
  );
  writeKeys(keyFile1, [KEY_A]);
  writeKeys(keyFile2, [KEY_A]);
  await reload(h1);
  await reload(h2!);
  await exchangeWorks('back on one key', 'up');
});

type FakeMode = 'valid' | 'unsigned' | 'wrong-key' | 'huge' | 'many' | 'invalid' | 'fast';

/** A fake agent on h2's address and port (h2's own agent is down): it answers h1's polls as `mode` says. */
async function fakePeer(): Promise<{ mode: FakeMode; requests: number; close(): void }> {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  const state = {
    mode: 'valid' as FakeMode,
    requests: 0,
    close: () => {
      server?.close();
      for (const s of sockets) s.destroy();
    },
  };
  const right = keysOf(KEY_A);
  const wrong = keysOf(newKey());
  let version = 0;
  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    state.requests++;
    const nonce = String(req.headers[NONCE_HEADER] ?? '');
    const entry = (service: string, st = 'down') => ({
      service,
      instance: 'h2',
      state: st,
      new: false,
      established: false,
    });
    const reply = (instances: unknown[]) => ({ node: 'h2', token: `feedfeedfeed.${version++}`, instances });
    let body: Buffer;
    let keys = right;
    let signed = true;
    switch (state.mode) {
      case 'valid':
      case 'fast':
        body = Buffer.from(JSON.stringify(reply([entry('web', 'up')])));
        break;
      case 'unsigned':
        signed = false;
        body = Buffer.from(JSON.stringify(reply([entry('web')])));
        break;
      case 'wrong-key':
        keys = wrong;
        body = Buffer.from(JSON.stringify(reply([entry('web')])));
        break;
      case 'huge':
        body = Buffer.from(
          JSON.stringify(
            reply([entry('web'), ...Array.from({ length: 5000 }, (_, i) => entry(`made-up-${i}`))]),
          ),
        );
        break;
      case 'many':
        body = Buffer.from(
          JSON.stringify(reply([entry('web'), ...Array.from({ length: 20 }, (_, i) => entry(`m${i}`))])),
        );
        break;
      case 'invalid':
        body = Buffer.from('{"node": "h2", "token": 7}');
        break;
    }
    res.writeHead(200, {
      'content-type': 'application/json',
      ...(signed ? signReply(keys, nonce, body) : {}),
    });
    res.end(body);
  });
  const l = await listenTcp({ family: 4, netns: fabric.h2.name, localAddress: H2.v4, port: PORT }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    http.emit('connection', s);
  });
  server = l.server;
  return state;
}

test('a fake peer on h2 (its agent down) cannot change what h1 believes; its replies are dropped and counted', async () => {
  await exchangeWorks('before h2 goes down', 'up');
  await h2!.stop();
  h2 = null;
  // no other user can take the (privileged) port while the agent is down
  const asNobody = execFileSync(
    'ip',
    [
      'netns',
      'exec',
      fabric.h2.name,
      'setpriv',
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      ...program('try-bind', ['--bind', H2.v4, '--port', String(PORT)]),
    ],
    { encoding: 'utf8' },
  ).trim();
  assert.equal(asNobody, 'EACCES', `an unprivileged user binding ${H2.v4}:${PORT}`);
  const fake = await fakePeer();
  try {
    const s0 = await h1.status();
    const logs0 = h1.logs.length;
    const bytes0 = h1.logBytes;
    const rejected = async () => (await h1.status()).counters.repliesRejected;
    const phases: [FakeMode, keyof typeof s0.counters.repliesRejected][] = [
      ['unsigned', 'unsigned'],
      ['wrong-key', 'bad-signature'],
      ['huge', 'too-large'],
      ['many', 'too-many-entries'],
      ['invalid', 'invalid'],
    ];
    for (const [mode, reason] of phases) {
      const n0 = (await rejected())[reason];
      fake.mode = mode;
      await eventually(
        async () => (await rejected())[reason] >= n0 + 2,
        10_000,
        `${mode} replies dropped as ${reason}`,
      );
      assert.equal(
        (await h1.reported('web', 'h2'))?.state,
        'up',
        `${mode}: the state it claims (down) is not applied`,
      );
      assert.equal(await h1.reported('made-up-0', 'h2'), null);
      // a good reply between the phases resets the poller's back-off (and its hold before forgetting)
      const replies = async () => (await h1.status()).peers[0]?.replies ?? 0;
      const good = await replies();
      fake.mode = 'valid';
      await eventually(async () => (await replies()) > good, 10_000, 'a good reply after the phase');
    }
    const s1 = await h1.status();
    const metrics = await h1.call<string>('metrics');
    for (const [, reason] of phases)
      assert.match(
        metrics,
        new RegExp(`anycastd_cluster_replies_rejected_total\\{reason="${reason}"\\} [1-9]`),
      );
    // a signed peer answering every poll at once meets the poll floor: FAST_POLLS polls take at least
    // (FAST_POLLS - 2) floors (one of slack for the request under way when the mode changed)
    const req0 = fake.requests;
    const t0 = performance.now();
    fake.mode = 'fast';
    await waitFor(() => fake.requests - req0 >= FAST_POLLS, {
      timeoutMs: 15_000,
      what: `${FAST_POLLS} polls answered at once`,
    });
    const fastMs = performance.now() - t0;
    fake.mode = 'valid';
    const s2 = await h1.status();
    console.log(
      `cluster fake peer: rejected ${JSON.stringify(s1.counters.repliesRejected)}; requests it saw ${fake.requests}; ` +
        `answering at once: ${FAST_POLLS} polls in ${fastMs.toFixed(0)} ms (floor ${POLL_FLOOR_MS} ms); victim RSS ${(s0.rss / MB).toFixed(1)} → ` +
        `${(s2.rss / MB).toFixed(1)} MB; log lines ${h1.logs.length - logs0} (${h1.logBytes - bytes0} bytes)`,
    );
    assert.ok(fastMs >= (FAST_POLLS - 2) * POLL_FLOOR_MS, `${FAST_POLLS} polls in ${fastMs.toFixed(0)} ms`);
    assert.ok(s2.rss - s0.rss < MAX_RSS_GROWTH, 'RSS bounded');
    assert.ok(h1.logs.length - logs0 <= 20, `log lines bounded (${h1.logs.length - logs0})`);
  } finally {
    fake.close();
  }
});

/** The first complete HTTP response (headers and Content-Length body) at the start of `buf`, or null. */
function nextResponse(buf: Buffer): Buffer | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const length = Number(/content-length: (\d+)/i.exec(buf.subarray(0, end).toString('latin1'))?.[1] ?? 0);
  const total = end + 4 + length;
  return buf.length >= total ? Buffer.from(buf.subarray(0, total)) : null;
}

test('a reply of h2 recorded on the way and served again is dropped as replayed', async () => {
  // h2's agent listens on RELAY_PORT; a relay on h2's address and h1's port forwards h1's polls to it (from
  // h1's address, as h2 admits) and records the replies; then it serves a recorded one again.
  h2 = await AgentProc.start(fabric.h2, writeAgentConfig(dir, 'h2', keyFile2, RELAY_PORT));
  const recorded: Buffer[] = [];
  let replay: Buffer | null = null;
  const live = new Set<Socket>();
  const relay = await listenTcp(
    { family: 4, netns: fabric.h2.name, localAddress: H2.v4, port: PORT },
    (client) => {
      live.add(client);
      client.on('error', () => {});
      client.on('close', () => live.delete(client));
      if (replay) {
        const old = replay;
        client.on('data', () => client.write(old));
        return;
      }
      void connectTcp({
        family: 4,
        netns: fabric.h1.name,
        localAddress: H1.v4,
        address: H2.v4,
        port: RELAY_PORT,
      }).then(
        (upstream) => {
          live.add(upstream);
          upstream.on('error', () => client.destroy());
          client.on('close', () => upstream.destroy());
          upstream.on('close', () => client.destroy());
          client.pipe(upstream);
          let stream = Buffer.alloc(0);
          upstream.on('data', (chunk: Buffer) => {
            stream = Buffer.concat([stream, chunk]);
            for (let r = nextResponse(stream); r; r = nextResponse(stream)) {
              recorded.push(r);
              stream = stream.subarray(r.length);
            }
            client.write(chunk);
          });
        },
        () => client.destroy(),
      );
    },
  );
  try {
    await h2.publish('web', 'h2', DRAINED);
    await eventually(
      async () => (await h1.reported('web', 'h2'))?.state === 'drained',
      15_000,
      'drained through the relay',
    );
    const drainedReply = recorded.find((c) => c.toString('latin1').includes('"drained"'));
    assert.ok(drainedReply, 'a reply saying drained was recorded');
    await h2.publish('web', 'h2', UP);
    await eventually(
      async () => (await h1.reported('web', 'h2'))?.state === 'up',
      15_000,
      'up through the relay',
    );
    const before = (await h1.status()).counters.repliesRejected;
    replay = drainedReply;
    for (const s of live) s.destroy();
    await eventually(
      async () => (await h1.status()).counters.repliesRejected.replayed > before.replayed,
      10_000,
      'the replayed reply dropped',
    );
    assert.equal((await h1.reported('web', 'h2'))?.state, 'up', 'the replayed "drained" is not applied');
    const after_ = (await h1.status()).counters.repliesRejected;
    console.log(
      `cluster replay: ${after_.replayed - before.replayed} replayed replies dropped (${drainedReply.length} bytes each)`,
    );
  } finally {
    replay = Buffer.alloc(0);
    for (const s of live) s.destroy();
    relay.server.close();
  }
  assert.ok(h1.alive);
});
