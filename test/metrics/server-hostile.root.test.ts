// The /metrics endpoint against hostile clients, over real sockets: a flood of idle connections is held
// to MAX_CONNECTIONS and a scrape still gets through; a slow client is dropped at the header timeout and a
// silent one at the idle timeout; malformed and oversized requests get 4xx and the server stays up; a
// handler that throws or rejects answers 500. Figures (connections held, RSS) are printed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AnycastdMetrics } from '../../src/metrics/metrics.js';
import {
  type Exposition,
  HEADERS_TIMEOUT_MS,
  IDLE_TIMEOUT_MS,
  KEEP_ALIVE_TIMEOUT_MS,
  MAX_CONNECTIONS,
  MAX_HEADER_BYTES,
  MetricsServer,
  REQUEST_TIMEOUT_MS,
} from '../../src/metrics/server.js';
import { testConfig } from './fixture.js';
import { idleFlood, rawExchange } from './raw-http.js';

const BUILD = { version: '0.1.0', node: 'h1' };
const FLOOD = 2_000;
/** A scrape during a flood must answer within this. */
const SCRAPE_BOUND_MS = 1_000;
const MB = 1024 * 1024;
const SETTLE_MS = 300;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssMb = () => process.memoryUsage().rss / MB;

async function scrape(port: number): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) });
  await res.text();
  return { status: res.status, ms: performance.now() - started };
}

test('the bounds are a few seconds and a few KiB', () => {
  assert.ok(HEADERS_TIMEOUT_MS <= 5_000 && REQUEST_TIMEOUT_MS <= 10_000 && IDLE_TIMEOUT_MS <= 10_000);
  assert.ok(KEEP_ALIVE_TIMEOUT_MS <= 5_000);
  assert.ok(MAX_HEADER_BYTES <= 16 * 1024);
  assert.ok(MAX_CONNECTIONS >= 8 && MAX_CONNECTIONS <= 256);
});

test(`a flood of ${FLOOD} idle connections: at most MAX_CONNECTIONS held, a scrape still answers`, async (t) => {
  const server = await MetricsServer.listen(new AnycastdMetrics({}, BUILD, testConfig()), '127.0.0.1:0');
  t.after(() => server.close());
  const { port } = server.address;
  const rssBefore = rssMb();
  const flood = await idleFlood(port, FLOOD);
  t.after(() => flood.close());
  await sleep(SETTLE_MS);
  const held = flood.open();
  const during = await scrape(port);
  const rssAfter = rssMb();
  t.diagnostic(
    `idle flood of ${FLOOD}: ${held} held by the server (cap ${MAX_CONNECTIONS}), ` +
      `stats ${JSON.stringify(server.stats)}; scrape during the flood ${during.status} in ${during.ms.toFixed(0)} ms; ` +
      `RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MB (clients and server in this process)`,
  );
  assert.ok(held <= MAX_CONNECTIONS, `the server holds ${held} connections`);
  assert.equal(during.status, 200);
  assert.ok(during.ms < SCRAPE_BOUND_MS, `scrape took ${during.ms.toFixed(0)} ms`);
});

test('a slow client (one header byte every 100 ms) is dropped at the header timeout with 408', async (t) => {
  const headersTimeoutMs = 1_000;
  const timeoutCheckMs = 100;
  const server = await MetricsServer.listen(new AnycastdMetrics({}, BUILD, testConfig()), '127.0.0.1:0', {
    headersTimeoutMs,
    requestTimeoutMs: 2_000,
    timeoutCheckMs,
  });
  t.after(() => server.close());
  const head = 'GET /metrics HTTP/1.1\r\nHost: x\r\n';
  const trickle = [head, ...Array.from({ length: 100 }, () => 'X')];
  const r = await rawExchange(server.address.port, trickle, { everyMs: 100, untilClosed: true });
  t.diagnostic(
    `slow client: "${r.status}", closed after ${r.ms.toFixed(0)} ms (header timeout ${headersTimeoutMs} ms)`,
  );
  assert.equal(r.closed, true, 'the server closed it');
  assert.ok(r.ms < headersTimeoutMs + timeoutCheckMs + 500, `held ${r.ms.toFixed(0)} ms`);
  assert.match(r.status, /^HTTP\/1\.1 408 /);
  assert.equal((await scrape(server.address.port)).status, 200, 'still serving');
});

