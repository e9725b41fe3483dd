// One configured peer of the speaker: its BgpSession, Adj-RIB-In (import policy, max-prefix limit,
// RFC 7606 treat-as-withdraw already applied by the codec) and Adj-RIB-Out (per-peer export with its
// own communities; identical re-advertisements send nothing), End-of-RIB (RFC 4724 §2) after the
// initial table once the speaker releases it, route refresh (RFC 2918: resend the Adj-RIB-Out),
// graceful restart as a helper (RFC 4724 §4.2: a peer that drops without a NOTIFICATION keeps its
// routes, marked stale, until its End-of-RIB on the new session or its restart time runs out), and
// the counters the metrics layer reads.
// Max-prefix (RFC 4271 §8 MaxPrefix, RFC 4486): what is counted is the distinct prefixes the peer
// announces on the session (both families, before import policy, less those it withdrew). The
// Adj-RIB-In remembers at most `limit` of them, so a peer leaking a full table costs `limit` entries.
// One more puts the peer over its limit: `warn` logs, `withdraw` stops using its routes (its next hops
// leave the ECMP default routes; the session stays up, our routes stay advertised to it), `reset` ends
// the session with Cease / Maximum Number of Prefixes Reached (AFI, SAFI, limit as data) and it
// restarts after the growing idle hold time. Over the limit, the exact count is unknown, so every
// MAX_PREFIX_RECOUNT_MS the peer is asked for its table again (RFC 2918 ROUTE-REFRESH) and counted
// afresh; a whole interval within the limit ends the state. A peer without route refresh stays over
// until its session restarts.
// Before a received route is kept as usable it passes nexthop-check.ts: a family the session did not
// negotiate is ignored (RFC 4760 §7), a next hop that is this host's own address (RFC 4271 §5.1.3) or
// not on-link on a single-hop session is not used; each is counted per reason (`routesRejected`).
// The check runs on receipt against the addresses of that moment: a route refused then is not looked
// at again until the peer sends it again (a route refresh or a new session).

import type { Clock, TimerHandle } from '../clock.js';
import type { PeerConfig } from '../config/types.js';
import type { InterfaceAddress } from '../netlink/rtnl-codec.js';
import type { ExportAttributes } from './announcer.js';
import type { PathAttributes } from './codec/attributes/types.js';
import { type Capability, findCapability } from './codec/capabilities.js';
import { Afi, CeaseSubcode, Safi } from './codec/constants.js';
import { type Prefix, prefixKey } from './codec/prefix.js';
import { type DecodedUpdate, endOfRib, updateRoutes } from './codec/update.js';
import {
  buildUpdates,
  canExport,
  type ExportSession,
  endOfRibUpdate,
  exportSignature,
  withPeerCommunities,
} from './export.js';
import type { FsmState } from './fsm.js';
import { type KernelNexthop, negotiated, nexthopProblem, type RejectReason } from './nexthop-check.js';
import { ImportPolicy, parseCommunity, parseLargeCommunity } from './policy.js';
import { AdjRibIn, AdjRibOut, type RibOutRoute } from './rib.js';
import { BgpSession, type SessionOptions } from './session.js';
import { PeerCounters, type PeerStatus, type ReceivedRoute } from './speaker-status.js';

const MS_PER_S = 1000;
/** How often a peer over its max-prefix limit is asked for its table again and counted afresh. */
export const MAX_PREFIX_RECOUNT_MS = 60_000;
/** Cease without a subcode: a failure of our own (RFC 4486 has none for it). */
const CEASE_UNSPECIFIC = 0;
/** RFC 4486 data of Cease / Maximum Number of Prefixes Reached: AFI (2), SAFI (1), limit (4). */
const MAX_PREFIX_DATA_LEN = 7;
/** How long stale routes may wait for the restarted peer's End-of-RIB (FRR's stalepath-time). */
export const STALE_PATH_TIME_MS = 360_000;
const LINK_LOCAL_RE = /^fe[89ab]/i;
/** After the first rejection of a reason, one log line per this many more (the count is in the metrics). */
const REJECT_LOG_EVERY = 1000;

