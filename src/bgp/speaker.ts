// The BGP speaker: every configured peer (speaker-peer.ts) behind one RouteAnnouncer for the agent.
// Export: the host's own addresses always, VIPs while the agent advertises them; changes made in one
// turn of the event loop go out together, per peer through its Adj-RIB-Out (identical → nothing
// sent); End-of-RIB (RFC 4724) held until releaseEndOfRib(); flushed() waits for the sockets' write
// callbacks. Import: the accepted default routes of all peers (Established, or stale in a graceful
// restart) become one multipath default route per family in the kernel (src/host/default-route.ts).
// Passive opens arrive through one listener per local address of the sessions (listener.ts, where
// listen-plan.ts says, computed again on every address or link change the kernel reports). applyPeers()
// changes only the peers whose config changed. An interface peer (RFC 8950) sends router
// advertisements and learns the peer's link-local address (unnumbered-peer.ts), then connects actively
// too. No exception escapes a handler of the network: sessions reset, the speaker logs.

import { type Clock, sleep, systemClock, type TimerHandle } from '../clock.js';
import type { Config, NodeConfig, PeerConfig } from '../config/types.js';
import {
  DEFAULT_DST,
  type DefaultNexthop,
  type DefaultRouteSink,
  DefaultRouteWriter,
} from '../host/default-route.js';
import { Rtnetlink } from '../native/rtnl.js';
import { MAX_TTL } from '../native/sockopt.js';
import type { IpFamily } from '../netlink/ip.js';
import type { InterfaceAddress } from '../netlink/rtnl-codec.js';
import type { ExportAttributes, RouteAnnouncer, SentRoute } from './announcer.js';
import { Afi } from './codec/constants.js';
import { type Prefix, prefixKey } from './codec/prefix.js';
import { type ListenAddress, listenPlan } from './listen-plan.js';
import { type AddressSource, kernelAddressSource } from './listen-source.js';
import { BgpListener } from './listener.js';
import { adminReset, type PeerDetail, peerDetail, type ResetOutcome } from './peer-admin.js';
import { md5KeyOf, minTtlFor, type PeerEnvironment, sessionChanged, sessionOptions } from './peer-config.js';
import type { RibOutRoute } from './rib.js';
import { BGP_PORT } from './session.js';
import { SpeakerPeer } from './speaker-peer.js';
import type { PeerStatus, ReceivedRoute } from './speaker-status.js';
import { discoverUnnumberedPeer, type PeerSource, type UnnumberedDiscovery } from './unnumbered-peer.js';

export type { PeerStatus, ReceivedRoute } from './speaker-status.js';

const IPV4_HOST_LEN = 32;
const IPV6_HOST_LEN = 128;
const DEFAULT_PREFIX: Record<IpFamily, Prefix> = {
  4: { afi: Afi.IPV4, addr: '0.0.0.0', len: 0 },
  6: { afi: Afi.IPV6, addr: '::', len: 0 },
};

/** How often listeners whose bind failed are tried again (besides on every address change). */
export const LISTEN_RETRY_MS = 5_000;
/** Address and link changes arriving within this window are planned for once. */
const REPLAN_DELAY_MS = 20;
/** RFC 4724 §4.1 selection deferral after a restart: the longest the old default routes stay untouched. */
export const SELECTION_DEFERRAL_MS = 30_000;

/** How the speaker stops: for good (Cease, routes withdrawn) or for a restart (RFC 4724). */
export interface SpeakerStop {
  /** Leave graceful-restart peers without a NOTIFICATION and the kernel's default routes in place. */
  restart?: boolean;
}

export interface SpeakerOptions extends PeerEnvironment {
  /** Open the passive listeners (default true). */
  listen?: boolean;
  /** The host's addresses for the listeners (default: the kernel's, in `netns`, over rtnetlink). */
  addresses?: AddressSource;
  /** Where the default routes go (the kernel writer in production); none: nowhere. */
  defaultRoutes?: DefaultRouteSink;
  /** Structured events (kebab-case names). */
  log?: (event: string, fields: Record<string, unknown>) => void;
  /** How often a peer over its max-prefix limit is counted afresh (default MAX_PREFIX_RECOUNT_MS). */
  maxPrefixRecountMs?: number;
  /**
   * This start follows a restart that left the forwarding state in place (RFC 4724 §4.1): the OPENs
   * carry the Restart State bit until End-of-RIB is released, and the kernel's default routes (the
   * previous agent's, still in place) are not touched until every peer sent its End-of-RIB or
   * SELECTION_DEFERRAL_MS passed.
   */
  restarting?: boolean;
  /**
   * Find an unnumbered peer's link-local address on an interface (router advertisements, the
   * neighbour table: unnumbered-peer.ts); once found the session also connects actively. None: the
   * interface peer only listens.
   */
  discoverUnnumbered?: (
    ifname: string,
    found: (address: string, source: PeerSource) => void,
  ) => UnnumberedDiscovery;
}

