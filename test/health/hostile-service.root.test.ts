// The checks against a hostile or broken service, over real sockets: an endless body, endless headers, a
// trickle, garbage bytes (HTTP); floods of stray, truncated and oversized replies (DNS, UDP); and a target
// this host has no route to (UDP's connect fails: the probe must settle with the error, not throw from
// the socket's callback). Every probe settles, holds a bounded amount (figures printed) and nothing
// escapes as an exception.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createNetns, removeNetnsByPrefix, uniquePrefix } from '../../lab/netns.js';
import { MAX_BODY, MAX_HEADER_BYTES, probeHttp } from '../../src/health/probe-http.js';
import { probeDns, probeUdp } from '../../src/health/probe-udp.js';
import { waitFor } from '../helpers/wait-for.js';
import { DNS_A, DNS_NAME, udpServer } from './servers.js';

const HOST = '127.0.0.1';
const ABORT_MS = 300;
/** A probe against a hostile service settles within this (bounded by the abort, not by the service). */
const SETTLE_BOUND_MS = 2_000;
const CHUNK = 64 * 1024;
const MB = 1024 * 1024;
const NO_ROUTE_CHILD = fileURLToPath(new URL('./no-route-child.ts', import.meta.url));

const heapMb = () => process.memoryUsage().heapUsed / MB;

/**
 * A raw TCP "service": `serve` writes whatever it likes; counts the bytes it managed to push and the
 * connections still open.
 */
async function rawService(serve: (sock: Socket, sent: (n: number) => void) => void) {
  let bytes = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => {});
    sock.on('close', () => sockets.delete(sock));
    sock.resume();
    serve(sock, (n) => {
      bytes += n;
    });
  });
  const port = await new Promise<number>((r) =>
    server.listen(0, HOST, () => r((server.address() as { port: number }).port)),
  );
  return {
    port,
    sent: () => bytes,
    open: () => sockets.size,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** Writes `next()` for as long as the peer reads (and the socket lives). */
function pump(sock: Socket, next: () => Buffer | string, sent: (n: number) => void): void {
  const go = (): void => {
    while (!sock.destroyed) {
      const data = next();
      sent(Buffer.byteLength(data));
      if (!sock.write(data)) {
        sock.once('drain', go);
        return;
      }
    }
  };
  go();
}

const httpCheck = (port: number, bodyContains: string | null) =>
  probeHttp(
    HOST,
    {
      type: 'http',
      port,
      path: '/healthz',
      host: 'web.example.com',
      status: [200],
      bodyContains,
      bodyRegex: null,
      tlsSkipVerify: false,
    },
    AbortSignal.timeout(ABORT_MS),
  );

async function timed<T>(run: () => Promise<T>): Promise<{ result: T; ms: number; heapMb: number }> {
  const heapBefore = heapMb();
  const started = performance.now();
  const result = await run();
  return { result, ms: performance.now() - started, heapMb: heapMb() - heapBefore };
}

test('http: an endless body is judged on its first MAX_BODY bytes; the probe settles and lets go', async (t) => {
  const chunk = Buffer.alloc(CHUNK, 'a');
  for (const [name, head] of [
    ['until close', 'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n'],
    ['chunked, one endless chunk', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nFFFFFFFF\r\n'],
    ['content-length 1 TB', `HTTP/1.1 200 OK\r\ncontent-length: ${2 ** 40}\r\n\r\n`],
  ] as const) {
    const svc = await rawService((sock, sent) => {
      sock.write(head);
      pump(sock, () => chunk, sent);
    });
    t.after(() => svc.close());
    const r = await timed(() => httpCheck(svc.port, 'needle'));
    t.diagnostic(
      `endless body (${name}): ${JSON.stringify(r.result.detail)} after ${r.ms.toFixed(0)} ms; ` +
        `the service pushed ${(svc.sent() / MB).toFixed(1)} MB before the probe let go; heap ${r.heapMb.toFixed(1)} MB`,
    );
    assert.equal(r.result.ok, false);
    assert.match(r.result.detail, /body lacks "needle"/);
    assert.ok(r.ms < ABORT_MS, `settled by the cap, not the abort (${r.ms.toFixed(0)} ms)`);
    const pushed = svc.sent();
    await waitFor(() => svc.open() === 0, {
      timeoutMs: SETTLE_BOUND_MS,
      what: `${name}: the probe's connection closed`,
    });
    assert.ok(svc.sent() - pushed <= 8 * MB, 'the connection was closed: the service cannot keep pushing');
    assert.ok(MAX_BODY <= CHUNK * 2);
  }
});

test('http: endless headers fail at MAX_HEADER_BYTES, a trickle at the abort, garbage at once', async (t) => {
  const cases: [string, (sock: Socket, sent: (n: number) => void) => void, RegExp][] = [
    [
      'endless headers',
      (sock, sent) => {
        sock.write('HTTP/1.1 200 OK\r\n');
        let i = 0;
        const lines = () =>
          Array.from({ length: 500 }, () => `x-flood-${i++}: ${'h'.repeat(100)}\r\n`).join('');
        pump(sock, lines, sent);
      },
      /HPE_HEADER_OVERFLOW/,
    ],
    [
      'a trickle of header bytes',
      (sock) => {
        sock.write('HTTP/1.1 200 OK\r\nx-slow: ');
        const timer = setInterval(() => (sock.destroyed ? clearInterval(timer) : sock.write('s')), 20);
      },
      /aborted/,
    ],
    [
      'garbage bytes',
      (sock) => sock.end(Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37) & 0xff))),
      /HPE_/,
    ],
    ['an empty reply', (sock) => sock.end(), /ECONNRESET|socket hang up/],
    ['a bare LF flood', (sock, sent) => pump(sock, () => '\n'.repeat(CHUNK), sent), /HPE_|aborted/],
  ];
  for (const [name, serve, expected] of cases) {
    const svc = await rawService(serve);
    t.after(() => svc.close());
    const r = await timed(() => httpCheck(svc.port, null));
    t.diagnostic(
      `${name}: ${JSON.stringify(r.result.detail)} after ${r.ms.toFixed(0)} ms (${svc.sent()} bytes pushed)`,
    );
    assert.equal(r.result.ok, false, name);
    assert.match(r.result.detail, expected, name);
    assert.ok(r.ms < SETTLE_BOUND_MS, `${name}: ${r.ms.toFixed(0)} ms`);
  }
  assert.ok(MAX_HEADER_BYTES <= 64 * 1024);
});

