// The lab's client probe: opens many short connections to a VIP and counts which host answered
// each (the service answers with its host id). Run inside the client namespace:
//   ip netns exec <ns> node --import tsx src/lab/probe.ts --target 203.0.113.10 --count 300
// Every connection has its own source port, so an L4-hashing ECMP router spreads them. Prints one
// JSON object: { counts: {h1: n, ...}, failures: n, firstError?: string, elapsedMs: n }.

import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import { parseArgs } from 'node:util';
import { SERVICE_PORTS } from './addressing.js';

const CONNECT_TIMEOUT_MS = 2_000;

export type ProbeProtocol = 'tcp' | 'udp';

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
  const p = port ?? (protocol === 'tcp' ? SERVICE_PORTS.tcp : SERVICE_PORTS.udp);
  const once = protocol === 'tcp' ? tcpOnce : udpOnce;
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
  if (!values.target || (values.protocol !== 'tcp' && values.protocol !== 'udp')) {
    process.stderr.write(
      'usage: probe.ts --target <vip> [--protocol tcp|udp] [--count n] [--concurrency n]\n',
    );
    process.exit(2);
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  const r = await probe(
    values.target,
    values.protocol,
    Number(values.count),
    Number(values.concurrency),
    port,
  );
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`probe: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