type GracefulRestart = Extract<Capability, { kind: 'graceful-restart' }>;

/** What a peer needs from the speaker. */
export interface PeerHost {
  localAs: number;
  /** The routes to export now (agent VIPs and the host addresses). */
  exported(): Iterable<RibOutRoute<ExportAttributes>>;
  endOfRibReleased(): boolean;
  /** The peer's accepted routes changed (the kernel's default route may follow). */
  importChanged(): void;
  log(event: string, fields: Record<string, unknown>): void;
  /** ifindex of an interface (unnumbered peers), if it exists. */
  ifindexOf(name: string): number | undefined;
  /** An End-of-RIB arrived from the peer (the speaker's selection deferral after a restart waits for them). */
  endOfRibIn?(): void;
  /** This host's interface addresses now (none: not known, the next-hop address checks are skipped). */
  hostAddresses(): readonly InterfaceAddress[] | undefined;
  /** Addresses of this host that may be on no interface yet: the host addresses and the exported VIPs. */
  ownAddresses(): readonly string[];
  /** Default MAX_PREFIX_RECOUNT_MS. */
  maxPrefixRecountMs?: number;
  /** The agent's clock (src/clock.ts): the stale and recount timers, the uptime. */
  clock: Clock;
}

export function isLinkLocal(address: string): boolean {
  return LINK_LOCAL_RE.test(address);
}

/** The attributes kept in the Adj-RIB-In: the UPDATE's, without its NLRI lists. */
function keptAttributes(a: PathAttributes): PathAttributes {
  const { mpUnreach: _u, mpReach, ...rest } = a;
  return mpReach ? { ...rest, mpReach: { ...mpReach, nlri: [] } } : rest;
}

export class SpeakerPeer {
  readonly session: BgpSession;
  readonly ribIn = new AdjRibIn();
  readonly ribOut = new AdjRibOut<ExportAttributes>(exportSignature);
  readonly counters = new PeerCounters();
  /** Interface index of an unnumbered peer (for link-local next hops). */
  ifindex: number | undefined;
  private policy: ImportPolicy;
  private communities: number[] = [];
  private large: ReturnType<typeof parseLargeCommunity>[] = [];
  private exportSession: ExportSession | undefined;
  private eorSent = false;
  private notified = false;
  private peerGr: GracefulRestart | undefined;
  private staleTimer: TimerHandle | undefined;
  /** Max-prefix "withdraw": the peer's routes are not used while it is over its limit. */
  suppressed = false;
  /** Found unreachable outside BGP (BFD Down, link down): its routes are not used until it is back. */
  unreachable = false;
  /** Over the limit: the table was asked for again, and is being counted afresh. */
  private recounting = false;
  private recountTimer: TimerHandle | undefined;
  private inFlight = 0;
  /** Bumped when a session ends, so late write callbacks of its socket are not counted. */
  private generation = 0;
  private drainWaiters: (() => void)[] = [];
  /** When the session came up, on the clock's monotonic now(). */
  establishedAt: number | undefined;

  constructor(
    public config: PeerConfig,
    options: SessionOptions,
    private readonly host: PeerHost,
  ) {
    this.policy = new ImportPolicy(config.importAccept);
    this.ribIn.capacity = config.maxPrefix.limit;
    this.setExportConfig(config);
    this.session = new BgpSession(options, {
      onUp: () => this.up(),
      onDown: (reason) => this.down(reason),
      onUpdate: (u) => this.receive(u),
      onRouteRefresh: (afi) => this.refresh(afi),
      onNotification: (direction, n) => {
        this.notified = true;
        this.counters.notification(direction, n.code, n.subcode);
        this.host.log('bgp-notification', { peer: config.name, direction, code: n.code, subcode: n.subcode });
      },
      onState: (from, to, reason) => {
        this.counters.state(from, to);
        this.host.log('bgp-peer-state', { peer: config.name, from, to, reason });
      },
      onError: (where, err) =>
        this.host.log('bgp-handler-failed', {
          peer: config.name,
          where,
          error: err instanceof Error ? (err.stack ?? err.message) : String(err),
        }),
    });
  }

  get state(): FsmState {
    return this.session.state;
  }

