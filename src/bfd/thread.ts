// The BFD sessions on their own thread (thread-main.ts), seen from the agent's event loop: apply()
// sends the wanted sessions; state changes arrive as messages, each with a snapshot of every
// session's status, and the snapshot is refreshed every second, so isUp/status/statuses/drops answer at
// once from the last one. A stall of the agent's loop (GC, a burst of work, a busy 2-core host) then
// delays only the news of a change, never our packets nor the detection of the peer's silence.
// Should the thread fail to start or die, the sessions run on the loop (manager.ts directly, the same
// state machine on the agent's clock) and `fellBack` says why.

import { Worker } from 'node:worker_threads';
import type { Clock } from '../clock.js';
import { BfdDiag, type BfdStateName, diagName } from './codec.js';
import {
  type BfdDropReason,
  BfdManager,
  type BfdPeerSpec,
  type BfdPeerStatus,
  DROP_REASONS,
} from './manager.js';
import type { BfdThreadData, FromBfdThread, ToBfdThread } from './thread-messages.js';

const US_PER_MS = 1000;
/** After close(), the thread is ended by force if it has not closed its sockets and exited by then. */
const CLOSE_GRACE_MS = 1_000;

/** The sessions as the daemon uses them, on a thread (BfdThread) or on the loop (BfdManager). */
export interface BfdRunner {
  apply(specs: readonly BfdPeerSpec[]): void;
  /** Is the peer's session Up (undefined: no BFD for it)? */
  isUp(name: string): boolean | undefined;
  status(name: string): BfdPeerStatus | undefined;
  statuses(): BfdPeerStatus[];
  readonly drops: Record<BfdDropReason, number>;
  close(): void;
}

export interface BfdThreadOptions extends BfdThreadData {
  /** The clock of the sessions should they fall back to the loop, and of the close grace. */
  clock: Clock;
  onState?(peer: string, from: BfdStateName, to: BfdStateName, diag: string): void;
  log?(event: string, fields: Record<string, unknown>): void;
}

export class BfdThread implements BfdRunner {
  #worker: Worker | null = null;
  #onLoop: BfdManager | null = null;
  #specs: BfdPeerSpec[] = [];
  #statuses = new Map<string, BfdPeerStatus>();
  #drops = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<BfdDropReason, number>;
  #closed = false;
  /** Why the sessions run on the loop, or null. */
  fellBack: string | null = null;

  constructor(private readonly opts: BfdThreadOptions) {
    try {
      const w = startThread({ netns: opts.netns, port: opts.port, peerPort: opts.peerPort });
      w.unref();
      w.on('message', (m: FromBfdThread) => this.#message(m));
      w.on('error', (err) => this.#fail(`bfd thread failed: ${err.message}`));
      w.on('exit', (code) => this.#fail(`bfd thread exited (${code})`));
      this.#worker = w;
    } catch (err) {
      this.#fail(`bfd thread did not start: ${(err as Error).message}`);
    }
  }

  apply(specs: readonly BfdPeerSpec[]): void {
    this.#specs = specs.map((s) => ({ ...s, local: { ...s.local }, timers: { ...s.timers } }));
    if (this.#onLoop) this.#onLoop.apply(this.#specs);
    else this.#post({ kind: 'apply', specs: this.#specs });
  }

  isUp(name: string): boolean | undefined {
    if (this.#onLoop) return this.#onLoop.isUp(name);
    if (!this.#specs.some((s) => s.name === name)) return undefined;
    return this.#statuses.get(name)?.state === 'up';
  }

  status(name: string): BfdPeerStatus | undefined {
    if (this.#onLoop) return this.#onLoop.status(name);
    const spec = this.#specs.find((s) => s.name === name);
    return spec && (this.#statuses.get(name) ?? notStarted(spec));
  }

  statuses(): BfdPeerStatus[] {
    if (this.#onLoop) return this.#onLoop.statuses();
    return this.#specs.map((s) => this.#statuses.get(s.name) ?? notStarted(s));
  }

  get drops(): Record<BfdDropReason, number> {
    return this.#onLoop ? this.#onLoop.drops : this.#drops;
  }

  close(): void {
    this.#closed = true;
    this.#onLoop?.close();
    const w = this.#worker;
    if (!w) return;
    this.#post({ kind: 'close' });
    this.opts.clock.setTimeout(() => void w.terminate(), CLOSE_GRACE_MS, { unref: true });
  }

  #post(m: ToBfdThread): void {
    this.#worker?.postMessage(m);
  }

  #message(m: FromBfdThread): void {
    switch (m.kind) {
      case 'ready':
        this.#log('bfd-thread-started', {});
        return;
      case 'log':
        this.#log(m.event, m.fields);
        return;
      case 'closed':
        this.#worker = null;
        return;
      case 'snapshot':
      case 'state':
        this.#statuses = new Map(m.statuses.map((s) => [s.name, s]));
        this.#drops = m.drops;
        if (m.kind === 'state') this.opts.onState?.(m.peer, m.from, m.to, m.diag);
        return;
    }
  }

  /** The thread is gone while the sessions are wanted: they run on the loop from now on. */
  #fail(why: string): void {
    if (this.#worker === null && this.fellBack !== null) return;
    this.#worker = null;
    if (this.#closed) return;
    this.fellBack = why;
    this.#log('bfd-thread-failed', { error: why });
    this.#onLoop = new BfdManager({
      clock: this.opts.clock,
      netns: this.opts.netns,
      port: this.opts.port,
      peerPort: this.opts.peerPort,
      onState: this.opts.onState,
      log: this.opts.log,
    });
    try {
      this.#onLoop.apply(this.#specs);
    } catch (err) {
      this.#log('bfd-plan-failed', { error: (err as Error).message });
    }
  }

  #log(event: string, fields: Record<string, unknown>): void {
    try {
      this.opts.log?.(event, fields);
    } catch {
      // a log sink's failure is not the sessions'
    }
  }
}

/** A session the thread has not reported yet (it is starting, or the apply is on its way): Down. */
function notStarted(spec: BfdPeerSpec): BfdPeerStatus {
  return {
    name: spec.name,
    peerAddress: spec.peerAddress,
    localAddress: spec.local.address,
    desiredMinTxMs: spec.timers.desiredMinTxUs / US_PER_MS,
    requiredMinRxMs: spec.timers.requiredMinRxUs / US_PER_MS,
    detectMult: spec.timers.detectMult,
    state: 'down',
    remoteState: 'down',
    localDiag: diagName(BfdDiag.none),
    remoteDiag: diagName(BfdDiag.none),
    localDiscriminator: 0,
    remoteDiscriminator: 0,
    txIntervalMs: 0,
    detectTimeMs: 0,
    pollActive: false,
    counters: {
      packetsIn: 0,
      packetsOut: 0,
      transitions: { 'admin-down': 0, down: 0, init: 0, up: 0 },
      sendErrors: 0,
    },
  };
}

/**
 * The worker: the compiled thread-main.js beside this file, or under tsx (sources run as .ts, tests and
 * benches) the .ts one loaded through tsx's loader, which a worker does not inherit.
 */
function startThread(data: BfdThreadData): Worker {
  const ts = import.meta.url.endsWith('.ts');
  const entry = new URL(ts ? './thread-main.ts' : './thread-main.js', import.meta.url);
  if (!ts) return new Worker(entry, { workerData: data });
  const code = `const { register } = await import('tsx/esm/api'); register(); await import(${JSON.stringify(entry.href)});`;
  return new Worker(code, { eval: true, workerData: data });
}
