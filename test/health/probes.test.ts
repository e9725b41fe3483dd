import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeProbe } from '../../src/health/probe.js';
import { probeExec } from '../../src/health/probe-exec.js';
import { type HttpProbeOptions, probeHttp } from '../../src/health/probe-http.js';
import { probeTcp } from '../../src/health/probe-tcp.js';
import { probeDns, probeUdp } from '../../src/health/probe-udp.js';
import type { ProbeResult } from '../../src/health/types.js';
import {
  answerDns,
  DNS_A,
  DNS_AAAA,
  DNS_NAME,
  httpServer,
  httpsServer,
  listen,
  SERVICE_HOST,
  udpServer,
} from './servers.js';

const never = () => new AbortController().signal;
const verdict = (r: ProbeResult) => [r.ok, r.detail];

describe('tcp', () => {
  test('a listener is healthy, a closed port is refused (IPv4 and IPv6)', async () => {
    for (const host of ['127.0.0.1', '::1']) {
      const srv = createTcp((c) => c.destroy());
      const port = await new Promise<number>((r) =>
        srv.listen(0, host, () => r((srv.address() as { port: number }).port)),
      );
      const r = await probeTcp(host, port, never());
      assert.deepEqual(verdict(r), [true, 'connected']);
      assert.ok(r.durationMs >= 0 && r.durationMs < 1000);
      await new Promise((res) => srv.close(res));
      assert.deepEqual(verdict(await probeTcp(host, port, never())), [false, 'ECONNREFUSED']);
    }
  });
});

describe('http and https', () => {
  const http = httpServer();
  const https = httpsServer();
  let httpPort = 0;
  let httpsPort = 0;
  before(async () => {
    httpPort = await listen(http);
    httpsPort = await listen(https);
  });
  after(() => {
    http.close();
    https.close();
  });
  const base = (over: Partial<HttpProbeOptions>): HttpProbeOptions => ({
    type: 'http',
    port: httpPort,
    path: '/healthz',
    host: SERVICE_HOST,
    status: [200],
    bodyContains: null,
    bodyRegex: null,
    tlsSkipVerify: false,
    ...over,
  });

  test('status and Host header (checked by the server)', async () => {
    assert.deepEqual(verdict(await probeHttp('127.0.0.1', base({}), never())), [true, 'status 200']);
    assert.deepEqual(verdict(await probeHttp('127.0.0.1', base({ host: 'other.example.com' }), never())), [
      false,
      'status 421',
    ]);
    assert.deepEqual(verdict(await probeHttp('127.0.0.1', base({ path: '/down' }), never())), [
      false,
      'status 503',
    ]);
    assert.deepEqual(verdict(await probeHttp('127.0.0.1', base({ path: '/down', status: [503] }), never())), [
      true,
      'status 503',
    ]);
  });

  test('body substring and regex', async () => {
    assert.deepEqual(verdict(await probeHttp('127.0.0.1', base({ bodyContains: 'healthy' }), never())), [
      true,
      'status 200, body matched',
    ]);
    assert.deepEqual(verdict(await probeHttp('127.0.0.1', base({ bodyContains: 'sick' }), never())), [
      false,
      'status 200, body lacks "sick"',
    ]);
    assert.deepEqual(verdict(await probeHttp('127.0.0.1', base({ bodyRegex: '^ok: \\w+$' }), never())), [
      true,
      'status 200, body matched',
    ]);
    assert.deepEqual(verdict(await probeHttp('127.0.0.1', base({ bodyRegex: '^fail' }), never())), [
      false,
      'status 200, body does not match /^fail/',
    ]);
  });

  test('https with a self-signed certificate: verified fails, tls_skip_verify passes', async () => {
    const tls = base({ type: 'https', port: httpsPort, bodyContains: 'healthy' });
    assert.deepEqual(verdict(await probeHttp('127.0.0.1', tls, never())), [
      false,
      'DEPTH_ZERO_SELF_SIGNED_CERT',
    ]);
    assert.deepEqual(verdict(await probeHttp('127.0.0.1', { ...tls, tlsSkipVerify: true }, never())), [
      true,
      'status 200, body matched',
    ]);
    assert.deepEqual(
      verdict(await probeHttp('127.0.0.1', { ...tls, tlsSkipVerify: true, host: 'x.example.com' }, never())),
      [false, 'status 421'],
    );
  });
});

/** Gone, or a zombie waiting for a reaper that is not us. */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
  } catch {
    return true;
  }
}