  get established(): boolean {
    return this.session.state === 'established' && this.exportSession !== undefined;
  }

  /** Change the policy, limit and communities without touching the session. True if export changed. */
  reconfigure(config: PeerConfig): boolean {
    const exportChanged =
      JSON.stringify([config.exportCommunities, config.exportLargeCommunities]) !==
      JSON.stringify([this.config.exportCommunities, this.config.exportLargeCommunities]);
    const importChanged = JSON.stringify(config.importAccept) !== JSON.stringify(this.config.importAccept);
    this.config = config;
    this.policy = new ImportPolicy(config.importAccept);
    this.ribIn.capacity = config.maxPrefix.limit;
    this.setExportConfig(config);
    let changed = false;
    for (const r of this.ribIn.routes()) {
      if (!this.policy.accepts(r.prefix)) changed = this.ribIn.withdraw(r.prefix) || changed;
    }
    // Routes the old policy rejected were not kept: a wider policy needs them sent again (RFC 2918).
    if (importChanged && !this.counters.overLimit && this.session.requestRefresh()) this.ribIn.recount();
    this.checkMaxPrefix();
    if (changed) this.host.importChanged();
    return exportChanged;
  }

  private setExportConfig(config: PeerConfig): void {
    this.communities = config.exportCommunities.map(parseCommunity);
    this.large = config.exportLargeCommunities.map(parseLargeCommunity);
  }

  /** Export attributes for this peer: the agent's plus the peer's configured communities. */
  attributesFor(a: ExportAttributes): ExportAttributes {
    return withPeerCommunities(a, this.communities, this.large);
  }

  private up(): void {
    this.notified = false;
    this.establishedAt = this.host.clock.now();
    if (this.config.interface !== null) this.ifindex = this.host.ifindexOf(this.config.interface);
    const s = this.session;
    const local = s.localAddress ?? '';
    const v6 = local.includes(':');
    this.exportSession = {
      localAs: this.host.localAs,
      ibgp: s.negotiated?.peerAs === this.host.localAs,
      families: s.families,
      extendedNextHop: s.extendedNextHop,
      ipv4NextHop: v6 ? undefined : local,
      ipv6NextHops: v6 ? [local] : undefined,
    };
    this.ribOut.clear();
    this.eorSent = false;
    this.restartHelperOnUp(s.negotiated?.peerOpen.capabilities ?? []);
    this.sync([...this.host.exported()], []);
    this.sendEndOfRib();
  }

  private down(reason: string): void {
    this.exportSession = undefined;
    this.establishedAt = undefined;
    this.ribOut.clear();
    this.generation++;
    this.inFlight = 0;
    this.releaseWaiters();
    const gr = this.peerGr;
    const wasOver = this.counters.overLimit;
    this.endOverLimit();
    // A peer over its limit gets no graceful restart: its routes go with the session.
    if (gr && gr.time > 0 && !this.notified && !wasOver && this.ribIn.acceptedCount > 0) {
      // RFC 4724 §4.2: keep forwarding on the routes, marked stale, for the peer's restart time.
      this.ribIn.markStale();
      this.armStaleTimer(gr.time * MS_PER_S);
      this.host.log('bgp-graceful-restart-helper', { peer: this.config.name, reason, restartTimeS: gr.time });
      return;
    }
    this.dropAll();
  }

  private dropAll(): void {
    this.clearStaleTimer();
    if (this.ribIn.clear().length > 0) this.host.importChanged();
  }

  private restartHelperOnUp(caps: Capability[]): void {
    this.peerGr = findCapability(caps, 'graceful-restart');
    if (!this.ribIn.hasStale()) return;
    this.clearStaleTimer();
    // Families the restarted peer did not preserve forwarding for lose their stale routes now.
    let changed = false;
    for (const afi of [Afi.IPV4, Afi.IPV6]) {
      const kept = this.peerGr?.families.some((f) => f.afi === afi && f.forwardingPreserved) ?? false;
      if (!kept) changed = this.ribIn.sweepStale(afi).length > 0 || changed;
    }
    if (this.ribIn.hasStale()) this.armStaleTimer(STALE_PATH_TIME_MS);
    if (changed) this.host.importChanged();
  }

