// Fuzz the cluster channel with a fixed seed, both ways:
// - the endpoint (a real StateServer on loopback): signed requests mutated (bytes flipped, cut, repeated,
//   headers added or dropped, methods, targets and queries swapped for odd ones) and pure random bytes,
//   each on its own connection. Invariant: the server answers with one of its statuses or closes, never
//   with 500 (nothing in the handler threw), and still serves a good request at the end.
// - the reply check (auth.ts + report.ts): signed replies with the body, headers or signature mutated.
//   Invariant: only RejectedReply comes out, and a mutated reply is never accepted.
// Budget: a fixed number of seeded cases in `make test`, 60 s each with ANYCASTD_FUZZ=long (`make fuzz`).

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { signReply, signRequest, verifyReply } from '../../src/cluster/auth.js';
import { ReportBoard } from '../../src/cluster/board.js';
import { ClusterCounters } from '../../src/cluster/counters.js';
import { INSTANCES_PATH, parseInstancesReply, RejectedReply } from '../../src/cluster/report.js';
import { seededRandom } from '../bgp/rng.js';
import { fuzzBudget } from '../helpers/fuzz-budget.js';
import { keysOf, newKey, rawExchange, serveOn, signedGet } from './support.js';

/** Requests, each on its own loopback connection. */
const SHORT_REQUESTS = 300;
const SHORT_REPLIES = 2_000;
const SEED = 0x5eed0947;
const STATUSES = new Set(['200', '400', '401', '404', '405', '429', '431']);

const rand = seededRandom(SEED);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
const KEYS = keysOf(newKey());

const board = new ReportBoard('h9');
board.publish('web', 'h9', { state: 'up', new: true, established: true });
const counters = new ClusterCounters();
const server = await serveOn(board, '127.0.0.1', 0, KEYS, { counters, maxConnections: () => 1024 });
after(() => server.close());

const METHODS = ['GET', 'HEAD', 'POST', 'get', 'G\0T', 'CONNECT', 'PRI', 'GET GET', ''];
const TARGETS = [
  INSTANCES_PATH,
  `${INSTANCES_PATH}?since=&wait=0`,
  `${INSTANCES_PATH}?wait=99999999999`,
  `${INSTANCES_PATH}?since=%ff%fe&wait=1`,
  'http://[',
  '*',
  '//',
  `${INSTANCES_PATH}#frag`,
  `${INSTANCES_PATH}?${'a=1&'.repeat(200)}`,
  '/%00',
  '/../../etc/passwd',
];

function request(): Buffer {
  const target = pick(TARGETS);
  const signed = signRequest(rand() < 0.2 ? keysOf(newKey()) : KEYS, 'GET', target);
  const headers = Object.entries(signed.headers).filter(() => rand() > 0.1);
  if (rand() < 0.3)
    headers.push([
      pick(['content-length', 'transfer-encoding', 'x-anycastd-time', 'host']),
      pick(['5', 'chunked', '-1', '', 'ÿ']),
    ]);
  const method = rand() < 0.7 ? 'GET' : pick(METHODS);
  const text = `${method} ${target} HTTP/1.${int(3)}\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  const bytes = Buffer.from(text, 'latin1');
  switch (int(5)) {
    case 0:
      for (let i = 0; i < 1 + int(4); i++) bytes[int(bytes.length)] = int(256);
      return bytes;
    case 1:
      return Buffer.concat([bytes, bytes]); // pipelined twice
    case 2:
      return Buffer.from(Array.from({ length: 1 + int(512) }, () => int(256)));
    default:
      return bytes;
  }
}

test('fuzz: the endpoint answers or closes, never fails inside, and keeps serving', async () => {
  const budget = fuzzBudget(SHORT_REQUESTS);
  let n = 0;
  const seen = new Map<string, number>();
  while (budget.more(n)) {
    const bytes = request();
    // half-close after writing: an incomplete request ends at EOF instead of waiting for the header timeout
    const r = await rawExchange('127.0.0.1', server.port, bytes, undefined, true);
    const status = /^HTTP\/1\.1 (\d{3}) /.exec(r.reply)?.[1] ?? (r.reply === '' ? 'closed' : 'other');
    seen.set(status, (seen.get(status) ?? 0) + 1);
    assert.ok(
      status === 'closed' || STATUSES.has(status),
      `status ${status} for ${JSON.stringify(bytes.toString('latin1').slice(0, 120))}`,
    );
    n++;
  }
  assert.equal(counters.requestsRefused.internal, 0, 'nothing threw in the handler');
  const good = await signedGet({
    address: '127.0.0.1',
    port: server.port,
    target: INSTANCES_PATH,
    keys: KEYS,
  });
  assert.ok(good.status === 200 || good.status === 429);
  console.log(`cluster fuzz (endpoint): ${n} requests, answers ${JSON.stringify(Object.fromEntries(seen))}`);
});

test('fuzz: a mutated signed reply is never accepted, and only RejectedReply comes out', () => {
  const budget = fuzzBudget(SHORT_REPLIES);
  let n = 0;
  const reasons = new Map<string, number>();
  while (budget.more(n)) {
    const nonce = signRequest(KEYS, 'GET', INSTANCES_PATH).nonce;
    const body = Buffer.from(JSON.stringify(board.reply()));
    const headers: Record<string, string> = signReply(KEYS, nonce, body);
    const mutated = Buffer.from(body);
    const what = int(4);
    if (what === 0) for (let i = 0; i < 1 + int(3); i++) mutated[int(mutated.length)] = int(256);
    else if (what === 1)
      headers['x-anycastd-signature'] = (headers['x-anycastd-signature'] ?? '').replace(/^./, (c) =>
        c === '0' ? '1' : '0',
      );
    else if (what === 2)
      headers['x-anycastd-time'] = String(
        Number(headers['x-anycastd-time']) + pick([1, -1, 31_000, -31_000]),
      );
    else delete headers[pick(['x-anycastd-signature', 'x-anycastd-time'])];
    const changed = !mutated.equals(body) || what !== 0;
    try {
      const auth = verifyReply(KEYS, nonce, headers, mutated);
      if (!auth.ok) throw new RejectedReply(auth.reason, auth.detail);
      assert.ok(!changed, 'a mutated reply passed the signature check');
      parseInstancesReply(JSON.parse(mutated.toString('utf8')), 'fuzz', 8);
      reasons.set('accepted', (reasons.get('accepted') ?? 0) + 1);
    } catch (err) {
      assert.ok(err instanceof RejectedReply, `unexpected ${String(err)}`);
      reasons.set(err.reason, (reasons.get(err.reason) ?? 0) + 1);
    }
    n++;
  }
  console.log(
    `cluster fuzz (replies): ${n} replies, outcomes ${JSON.stringify(Object.fromEntries(reasons))}`,
  );
});
