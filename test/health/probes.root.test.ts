import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { lookupUser } from '../../src/config/accounts.js';
import { makeProbe } from '../../src/health/probe.js';
import { EXEC_LANG, EXEC_PATH, probeExec } from '../../src/health/probe-exec.js';
import { type HttpProbeOptions, probeHttp } from '../../src/health/probe-http.js';
import { probeTcp } from '../../src/health/probe-tcp.js';
import { probeDns, probeUdp } from '../../src/health/probe-udp.js';
import type { ProbeResult } from '../../src/health/types.js';
import { isGone, waitGone } from '../helpers/process-gone.js';
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
      assert.ok(r.durationMs > 0 && r.durationMs < 1000, `connected in ${r.durationMs} ms`); // a connect takes time
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

describe('exec', () => {
  /** A directory the check's user (nobody) can write its findings into. */
  function outDir(t: import('node:test').TestContext): string {
    const dir = mkdtempSync(join(tmpdir(), 'acd-health-exec-'));
    chmodSync(dir, 0o1777);
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }
  const NOBODY = lookupUser('nobody')!;
  const execCheck = (command: string[], user = 'nobody') => ({
    type: 'exec' as const,
    command,
    expectExit: 0,
    user,
    intervalMs: 1000,
    fastIntervalMs: 1000,
    timeoutMs: 2000,
    rise: 1,
    fall: 1,
    dampening: null,
  });

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
    const check = execCheck(['sh', '-c', 'test "$ANYCASTD_TARGET" = 192.0.2.12']);
    assert.deepEqual(verdict(await makeProbe(check, '192.0.2.12')(never())), [true, 'exit 0']);
    assert.deepEqual(verdict(await makeProbe(check, '192.0.2.13')(never())), [false, 'exit 1']);
  });

  test('from config: runs as the configured user, no capabilities, nothing of the agent’s environment', async (t) => {
    const dir = outDir(t);
    process.env.ANYCASTD_TEST_SECRET = 'hunter2';
    t.after(() => delete process.env.ANYCASTD_TEST_SECRET);
    const script = `tr '\\0' '\\n' < /proc/$$/environ > ${dir}/env; cat /proc/$$/status > ${dir}/status; pwd > ${dir}/cwd`;
    const r = await makeProbe(execCheck(['sh', '-c', script]), '192.0.2.12')(never());
    assert.deepEqual(verdict(r), [true, 'exit 0']);
    const env = readFileSync(join(dir, 'env'), 'utf8').trim().split('\n').sort();
    console.log(`exec check environment: ${env.join(' ')}`);
    assert.deepEqual(env, ['ANYCASTD_TARGET=192.0.2.12', `LANG=${EXEC_LANG}`, `PATH=${EXEC_PATH}`]);
    const status = procStatus(readFileSync(join(dir, 'status'), 'utf8'));
    console.log(
      `exec check: Uid ${status.Uid} Gid ${status.Gid} Groups "${status.Groups}" CapInh ${status.CapInh} CapPrm ${status.CapPrm} CapEff ${status.CapEff} CapAmb ${status.CapAmb}`,
    );
    assert.deepEqual(status.Uid!.split(/\s+/).map(Number), [NOBODY.uid, NOBODY.uid, NOBODY.uid, NOBODY.uid]);
    assert.deepEqual(status.Gid!.split(/\s+/).map(Number), [NOBODY.gid, NOBODY.gid, NOBODY.gid, NOBODY.gid]);
    assert.equal(status.Groups, '', 'the agent’s supplementary groups are cleared');
    for (const set of ['CapPrm', 'CapEff', 'CapAmb']) assert.equal(BigInt(`0x${status[set]}`), 0n, set);
    assert.equal(readFileSync(join(dir, 'cwd'), 'utf8').trim(), '/');
  });

  test('from config: a user that does not exist fails the probe without running anything', async () => {
    const r = await makeProbe(execCheck(['true'], 'acd-no-such-user'), '192.0.2.12')(never());
    assert.deepEqual(verdict(r), [false, 'exec user acd-no-such-user: no such user']);
  });

  for (const as of ['root', 'nobody'] as const)
    test(`a timeout kills the whole process group (the command and its child), running as ${as}`, async (t) => {
      const dir = outDir(t);
      const childPidFile = join(dir, 'child.pid');
      let pid = 0;
      const started = performance.now();
      const r = await probeExec(
        {
          command: ['sh', '-c', `sleep 30 & echo $! > ${childPidFile}; wait`],
          expectExit: 0,
          timeoutMs: 200,
          ...(as === 'nobody' ? { uid: NOBODY.uid, gid: NOBODY.gid } : {}),
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
      assert.equal(await waitGone(sleeper), true, `its child ${sleeper} (sleep 30) is gone too`);
    });
});

/** The "Key:\tvalue" lines of /proc/PID/status. */
function procStatus(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

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
