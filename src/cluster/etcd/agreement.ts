// Whether every host builds the same rings: each agent writes `<prefix>/digests/<node>` =
// {"revision": R, "digests": {service: digest}} under its lease once its membership has been quiet a
// moment (node.ts), and this reads them all and compares, per service: `agree` when every host shows one
// digest. Each host's revision is shown beside it: a host still at an older revision has not seen the
// last change yet (a disagreement that lasts is a finding). The values are hostile like every other: bounded, schema-checked,
// a bad one skipped and counted.

import type { Etcd3 } from 'etcd3';
import type { KeyLayout } from './keys.js';
import { MAX_VALUE_BYTES } from './limits.js';

/** A digests value holds one entry per service; bound the read generously. */
const MAX_DIGEST_VALUE_BYTES = 64 * MAX_VALUE_BYTES;
const DIGEST_RE = /^[0-9a-f]{16}$/;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export interface HostDigests {
  node: string;
  revision: number;
  digests: Record<string, string>;
}

export interface ServiceAgreement {
  service: string;
  /** digest → the hosts that show it, with the revision each built it at (one entry: they agree). */
  digests: Record<string, { node: string; revision: number }[]>;
  agree: boolean;
}

export function parseDigests(node: string, bytes: Buffer): HostDigests | null {
  if (bytes.length > MAX_DIGEST_VALUE_BYTES || !NAME_RE.test(node)) return null;
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (!Number.isSafeInteger(o.revision) || (o.revision as number) < 0) return null;
  if (typeof o.digests !== 'object' || o.digests === null || Array.isArray(o.digests)) return null;
  const digests: Record<string, string> = {};
  for (const [s, d] of Object.entries(o.digests as Record<string, unknown>)) {
    if (!NAME_RE.test(s) || typeof d !== 'string' || !DIGEST_RE.test(d)) return null;
    digests[s] = d;
  }
  return { node, revision: o.revision as number, digests };
}

/** Every host's digests (bad values skipped and counted). */
export async function readDigests(
  client: Etcd3,
  layout: KeyLayout,
): Promise<{ hosts: HostDigests[]; skipped: number }> {
  const { start, end } = layout.digests;
  const res = await client.getAll().inRange({ start, end }).exec();
  const hosts: HostDigests[] = [];
  let skipped = 0;
  for (const kv of res.kvs) {
    const h = parseDigests(kv.key.toString('utf8').slice(start.length), kv.value);
    if (h) hosts.push(h);
    else skipped++;
  }
  return { hosts, skipped };
}

/** Per service: do all the hosts that build its rings show one digest? */
export function compareDigests(hosts: readonly HostDigests[]): ServiceAgreement[] {
  const services = new Set<string>();
  for (const h of hosts) for (const s of Object.keys(h.digests)) services.add(s);
  return [...services].sort().map((service) => {
    const digests: Record<string, { node: string; revision: number }[]> = {};
    for (const h of hosts) {
      const d = h.digests[service];
      if (d === undefined) continue;
      const list = digests[d] ?? [];
      list.push({ node: h.node, revision: h.revision });
      digests[d] = list;
    }
    for (const list of Object.values(digests)) list.sort((a, b) => (a.node < b.node ? -1 : 1));
    return { service, digests, agree: Object.keys(digests).length === 1 };
  });
}
