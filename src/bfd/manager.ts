// The BFD sessions of the agent, one per peer that asks for one: it keeps each session's sockets
// (transport.ts), finds the session a received packet belongs to (RFC 5880 §6.3: by Your
// Discriminator, else — while the peer does not know ours yet — by source address and receiving
// endpoint), checks that the source is the session's peer, and reports every state change. An
// unnumbered peer (IPv6 link-local, no address configured) learns its address from the first packet
// that reaches its interface's link-local endpoint from a link-local source (with TTL 255, so from the
// link itself). apply() adds, removes and retimes sessions; a session whose endpoint or peer changed
// is made anew. Drops are counted by a fixed set of reasons, so nothing received grows memory.

import type { Clock } from '../clock.js';
import type { UdpSocket } from '../native/udp.js';
import { type BfdStateName, CODEC_DROP_REASONS, type ControlPacket } from './codec.js';
import { BfdSession, type BfdSessionStatus, type BfdTimers, type SessionDropReason } from './session.js';
import {
  BFD_CONTROL_PORT,
  type BfdEndpoint,
  BfdReceivers,
  endpointKey,
  openSender,
  type TransportDropReason,
} from './transport.js';

const MAX_U32 = 0xffff_ffff;
const LINK_LOCAL_RE = /^fe[89ab]/i;

/** Why a received packet was dropped, every reason (the metrics' label values). */
export type BfdDropReason = TransportDropReason | SessionDropReason | 'no-session' | 'source-mismatch';
export const DROP_REASONS: readonly BfdDropReason[] = [
  ...CODEC_DROP_REASONS,
  'truncated',
  'ttl',
  'your-discriminator-zero',
  'admin-down',
  'no-session',
  'source-mismatch',
];

/** One peer's session as config and the host's addresses give it. */
export interface BfdPeerSpec {
  /** The BGP peer's name. */
  name: string;
  /** The peer's address; null: an unnumbered peer, learnt from its packets. */
  peerAddress: string | null;
  /** Our address facing it. */
  local: BfdEndpoint;
  timers: BfdTimers;
}

export interface BfdPeerStatus extends BfdSessionStatus {
  name: string;
  peerAddress: string | null;
  localAddress: string;
  /** Configured timers, ms and multiplier. */
  desiredMinTxMs: number;
  requiredMinRxMs: number;
  detectMult: number;
}

export interface BfdManagerOptions {
  clock: Clock;
  netns?: string;
  /** Where packets are received (default 3784; tests use their own). */
  port?: number;
  /** Where packets are sent (default 3784). */
  peerPort?: number;
  random?: () => number;
  /** A session changed state. */
  onState?(peer: string, from: BfdStateName, to: BfdStateName, diag: string): void;
  log?(event: string, fields: Record<string, unknown>): void;
}

interface Entry {
  spec: BfdPeerSpec;
  session: BfdSession;
  sender: UdpSocket;
  peerAddress: string | null;
}

const US_PER_MS = 1000;
const sameSpec = (a: BfdPeerSpec, b: BfdPeerSpec): boolean =>
  a.peerAddress === b.peerAddress && endpointKey(a.local) === endpointKey(b.local);

export class BfdManager {
  readonly #entries = new Map<string, Entry>();
  readonly #byDiscriminator = new Map<number, Entry>();
  readonly #receivers: BfdReceivers;
  readonly drops: Record<BfdDropReason, number> = Object.fromEntries(
    DROP_REASONS.map((r) => [r, 0]),
  ) as Record<BfdDropReason, number>;
  readonly #random: () => number;

