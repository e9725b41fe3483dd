// Schema of one entry of `services`: its VIPs, ports, instances (every host of the service, this one
// included), checks, the on-down policy (withdraw, or first worsen the route by MED, AS-path prepend or the
// GRACEFUL_SHUTDOWN community of RFC 8326, then withdraw after a delay) and the drain settings.
// Cross-field rules (families, unique ids, the local instance) live in semantics.ts.

import { z } from 'zod';
import { duration, int, ipAddress, ipv4, ipv6, port, strict } from './fields.js';
import { checkSchema } from './schema-checks.js';
import type { AddressPair, InstanceConfig, OnDownConfig, PortConfig, ServiceConfig } from './types.js';

export const DEFAULT_DRAIN_DIR = '/run/anycastd/drain';
const MAX_WEIGHT = 1000;
const MAX_MED = 0xffff_ffff;
const MAX_PREPEND = 10;
const DEFAULT_PREPEND = 3;
const DEFAULT_WORSE_MED = 1000;
const SERVICE_NAME_RE = /^[a-z0-9][a-z0-9_-]*$/;

/** `{ipv4, ipv6}` with at least one present (checked in semantics.ts, where the path is known). */
export const addressPairSchema = strict({ ipv4: ipv4().optional(), ipv6: ipv6().optional() }).transform(
  (a): AddressPair => ({ ipv4: a.ipv4 ?? null, ipv6: a.ipv6 ?? null }),
);

const instanceSchema = strict({
  id: z.string().min(1),
  host: addressPairSchema,
  weight: int(1, MAX_WEIGHT).default(1),
}).transform((i): InstanceConfig => ({ id: i.id, host: i.host, weight: i.weight }));

const portSchema = strict({ protocol: z.enum(['tcp', 'udp']), port: port().optional() }).transform(
  (p): PortConfig => ({ protocol: p.protocol, port: p.port ?? null }),
);

const onDownSchema = strict({
  action: z.enum(['withdraw', 'med', 'prepend', 'graceful_shutdown']).default('withdraw'),
  delay: duration().prefault('0ms'),
  med: int(0, MAX_MED).default(DEFAULT_WORSE_MED),
  prepend: int(1, MAX_PREPEND).default(DEFAULT_PREPEND),
}).transform((o): OnDownConfig => ({ action: o.action, delayMs: o.delay, med: o.med, prepend: o.prepend }));

export const serviceSchema = strict({
  name: z.string().regex(SERVICE_NAME_RE, { error: 'a name of lower-case letters, digits, "-" and "_"' }),
  vips: z.array(ipAddress()).min(1),
  ports: z.array(portSchema).min(1),
  // may be omitted with cluster.backend etcd (semantics.ts): the instances register there
  instances: z.array(instanceSchema).default([]),
  checks: z.array(checkSchema).min(1),
  on_down: onDownSchema.optional(),
  vip_leaves_lo_when_down: z.boolean().default(false),
  drain_time: duration().prefault('30s'),
  grace_time: duration().prefault('10s'),
  join_grace: duration().optional(),
  drain_file: z.string().startsWith('/').optional(),
}).transform(
  (s): ServiceConfig => ({
    name: s.name,
    vips: s.vips,
    ports: s.ports,
    instances: s.instances,
    localInstanceId: '', // filled by semantics.ts, which knows this node's address
    checks: s.checks,
    onDown: s.on_down ?? { action: 'withdraw', delayMs: 0, med: DEFAULT_WORSE_MED, prepend: DEFAULT_PREPEND },
    vipLeavesLoWhenDown: s.vip_leaves_lo_when_down,
    drainTimeMs: s.drain_time,
    graceTimeMs: s.grace_time,
    joinGraceMs: s.join_grace ?? s.grace_time,
    drainFile: s.drain_file ?? `${DEFAULT_DRAIN_DIR}/${s.name}`,
  }),
);
