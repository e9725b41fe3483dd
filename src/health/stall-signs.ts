// Signs that a local service has stopped serving while its listener is still there (a hung, stopped
// or wedged process), read passively from the kernel's view of its sockets (sock_diag: the listener's
// accept queue, each connection's queues and struct tcp_info), so no probe has to run at a fast rate:
//
// - accept queue full: the listener's queue is at its backlog (new connections are being dropped);
// - not accepted: a connection has sat in the accept queue (no process holds it: inode 0) for the stall
//   time, by its data's age (tcp_info) or by how long this tracker has seen it there;
// - unanswered: an accepted connection received data and has sent nothing since, for the stall time.
//
// A queue that drains is healthy: a loaded service always has connections waiting, but each is taken
// within a few ms, so none grows old. A sign is only a reason to probe at the fast interval now; the
// check's own probes decide whether the instance is down. A service that never answers some requests
// on purpose (long polls) shows as unanswered: its checks then run fast for a while, and pass.
// Memory: the tracker keeps only the connections waiting in the accept queue at the last scan.
//
// A scan also names the connection that would be the first to become a sign if nothing changed (a
// waiting or unanswered one younger than the stall time) and when: the watcher looks that one
// connection up again at that moment (a hash lookup, not a dump), so a stall is seen at stall time
// after it began, not up to one poll later.

/** A listener's accept queue, as sock_diag reports it. */
export interface AcceptQueue {
  /** Connections waiting to be accepted. */
  queued: number;
  /** The queue's limit (the listen backlog). */
  max: number;
}

/** A connection's addresses (local = the service's end), to look it up again. */
export interface ConnectionTuple {
  family: 4 | 6;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

/** One of the service's established connections (server side), as sock_diag reports it. */
export interface ServedConnection {
  /** Remote address and port: identifies the connection across scans. */
  peer: string;
  /** Its 4-tuple, when the source can look it up again. */
  tuple?: ConnectionTuple;
  /** False while it waits in the accept queue. */
  accepted: boolean;
  /** From struct tcp_info, when the kernel sent it. */
  info?: {
    lastDataSentMs: number;
    lastDataRecvMs: number;
    dataSegsIn: number | null;
    dataSegsOut: number | null;
    bytesReceived: number | null;
  };
}

/** Default time a connection may wait (to be accepted, or for an answer) before it is a sign. */
export const DEFAULT_STALL_MS = 100;

/** Whether the connection got data it has not answered, and for how long (ms; 0: nothing pending). */
function unansweredMs(c: ServedConnection): number {
  const i = c.info;
  if (!i) return 0;
  const received = (i.dataSegsIn ?? i.bytesReceived ?? 0) > 0;
  // Never sent, or last sent before the last receive (the same tick counts as answered: the kernel's
  // times are in jiffies).
  const silent = i.dataSegsOut === 0 || i.lastDataSentMs > i.lastDataRecvMs;
  return received && silent ? i.lastDataRecvMs : 0;
}

/** The connection that would be the first to become a sign, and when (clock ms). */
export interface StallDue {
  conn: ServedConnection;
  at: number;
}

const notAcceptedSign = (ms: number, peer: string) =>
  `a connection not accepted for ${Math.round(ms)} ms (from ${peer})`;
const unansweredSign = (ms: number, peer: string) =>
  `a request unanswered for ${Math.round(ms)} ms (from ${peer})`;

export class StallTracker {
  /** Peer → when it was first seen waiting in the accept queue. */
  #waiting = new Map<string, number>();
  #due: StallDue | null = null;
  #signWaitMs = 0;

  /** How long the connection behind the last sign returned had waited (ms; 0 for a full queue). */
  get signWaitMs(): number {
    return this.#signWaitMs;
  }

  /** After a scan that found no sign: the connection to look at again, and when; else null. */
  get due(): StallDue | null {
    return this.#due;
  }

  /** How long `c` has waited to be accepted or answered at `now` (0: it is not waiting). */
  #waitedMs(c: ServedConnection, now: number): number {
    if (c.accepted) return unansweredMs(c);
    return Math.max(now - (this.#waiting.get(c.peer) ?? now), unansweredMs(c));
  }

  /** One scan of the service's sockets at `now`: the first sign found, or null. */
  scan(
    queues: readonly AcceptQueue[],
    conns: readonly ServedConnection[],
    now: number,
    stallMs: number,
  ): string | null {
    const full = queues.find((q) => q.max > 0 && q.queued >= q.max);
    const seen = new Map<string, number>();
    for (const c of conns) if (!c.accepted) seen.set(c.peer, this.#waiting.get(c.peer) ?? now);
    this.#waiting = seen;
    const notAccepted = { ms: 0, peer: '' };
    const unanswered = { ms: 0, peer: '' };
    let due: StallDue | null = null;
    for (const c of conns) {
      const ms = this.#waitedMs(c, now);
      const worst = c.accepted ? unanswered : notAccepted;
      if (ms > worst.ms) Object.assign(worst, { ms, peer: c.peer });
      if (c.tuple && ms > 0 && ms < stallMs && (due === null || now + stallMs - ms < due.at))
        due = { conn: c, at: now + stallMs - ms };
    }
    this.#due = null;
    this.#signWaitMs = Math.max(notAccepted.ms, unanswered.ms);
    if (full) return `accept queue full (${full.queued} of ${full.max})`;
    if (notAccepted.ms >= stallMs) return notAcceptedSign(notAccepted.ms, notAccepted.peer);
    if (unanswered.ms >= stallMs) return unansweredSign(unanswered.ms, unanswered.peer);
    this.#due = due;
    return null;
  }

  /**
   * The due connection looked up again at `now` (null: it is gone): a sign if it still waits to be
   * accepted (by the same rule) or answered and has waited the stall time. Clears `due`.
   */
  recheck(c: ServedConnection | null, now: number, stallMs: number): string | null {
    const was = this.#due;
    this.#due = null;
    if (!was || !c || c.accepted !== was.conn.accepted) return null;
    const ms = this.#waitedMs(c, now);
    if (ms < stallMs) return null;
    this.#signWaitMs = ms;
    return c.accepted ? unansweredSign(ms, c.peer) : notAcceptedSign(ms, c.peer);
  }

  reset(): void {
    this.#waiting.clear();
    this.#due = null;
  }
}