  constructor(private readonly opts: BfdManagerOptions) {
    this.#random = opts.random ?? Math.random;
    this.#receivers = new BfdReceivers(
      {
        onPacket: (p, from, endpoint) => this.#receive(p, from, endpoint),
        onDrop: (reason) => this.drops[reason]++,
        onError: (err, endpoint) => this.#log('bfd-receive-failed', { endpoint: endpointKey(endpoint), err }),
      },
      { netns: opts.netns, port: opts.port },
    );
  }

  /** Makes the set of sessions `specs`; keeps unchanged ones, retimes those whose timers changed. */
  apply(specs: readonly BfdPeerSpec[]): void {
    const next = new Map(specs.map((s) => [s.name, s]));
    for (const [name, e] of [...this.#entries]) {
      const spec = next.get(name);
      if (!spec || !sameSpec(e.spec, spec)) this.#remove(name);
    }
    for (const spec of specs) {
      const e = this.#entries.get(spec.name);
      if (!e) this.#add(spec);
      else {
        e.spec = spec;
        e.session.setTimers(spec.timers);
      }
    }
  }

  /** Is the peer's session Up (undefined: no BFD for it)? */
  isUp(name: string): boolean | undefined {
    return this.#entries.get(name)?.session.up;
  }

  status(name: string): BfdPeerStatus | undefined {
    const e = this.#entries.get(name);
    if (!e) return undefined;
    return {
      ...e.session.status(),
      name,
      peerAddress: e.peerAddress,
      localAddress: e.spec.local.address,
      desiredMinTxMs: e.spec.timers.desiredMinTxUs / US_PER_MS,
      requiredMinRxMs: e.spec.timers.requiredMinRxUs / US_PER_MS,
      detectMult: e.spec.timers.detectMult,
    };
  }

  statuses(): BfdPeerStatus[] {
    return [...this.#entries.keys()].map((n) => this.status(n)!);
  }

  /** The receiving port of a local endpoint (tests bind port 0). */
  receivePort(local: BfdEndpoint): number | undefined {
    return this.#receivers.portOf(local);
  }

  close(): void {
    for (const name of [...this.#entries.keys()]) this.#remove(name);
    this.#receivers.close();
  }

  #newDiscriminator(): number {
    for (;;) {
      const d = 1 + Math.floor(this.#random() * MAX_U32);
      if (d <= MAX_U32 && !this.#byDiscriminator.has(d)) return d;
    }
  }

  #add(spec: BfdPeerSpec): void {
    const sender = openSender(spec.local, { netns: this.opts.netns, random: this.#random });
    try {
      this.#receivers.acquire(spec.local);
    } catch (err) {
      sender.close();
      throw err;
    }
    const entry = {} as Entry;
    const session = new BfdSession({
      clock: this.opts.clock,
      localDiscriminator: this.#newDiscriminator(),
      timers: spec.timers,
      random: this.#random,
      readPending: () => this.#receivers.readNow(spec.local),
      send: (packet) =>
        entry.peerAddress === null
          ? 'EDESTADDRREQ'
          : sender.send(entry.peerAddress, this.opts.peerPort ?? BFD_CONTROL_PORT, packet),
      events: {
        onState: (from, to, diag) => {
          // An unnumbered peer is learnt again after a silence: it may come back with another address.
          if (to === 'down' && spec.peerAddress === null && diag === 'control-detection-time-expired')
            entry.peerAddress = null;
          // The peer's diagnostic says who gave up: its detection time expired = our packets were late.
          const remoteDiag = session.status().remoteDiag;
          this.#log('bfd-state', { peer: spec.name, from, to, diag, remoteDiag });
          this.opts.onState?.(spec.name, from, to, diag);
        },
        onDrop: (reason) => this.drops[reason]++,
      },
    });
    Object.assign(entry, { spec, session, sender, peerAddress: spec.peerAddress });
    this.#entries.set(spec.name, entry);
    this.#byDiscriminator.set(session.localDiscriminator, entry);
    session.start();
  }

  #remove(name: string): void {
    const e = this.#entries.get(name);
    if (!e) return;
    e.session.stop();
    e.sender.close();
    this.#receivers.release(e.spec.local);
    this.#entries.delete(name);
    this.#byDiscriminator.delete(e.session.localDiscriminator);
  }

  #receive(p: ControlPacket, from: string, endpoint: BfdEndpoint): void {
    const key = endpointKey(endpoint);
    let entry: Entry | undefined;
    if (p.yourDiscriminator !== 0) {
      entry = this.#byDiscriminator.get(p.yourDiscriminator);
      if (!entry) {
        this.drops['no-session']++;
        return;
      }
    } else {
      entry = this.#bySource(from, key);
      if (!entry) {
        this.drops['no-session']++;
        return;
      }
    }
    if (endpointKey(entry.spec.local) !== key) {
      this.drops['source-mismatch']++;
      return;
    }
    if (entry.peerAddress === null) {
      if (!LINK_LOCAL_RE.test(from)) {
        this.drops['source-mismatch']++;
        return;
      }
      entry.peerAddress = from;
      this.#log('bfd-peer-learned', { peer: entry.spec.name, address: from });
    } else if (entry.peerAddress !== from) {
      this.drops['source-mismatch']++;
      return;
    }
    entry.session.receive(p);
  }

  /** The session of a packet that does not know our discriminator yet. */
  #bySource(from: string, endpoint: string): Entry | undefined {
    let unnumbered: Entry | undefined;
    for (const e of this.#entries.values()) {
      if (endpointKey(e.spec.local) !== endpoint) continue;
      if (e.peerAddress === from) return e;
      if (e.spec.peerAddress === null && e.peerAddress === null) unnumbered = e;
    }
    return unnumbered;
  }

  #log(event: string, fields: Record<string, unknown>): void {
    try {
      this.opts.log?.(event, fields);
    } catch {
      // a log sink's failure never reaches a packet handler
    }
  }
}
