// What the cluster channel counts (read by the metrics layer at scrape time, src/metrics/cluster-metrics.ts):
// connections refused at accept, requests refused after it, replies dropped unapplied, reply entries
// ignored, by reason; and the connections open now. Every reason is listed here, so each series exists
// from the start at 0.

/** Why a connection was closed at accept, before a byte of it was read. */
export const CONNECTION_REFUSALS = ['not-configured', 'address-limit', 'total-limit'] as const;
export type ConnectionRefusal = (typeof CONNECTION_REFUSALS)[number];

/** Why a request got an error answer (or, for `timeout`, the connection was dropped). */
export const REQUEST_REFUSALS = [
  'malformed',
  'method',
  'not-found',
  'bad-query',
  'unauthorized',
  'too-many-waiters',
  'too-soon',
  'timeout',
  'internal',
] as const;
export type RequestRefusal = (typeof REQUEST_REFUSALS)[number];

/** Why a reply to one of our polls was dropped without being applied (every auth.ts failure is one). */
export const REPLY_REJECTIONS = [
  'unsigned',
  'malformed',
  'expired',
  'bad-signature',
  'replayed',
  'too-large',
  'too-many-entries',
  'invalid',
] as const;
export type ReplyRejection = (typeof REPLY_REJECTIONS)[number];

/** Why one entry of an accepted reply was not taken. */
export const ENTRY_IGNORES = ['unknown-service', 'not-configured-there'] as const;
export type EntryIgnore = (typeof ENTRY_IGNORES)[number];

export interface ClusterCountersSnapshot {
  connectionsOpen: number;
  connectionsRefused: Readonly<Record<ConnectionRefusal, number>>;
  requestsRefused: Readonly<Record<RequestRefusal, number>>;
  repliesRejected: Readonly<Record<ReplyRejection, number>>;
  entriesIgnored: Readonly<Record<EntryIgnore, number>>;
}

const zeros = <K extends string>(keys: readonly K[]): Record<K, number> =>
  Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;

/** Monotonic counts since start (a restarted endpoint keeps counting). */
export class ClusterCounters {
  connectionsOpen = 0;
  readonly connectionsRefused = zeros(CONNECTION_REFUSALS);
  readonly requestsRefused = zeros(REQUEST_REFUSALS);
  readonly repliesRejected = zeros(REPLY_REJECTIONS);
  readonly entriesIgnored = zeros(ENTRY_IGNORES);

  snapshot(): ClusterCountersSnapshot {
    return {
      connectionsOpen: this.connectionsOpen,
      connectionsRefused: { ...this.connectionsRefused },
      requestsRefused: { ...this.requestsRefused },
      repliesRejected: { ...this.repliesRejected },
      entriesIgnored: { ...this.entriesIgnored },
    };
  }
}
