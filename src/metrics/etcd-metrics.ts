// Metrics of the etcd backend (src/cluster/etcd/), read at each scrape: whether the watch is connected,
// the revision the rings were built at, this host's ring digest per service (an info series: compare
// them across hosts, or use `anycastd show rings`), and since start: writes sent (only state changes
// write: at steady state this stays flat), watch restarts, leases lost, values skipped by reason.
import { SKIP_REASONS } from '../cluster/etcd/record.js';
import type { MetricFactory } from './factory.js';

export function defineEtcdMetrics(f: MetricFactory): void {
  const etcd = () => f.snap().etcd;
  f.gauge(
    'cluster_etcd_connected',
    'Whether the etcd watch is connected (1) or not (0); 0 with the mesh.',
    [],
    (g) => {
      const s = etcd();
      if (s) g.set(s.connected ? 1 : 0);
    },
  );
  f.gauge('cluster_revision', 'The etcd revision this host built its rings at (etcd backend).', [], (g) => {
    const s = etcd();
    if (s) g.set(s.revision);
  });
  f.gauge(
    'cluster_ring_digest_info',
    "This host's ring digest per service (etcd backend; always 1): equal digests, byte-identical rings.",
    ['service', 'digest'],
    (g) => {
      g.reset();
      for (const d of etcd()?.digests ?? []) g.set({ service: d.service, digest: d.digest }, 1);
    },
  );
  const mirrored = (name: string, help: string, pick: (s: NonNullable<ReturnType<typeof etcd>>) => number) =>
    f.mirrored(name, help, [], (c) => {
      const s = etcd();
      if (s) c.set({}, pick(s));
    });
  mirrored(
    'cluster_etcd_writes_total',
    'Writes this agent sent to etcd (registrations, digests, drains).',
    (s) => s.writes,
  );
  mirrored(
    'cluster_etcd_watch_restarts_total',
    'Full re-reads of the watched keys after a watch ended.',
    (s) => s.watchRestarts,
  );
  mirrored(
    'cluster_etcd_leases_lost_total',
    "This agent's leases lost (expired or unreachable for 2 × TTL).",
    (s) => s.leasesLost,
  );
  const skipped = f.mirrored(
    'cluster_etcd_values_skipped_total',
    'Keys or values read from etcd and skipped, by reason (too-big, not-json, invalid, bad-key, too-many).',
    ['reason'],
    (c) => {
      const s = etcd();
      if (s) for (const reason of SKIP_REASONS) c.set({ reason }, s.skipped[reason]);
    },
  );
  skipped.sync(SKIP_REASONS.map((reason) => ({ reason })));
}
