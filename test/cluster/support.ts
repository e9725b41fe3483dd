// Shared pieces of the cluster tests: keys, a signed GET as a peer would send it (or as an attacker with
// the wrong key would), a raw TCP exchange (bytes in, whatever comes back), and a StateServer on one address.

import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { createConnection, type Socket } from 'node:net';
import { signRequest } from '../../src/cluster/auth.js';
import type { ReportBoard } from '../../src/cluster/board.js';
import { ClusterCounters } from '../../src/cluster/counters.js';
import { StateServer, type StateServerOptions } from '../../src/cluster/server.js';
import { ClusterKeys } from '../../src/config/cluster-keys.js';

export const newKey = (): Buffer => randomBytes(32);
export const keysOf = (...keys: Buffer[]): ClusterKeys => new ClusterKeys(keys);

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** GET `target` from `address`:`port`, signed with `keys` (none: unsigned). */
export function signedGet(o: {
  address: string;
  port: number;
  target: string;
  keys?: ClusterKeys;
  localAddress?: string;
  now?: number;
}): Promise<Answer & { nonce: string }> {
  const signed = o.keys ? signRequest(o.keys, 'GET', o.target, o.now) : { nonce: '', headers: {} };
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: o.address,
        port: o.port,
        path: o.target,
        headers: signed.headers,
        agent: false,
        ...(o.localAddress ? { localAddress: o.localAddress } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, nonce: signed.nonce }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * Writes `bytes` on a new connection (or `socket`), resolves with what came back and how it ended;
 * `halfClose` ends the sending side after the bytes (an incomplete request then meets EOF).
 */
export function rawExchange(
  address: string,
  port: number,
  bytes: string | Buffer,
  socket?: Socket,
  halfClose = false,
): Promise<{ reply: string; ended: 'close' | 'reset' | 'error'; error?: string }> {
  return new Promise((resolve) => {
    const s = socket ?? createConnection({ host: address, port });
    let reply = '';
    let error: string | undefined;
    s.on('data', (c: Buffer) => {
      reply += c.toString('latin1');
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message;
    });
    s.on('close', () =>
      resolve({
        reply,
        ended: error === 'ECONNRESET' ? 'reset' : error ? 'error' : 'close',
        ...(error ? { error } : {}),
      }),
    );
    const send = () => (halfClose ? s.end(bytes) : s.write(bytes));
    if (socket) send();
    else s.once('connect', send);
  });
}

/** A StateServer on one address for the loopback tests (every source admitted unless said). */
export function serveOn(
  board: ReportBoard,
  address: string,
  port: number,
  keys: ClusterKeys,
  more: Partial<StateServerOptions> = {},
): Promise<StateServer> {
  return StateServer.start({
    board,
    port,
    addresses: [address],
    allowed: () => true,
    servicesFor: () => new Set(['web', 'web2']),
    keys: () => keys,
    maxConnections: () => 64,
    counters: new ClusterCounters(),
    log: () => {},
    ...more,
  });
}
