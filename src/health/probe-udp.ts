// UDP checks: a datagram exchange with the target (send, then the first reply that passes `accept`), and
// on top of it the UDP send/expect check (reply must contain a substring) and the DNS check (the
// response to our query, RCODE 0, must contain every expected address; RFC 1035). The socket is
// connected, so only the target's datagrams arrive; each is judged on its own (nothing accumulates) and
// a reply the codec cannot parse fails the probe. A connect that fails (no route from here) settles the
// probe with its error instead of sending on an unconnected socket.

import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { DnsQueryType } from '../config/types.js';
import { canonicalAddress, decodeResponse, encodeQuery, TYPE_A, TYPE_AAAA } from './dns-wire.js';
import { runProbe, settleError } from './probe-util.js';
import type { ProbeResult } from './types.js';

const MAX_DNS_ID = 0xffff;
const RCODE_NOERROR = 0;

/** Sends `payload`; `judge` sees each reply and returns a verdict, or null to keep waiting. */
export function exchangeUdp(
  address: string,
  port: number,
  payload: Buffer,
  judge: (reply: Buffer) => { ok: boolean; detail: string } | null,
  signal: AbortSignal,
): Promise<ProbeResult> {
  return runProbe(signal, (settle, cleanup) => {
    const sock = createSocket(isIPv6(address) ? 'udp6' : 'udp4');
    cleanup(() => sock.close());
    sock.on('error', (err) => settleError(settle, err));
    sock.on('message', (msg, rinfo) => {
      if (rinfo.port !== port || canonicalAddress(rinfo.address) !== canonicalAddress(address)) return;
      const verdict = judge(msg);
      if (verdict) settle(verdict.ok, verdict.detail);
    });
    // connect() makes the kernel report ICMP port unreachable as ECONNREFUSED.
    sock.connect(port, address, (err?: Error) => {
      if (err) return settleError(settle, err);
      sock.send(payload, (sent) => {
        if (sent) settleError(settle, sent);
      });
    });
  });
}

export function probeUdp(address: string, port: number, send: string, expect: string, signal: AbortSignal) {
  return exchangeUdp(
    address,
    port,
    Buffer.from(send),
    (reply) => {
      const text = reply.toString('utf8');
      return text.includes(expect)
        ? { ok: true, detail: `reply of ${reply.length} bytes` }
        : { ok: false, detail: `reply lacks ${JSON.stringify(expect)}` };
    },
    signal,
  );
}

export function probeDns(
  address: string,
  port: number,
  query: string,
  queryType: DnsQueryType,
  expect: string[],
  signal: AbortSignal,
): Promise<ProbeResult> {
  const id = randomInt(MAX_DNS_ID + 1);
  const wanted = expect.map(canonicalAddress);
  return exchangeUdp(
    address,
    port,
    encodeQuery(id, query, queryType === 'A' ? TYPE_A : TYPE_AAAA),
    (reply) => {
      let ans: ReturnType<typeof decodeResponse>;
      try {
        ans = decodeResponse(reply);
      } catch (err) {
        return { ok: false, detail: `malformed response: ${(err as Error).message}` };
      }
      if (ans.id !== id || !ans.isResponse) return null; // not ours: keep waiting
      if (ans.rcode !== RCODE_NOERROR) return { ok: false, detail: `rcode ${ans.rcode}` };
      const missing = wanted.filter((a) => !ans.addresses.includes(a));
      if (missing.length > 0)
        return {
          ok: false,
          detail: `answer lacks ${missing.join(', ')} (got ${ans.addresses.join(', ') || 'none'})`,
        };
      if (ans.addresses.length === 0) return { ok: false, detail: 'empty answer' };
      return { ok: true, detail: `answer ${ans.addresses.join(', ')}` };
    },
    signal,
  );
}
