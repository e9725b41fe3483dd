// Every bound of the etcd backend, named. Values read from etcd are hostile (another host's agent, or
// anyone holding a client certificate, wrote them): bounded in size and count before they are parsed.

/** Largest instance or drain value read (a record is ~200 bytes). */
export const MAX_VALUE_BYTES = 1024;
/** Largest key read. */
export const MAX_KEY_BYTES = 256;
/** Most instances kept per service (beyond: skipped and counted). */
export const MAX_INSTANCES_PER_SERVICE = 4096;
/** Largest instance weight (the config's bound). */
export const MAX_WEIGHT = 1000;
/**
 * A lost lease is granted again after this, doubling up to REGRANT_MAX_MS while etcd stays away. The
 * longest wait is a small part of the shortest lease TTL (3 s): a restarted etcd renews the old leases
 * for one TTL, and the agent's keys must be written again under a new lease before those expire, or
 * every instance leaves the rings for a moment (a flap) although no host failed. A try against an
 * absent store fails at once, so 2 tries a second cost nothing.
 */
export const REGRANT_MIN_MS = 250;
export const REGRANT_MAX_MS = 500;
/** A failed write is retried after this. */
export const WRITE_RETRY_MS = 1_000;
/** The watch stream reconnects after this, doubling up to WATCH_BACKOFF_MAX_MS. */
export const WATCH_BACKOFF_MIN_MS = 200;
export const WATCH_BACKOFF_MAX_MS = 2_000;
/** A watch that ended with an error (a compacted revision, a canceled watch) restarts after this. */
export const WATCH_RESTART_MS = 1_000;
/** The watch's liveness check (watch-liveness.ts) reads the store's side this often; a watch found
 * behind is read again this much later, and restarted if it delivered nothing in between. A stuck watch
 * is found within WATCH_CHECK_MS + WATCH_CHECK_CONFIRM_MS; a fleet of N agents reads N / 10 s. */
export const WATCH_CHECK_MS = 10_000;
export const WATCH_CHECK_CONFIRM_MS = 5_000;
/** A watch not established this long (its creation unanswered, or its stream down) while etcd answers
 * reads is stuck too. */
export const WATCH_ESTABLISH_MS = 10_000;
/** This host's digests are written once the membership has been quiet this long. */
export const DIGEST_QUIET_MS = 250;
/** Deadline of one unary call (a put, a range read). */
export const CALL_TIMEOUT_MS = 5_000;
/**
 * A member the client gave up on (three failed calls in a row) is tried again after this long. The
 * library's default is 5 s, longer than the shortest lease TTL (3 s): after a store outage etcd renews
 * the old leases for one TTL, and an agent still waiting out its breaker re-registers after its old keys
 * expired — every instance left the rings for a moment (a flap) although no host had failed.
 */
export const HOST_RETRY_MS = 500;
/** The members cache (members-cache.ts) is written this long after the last membership change. */
export const MEMBERS_CACHE_WRITE_MS = 1_000;
/** A members cache older than this is not used: the hosts it names may be long gone. */
export const MEMBERS_CACHE_MAX_AGE_MS = 3_600_000;
/** Largest members cache written or read (≈ 200 bytes per instance). */
export const MEMBERS_CACHE_MAX_BYTES = 16 * 1024 * 1024;