export function hostPrefixes(node: NodeConfig): Prefix[] {
  const out: Prefix[] = [];
  if (node.host.ipv4) out.push({ afi: Afi.IPV4, addr: node.host.ipv4, len: IPV4_HOST_LEN });
  if (node.host.ipv6) out.push({ afi: Afi.IPV6, addr: node.host.ipv6, len: IPV6_HOST_LEN });
  return out;
}

export class BgpSpeaker implements RouteAnnouncer {
  private readonly peerMap = new Map<string, SpeakerPeer>();
  private readonly discoveries = new Map<string, UnnumberedDiscovery>();
  private readonly exportTable = new Map<string, RibOutRoute<ExportAttributes>>();
  private readonly hostKeys = new Set<string>();
  private readonly dirty = new Map<string, Prefix>();
  private flushScheduled = false;
  private eorReleased = false;
  private listener: BgpListener | undefined;
  private addresses: AddressSource | undefined;
  /** The host's interface addresses at the last plan (for the next-hop checks). */
  private hostAddresses: readonly InterfaceAddress[] | undefined;
  private replanTimer: TimerHandle | undefined;
  private replanAt = 0;
  /** Peers the last plan found no local address for (logged when the set changes). */
  private unplaced = '';
  private stopped = false;
  /** Stopped for a restart: the kernel's default routes stay. */
  private keptForRestart = false;
  private readonly restartState: { restarting: boolean };
  /** RFC 4724 §4.1: the kernel is not written until the peers' End-of-RIB (or the deferral timer). */
  private deferSelection: boolean;
  private deferTimer: TimerHandle | undefined;
  private readonly onStop: (() => void)[] = [];
  private readonly clock: Clock;

  private constructor(
    private readonly node: NodeConfig,
    private readonly options: SpeakerOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.restartState = { restarting: options.restarting ?? false };
    this.deferSelection = this.restartState.restarting;
    if (this.deferSelection) {
      this.deferTimer = this.clock.setTimeout(
        () => this.endSelectionDeferral('timer'),
        SELECTION_DEFERRAL_MS,
        {
          unref: true,
        },
      );
    }
    for (const p of hostPrefixes(node)) {
      this.hostKeys.add(prefixKey(p));
      this.exportTable.set(prefixKey(p), { prefix: p, attributes: {} });
    }
  }

  /** Build the speaker from a config, open its listeners and start every peer. */
  static async start(
    config: Pick<Config, 'node' | 'peers'>,
    options: SpeakerOptions = {},
  ): Promise<BgpSpeaker> {
    const s = new BgpSpeaker(config.node, options);
    try {
      if (options.listen ?? true) {
        s.listener = new BgpListener({
          port: options.port ?? BGP_PORT,
          netns: options.netns,
          log: (e, f) => s.log(e, f),
          clock: s.clock,
        });
        s.addresses = options.addresses ?? s.ownAddressSource();
        s.onStop.push(s.addresses.watch(() => s.schedulePlan()));
      }
      for (const p of config.peers) s.addPeer(p);
    } catch (err) {
      s.stop();
      throw err;
    }
    await s.plan();
    return s;
  }

  /** The kernel's addresses over an rtnetlink socket of our own, closed at stop(). */
  private ownAddressSource(): AddressSource {
    const rtnl = Rtnetlink.open({ netns: this.options.netns });
    this.onStop.push(() => rtnl.close());
    return kernelAddressSource(rtnl, this.options.netns);
  }