  private armStaleTimer(ms: number): void {
    this.clearStaleTimer();
    this.staleTimer = this.host.clock.setTimeout(
      () =>
        this.guarded('stale-timer', () => {
          this.staleTimer = undefined;
          if (this.ribIn.sweepStale().length > 0) this.host.importChanged();
        }),
      ms,
      { unref: true },
    );
  }

  private clearStaleTimer(): void {
    if (this.staleTimer !== undefined) this.host.clock.clearTimeout(this.staleTimer);
    this.staleTimer = undefined;
  }

  private receive(u: DecodedUpdate): void {
    const eor = endOfRib(u);
    if (eor) {
      this.counters.endOfRibIn++;
      if (this.ribIn.sweepStale(eor.afi).length > 0) this.host.importChanged();
      if (!this.ribIn.hasStale()) this.clearStaleTimer();
      this.host.endOfRibIn?.();
      return;
    }
    const routes = updateRoutes(u);
    const families = this.session.families;
    const withdrawn = routes.withdrawn.filter((p) => negotiated(p, families));
    const announced = routes.announced.filter(
      (p) => negotiated(p, families) || this.reject('family-not-negotiated', p),
    );
    const attrs = keptAttributes(u.attributes);
    // RFC 4271 §9.1.2: a route whose AS_PATH holds our own AS is a loop and is not used.
    const loop = attrs.asPath?.some((seg) => seg.asns.includes(this.host.localAs)) ?? false;
    let changed = false;
    for (const p of withdrawn) changed = this.ribIn.withdraw(p) || changed;
    for (const p of announced) {
      let accept = !loop && this.policy.accepts(p);
      this.counters.prefixesReceived++;
      if (accept) {
        const problem = nexthopProblem(this.nexthopFrom(attrs), this.nexthopContext());
        if (problem) accept = this.reject(problem, p);
      }
      if (accept) this.counters.prefixesAccepted++;
      changed = this.ribIn.announce(p, attrs, accept) || changed;
    }
    const suppressedBefore = this.suppressed;
    this.checkMaxPrefix();
    if (changed || suppressedBefore !== this.suppressed) this.host.importChanged();
  }

  /** What the next-hop check needs of this session and host. */
  private nexthopContext(): Parameters<typeof nexthopProblem>[1] {
    const local = this.session.localAddress;
    return {
      families: this.session.families,
      addresses: this.host.hostAddresses(),
      own: local ? [...this.host.ownAddresses(), local] : this.host.ownAddresses(),
      peerAddress: this.config.address,
      unnumbered: this.config.interface !== null,
    };
  }

  /** Count a route not used for `reason` (logged the first time and then every REJECT_LOG_EVERY); false. */
  private reject(reason: RejectReason, prefix: Prefix): false {
    const n = this.counters.rejected(reason);
    if (n % REJECT_LOG_EVERY === 1)
      this.host.log('bgp-route-rejected', {
        peer: this.config.name,
        prefix: prefixKey(prefix),
        reason,
        count: n,
      });
    return false;
  }

  /**
   * Max-prefix (RFC 4271 §8 "MaxPrefix", Cease subcode 1 of RFC 4486): over the limit once a
   * distinct prefix beyond it is announced (or a reload lowered the limit below the count). Only the
   * recount (recountDue) ends the state.
   */
  private checkMaxPrefix(): void {
    const { limit, action } = this.config.maxPrefix;
    const over = this.ribIn.overflowed || this.ribIn.receivedCount > limit;
    if (!over || this.counters.overLimit) return;
    this.counters.overLimit = true;
    this.counters.maxPrefixExceeded++;
    this.host.log('bgp-max-prefix', {
      peer: this.config.name,
      limit,
      action,
      received: this.ribIn.receivedCount,
    });
    if (action === 'reset') {
      const data = Buffer.alloc(MAX_PREFIX_DATA_LEN);
      data.writeUInt16BE(this.ribIn.overflowAfi ?? Afi.IPV4, 0);
      data.writeUInt8(Safi.UNICAST, 2);
      data.writeUInt32BE(limit, 3);
      this.session.reset(CeaseSubcode.MAX_PREFIXES, data);
      return;
    }
    if (action === 'withdraw') this.suppressed = true;
    this.armRecount();
  }