test('a connection that sends nothing is closed at the idle timeout', async (t) => {
  const idleTimeoutMs = 500;
  const server = await MetricsServer.listen(new AnycastdMetrics({}, BUILD, testConfig()), '127.0.0.1:0', {
    idleTimeoutMs,
  });
  t.after(() => server.close());
  const r = await rawExchange(server.address.port, [], { untilClosed: true });
  t.diagnostic(`silent client closed after ${r.ms.toFixed(0)} ms (idle timeout ${idleTimeoutMs} ms)`);
  assert.equal(r.closed, true);
  assert.ok(r.ms >= idleTimeoutMs - 50 && r.ms < idleTimeoutMs + 1_000, `held ${r.ms.toFixed(0)} ms`);
});

test('malformed and oversized requests get 4xx, absolute-form is served, the server stays up', async (t) => {
  const server = await MetricsServer.listen(new AnycastdMetrics({}, BUILD, testConfig()), '127.0.0.1:0');
  t.after(() => server.close());
  const { port } = server.address;
  const garbage = Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 151 + 7) & 0xff));
  const cases: [string, (string | Buffer)[], RegExp][] = [
    ['unparseable target', ['GET http://[ HTTP/1.1\r\nHost: x\r\n\r\n'], /^HTTP\/1\.1 400 /],
    ['asterisk target', ['GET * HTTP/1.1\r\nHost: x\r\n\r\n'], /^HTTP\/1\.1 400 /],
    ['garbage bytes', [garbage], /^HTTP\/1\.1 400 /],
    ['bad version', ['GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n'], /^HTTP\/1\.1 4\d\d /],
    ['NUL in a header', ['GET /metrics HTTP/1.1\r\nHost: x\0y\r\n\r\n'], /^HTTP\/1\.1 400 /],
    [
      'oversized head',
      [`GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(MAX_HEADER_BYTES * 2)}\r\n\r\n`],
      /^HTTP\/1\.1 431 /,
    ],
    ['absolute-form', ['GET http://127.0.0.1/metrics HTTP/1.1\r\nHost: x\r\n\r\n'], /^HTTP\/1\.1 200 /],
  ];
  for (const [name, bytes, expected] of cases) {
    const r = await rawExchange(port, bytes);
    t.diagnostic(`${name}: "${r.status}"`);
    assert.match(r.status, expected, name);
    assert.equal((await scrape(port)).status, 200, `still serving after ${name}`);
  }
  assert.ok(server.stats.clientErrors >= 4, `client errors counted: ${server.stats.clientErrors}`);
});

test('a handler that throws or rejects answers 500 and the server keeps serving', async (t) => {
  let mode: 'throw' | 'reject' | 'ok' = 'throw';
  const exposition: Exposition = {
    registry: { contentType: 'text/plain; version=0.0.4' },
    text: () => {
      if (mode === 'throw') throw new Error('collect failed');
      if (mode === 'reject') return Promise.reject(new Error('scrape failed'));
      return Promise.resolve('anycastd_up 1\n');
    },
  };
  const server = await MetricsServer.listen(exposition, '127.0.0.1:0');
  t.after(() => server.close());
  const { port } = server.address;
  assert.equal((await scrape(port)).status, 500);
  mode = 'reject';
  assert.equal((await scrape(port)).status, 500);
  mode = 'ok';
  assert.equal((await scrape(port)).status, 200);
  assert.equal(server.stats.handlerErrors, 2);
});
