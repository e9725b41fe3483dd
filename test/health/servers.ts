// Real local servers for the probe tests, all on 127.0.0.1 / ::1 with kernel-chosen ports.

import { execFileSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync } from 'node:fs';
import {
  createServer as createHttp,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SERVICE_HOST = 'web.example.com';
export const DNS_NAME = 'probe.example.com';
export const DNS_A = '192.0.2.53';
export const DNS_AAAA = '2001:db8::53';

/** GET /healthz → 200 "ok: healthy" when Host is SERVICE_HOST, else 421; /down → 503. */
function handler(req: IncomingMessage, res: ServerResponse): void {
  if (req.headers.host !== SERVICE_HOST) {
    res.writeHead(421).end(`wrong host ${req.headers.host}`);
    return;
  }
  if (req.url === '/down') res.writeHead(503).end('maintenance');
  else res.writeHead(200).end('ok: healthy');
}

export function listen(server: Server, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, host, () => resolve((server.address() as AddressInfo).port)),
  );
}

export function httpServer(): Server {
  return createHttp(handler);
}

/** An HTTPS server with a self-signed certificate made by openssl now. */
export function httpsServer(): Server {
  const dir = mkdtempSync(join(tmpdir(), 'acd-health-tls-'));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      `/CN=${SERVICE_HOST}`,
    ],
    { stdio: 'ignore' },
  );
  return createHttps({ key: readFileSync(key), cert: readFileSync(cert) }, handler);
}

export async function udpServer(
  type: 'udp4' | 'udp6',
  onMessage: (msg: Buffer, sock: Socket, port: number, address: string) => void,
) {
  const sock = createSocket(type);
  sock.on('message', (msg, rinfo) => onMessage(msg, sock, rinfo.port, rinfo.address));
  await new Promise<void>((r) => sock.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', r));
  return { sock, port: sock.address().port };
}

const TYPE_A = 1;
const TYPE_AAAA = 28;
const RCODE_NXDOMAIN = 3;

/**
 * A tiny authoritative responder: DNS_NAME A → DNS_A, AAAA → DNS_AAAA (the answer name is a compression
 * pointer to the question), anything else → NXDOMAIN. Written independently of src/health/dns-wire.ts.
 */
export function answerDns(query: Buffer): Buffer {
  let off = 12;
  const labels: string[] = [];
  while (query[off]! !== 0) {
    const len = query[off]!;
    labels.push(query.subarray(off + 1, off + 1 + len).toString('ascii'));
    off += 1 + len;
  }
  const qtype = query.readUInt16BE(off + 1);
  const question = query.subarray(12, off + 5);
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2);
  header.writeUInt16BE(1, 4);
  const known = labels.join('.') === DNS_NAME && (qtype === TYPE_A || qtype === TYPE_AAAA);
  header.writeUInt16BE(0x8180 | (known ? 0 : RCODE_NXDOMAIN), 2); // QR, RD, RA
  if (!known) return Buffer.concat([header, question]);
  header.writeUInt16BE(1, 6);
  const rdata =
    qtype === TYPE_A
      ? Buffer.from(DNS_A.split('.').map(Number))
      : Buffer.from('20010db8000000000000000000000053', 'hex');
  const rr = Buffer.alloc(12);
  rr.writeUInt16BE(0xc00c, 0); // pointer to the question name
  rr.writeUInt16BE(qtype, 2);
  rr.writeUInt16BE(1, 4);
  rr.writeUInt32BE(60, 6);
  rr.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([header, question, rr, rdata]);
}
