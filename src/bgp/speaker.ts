// The BGP speaker: every configured peer (speaker-peer.ts) behind one RouteAnnouncer for the agent.
// Export: the host's own addresses always, VIPs while the agent advertises them; changes made in one
// turn of the event loop go out together, per peer through its Adj-RIB-Out (identical → nothing
// sent); End-of-RIB (RFC 4724) held until releaseEndOfRib(); flushed() waits for the sockets' write
// callbacks. Import: the accepted default routes of all peers (Established, or stale in a graceful
// restart) become one multipath default route per family in the kernel (src/host/default-route.ts).
// Passive opens arrive through one listener per family (listener.ts). applyPeers() changes only the
// peers whose config changed. An interface peer (RFC 8950) sends router advertisements and learns the
// peer's link-local address (unnumbered-peer.ts), then connects actively too.

import type { ExportAttributes, RouteAnnouncer } from '../agent/ports.js';
import type { Config, NodeConfig, PeerConfig } from '../config/types.js';
import {
  DEFAULT_DST,
  type DefaultNexthop,
  type DefaultRouteSink,
  DefaultRouteWriter,
} from '../host/default-route.js';
import type { IpFamily } from '../native/ip.js';
import { Rtnetlink } from '../native/rtnl.js';
import { MAX_TTL } from '../native/sockopt.js';
import { Afi } from './codec/constants.js';
import { type Prefix, prefixKey } from './codec/prefix.js';
import { BgpListener } from './listener.js';
import { md5KeyOf, minTtlFor, type PeerEnvironment, sessionChanged, sessionOptions } from './peer-config.js';
import type { RibOutRoute } from './rib.js';
import { isLinkLocal, SpeakerPeer } from './speaker-peer.js';
import type { PeerStatus, ReceivedRoute } from './speaker-status.js';
import { discoverUnnumberedPeer, type PeerSource, type UnnumberedDiscovery } from './unnumbered-peer.js';

export type { PeerStatus, ReceivedRoute } from './speaker-status.js';

const IPV4_HOST_LEN = 32;
const IPV6_HOST_LEN = 128;
const DEFAULT_PREFIX: Record<IpFamily, Prefix> = {
  4: { afi: Afi.IPV4, addr: '0.0.0.0', len: 0 },
  6: { afi: Afi.IPV6, addr: '::', len: 0 },
};

export interface SpeakerOptions extends PeerEnvironment {
  /** Open the passive listeners (default true). */
  listen?: boolean;
  /** Where the default routes go (the kernel writer in production); none: nowhere. */
  defaultRoutes?: DefaultRouteSink;
  /** Our IPv6 link-local addresses on an interface (to recognise an unnumbered peer's connection). */
  linkLocalsOf?: (ifname: string) => string[];
  /** Structured events (kebab-case names). */
  log?: (event: string, fields: Record<string, unknown>) => void;
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

function linkLocals(rtnl: Rtnetlink, ifindex: number): string[] {
  return rtnl
    .addresses({ family: 6, ifindex })
    .map((a) => a.address)
    .filter(isLinkLocal);
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
  private stopped = false;
  private readonly onStop: (() => void)[] = [];

  private constructor(
    private readonly node: NodeConfig,
    private readonly options: SpeakerOptions,
  ) {
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
    if (options.listen ?? true) {
      s.listener = await BgpListener.open({
        port: options.port ?? 179,
        netns: options.netns,
        families: [4, 6],
        onRefused: (remote) => s.log('bgp-connection-refused', { remote }),
      });
    }
    for (const p of config.peers) s.addPeer(p);
    return s;
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
    });
    try {
      const s = await BgpSpeaker.start(config, {
        ifindexOf: (name) => rtnl.links().find((l) => l.name === name)?.ifindex,
        linkLocalsOf: (name) => {
          const link = rtnl.links().find((l) => l.name === name);
          return link ? linkLocals(rtnl, link.ifindex) : [];
        },
        defaultRoutes: writer,
        discoverUnnumbered: (ifname, found) =>
          discoverUnnumberedPeer(ifname, { rtnl, netns: options.netns, log: options.log }, found),
        ...options,
      });
      s.onStop.push(() => {
        writer.clear();
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

  private log(event: string, fields: Record<string, unknown>): void {
    this.options.log?.(event, fields);
  }

  private addPeer(config: PeerConfig): void {
    const env: PeerEnvironment = { ...this.options };
    const peer = new SpeakerPeer(config, sessionOptions(config, this.node, env), {
      localAs: this.node.asn,
      exported: () => this.exportTable.values(),
      endOfRibReleased: () => this.eorReleased,
      importChanged: () => this.updateKernel(),
      ifindexOf: (name) => this.options.ifindexOf?.(name),
      log: (e, f) => this.log(e, f),
    });
    this.peerMap.set(config.name, peer);
    this.listener?.add(config.name, {
      address: config.address,
      md5Key: md5KeyOf(config),
      ttl: config.ttlSecurityHops !== null ? MAX_TTL : undefined,
      minTtl: config.ttlSecurityHops !== null ? minTtlFor(config.ttlSecurityHops) : undefined,
      localLinkLocals: config.interface !== null ? this.options.linkLocalsOf?.(config.interface) : undefined,
      accept: (socket) => peer.session.accept(socket),
    });
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
    this.listener?.remove(name);
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
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const all = Promise.all([...this.peerMap.values()].map((p) => p.drained())).then(() => true);
    try {
      return await Promise.race([all, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  releaseEndOfRib(): void {
    this.eorReleased = true;
    this.flush();
    for (const p of this.peerMap.values()) p.sendEndOfRib();
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
    for (const p of this.peerMap.values()) p.sync(announce, withdraw);
  }

  /** One multipath default route per family from every peer's accepted default route. */
  private updateKernel(): void {
    const sink = this.options.defaultRoutes;
    if (!sink || this.stopped) return;
    for (const family of [4, 6] as const) {
      const hops: DefaultNexthop[] = [];
      for (const p of this.peerMap.values()) {
        if (p.suppressed) continue;
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

  /** Snapshot of every peer for the metrics layer and the CLI. */
  peers(): PeerStatus[] {
    return [...this.peerMap.values()].map((p) => p.status());
  }

  /** Every peer's accepted routes (Adj-RIB-In after import policy), for `show routes`. */
  received(): ReceivedRoute[] {
    return [...this.peerMap.values()].flatMap((p) => p.received());
  }

  /** Close every session (Cease, administrative shutdown) and the listeners. */
  stop(message = 'anycastd shutting down'): void {
    for (const name of [...this.peerMap.keys()]) this.removePeer(name, message);
    this.stopped = true;
    this.listener?.close();
    for (const f of this.onStop.splice(0)) f();
  }
}
