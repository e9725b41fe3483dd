// Metrics of the agents' cluster channel (src/cluster/), mirrored from its counters at each scrape:
// connections refused at accept and requests refused after it, peers' replies dropped unapplied (forged,
// replayed, oversized: never applied) and reply entries ignored, each by reason; connections open now.
import {
  CONNECTION_REFUSALS,
  ENTRY_IGNORES,
  REPLY_REJECTIONS,
  REQUEST_REFUSALS,
} from '../cluster/counters.js';
import type { MetricFactory } from './factory.js';
import type { ClusterMetrics } from './sources.js';

export function defineClusterMetrics(f: MetricFactory): void {
  const counted = <R extends string>(
    name: string,
    help: string,
    reasons: readonly R[],
    pick: (c: ClusterMetrics) => Readonly<Record<R, number>>,
  ): void => {
    const m = f.mirrored(name, help, ['reason'], (c) => {
      const snap = f.snap().cluster;
      if (!snap) return;
      const counts = pick(snap);
      for (const reason of reasons) c.set({ reason }, counts[reason]);
    });
    m.sync(reasons.map((reason) => ({ reason })));
  };
  counted(
    'cluster_connections_refused_total',
    'Connections to the cluster endpoint closed at accept, before a byte was read, by reason ' +
      '(not-configured source, address-limit, total-limit).',
    CONNECTION_REFUSALS,
    (c) => c.connectionsRefused,
  );
  counted(
    'cluster_requests_refused_total',
    'Requests to the cluster endpoint answered with an error, or dropped (timeout), by reason.',
    REQUEST_REFUSALS,
    (c) => c.requestsRefused,
  );
  counted(
    'cluster_replies_rejected_total',
    "Peers' replies dropped without being applied, by reason (unsigned, bad-signature, replayed, expired, " +
      'too-large, too-many-entries, malformed, invalid).',
    REPLY_REJECTIONS,
    (c) => c.repliesRejected,
  );
  counted(
    'cluster_entries_ignored_total',
    "Entries of peers' replies not taken, by reason (unknown-service, not-configured-there).",
    ENTRY_IGNORES,
    (c) => c.entriesIgnored,
  );
  f.gauge('cluster_connections', 'Connections to the cluster endpoint open now.', [], (g) => {
    g.set(f.snap().cluster?.connectionsOpen ?? 0);
  });
}
