// `show rings` with the etcd backend: this host's ring digest and revision per service, beside what every
// host wrote to the store (their digests at their revisions) and whether they all agree — the check
// that every host builds byte-identical rings (src/cluster/etcd/agreement.ts).

import type { StoreView } from './agent-view.js';
import type { RingDigestInfo } from './types.js';

export async function ringDigests(store: StoreView, services: readonly string[]): Promise<RingDigestInfo[]> {
  const snap = store.snapshot();
  const rows = await store.agreement().catch(() => []);
  return services.map((service) => {
    const digest = snap.digests.find((d) => d.service === service)?.digest ?? '';
    const row = rows.find((r) => r.service === service);
    const hosts = Object.entries(row?.digests ?? {}).flatMap(([d, list]) =>
      list.map((h) => `${h.node}@${h.revision}=${d}`),
    );
    return { service, digest, revision: snap.revision, agree: row?.agree ?? false, hosts };
  });
}
