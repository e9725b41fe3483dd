// Forgetting the flow-table entries of connections that ended here. The LRU flow table keeps an entry
// long after its connection is gone; when a client opens a later connection on the same addresses and
// ports (ports are reused at once after a reset) and that one lands on another host, the old entry
// still names this host: should ECMP later bring the new connection here, it hits the entry and this
// kernel resets it. So a connection that ends here takes its entry with it (only an entry naming a local
// instance). Two ways, the first the kernel accepts: a BPF program on the TCP state change to CLOSE
// (flow-reaper-kernel.ts, ~0.1 µs of kernel time per closed connection, nothing in the agent), else a
// sock_diag destroy listener in the agent (flow-reaper-listener.ts, ~40 µs of agent CPU per close).
import type { Dataplane } from './dataplane.js';
import { KernelReaper, removeReaperPin } from './flow-reaper-kernel.js';
import { ListenerReaper } from './flow-reaper-listener.js';

export interface ReaperCounts {
  /** Ended connections looked up in the flow table (the listener: those on a VIP). */
  seen: number;
  /** Flow entries removed (they named a local instance). */
  forgotten: number;
}

export interface FlowReaper {
  readonly kind: 'kernel' | 'listener';
  readonly counts: ReaperCounts;
  /** Stops this process's part: a kernel reaper pinned in `pinDir` keeps running (a restart replaces it). */
  close(): void;
}

export interface FlowReaperOptions {
  /** Where the kernel reaper's link is pinned beside the maps (none: it lives with this process). */
  pinDir?: string;
  /** The reaper program's object (default build/bpf/reaper.bpf.o; tests give one the kernel refuses). */
  reaperObject?: string;
  /** The kernel refused the program: the listener runs instead (called once, with why). */
  onFallback?: (err: Error) => void;
  /** The listener's destroy broadcasts overran its socket (some closes were missed). */
  onOverrun?: (err: Error) => void;
}

/** Starts the kernel reaper, else (the kernel refused it) the listener. */
export function startFlowReaper(dp: Dataplane, opts: FlowReaperOptions = {}): FlowReaper {
  try {
    return KernelReaper.start(dp, {
      ...(opts.pinDir === undefined ? {} : { pinDir: opts.pinDir }),
      ...(opts.reaperObject === undefined ? {} : { objectPath: opts.reaperObject }),
    });
  } catch (err) {
    opts.onFallback?.(err instanceof Error ? err : new Error(String(err)));
    if (opts.pinDir !== undefined) removeReaperPin(opts.pinDir); // an older agent's: it would reap too
    return ListenerReaper.start(dp, opts.onOverrun ? { onOverrun: opts.onOverrun } : {});
  }
}

export { KernelReaper, ListenerReaper, removeReaperPin };