describe('exec', () => {
  test('exit codes', async () => {
    assert.deepEqual(
      verdict(await probeExec({ command: ['true'], expectExit: 0, timeoutMs: 2000 }, never())),
      [true, 'exit 0'],
    );
    assert.deepEqual(
      verdict(await probeExec({ command: ['false'], expectExit: 0, timeoutMs: 2000 }, never())),
      [false, 'exit 1'],
    );
    assert.deepEqual(
      verdict(await probeExec({ command: ['sh', '-c', 'exit 3'], expectExit: 3, timeoutMs: 2000 }, never())),
      [true, 'exit 3'],
    );
    assert.deepEqual(
      verdict(await probeExec({ command: ['/nonexistent/x'], expectExit: 0, timeoutMs: 2000 }, never())),
      [false, 'ENOENT'],
    );
  });

  test('from config: the checked instance address is passed as ANYCASTD_TARGET', async () => {
    const check = {
      type: 'exec' as const,
      command: ['sh', '-c', 'test "$ANYCASTD_TARGET" = 192.0.2.12'],
      expectExit: 0,
      intervalMs: 1000,
      fastIntervalMs: 1000,
      timeoutMs: 2000,
      rise: 1,
      fall: 1,
      dampening: null,
    };
    assert.deepEqual(verdict(await makeProbe(check, '192.0.2.12')(never())), [true, 'exit 0']);
    assert.deepEqual(verdict(await makeProbe(check, '192.0.2.13')(never())), [false, 'exit 1']);
  });

  test('a timeout kills the whole process group (the command and its child)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'acd-health-exec-'));
    const childPidFile = join(dir, 'child.pid');
    let pid = 0;
    const started = performance.now();
    const r = await probeExec(
      {
        command: ['sh', '-c', `sleep 30 & echo $! > ${childPidFile}; wait`],
        expectExit: 0,
        timeoutMs: 200,
        onSpawn: (p) => {
          pid = p;
        },
      },
      never(),
    );
    const elapsed = performance.now() - started;
    assert.deepEqual(verdict(r), [false, 'killed after timeout 200ms']);
    assert.ok(elapsed >= 200 && elapsed < 1000, `settled after ${elapsed.toFixed(0)} ms`);
    assert.ok(pid > 0);
    assert.equal(isGone(pid), true, 'the command is gone');
    const sleeper = Number(readFileSync(childPidFile, 'utf8'));
    let waited = 0;
    while (!isGone(sleeper) && waited < 1000) {
      await new Promise((res) => setTimeout(res, 10));
      waited += 10;
    }
    assert.equal(isGone(sleeper), true, `its child ${sleeper} (sleep 30) is gone too`);
  });
});

describe('udp and dns', () => {
  test('udp send/expect against an echo server; a closed port is refused', async () => {
    const echo = await udpServer('udp4', (msg, sock, port, address) => sock.send(msg, port, address));
    assert.deepEqual(verdict(await probeUdp('127.0.0.1', echo.port, 'ping', 'ping', never())), [
      true,
      'reply of 4 bytes',
    ]);
    assert.deepEqual(verdict(await probeUdp('127.0.0.1', echo.port, 'ping', 'pong', never())), [
      false,
      'reply lacks "pong"',
    ]);
    echo.sock.close();
    assert.deepEqual(verdict(await probeUdp('127.0.0.1', echo.port, 'ping', 'ping', never())), [
      false,
      'ECONNREFUSED',
    ]);
  });

  test('a silent server: the probe ends when its signal aborts', async () => {
    const silent = await udpServer('udp4', () => {});
    const r = await probeUdp('127.0.0.1', silent.port, 'ping', '', AbortSignal.timeout(100));
    assert.deepEqual(verdict(r), [false, 'aborted (timeout)']);
    silent.sock.close();
  });

  test('dns: A and AAAA answers compared with the expected addresses; NXDOMAIN fails', async () => {
    for (const [type, host] of [
      ['udp4', '127.0.0.1'],
      ['udp6', '::1'],
    ] as const) {
      const dns = await udpServer(type, (msg, sock, port, address) =>
        sock.send(answerDns(msg), port, address),
      );
      assert.deepEqual(verdict(await probeDns(host, dns.port, DNS_NAME, 'A', [DNS_A], never())), [
        true,
        `answer ${DNS_A}`,
      ]);
      assert.deepEqual(
        verdict(await probeDns(host, dns.port, DNS_NAME, 'AAAA', ['2001:DB8:0::53'], never())),
        [true, `answer ${DNS_AAAA}`],
      );
      assert.deepEqual(verdict(await probeDns(host, dns.port, DNS_NAME, 'A', ['192.0.2.54'], never())), [
        false,
        `answer lacks 192.0.2.54 (got ${DNS_A})`,
      ]);
      assert.deepEqual(verdict(await probeDns(host, dns.port, 'other.example.com', 'A', [], never())), [
        false,
        'rcode 3',
      ]);
      dns.sock.close();
    }
  });
});
