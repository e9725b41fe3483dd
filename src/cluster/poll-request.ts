// One signed poll of a peer's state endpoint (src/cluster/server.ts): GET /v1/instances?since=T&wait=MS
// from this host's own address (the peer admits configured host addresses only), with the request
// signed as auth.ts says. The reply is read up to a byte cap derived from the entries the config can
// hold (the peer's Content-Length is checked first), its signature checked against this request's
// nonce, then its body parsed with the entry cap. Anything else is a RejectedReply with its reason, and
// nothing of it is returned: a forged, replayed, oversized or malformed reply is never applied. The
// signatures' stamps and the reply's deadline come from the caller's clock: the whole reply must be in
// within the wait plus REPLY_SLACK_MS, however its bytes are spread (a peer dripping one byte just
// inside an inactivity timeout cannot hold a poll open).

import { type Agent as HttpAgent, type IncomingMessage, request } from 'node:http';
import { isIPv6 } from 'node:net';
import { type Clock, systemClock } from '../clock.js';
import type { ClusterKeys } from '../config/cluster-keys.js';
import { AnycastdError } from '../errors.js';
import { signRequest, verifyReply } from './auth.js';
import { MAX_HEADER_BYTES, maxReplyBytes } from './limits.js';
import { INSTANCES_PATH, type InstancesReply, parseInstancesReply, RejectedReply } from './report.js';

/** Past the wait: the reply is late, the connection is taken as dead. */
export const REPLY_SLACK_MS = 3_000;

export interface PollRequest {
  address: string;
  port: number;
  /** This host's address of the peer's family (the source the peer admits); none: the kernel's choice. */
  localAddress?: string;
  keys: ClusterKeys;
  /** Its wallNow() stamps the request and checks the reply's stamp; its timer is the reply's deadline. */
  clock?: Pick<Clock, 'wallNow' | 'setTimeout' | 'clearTimeout'>;
  since: string;
  wait: number;
  /** Entries the reply may carry (limits.ts maxEntries). */
  maxEntries: number;
  agent?: HttpAgent;
  signal?: AbortSignal;
  /** Nonces of earlier requests to this peer (a reply signed over one is counted as replayed). */
  earlier?: readonly string[];
  /** Called with this request's nonce before it is sent. */
  sent?: (nonce: string) => void;
}

/** Polls once; resolves with the verified reply, rejects with RejectedReply or the failure. */
export function pollOnce(p: PollRequest): Promise<InstancesReply> {
  const from = `${isIPv6(p.address) ? `[${p.address}]` : p.address}:${p.port}`;
  const target = `${INSTANCES_PATH}?since=${encodeURIComponent(p.since)}&wait=${p.wait}`;
  const clock = p.clock ?? systemClock;
  const signed = signRequest(p.keys, 'GET', target, clock.wallNow());
  p.sent?.(signed.nonce);
  const maxBytes = maxReplyBytes(p.maxEntries);
  const fail = (message: string) =>
    new AnycastdError('ERR_CLUSTER_REPLY', `cluster reply from ${from}: ${message}`);
  return new Promise((resolve, reject) => {
    const deadline = clock.setTimeout(() => req.destroy(fail('no reply in time')), p.wait + REPLY_SLACK_MS);
    const settle =
      <T>(f: (v: T) => void) =>
      (v: T) => {
        clock.clearTimeout(deadline);
        f(v);
      };
    resolve = settle(resolve);
    reject = settle(reject);
    const req = request(
      {
        host: p.address,
        port: p.port,
        ...(p.localAddress ? { localAddress: p.localAddress } : {}),
        path: target,
        headers: signed.headers,
        maxHeaderSize: MAX_HEADER_BYTES,
        ...(p.agent ? { agent: p.agent } : {}),
        ...(p.signal ? { signal: p.signal } : {}),
      },
      (res: IncomingMessage) => {
        const declared = Number(res.headers['content-length'] ?? 0);
        if (declared > maxBytes) {
          req.destroy();
          return reject(
            new RejectedReply(
              'too-large',
              `cluster reply from ${from}: ${declared} bytes declared, over ${maxBytes}`,
            ),
          );
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= maxBytes) chunks.push(c);
          else {
            req.destroy();
            reject(new RejectedReply('too-large', `cluster reply from ${from}: over ${maxBytes} bytes`));
          }
        });
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          if (res.statusCode !== 200)
            return reject(fail(`HTTP ${res.statusCode}: ${body.toString('utf8', 0, 200).trim()}`));
          const auth = verifyReply(p.keys, signed.nonce, res.headers, body, clock.wallNow(), p.earlier);
          if (!auth.ok)
            return reject(new RejectedReply(auth.reason, `cluster reply from ${from}: ${auth.detail}`));
          try {
            resolve(parseInstancesReply(JSON.parse(body.toString('utf8')), from, p.maxEntries));
          } catch (err) {
            reject(
              err instanceof SyntaxError
                ? new RejectedReply('invalid', `cluster reply from ${from}: ${err.message}`)
                : err,
            );
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}
