// The lab's client probe: opens many short connections to a VIP and counts which host answered
// each (the service answers with its host id). Run inside the client namespace:
//   ip netns exec <ns> node --import tsx lab/probe.ts --target 203.0.113.10 --count 300 [--protocol tcp|udp|http]
// Every connection has its own source port, so an L4-hashing ECMP router spreads them. Prints one
// JSON object: { counts: {h1: n, ...}, failures: n, firstError?: string, elapsedMs: n }.

import { createSocket } from 'node:dgram';
import { get as httpGet } from 'node:http';
import { connect, isIPv6 } from 'node:net';
import { parseArgs } from 'node:util';
import { SERVICE_PORTS } from './addressing.js';

/** One exchange's limit (an HTTP request may take it twice: to connect, then idle before the answer). */
export const CONNECT_TIMEOUT_MS = 2_000;
const HTTP_OK = 200;
const PROTOCOLS: readonly ProbeProtocol[] = ['tcp', 'udp', 'http'];

export type ProbeProtocol = 'tcp' | 'udp' | 'http';

export interface ProbeResult {
  counts: Record<string, number>;
  failures: number;
  firstError?: string;
  elapsedMs: number;
}

/** One TCP connection: read the first line (the host id), close. */
function tcpOnce(target: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: target, port });
    let buf = '';
    const timer = setTimeout(() => sock.destroy(new Error('timeout')), CONNECT_TIMEOUT_MS);
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        sock.end();
        resolve(buf.slice(0, nl));
      }
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      reject(new Error('closed before an answer'));
    });
  });
}

/** One HTTP GET on a fresh connection (no keep-alive agent); the body is the host id. */
function httpOnce(target: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpGet(
      { host: target, port, path: '/', agent: false, timeout: CONNECT_TIMEOUT_MS },
      (res) => {
        let body = '';
        res.setEncoding('latin1');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () =>
          res.statusCode === HTTP_OK ? resolve(body.trim()) : reject(new Error(`HTTP ${res.statusCode}`)),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** One UDP exchange from a fresh socket (fresh source port). */
function udpOnce(target: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(isIPv6(target) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error('timeout'));
    }, CONNECT_TIMEOUT_MS);
    sock.on('message', (msg) => {
      clearTimeout(timer);
      sock.close();
      resolve(msg.toString('latin1').trim());
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      sock.close();
      reject(err);
    });
    sock.send('?\n', port, target);
  });
}

export async function probe(
  target: string,
  protocol: ProbeProtocol,
  count: number,
  concurrency: number,
  port?: number,
): Promise<ProbeResult> {
  const p = port ?? SERVICE_PORTS[protocol];
  const once = { tcp: tcpOnce, udp: udpOnce, http: httpOnce }[protocol];
  const result: ProbeResult = { counts: {}, failures: 0, elapsedMs: 0 };
  const start = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      try {
        const id = await once(target, p);
        result.counts[id] = (result.counts[id] ?? 0) + 1;
      } catch (err) {
        result.failures++;
        result.firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  result.elapsedMs = Math.round(performance.now() - start);
  return result;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      protocol: { type: 'string', default: 'tcp' },
      port: { type: 'string' },
      count: { type: 'string', default: '300' },
      concurrency: { type: 'string', default: '20' },
    },
  });
  const protocol = PROTOCOLS.find((p) => p === values.protocol);
  if (!values.target || !protocol) {
    process.stderr.write(
      'usage: probe.ts --target <vip> [--protocol tcp|udp|http] [--count n] [--concurrency n]\n',
    );
    process.exit(2);
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  const r = await probe(values.target, protocol, Number(values.count), Number(values.concurrency), port);
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`probe: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
