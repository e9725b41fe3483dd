// Schema of a service's `checks`: one strict object per check type (tcp, http, https, exec, dns, udp),
// chosen by `type`, sharing the timing fields (interval, fast interval, timeout, rise, fall) and the
// optional RFC 2439-style dampening block. TCP and HTTP(S) checks also watch the local listener: gone
// (watch_socket) and stalled (watch_stall: the service stopped accepting or answering for stall_time).

import { z } from 'zod';
import { duration, int, port, strict } from './fields.js';
import type { CheckConfig, DampeningConfig } from './types.js';

export const DEFAULT_INTERVAL = '1s';
export const DEFAULT_TIMEOUT = '500ms';
export const DEFAULT_RISE = 2;
export const DEFAULT_FALL = 2;
/** How long a connection may wait to be accepted or answered before the check runs fast. */
export const DEFAULT_STALL_TIME = '100ms';
/** Exec checks run as this user unless they name another: it exists on every Debian/systemd host. */
export const DEFAULT_EXEC_USER = 'nobody';
const MAX_COUNT = 100;
const HTTP_PORT = 80;
const HTTPS_PORT = 443;
const DNS_PORT = 53;
const HTTP_STATUS_MIN = 100;
const HTTP_STATUS_MAX = 599;
const HTTP_OK = 200;
const MAX_EXIT_CODE = 255;
/** RFC 2439 §4.2-style defaults (as in common router implementations). */
const DAMPENING_PENALTY = 1000;
const DAMPENING_SUPPRESS = 2000;
const DAMPENING_REUSE = 750;
const MAX_PENALTY = 1_000_000;

const dampeningSchema = strict({
  penalty: int(1, MAX_PENALTY).default(DAMPENING_PENALTY),
  half_life: duration().prefault('15s'),
  suppress: int(1, MAX_PENALTY).default(DAMPENING_SUPPRESS),
  reuse: int(1, MAX_PENALTY).default(DAMPENING_REUSE),
  max_hold_down: duration().prefault('60s'),
}).transform(
  (d): DampeningConfig => ({
    penalty: d.penalty,
    halfLifeMs: d.half_life,
    suppress: d.suppress,
    reuse: d.reuse,
    maxHoldDownMs: d.max_hold_down,
  }),
);

const timing = {
  interval: duration().prefault(DEFAULT_INTERVAL),
  fast_interval: duration().optional(),
  timeout: duration().prefault(DEFAULT_TIMEOUT),
  rise: int(1, MAX_COUNT).default(DEFAULT_RISE),
  fall: int(1, MAX_COUNT).default(DEFAULT_FALL),
  dampening: dampeningSchema.optional(),
};

interface TimingIn {
  interval: number;
  fast_interval?: number | undefined;
  timeout: number;
  rise: number;
  fall: number;
  dampening?: DampeningConfig | undefined;
}

function common(t: TimingIn) {
  return {
    intervalMs: t.interval,
    fastIntervalMs: t.fast_interval ?? t.interval,
    timeoutMs: t.timeout,
    rise: t.rise,
    fall: t.fall,
    dampening: t.dampening ?? null,
  };
}

/** The local listener's watches of a TCP or HTTP(S) check. */
const listenerWatch = {
  watch_socket: z.boolean().default(true),
  watch_stall: z.boolean().default(true),
  stall_time: duration().prefault(DEFAULT_STALL_TIME),
};

const watchOf = (c: { watch_socket: boolean; watch_stall: boolean; stall_time: number }) => ({
  watchSocket: c.watch_socket,
  watchStall: c.watch_stall,
  stallMs: c.stall_time,
});

const tcp = strict({
  type: z.literal('tcp'),
  port: port(),
  ...listenerWatch,
  ...timing,
});

const httpShape = (kind: 'http' | 'https', defaultPort: number) => ({
  type: z.literal(kind),
  port: port().default(defaultPort),
  path: z.string().startsWith('/').default('/'),
  host: z.string().min(1).optional(),
  status: z.array(int(HTTP_STATUS_MIN, HTTP_STATUS_MAX)).min(1).default([HTTP_OK]),
  body_contains: z.string().min(1).optional(),
  body_regex: z.string().min(1).optional(),
  ...listenerWatch,
  ...timing,
});
const http = strict(httpShape('http', HTTP_PORT));
const https = strict({ ...httpShape('https', HTTPS_PORT), tls_skip_verify: z.boolean().default(false) });

const exec = strict({
  type: z.literal('exec'),
  command: z.array(z.string().min(1)).min(1),
  expect_exit: int(0, MAX_EXIT_CODE).default(0),
  user: z.string().min(1).default(DEFAULT_EXEC_USER),
  ...timing,
});

const dns = strict({
  type: z.literal('dns'),
  port: port().default(DNS_PORT),
  query: z.string().min(1),
  query_type: z.enum(['A', 'AAAA']).default('A'),
  expect: z.array(z.string().min(1)).default([]),
  ...timing,
});

const udp = strict({
  type: z.literal('udp'),
  port: port(),
  send: z.string().min(1),
  expect: z.string().default(''),
  ...timing,
});

export const checkSchema = z
  .discriminatedUnion('type', [tcp, http, https, exec, dns, udp])
  .transform((c): CheckConfig => {
    switch (c.type) {
      case 'tcp':
        return { type: 'tcp', port: c.port, ...watchOf(c), ...common(c) };
      case 'http':
      case 'https':
        return {
          type: c.type,
          port: c.port,
          path: c.path,
          host: c.host ?? null,
          status: c.status,
          bodyContains: c.body_contains ?? null,
          bodyRegex: c.body_regex ?? null,
          tlsSkipVerify: 'tls_skip_verify' in c ? c.tls_skip_verify : false,
          ...watchOf(c),
          ...common(c),
        };
      case 'exec':
        return { type: 'exec', command: c.command, expectExit: c.expect_exit, user: c.user, ...common(c) };
      case 'dns':
        return {
          type: 'dns',
          port: c.port,
          query: c.query,
          queryType: c.query_type,
          expect: c.expect,
          ...common(c),
        };
      case 'udp':
        return { type: 'udp', port: c.port, send: c.send, expect: c.expect, ...common(c) };
    }
  });
