// The 5xx packet tap against the kernel, in a fresh namespace (loopback only): an HTTP server on two
// ports answers 500, 503 or 200 as told; the tap counts the 5xx answers sent from the ports it is asked
// about — never a 200, never a 5xx from a port not asked about, never a request that merely contains
// "HTTP/1.1 500" (incoming) — in both families; a filter rebuilt for other ports follows them.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { createNetns, type Netns, removeNetnsByPrefix, uniquePrefix } from '../../lab/netns.js';
import { http5xxFilter, httpErrorTap, parseAnswer } from '../../src/health/http-error-tap.js';
import { connectTcp, listenTcp } from '../../src/native/index.js';
import { waitFor } from '../helpers/wait-for.js';

const prefix = uniquePrefix('ffail-tap');
let ns: Netns;

before(() => {
  removeNetnsByPrefix(prefix);
  ns = createNetns(prefix);
});
after(() => removeNetnsByPrefix(prefix));

interface Served {
  port: number;
  http: Server;
  close(): Promise<void>;
}

/** An HTTP server in the namespace that answers the status given in the path (`/503`), default 200. */
async function serve(family: 4 | 6): Promise<Served> {
  const l = await listenTcp({
    family,
    netns: ns.name,
    localAddress: family === 4 ? '127.0.0.1' : '::1',
    port: 0,
  });
  const http = createServer((req, res) => {
    const status = Number(req.url?.slice(1)) || 200;
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end('x\n');
  });
  l.server.on('connection', (s: Socket) => http.emit('connection', s));
  return {
    port: l.port,
    http,
    close: async () => {
      http.closeAllConnections();
      await new Promise((r) => l.server.close(r));
    },
  };
}

/** One request on a fresh connection; resolves with the response's first line. */
async function request(family: 4 | 6, port: number, path: string, body = ''): Promise<string> {
  const c = await connectTcp({ family, netns: ns.name, address: family === 4 ? '127.0.0.1' : '::1', port });
  try {
    const head = `POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n`;
    c.write(head + body);
    let got = '';
    c.setEncoding('latin1');
    await new Promise<void>((resolve) => {
      c.on('data', (d: string) => {
        got += d;
      });
      c.once('end', () => resolve());
      c.once('close', () => resolve());
    });
    return got.split('\r\n')[0] ?? '';
  } finally {
    c.destroy();
  }
}

test('the filter is a valid classic BPF program and rejects an empty or oversized port list', () => {
  assert.ok(http5xxFilter([80]).length > 20);
  assert.throws(() => http5xxFilter([]), RangeError);
  assert.throws(() => http5xxFilter(Array.from({ length: 201 }, (_, i) => i + 1)), RangeError);
  assert.equal(parseAnswer(Buffer.from([0x45])), null, 'a cut packet is no answer');
  assert.equal(parseAnswer(Buffer.alloc(0)), null);
});

for (const family of [4, 6] as const)
  test(`IPv${family}: 5xx answers from the asked ports are counted, nothing else`, async () => {
    const tap = httpErrorTap(ns.name);
    assert.ok(tap, 'the tap opens as root');
    const a = await serve(family);
    const b = await serve(family);
    try {
      assert.equal(tap.read([a.port, b.port]).size, 0, 'nothing yet');
      assert.match(await request(family, a.port, '/200', 'HTTP/1.1 500 in a request body'), / 200 /);
      assert.match(await request(family, a.port, '/500'), / 500 /);
      assert.match(await request(family, a.port, '/503'), / 503 /);
      assert.match(await request(family, b.port, '/200'), / 200 /);
      const counts = await waitFor(
        () => {
          const c = tap.read([a.port, b.port]);
          return c.size > 0 ? c : undefined;
        },
        { what: '5xx answers counted' },
      );
      assert.deepEqual(counts.get(a.port), { count: 2, last: '503' });
      assert.equal(counts.get(b.port), undefined, 'a 200 is no sign');
      assert.equal(tap.read([a.port, b.port]).size, 0, 'counted once');
      // Asked about b only: a's errors are not matched by the rebuilt filter.
      tap.read([b.port]);
      assert.match(await request(family, a.port, '/502'), / 502 /);
      assert.match(await request(family, b.port, '/504'), / 504 /);
      const onlyB = await waitFor(
        () => {
          const c = tap.read([b.port]);
          return c.size > 0 ? c : undefined;
        },
        { what: "b's 5xx answer counted" },
      );
      assert.deepEqual([...onlyB.keys()], [b.port]);
      assert.equal(onlyB.get(b.port)?.last, '504');
    } finally {
      tap.close();
      await a.close();
      await b.close();
    }
  });
