// The etcd v3 client of one agent (npm `etcd3`, gRPC): the members' endpoints, mutual TLS from the bytes
// the config loader read and checked (src/config/etcd-tls.ts), a bounded dial time and a watch stream that
// reconnects within WATCH_BACKOFF_MAX_MS once the store is back (the library's default backoff grows to
// 30 s, far longer than a partition should outlast its cure), and a member given up on tried again
// within HOST_RETRY_MS (the library's 5 s breaker outlasts a short lease: after an outage the old keys
// would expire before the agent re-registered, and every instance would leave the rings for a moment).
//
// The library (gRPC, protobuf loading) is required on the first client only: importing it costs seconds
// of start-up on a busy host, and an agent on the mesh backend never needs it.

import { createRequire } from 'node:module';
import type { Etcd3, IOptions } from 'etcd3';
import type { EtcdConfig } from '../../config/types.js';
import { CALL_TIMEOUT_MS, HOST_RETRY_MS, WATCH_BACKOFF_MAX_MS, WATCH_BACKOFF_MIN_MS } from './limits.js';

/** The library's backoff contract: a duration, and the next backoff after it. */
interface Backoff {
  readonly duration: number;
  next(context: unknown): Backoff;
}

function doubling(ms: number): Backoff {
  return { duration: ms, next: () => doubling(Math.min(ms * 2, WATCH_BACKOFF_MAX_MS)) };
}

/** What a client needs: where, and (optionally) the TLS bytes. */
export interface ClientSettings {
  endpoints: readonly string[];
  tls?: { ca: Buffer; cert: Buffer; key: Buffer } | null;
}

export function settingsOf(c: EtcdConfig): ClientSettings {
  const m = c.tls?.material;
  return { endpoints: c.endpoints, tls: m ? { ca: m.ca, cert: m.cert, key: m.key } : null };
}

const requireLazily = createRequire(import.meta.url);
/** Failed calls in a row that open a member's breaker (the library's default). */
const HOST_FAILURES_TO_OPEN = 3;

export function makeClient(s: ClientSettings): Etcd3 {
  const library = requireLazily('etcd3') as typeof import('etcd3');
  const policy = requireLazily('cockatiel') as typeof import('cockatiel');
  /** The library's own breaker (3 recoverable failures in a row open it), half-open sooner. */
  const hostBreaker = () =>
    policy.circuitBreaker(policy.handleWhen(library.isRecoverableError), {
      halfOpenAfter: HOST_RETRY_MS,
      breaker: new policy.ConsecutiveBreaker(HOST_FAILURES_TO_OPEN),
    });
  const options: IOptions = {
    hosts: [...s.endpoints],
    dialTimeout: CALL_TIMEOUT_MS,
    defaultCallOptions: () => ({ deadline: Date.now() + CALL_TIMEOUT_MS }),
    faultHandling: { watchBackoff: doubling(WATCH_BACKOFF_MIN_MS) as never, host: hostBreaker },
  };
  if (s.tls)
    options.credentials = { rootCertificate: s.tls.ca, certChain: s.tls.cert, privateKey: s.tls.key };
  return new library.Etcd3(options);
}