  /** Plan again in `delayMs`, unless a plan is already due sooner. */
  private schedulePlan(delayMs = REPLAN_DELAY_MS): void {
    if (this.stopped || !this.listener) return;
    const at = this.clock.now() + delayMs;
    if (this.replanTimer !== undefined && this.replanAt <= at) return;
    this.clock.clearTimeout(this.replanTimer);
    this.replanAt = at;
    this.replanTimer = this.clock.setTimeout(() => void this.plan(), delayMs, { unref: true });
  }

  /** Listen where the peers' sessions are now (listen-plan.ts); try failed binds again later. */
  private async plan(): Promise<void> {
    const listener = this.listener;
    const addresses = this.addresses;
    this.clock.clearTimeout(this.replanTimer);
    this.replanTimer = undefined;
    if (this.stopped || !listener || !addresses) return;
    try {
      const host = addresses.read();
      this.hostAddresses = host.addresses;
      const { endpoints, unplaced } = listenPlan(
        [...this.peerMap.values()].map((p) => p.config),
        host,
      );
      const names = unplaced.join(',');
      if (names !== this.unplaced && unplaced.length > 0)
        this.log('bgp-listen-address-unknown', { peers: unplaced, why: 'no local address for the peer yet' });
      this.unplaced = names;
      await listener.sync(endpoints);
    } catch (err) {
      this.log('bgp-listen-plan-failed', { error: err instanceof Error ? err.message : String(err) });
    }
    if (listener.incomplete) this.schedulePlan(LISTEN_RETRY_MS);
  }

  /**
   * Production start: rtnetlink (in `options.netns`) resolves unnumbered peers' interfaces and our
   * link-local addresses on them, and the kernel default routes are written with the config's
   * protocol number and metric; stop() removes them and closes the socket.
   */
  static async startWithKernel(
    config: Pick<Config, 'node' | 'peers' | 'kernelRoute'>,
    options: SpeakerOptions = {},
  ): Promise<BgpSpeaker> {
    const rtnl = Rtnetlink.open({ netns: options.netns });
    const writer = new DefaultRouteWriter(rtnl, {
      protocol: config.kernelRoute.protocol,
      metric: config.kernelRoute.metric,
      prefsrc: { 4: config.node.host.ipv4, 6: config.node.host.ipv6 },
      onPrefsrcRejected: (family, prefsrc) =>
        options.log?.('bgp-default-route-without-prefsrc', { family, prefsrc, why: 'not a local address' }),
      onNexthopsRejected: (family, refused) =>
        options.log?.('bgp-default-nexthop-failed', {
          family,
          refused: refused.map((r) => ({ gateway: r.nexthop.gateway, error: r.error })),
          why: 'the kernel refused these next hops; the others are installed, these are tried again every second',
        }),
    });
    try {
      const s = await BgpSpeaker.start(config, {
        ifindexOf: (name) => rtnl.links().find((l) => l.name === name)?.ifindex,
        addresses: kernelAddressSource(rtnl, options.netns),
        defaultRoutes: writer,
        discoverUnnumbered: (ifname, found) =>
          discoverUnnumberedPeer(
            ifname,
            { rtnl, netns: options.netns, log: options.log, clock: options.clock },
            found,
          ),
        ...options,
      });
      s.onStop.push(() => {
        if (!s.keptForRestart) writer.clear(); // a restart keeps forwarding on them (RFC 4724 F bit)
        rtnl.close();
      });
      return s;
    } catch (err) {
      rtnl.close();
      throw err;
    }
  }

  /** The listener's port (tests listen on port 0). */
  get listenPort(): number | undefined {
    return this.listener?.port;
  }

  /** The local addresses listened on now. */
  listening(): ListenAddress[] {
    return this.listener?.listening() ?? [];
  }

  /** Inbound connections refused since start (not from a configured peer). */
  get connectionsRefused(): number {
    return this.listener?.refusals.total ?? 0;
  }

  /** A log sink that throws must not take a network handler down with it. */
  private log(event: string, fields: Record<string, unknown>): void {
    try {
      this.options.log?.(event, fields);
    } catch {
      // the event is lost; the speaker goes on
    }
  }