  private armRecount(): void {
    this.host.clock.clearTimeout(this.recountTimer);
    this.recountTimer = this.host.clock.setTimeout(
      () => this.guarded('max-prefix-recount', () => this.recountDue()),
      this.host.maxPrefixRecountMs ?? MAX_PREFIX_RECOUNT_MS,
      { unref: true },
    );
  }

  /** Over the limit: back within it after a whole recount interval without overflow, else ask again. */
  private recountDue(): void {
    this.recountTimer = undefined;
    if (!this.counters.overLimit) return;
    const within = !this.ribIn.overflowed && this.ribIn.receivedCount <= this.config.maxPrefix.limit;
    if (this.recounting && within) {
      const wasSuppressed = this.suppressed;
      this.endOverLimit();
      this.host.log('bgp-max-prefix-cleared', {
        peer: this.config.name,
        limit: this.config.maxPrefix.limit,
        received: this.ribIn.receivedCount,
      });
      if (wasSuppressed) this.host.importChanged();
      return;
    }
    if (!this.session.requestRefresh()) {
      this.recounting = false;
      this.host.log('bgp-max-prefix-kept', {
        peer: this.config.name,
        why: 'no route refresh from this peer: over the limit until the session restarts',
      });
      return;
    }
    this.ribIn.recount();
    this.recounting = true;
    this.armRecount();
  }

  private endOverLimit(): void {
    this.host.clock.clearTimeout(this.recountTimer);
    this.recountTimer = undefined;
    this.recounting = false;
    this.counters.overLimit = false;
    this.suppressed = false;
  }

  /** A timer's work; an exception in it resets the session instead of ending the process. */
  private guarded(where: string, f: () => void): void {
    try {
      f();
    } catch (err) {
      this.host.log('bgp-handler-failed', { peer: this.config.name, where, error: String(err) });
      this.fail();
    }
  }

  /**
   * The peer is unreachable by a signal outside BGP (RFC 5882 §4.3: BFD Down; the link's carrier
   * gone): its routes go at once, without graceful-restart retention, and its session ends (it
   * restarts by itself). Its routes stay unused until `reachable(true)`.
   */
  reachable(yes: boolean, reason: string): void {
    if (this.unreachable === !yes) return;
    this.unreachable = !yes;
    this.host.log('bgp-peer-reachability', { peer: this.config.name, reachable: yes, reason });
    if (yes) {
      this.host.importChanged();
      return;
    }
    this.notified = true; // no stale retention (RFC 4724 helper) for a peer known to be gone
    this.clearStaleTimer();
    this.ribIn.clear();
    this.host.importChanged();
    if (this.session.state !== 'idle') this.fail();
  }

  /** End the session for a failure of our own (Cease); it restarts by itself. */
  fail(): void {
    try {
      this.session.reset(CEASE_UNSPECIFIC);
    } catch {
      // nothing else to do: the hold timer ends the session
    }
  }

  /** RFC 2918: a ROUTE-REFRESH is answered with the whole Adj-RIB-Out of that family. */
  private refresh(afi: number): void {
    this.counters.routeRefreshIn++;
    if (!this.exportSession) return;
    const routes = this.ribOut.routes().filter((r) => r.prefix.afi === afi);
    for (const u of buildUpdates(routes, [], this.exportSession)) this.send(u);
  }

  /** Bring the peer's Adj-RIB-Out to `announce` / `withdraw` (export attributes before peer additions). */
  sync(announce: readonly RibOutRoute<ExportAttributes>[], withdraw: readonly Prefix[]): void {
    const s = this.exportSession;
    if (!s) return;
    const out: RibOutRoute<ExportAttributes>[] = [];
    for (const r of announce) {
      if (!canExport(r.prefix, s)) continue;
      const attributes = this.attributesFor(r.attributes);
      if (this.ribOut.advertise(r.prefix, attributes)) out.push({ prefix: r.prefix, attributes });
    }
    const gone = withdraw.filter((p) => this.ribOut.withdraw(p));
    for (const u of buildUpdates(out, gone, s)) this.send(u);
    this.counters.prefixesAdvertised = this.ribOut.size;
  }

