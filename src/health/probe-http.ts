// HTTP and HTTPS checks: a GET of the configured path with an optional Host header (also the TLS SNI name),
// healthy when the status is one of the accepted codes and the body (first 64 KiB) contains the
// expected substring and/or matches the regular expression. TLS verification can be turned off for
// self-signed service certificates. A hostile or broken service cannot make the probe hold more than
// MAX_HEADER_BYTES of headers and MAX_BODY + one chunk of body: beyond either the probe settles and the
// connection is closed; bytes that are not HTTP fail it (Node's parser errors). The socket binds the
// target as its source when the target is on this host (probe-source.ts).

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { HttpCheckConfig } from '../config/types.js';
import type { ProbeSource } from './probe-source.js';
import { runProbe, settleError } from './probe-util.js';
import type { ProbeResult } from './types.js';

/** Bytes of the body judged (and held) at most. */
export const MAX_BODY = 64 * 1024;
/** Bytes of the response head accepted at most (Node's default, pinned here so a flag cannot raise it). */
export const MAX_HEADER_BYTES = 16 * 1024;
const IPV6 = 6;

export type HttpProbeOptions = Pick<
  HttpCheckConfig,
  'type' | 'port' | 'path' | 'host' | 'status' | 'bodyContains' | 'bodyRegex' | 'tlsSkipVerify'
>;

export function probeHttp(
  address: string,
  opts: HttpProbeOptions,
  signal: AbortSignal,
  source?: ProbeSource,
): Promise<ProbeResult> {
  return runProbe(signal, (settle, cleanup) => {
    const regex = opts.bodyRegex !== null ? new RegExp(opts.bodyRegex) : null;
    const request = opts.type === 'https' ? httpsRequest : httpRequest;
    const hostHeader = opts.host ?? (isIP(address) === IPV6 ? `[${address}]` : address);
    const attempt = (localAddress: string | undefined): void => {
      const req = request({
        host: address,
        ...(localAddress ? { localAddress } : {}),
        port: opts.port,
        path: opts.path,
        method: 'GET',
        headers: { Host: opts.host === null ? `${hostHeader}:${opts.port}` : opts.host, Connection: 'close' },
        agent: false,
        maxHeaderSize: MAX_HEADER_BYTES,
        ...(opts.type === 'https'
          ? {
              rejectUnauthorized: !opts.tlsSkipVerify,
              ...(opts.host !== null ? { servername: opts.host } : {}),
            }
          : {}),
      });
      cleanup(() => req.destroy());
      req.on('error', (err) => {
        if (localAddress && source?.refused(err)) attempt(undefined);
        else settleError(settle, err);
      });
      req.once('response', (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        if (!opts.status.includes(status)) return settle(false, `status ${status}`);
        if (opts.bodyContains === null && regex === null) return settle(true, `status ${status}`);
        const chunks: Buffer[] = [];
        let size = 0;
        const judge = () => {
          const body = Buffer.concat(chunks).subarray(0, MAX_BODY).toString('utf8');
          if (opts.bodyContains !== null && !body.includes(opts.bodyContains))
            return settle(false, `status ${status}, body lacks ${JSON.stringify(opts.bodyContains)}`);
          if (regex !== null && !regex.test(body))
            return settle(false, `status ${status}, body does not match ${regex}`);
          settle(true, `status ${status}, body matched`);
        };
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          size += c.length;
          if (size >= MAX_BODY) judge();
        });
        res.once('end', judge);
        res.on('error', (err) => settleError(settle, err));
      });
      req.end();
    };
    attempt(source?.bind);
  });
}
