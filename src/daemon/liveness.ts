// Peer liveness outside BGP, wired to the speaker: a BFD session (src/bfd) for every peer with `bfd`
// in its config, and the link state of every peer's interface. A peer is unreachable while its
// interface is down (no carrier, or administratively down) or while its BFD session, having been Up,
// is not (RFC 5882 §3.2: a session that never came up — a peer without BFD — takes nothing down);
// then the speaker drops its routes at once and ends its session (BgpSpeaker.setPeerReachable).
// The BFD sessions run on their own thread (bfd/thread.ts), so this loop's stalls make no flaps.
// Each peer's local address and interface are where its BGP session is (bgp/listen-plan.ts), read
// again on every address or link change, so a peer whose address appears later gets its BFD then.

import type { BfdStateName } from '../bfd/codec.js';
import { kernelLinkSource, LinkStateWatcher } from '../bfd/link-state.js';
import type { BfdPeerSpec, BfdPeerStatus } from '../bfd/manager.js';
import { type BfdRunner, BfdThread } from '../bfd/thread.js';
import { type HostAddresses, listenAddressesOf } from '../bgp/listen-plan.js';
import { kernelAddressSource } from '../bgp/listen-source.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { PeerConfig } from '../config/types.js';
import { Rtnetlink } from '../native/rtnl.js';

const US_PER_MS = 1000;
/** Address and link changes arriving within this window are planned for once. */
const REPLAN_DELAY_MS = 20;

export interface LivenessTarget {
  setPeerReachable(name: string, reachable: boolean, reason: string): void;
}

export interface LivenessOptions {
  clock: Clock;
  netns?: string;
  log(event: string, fields: Record<string, unknown>): void;
  /** BFD's receive and destination ports (tests); default 3784. */
  bfdPort?: number;
  bfdPeerPort?: number;
}

/** The host's addresses, and the name of an interface by index. */
export interface HostView extends HostAddresses {
  ifnameOf(ifindex: number): string | undefined;
}

interface PeerPlace {
  spec: BfdPeerSpec | undefined;
  ifname: string | undefined;
}

/** Where a peer's session is: its local endpoint (for BFD) and the interface it leaves by. */
export function placeOf(peer: PeerConfig, host: HostView): PeerPlace {
  const local = listenAddressesOf(peer, host)[0];
  let ifname = peer.interface ?? undefined;
  if (ifname === undefined && local) {
    const ifindex = host.addresses.find((a) => a.address === local.address)?.ifindex;
    ifname = ifindex === undefined ? undefined : host.ifnameOf(ifindex);
  }
  const bfd = peer.bfd ?? null;
  const spec: BfdPeerSpec | undefined =
    bfd && local
      ? {
          name: peer.name,
          peerAddress: peer.address,
          local: { family: local.family, address: local.address, ifindex: local.scopeId },
          timers: {
            desiredMinTxUs: bfd.minTxMs * US_PER_MS,
            requiredMinRxUs: bfd.minRxMs * US_PER_MS,
            detectMult: bfd.multiplier,
          },
        }
      : undefined;
  return { spec, ifname };
}

export class PeerLiveness {
  readonly bfd: BfdRunner;
  readonly #rtnl: Rtnetlink;
  readonly #links: LinkStateWatcher;
  readonly #unwatch: () => void;
  readonly #source: ReturnType<typeof kernelAddressSource>;
  #peers: readonly PeerConfig[];
  #ifnameOf = new Map<string, string>();
  /** Peers whose BFD session was Up and is not now. */
  readonly #bfdLost = new Set<string>();
  readonly #unreachable = new Set<string>();
  #timer: TimerHandle | undefined;

  constructor(
    peers: readonly PeerConfig[],
    private readonly target: LivenessTarget,
    private readonly opts: LivenessOptions,
  ) {
    this.#peers = peers;
    this.#rtnl = Rtnetlink.open({ netns: opts.netns });
    this.#source = kernelAddressSource(this.#rtnl, opts.netns);
    this.bfd = new BfdThread({
      clock: opts.clock,
      netns: opts.netns,
      port: opts.bfdPort,
      peerPort: opts.bfdPeerPort,
      log: opts.log,
      onState: (peer, from, to, diag) => this.#bfdState(peer, from, to, diag),
    });
    this.#links = new LinkStateWatcher([], kernelLinkSource(this.#rtnl, opts.netns), () => this.#judgeAll());
    this.#links.start();
    this.#unwatch = this.#source.watch(() => this.#schedule());
    this.#plan();
  }

  /** New peers (a reload). */
  apply(peers: readonly PeerConfig[]): void {
    this.#peers = peers;
    // A reconfigured peer is a new one to the speaker: tell it again what is known.
    for (const name of this.#unreachable) this.target.setPeerReachable(name, false, 'still-unreachable');
    this.#plan();
  }

  status(name: string): BfdPeerStatus | undefined {
    return this.bfd.status(name);
  }

  /** The peer's interface is usable (undefined: not known). */
  linkUp(name: string): boolean | undefined {
    const ifname = this.#ifnameOf.get(name);
    return ifname === undefined ? undefined : this.#links.isUp(ifname);
  }

  close(): void {
    this.opts.clock.clearTimeout(this.#timer);
    this.#unwatch();
    this.#links.close();
    this.bfd.close();
    this.#rtnl.close();
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = this.opts.clock.setTimeout(
      () => {
        this.#timer = undefined;
        this.#plan();
      },
      REPLAN_DELAY_MS,
      { unref: true },
    );
  }

  #plan(): void {
    try {
      const links = this.#rtnl.links();
      const host = this.#source.read();
      const withNames: HostView = {
        ...host,
        ifnameOf: (ifindex) => links.find((l) => l.ifindex === ifindex)?.name,
      };
      const specs: BfdPeerSpec[] = [];
      // A peer keeps the interface last seen: a link going down takes its IPv6 addresses with it.
      for (const name of [...this.#ifnameOf.keys()])
        if (!this.#peers.some((p) => p.name === name)) this.#ifnameOf.delete(name);
      for (const p of this.#peers) {
        const place = placeOf(p, withNames);
        if (place.spec) specs.push(place.spec);
        if (place.ifname !== undefined) this.#ifnameOf.set(p.name, place.ifname);
      }
      this.#links.setNames(new Set(this.#ifnameOf.values()));
      this.bfd.apply(specs);
      for (const name of [...this.#bfdLost])
        if (!specs.some((s) => s.name === name)) this.#bfdLost.delete(name);
    } catch (err) {
      this.opts.log('bfd-plan-failed', { error: err instanceof Error ? err.message : String(err) });
    }
    this.#judgeAll();
  }

  #bfdState(peer: string, from: BfdStateName, to: BfdStateName, diag: string): void {
    if (to === 'up') this.#bfdLost.delete(peer);
    else if (from === 'up' && to === 'down') this.#bfdLost.add(peer);
    this.#judge(peer, `bfd-${to}:${diag}`);
  }

  #judgeAll(): void {
    for (const p of this.#peers) this.#judge(p.name, this.linkUp(p.name) === false ? 'link-down' : 'link-up');
  }

  #judge(name: string, reason: string): void {
    const unreachable = this.linkUp(name) === false || this.#bfdLost.has(name);
    if (unreachable === this.#unreachable.has(name)) return;
    if (unreachable) this.#unreachable.add(name);
    else this.#unreachable.delete(name);
    this.target.setPeerReachable(name, !unreachable, reason);
  }
}
