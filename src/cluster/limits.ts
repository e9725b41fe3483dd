// What one peer, and all of them together, can make the cluster channel hold: connections, time, bytes,
// entries, pending polls, polls per second and log lines. Every bound of src/cluster/ is named here; the
// ones that scale are derived from the config (how many hosts, how many services).

/** A request's line and headers must arrive within this after the connection opens or the last reply. */
export const HEADERS_TIMEOUT_MS = 3_000;
/** Request line plus headers, in bytes (a signed request needs ~400). */
export const MAX_HEADER_BYTES = 4 * 1024;
/** Open connections from one address (a poller keeps one; a reconnect briefly overlaps). */
export const MAX_CONNECTIONS_PER_ADDRESS = 4;
/** Total connections per configured remote host address, and the floor and ceiling of the total. */
export const CONNECTIONS_PER_HOST = 2;
export const MIN_TOTAL_CONNECTIONS = 16;
export const MAX_TOTAL_CONNECTIONS = 4_096;
/** Long polls held at once for one address (a poller has one pending). */
export const MAX_WAITERS_PER_ADDRESS = 2;
/** A poll answered at once with what that address already has is refused (429) within this of the last. */
export const MIN_IDLE_POLL_MS = 1_000;
/** Longest long poll a client may ask for. */
export const MAX_WAIT_MS = 30_000;

/** The poller starts requests to one peer at most this often, whatever the peer answers. */
export const POLL_FLOOR_MS = 50;
/** Longest service name, instance id, node id accepted in a reply. */
export const MAX_NAME_CHARS = 256;
/** Longest token accepted in a reply or a request (`<12 hex>.<version>`). */
export const MAX_TOKEN_CHARS = 64;
/** Bytes one reply entry can take (two names and the state), and the reply's own overhead. */
export const MAX_ENTRY_BYTES = 2 * MAX_NAME_CHARS + 128;
export const REPLY_OVERHEAD_BYTES = 1_024;
/**
 * Entries a reply may carry beyond the services this host shares with the peer: services the peer has and
 * this host does not know yet (a config rolled out to one host first). More than that: the reply is refused.
 */
export const UNKNOWN_ENTRY_SLACK = 8;

/** A repeated log line (refused sources, ignored entries) is written at most once per key per interval. */
export const LOG_INTERVAL_MS = 60_000;
/** Distinct keys (addresses) logged per interval; beyond them the lines share one key. */
export const MAX_LOG_KEYS = 64;

/** The server's cap on open connections for `hosts` configured remote host addresses. */
export function totalConnections(hosts: number): number {
  return Math.min(MAX_TOTAL_CONNECTIONS, Math.max(MIN_TOTAL_CONNECTIONS, hosts * CONNECTIONS_PER_HOST));
}

/** The poller's cap on a reply's entries when this host shares `shared` services with the peer. */
export function maxEntries(shared: number): number {
  return shared + UNKNOWN_ENTRY_SLACK;
}

/** The poller's cap on a reply's body for `entries` entries. */
export function maxReplyBytes(entries: number): number {
  return REPLY_OVERHEAD_BYTES + entries * MAX_ENTRY_BYTES;
}
