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

/** A listener's accept queue, as sock_diag reports it. */
export interface AcceptQueue {
  /** Connections waiting to be accepted. */
  queued: number;
  /** The queue's limit (the listen backlog). */
  max: number;
}

/** One of the service's established connections (server side), as sock_diag reports it. */
export interface ServedConnection {
  /** Remote address and port: identifies the connection across scans. */
  peer: string;
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

export class StallTracker {
  /** Peer → when it was first seen waiting in the accept queue. */
  #waiting = new Map<string, number>();

  /** One scan of the service's sockets at `now`: the first sign found, or null. */
  scan(
    queues: readonly AcceptQueue[],
    conns: readonly ServedConnection[],
    now: number,
    stallMs: number,
  ): string | null {
    const full = queues.find((q) => q.max > 0 && q.queued >= q.max);
    const seen = new Map<string, number>();
    const notAccepted = { ms: 0, peer: '' };
    const unanswered = { ms: 0, peer: '' };
    const worst = (w: { ms: number; peer: string }, ms: number, peer: string) => {
      if (ms > w.ms) Object.assign(w, { ms, peer });
    };
    for (const c of conns) {
      if (!c.accepted) {
        const since = this.#waiting.get(c.peer) ?? now;
        seen.set(c.peer, since);
        worst(notAccepted, Math.max(now - since, unansweredMs(c)), c.peer);
      } else worst(unanswered, unansweredMs(c), c.peer);
    }
    this.#waiting = seen;
    if (full) return `accept queue full (${full.queued} of ${full.max})`;
    if (notAccepted.ms >= stallMs)
      return `a connection not accepted for ${Math.round(notAccepted.ms)} ms (from ${notAccepted.peer})`;
    if (unanswered.ms >= stallMs)
      return `a request unanswered for ${Math.round(unanswered.ms)} ms (from ${unanswered.peer})`;
    return null;
  }

  reset(): void {
    this.#waiting.clear();
  }
}