  private addPeer(config: PeerConfig): void {
    const env: PeerEnvironment = { ...this.options, clock: this.clock, restartState: this.restartState };
    const peer = new SpeakerPeer(config, sessionOptions(config, this.node, env), {
      localAs: this.node.asn,
      exported: () => this.exportTable.values(),
      endOfRibReleased: () => this.eorReleased,
      importChanged: () => {
        this.checkSelectionDeferral();
        this.updateKernel();
      },
      endOfRibIn: () => this.checkSelectionDeferral(),
      hostAddresses: () => this.hostAddresses,
      ownAddresses: () => [...this.exportTable.values()].map((r) => r.prefix.addr),
      ifindexOf: (name) => this.options.ifindexOf?.(name),
      log: (e, f) => this.log(e, f),
      maxPrefixRecountMs: this.options.maxPrefixRecountMs,
      clock: this.clock,
    });
    this.peerMap.set(config.name, peer);
    this.listener?.setPeer(config.name, {
      address: config.address,
      md5Key: md5KeyOf(config),
      ttl: config.ttlSecurityHops !== null ? MAX_TTL : undefined,
      minTtl: config.ttlSecurityHops !== null ? minTtlFor(config.ttlSecurityHops) : undefined,
      accept: (socket) => peer.session.accept(socket),
    });
    this.schedulePlan();
    peer.session.start();
    if (config.interface !== null && config.address === null && this.options.discoverUnnumbered) {
      const session = peer.session;
      const discovery = this.options.discoverUnnumbered(config.interface, (address) => {
        if (!config.passive) session.learnPeerAddress(address);
      });
      this.discoveries.set(config.name, discovery);
    }
  }

  private removePeer(name: string, message: string): void {
    const peer = this.peerMap.get(name);
    if (!peer) return;
    this.peerMap.delete(name);
    this.discoveries.get(name)?.stop();
    this.discoveries.delete(name);
    this.listener?.removePeer(name);
    this.schedulePlan();
    peer.stop(message);
    this.updateKernel();
  }

  /** Apply a new peer list: add, remove, and restart only the peers whose session settings changed. */
  applyPeers(peers: readonly PeerConfig[]): void {
    const next = new Map(peers.map((p) => [p.name, p]));
    for (const name of [...this.peerMap.keys()])
      if (!next.has(name)) this.removePeer(name, 'peer deconfigured');
    for (const config of peers) {
      const cur = this.peerMap.get(config.name);
      if (!cur) this.addPeer(config);
      else if (sessionChanged(cur.config, config)) {
        this.removePeer(config.name, 'peer reconfigured');
        this.addPeer(config);
      } else if (cur.reconfigure(config)) cur.resync();
    }
  }

  // RouteAnnouncer

  advertise(prefix: Prefix, attrs: ExportAttributes = {}): void {
    const key = prefixKey(prefix);
    this.exportTable.set(key, { prefix, attributes: { ...attrs } });
    this.markDirty(key, prefix);
  }

  withdraw(prefix: Prefix): void {
    const key = prefixKey(prefix);
    if (this.hostKeys.has(key)) return; // the host's own address is always exported
    if (this.exportTable.delete(key)) this.markDirty(key, prefix);
  }

  async flushed(timeoutMs: number): Promise<boolean> {
    this.flush();
    const done = new AbortController();
    const timeout = sleep(this.clock, timeoutMs, done.signal).then(() => false);
    const all = Promise.all([...this.peerMap.values()].map((p) => p.drained())).then(() => true);
    try {
      return await Promise.race([all, timeout]);
    } finally {
      done.abort();
    }
  }

  releaseEndOfRib(): void {
    this.eorReleased = true;
    this.flush();
    for (const p of this.peerMap.values()) p.sendEndOfRib();
    this.restartState.restarting = false; // the restart is done: later OPENs carry no R bit
  }

  /**
   * A peer's End-of-RIB or routes arrived: the deferral ends once every peer's session is up and each
   * graceful-restart peer sent all of its End-of-RIB (a peer without graceful restart sends none to wait for).
   */
  private checkSelectionDeferral(): void {
    if (!this.deferSelection) return;
    if ([...this.peerMap.values()].every((p) => p.selectionReady)) this.endSelectionDeferral('end-of-rib');
  }

  private endSelectionDeferral(why: 'end-of-rib' | 'timer'): void {
    if (!this.deferSelection) return;
    this.deferSelection = false;
    this.clock.clearTimeout(this.deferTimer);
    this.log('bgp-selection-deferral-ended', { why });
    this.updateKernel();
  }

