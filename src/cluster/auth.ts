// Authentication of the cluster channel: HMAC-SHA256 (RFC 2104) with the shared keys of cluster.key_file
// (src/config/cluster-keys.ts; the first key signs, every key verifies). Both directions are signed, so
// neither a process that takes the port nor one that connects from a configured host can speak for an
// agent without the key.
//
// Request headers (all required):
//   x-anycastd-time: <unix time in ms, decimal>
//   x-anycastd-nonce: <16 random bytes, 32 lower-case hex digits; never reused>
//   authorization: AnycastdHMAC <64 lower-case hex digits> =
//       HMAC(key, "anycastd-request-v1\n" <method> "\n" <path and query as sent> "\n" <time> "\n" <nonce>)
// Reply headers (every 200):
//   x-anycastd-time: <unix time in ms>
//   x-anycastd-signature: <64 hex> = HMAC(key, "anycastd-reply-v1\n" <request nonce> "\n" <time> "\n" <body bytes>)
// A time more than CLOCK_WINDOW_MS from the receiver's clock is refused (an old capture is useless after
// it); `now` is the caller's clock's wallNow() (Unix ms: the stamps are compared across hosts). A reply is
// bound to its request's nonce: a recorded reply served again answers a request that no longer waits for
// it. The two prefixes keep a request's MAC from ever passing as a reply's.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { systemClock } from '../clock.js';
import type { ClusterKeys } from '../config/cluster-keys.js';

/** How far a peer's clock may be from ours (both ways); hosts running NTP are within milliseconds. */
export const CLOCK_WINDOW_MS = 30_000;
export const TIME_HEADER = 'x-anycastd-time';
export const NONCE_HEADER = 'x-anycastd-nonce';
export const SIGNATURE_HEADER = 'x-anycastd-signature';
export const AUTH_SCHEME = 'AnycastdHMAC';
const REQUEST_PREFIX = 'anycastd-request-v1\n';
const REPLY_PREFIX = 'anycastd-reply-v1\n';
const NONCE_BYTES = 16;
const NONCE_RE = /^[0-9a-f]{32}$/;
const MAC_RE = /^[0-9a-f]{64}$/;
const TIME_RE = /^\d{1,15}$/;
const AUTH_RE = new RegExp(`^${AUTH_SCHEME} ([0-9a-f]{64})$`);

/** Why a request or a reply failed its check (metric labels, and the text of a 401). */
export type AuthFailure = 'unsigned' | 'malformed' | 'expired' | 'bad-signature' | 'replayed';

export type AuthResult = { ok: true } | { ok: false; reason: AuthFailure; detail: string };

function mac(key: Buffer, prefix: string, parts: readonly (string | Buffer)[]): Buffer {
  const h = createHmac('sha256', key).update(prefix);
  parts.forEach((p, i) => {
    if (i > 0) h.update('\n');
    h.update(p);
  });
  return h.digest();
}

/** Whether `hex` is the MAC of `parts` under any of the keys (constant time per key). */
function matches(
  keys: ClusterKeys,
  prefix: string,
  parts: readonly (string | Buffer)[],
  hex: string,
): boolean {
  const given = Buffer.from(hex, 'hex');
  let ok = false;
  for (const key of keys.all) ok = timingSafeEqual(mac(key, prefix, parts), given) || ok;
  return ok;
}

function timeCheck(value: string | undefined, now: number): AuthResult {
  if (value === undefined || !TIME_RE.test(value))
    return { ok: false, reason: 'malformed', detail: `${TIME_HEADER}: expected unix milliseconds` };
  const skew = Number(value) - now;
  if (Math.abs(skew) > CLOCK_WINDOW_MS)
    return {
      ok: false,
      reason: 'expired',
      detail: `${TIME_HEADER} is ${(skew / 1000).toFixed(1)} s from this host's clock (window ±${CLOCK_WINDOW_MS / 1000} s)`,
    };
  return { ok: true };
}

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? undefined : v);

/** The headers of a signed request for `method` `target` (path and query exactly as sent). */
export function signRequest(
  keys: ClusterKeys,
  method: string,
  target: string,
  now: number = systemClock.wallNow(),
): { nonce: string; headers: Record<string, string> } {
  const nonce = randomBytes(NONCE_BYTES).toString('hex');
  const time = String(Math.round(now));
  const sig = mac(keys.signing, REQUEST_PREFIX, [method, target, time, nonce]).toString('hex');
  return {
    nonce,
    headers: { [TIME_HEADER]: time, [NONCE_HEADER]: nonce, authorization: `${AUTH_SCHEME} ${sig}` },
  };
}

/** Checks a request's signature; on success `nonce` is what the reply must be signed over. */
export function verifyRequest(
  keys: ClusterKeys,
  method: string,
  target: string,
  headers: IncomingHttpHeaders,
  now: number = systemClock.wallNow(),
): AuthResult & { nonce?: string } {
  const auth = one(headers.authorization);
  if (auth === undefined) return { ok: false, reason: 'unsigned', detail: 'no authorization header' };
  const m = AUTH_RE.exec(auth);
  if (!m) return { ok: false, reason: 'malformed', detail: `authorization: expected "${AUTH_SCHEME} <hex>"` };
  const nonce = one(headers[NONCE_HEADER]);
  if (nonce === undefined || !NONCE_RE.test(nonce))
    return { ok: false, reason: 'malformed', detail: `${NONCE_HEADER}: expected 32 hex digits` };
  const time = one(headers[TIME_HEADER]);
  const t = timeCheck(time, now);
  if (!t.ok) return t;
  if (!matches(keys, REQUEST_PREFIX, [method, target, time!, nonce], m[1]!))
    return { ok: false, reason: 'bad-signature', detail: 'the signature does not match any key' };
  return { ok: true, nonce };
}

/** The headers that sign a reply `body` to the request that carried `nonce`. */
export function signReply(
  keys: ClusterKeys,
  nonce: string,
  body: Buffer,
  now: number = systemClock.wallNow(),
): Record<string, string> {
  const time = String(Math.round(now));
  const sig = mac(keys.signing, REPLY_PREFIX, [nonce, time, body]).toString('hex');
  return { [TIME_HEADER]: time, [SIGNATURE_HEADER]: sig };
}

/**
 * Checks a reply to the request that carried `nonce`. `earlier` are nonces of this poller's previous
 * requests: a reply signed over one of them is a replay (told apart for the count).
 */
export function verifyReply(
  keys: ClusterKeys,
  nonce: string,
  headers: IncomingHttpHeaders,
  body: Buffer,
  now: number = systemClock.wallNow(),
  earlier: readonly string[] = [],
): AuthResult {
  const sig = one(headers[SIGNATURE_HEADER]);
  if (sig === undefined) return { ok: false, reason: 'unsigned', detail: `no ${SIGNATURE_HEADER} header` };
  if (!MAC_RE.test(sig))
    return { ok: false, reason: 'malformed', detail: `${SIGNATURE_HEADER}: expected 64 hex digits` };
  const time = one(headers[TIME_HEADER]);
  const t = timeCheck(time, now);
  if (!t.ok) return t;
  if (matches(keys, REPLY_PREFIX, [nonce, time!, body], sig)) return { ok: true };
  if (earlier.some((n) => matches(keys, REPLY_PREFIX, [n, time!, body], sig)))
    return { ok: false, reason: 'replayed', detail: 'signed for an earlier request' };
  return { ok: false, reason: 'bad-signature', detail: 'the signature does not match any key' };
}