  /** Resend everything (export communities changed). */
  resync(): void {
    this.ribOut.clear();
    this.sync([...this.host.exported()], []);
  }

  /** End-of-RIB for every negotiated family, once, after the initial table and the speaker's release. */
  sendEndOfRib(): void {
    if (!this.exportSession || this.eorSent || !this.host.endOfRibReleased()) return;
    this.eorSent = true;
    for (const f of this.exportSession.families) {
      this.send(endOfRibUpdate(f.afi));
      this.counters.endOfRibOut++;
    }
  }

  private send(u: Parameters<BgpSession['send']>[0]): void {
    const generation = this.generation;
    this.inFlight++;
    const sent = this.session.send(u, () => {
      if (generation !== this.generation) return; // a write of a connection that is gone
      this.inFlight--;
      if (this.inFlight === 0) this.releaseWaiters();
    });
    if (!sent) this.inFlight--;
  }

  private releaseWaiters(): void {
    for (const w of this.drainWaiters.splice(0)) w();
  }

  /** Resolves once every UPDATE handed to the socket so far has been written (or the session is gone). */
  drained(): Promise<void> {
    if (this.inFlight === 0 || !this.established) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Next hop of an accepted route for the kernel; an IPv6 link-local one needs the peer's interface. */
  nexthopOf(prefix: Prefix): KernelNexthop | undefined {
    const r = this.ribIn.get(prefix);
    return r ? this.nexthopFrom(r.attributes) : undefined;
  }

  /** The next hop the kernel would use for a route with these attributes. */
  private nexthopFrom(a: PathAttributes): KernelNexthop | undefined {
    if (a.nextHop && !a.mpReach) return { gateway: a.nextHop };
    const hops = a.mpReach?.nextHops ?? [];
    const global = hops.find((h) => !isLinkLocal(h));
    const ll = hops.find(isLinkLocal);
    if (ll && this.ifindex !== undefined) return { gateway: ll, ifindex: this.ifindex };
    if (global) return { gateway: global };
    if (a.nextHop) return { gateway: a.nextHop };
    return undefined;
  }

  status(): PeerStatus {
    return this.counters.snapshot(this, this.host.clock.now());
  }

  /** The accepted routes of the Adj-RIB-In. */
  received(): ReceivedRoute[] {
    return this.ribIn.routes().map((r) => ({
      peer: this.config.name,
      prefix: prefixKey(r.prefix),
      nextHop: this.nexthopOf(r.prefix)?.gateway ?? '',
      asPath: (r.attributes.asPath ?? []).flatMap((seg) => seg.asns),
      med: r.attributes.med ?? null,
      communities: r.attributes.communities ?? [],
      stale: r.stale,
      used: !this.suppressed,
    }));
  }

  /** Every negotiated family's End-of-RIB has come from the peer on the session now up. */
  get endOfRibReceived(): boolean {
    return this.established && this.counters.endOfRibIn >= this.session.families.length;
  }

  /**
   * RFC 4724 §4.1: the restarting speaker's selection deferral may end as far as this peer goes — its
   * session is up and it either sent every family's End-of-RIB or did not negotiate graceful restart (it
   * kept none of our routes, and FRR sends no End-of-RIB then: waiting for one held the kernel's default
   * routes back for the whole deferral timer).
   */
  get selectionReady(): boolean {
    return this.established && (!this.session.gracefulRestartNegotiated || this.endOfRibReceived);
  }

  /**
   * The agent restarts (RFC 4724): a peer that negotiated graceful restart is left without a
   * NOTIFICATION (it keeps our routes for our restart time) and its routes stay in our kernel; true if
   * so. Any other peer is left as it is (false): stop() it.
   */
  leave(): boolean {
    if (!this.session.gracefulRestartNegotiated) return false;
    this.session.abandon();
    this.endOverLimit();
    this.clearStaleTimer();
    return true;
  }

  stop(message?: string): void {
    this.session.stop(message);
    this.endOverLimit();
    this.dropAll();
  }
}