  private markDirty(key: string, prefix: Prefix): void {
    this.dirty.set(key, prefix);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => this.flush());
  }

  /** Send what changed since the last flush to every Established peer. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.dirty.size === 0) return;
    const announce: RibOutRoute<ExportAttributes>[] = [];
    const withdraw: Prefix[] = [];
    for (const [key, prefix] of this.dirty) {
      const r = this.exportTable.get(key);
      if (r) announce.push(r);
      else withdraw.push(prefix);
    }
    this.dirty.clear();
    for (const p of this.peerMap.values()) {
      try {
        p.sync(announce, withdraw);
      } catch (err) {
        this.log('bgp-export-failed', { peer: p.config.name, error: String(err) });
        p.fail();
      }
    }
  }

  /** One multipath default route per family from every peer's accepted default route. */
  private updateKernel(): void {
    const sink = this.options.defaultRoutes;
    if (!sink || this.stopped || this.deferSelection) return;
    for (const family of [4, 6] as const) {
      const hops: DefaultNexthop[] = [];
      for (const p of this.peerMap.values()) {
        if (p.suppressed || p.unreachable) continue;
        const nh = p.nexthopOf(DEFAULT_PREFIX[family]);
        if (nh) hops.push(nh);
      }
      try {
        sink.update(family, hops);
      } catch (err) {
        this.log('bgp-default-route-failed', { dst: DEFAULT_DST[family], error: String(err) });
      }
    }
  }

  /** Is a session up with graceful restart negotiated (a restart would keep our routes there)? */
  restartKeepsRoutes(): boolean {
    return [...this.peerMap.values()].some((p) => p.session.gracefulRestartNegotiated);
  }

  /**
   * A peer found unreachable (false) or reachable again (true) outside BGP — BFD, the link's carrier
   * (src/bfd): unreachable takes its next hops out of the default routes at once and ends its session.
   */
  setPeerReachable(name: string, reachable: boolean, reason: string): void {
    this.peerMap.get(name)?.reachable(reachable, reason);
  }

  /** Snapshot of every peer for the metrics layer and the CLI. */
  peers(): PeerStatus[] {
    return [...this.peerMap.values()].map((p) => p.status());
  }

  /** One peer in detail for `show peer` (peer-admin.ts); undefined: no such peer. */
  peerDetail(name: string): PeerDetail | undefined {
    const p = this.peerMap.get(name);
    return p && peerDetail(p);
  }

  /** The operator's hard or soft reset of one peer (peer-admin.ts); undefined: no such peer. */
  resetPeer(name: string, hard: boolean): ResetOutcome | undefined {
    const p = this.peerMap.get(name);
    if (!p) return undefined;
    const outcome = adminReset(p, hard);
    this.log('bgp-peer-reset', { peer: name, reason: 'operator', hard, outcome });
    return outcome;
  }

  /** What each peer was sent (its Adj-RIB-Out: a family its session cannot carry is not there), for `show routes`. */
  sent(): SentRoute[] {
    return [...this.peerMap.values()].flatMap((p) =>
      p.ribOut.routes().map((r) => ({ peer: p.config.name, prefix: prefixKey(r.prefix) })),
    );
  }

  /** Every peer's accepted routes (Adj-RIB-In after import policy), for `show routes`. */
  received(): ReceivedRoute[] {
    return [...this.peerMap.values()].flatMap((p) => p.received());
  }

  /**
   * Close every session and the listeners: for good, each with a Cease (administrative shutdown) and
   * our default routes removed; for a restart, graceful-restart peers without a NOTIFICATION (they keep
   * our routes for the restart time) and the default routes left in place.
   */
  stop(message = 'anycastd shutting down', how: SpeakerStop = {}): void {
    if (how.restart) {
      this.flush();
      this.stopped = true;
      this.keptForRestart = true;
      const kept: string[] = [];
      for (const [name, peer] of this.peerMap) {
        if (!peer.leave()) continue;
        kept.push(name);
        this.peerMap.delete(name);
        this.discoveries.get(name)?.stop();
        this.discoveries.delete(name);
      }
      this.log('bgp-left-for-restart', { keptBy: kept });
    }
    for (const name of [...this.peerMap.keys()]) this.removePeer(name, message);
    this.stopped = true;
    this.clock.clearTimeout(this.deferTimer);
    this.clock.clearTimeout(this.replanTimer);
    this.listener?.close();
    for (const f of this.onStop.splice(0)) f();
  }
}