test('dns: stray, truncated and malformed replies never throw; a flood of stray ones holds nothing', async (t) => {
  const truncated = (q: Buffer) => {
    const h = Buffer.from(q.subarray(0, 12));
    h.writeUInt16BE(0x8180, 2);
    h.writeUInt16BE(0xffff, 6); // 65535 answers announced, none there
    return h;
  };
  const selfPointer = (q: Buffer) => {
    const h = Buffer.from(q.subarray(0, 12));
    h.writeUInt16BE(0x8180, 2);
    h.writeUInt16BE(0, 4);
    h.writeUInt16BE(1, 6);
    return Buffer.concat([h, Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 53])]);
  };
  for (const [name, reply, expected] of [
    ['65535 answers announced, none sent', truncated, /malformed response/],
    ['three bytes', () => Buffer.from([1, 2, 3]), /malformed response/],
    ['an answer name pointing at itself', selfPointer, /^answer 192\.0\.2\.53$/],
  ] as const) {
    const srv = await udpServer('udp4', (msg, sock, port, address) => sock.send(reply(msg), port, address));
    t.after(() => srv.sock.close());
    const r = await probeDns(HOST, srv.port, DNS_NAME, 'A', [DNS_A], AbortSignal.timeout(ABORT_MS));
    t.diagnostic(`dns ${name}: ${r.ok} ${JSON.stringify(r.detail)}`);
    assert.match(r.detail, expected, name);
  }
  // 20,000 replies that are not ours (wrong id): each is judged and dropped, the probe ends at its abort
  const STRAY = 20_000;
  const stray = await udpServer('udp4', (msg, sock, port, address) => {
    const wrong = Buffer.from(msg);
    wrong.writeUInt16BE((msg.readUInt16BE(0) + 1) & 0xffff, 0);
    wrong.writeUInt16BE(0x8180, 2);
    for (let i = 0; i < STRAY; i++) sock.send(wrong, port, address);
  });
  t.after(() => stray.sock.close());
  const r = await timed(() =>
    probeDns(HOST, stray.port, DNS_NAME, 'A', [DNS_A], AbortSignal.timeout(ABORT_MS)),
  );
  t.diagnostic(
    `dns: ${STRAY} stray replies → ${JSON.stringify(r.result.detail)} after ${r.ms.toFixed(0)} ms, heap ${r.heapMb.toFixed(1)} MB`,
  );
  assert.equal(r.result.detail, 'aborted (timeout)');
  assert.ok(r.heapMb < 32, `heap grew ${r.heapMb.toFixed(1)} MB`);
});

test('udp: an oversized reply is judged once, a flood of them holds nothing', async (t) => {
  const big = Buffer.alloc(60_000, 'z');
  const srv = await udpServer('udp4', (_msg, sock, port, address) => {
    for (let i = 0; i < 200; i++) sock.send(big, port, address);
  });
  t.after(() => srv.sock.close());
  const r = await timed(() => probeUdp(HOST, srv.port, 'ping', 'pong', AbortSignal.timeout(ABORT_MS)));
  t.diagnostic(`udp: 200 × 60 kB replies → ${JSON.stringify(r.result.detail)} after ${r.ms.toFixed(0)} ms`);
  assert.deepEqual([r.result.ok, r.result.detail], [false, 'reply lacks "pong"']);
});

test('no route from here: UDP, DNS, TCP and HTTP checks settle with the error, the process lives', (t) => {
  const prefix = uniquePrefix('health');
  t.after(() => removeNetnsByPrefix(prefix));
  const ns = createNetns(prefix);
  const run = spawnSync(
    'ip',
    ['netns', 'exec', ns.name, process.execPath, '--import', 'tsx', NO_ROUTE_CHILD],
    {
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  t.diagnostic(
    `no route: exit ${run.status}, ${run.stdout.trim()}${run.status === 0 ? '' : ` ${run.stderr}`}`,
  );
  assert.equal(run.status, 0, 'the process survived every probe');
  const out = JSON.parse(run.stdout) as Record<string, { ok: boolean; detail: string }>;
  for (const kind of ['udp', 'dns', 'tcp', 'http']) {
    assert.equal(out[kind]?.ok, false, kind);
    assert.equal(out[kind]?.detail, 'ENETUNREACH', kind);
  }
});
