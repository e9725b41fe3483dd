// Router Advertisements on one interface for unnumbered BGP peering (RFC 8950 over IPv6 link-local,
// as FRR's `neighbor <if> interface` does): a peer learns our link-local address from the source
// of our RAs, and we learn the peer's from the source of its RAs. We send with router lifetime 0
// (RFC 4861 §4.2, §6.2.1: "not a default router", so no host installs us as one) and the Source
// Link-Layer Address option, fast at first (every `fastIntervalMs`, `fastCount` times, also until a
// send has succeeded: the link-local address may still be tentative), then every `intervalMs`; a
// newly heard router gets one RA at once (rate-limited) so it need not wait for the next period.
// Received RAs are validated as RFC 4861 §6.1.2 says (hop limit 255, link-local source).

import type { SystemError } from '../errors.js';
import { ALL_NODES, Icmp6Socket } from '../native/icmp6.js';
import {
  decodeRouterAdvertisement,
  encodeRouterAdvertisement,
  ICMP6_ROUTER_ADVERT,
  type RouterAdvertisement,
} from './ra-codec.js';

/** Unnumbered BGP's defaults: FRR's bgpd asks zebra for RAs every 10 s on such interfaces. */
export const RA_INTERVAL_MS = 10_000;
export const RA_FAST_INTERVAL_MS = 1_000;
export const RA_FAST_COUNT = 5;
/**
 * Routers remembered as heard (each gets one prompt RA). A link normally holds one or two; anyone on it can
 * send RAs from made-up link-local sources, so the set is emptied when full rather than grown (the cost of
 * forgetting is at most one more rate-limited RA).
 */
export const MAX_HEARD_ROUTERS = 64;
/** Never answer heard routers with more than one extra RA per this period. */
const RA_MIN_GAP_MS = 1_000;

export interface RaSchedule {
  intervalMs: number;
  fastIntervalMs: number;
  fastCount: number;
}

export interface RouterAdvertiserOptions {
  ifindex: number;
  /** Our hardware address on the interface (Source Link-Layer Address option), if it has one. */
  mac: string | null;
  netns?: string;
  schedule?: Partial<RaSchedule>;
  /** A valid RA arrived from `from` (a link-local address). */
  onRouter?: (from: string, ra: RouterAdvertisement) => void;
  /** A received message was discarded (RFC 4861 §6.1.2), or sending failed. */
  onProblem?: (what: string, detail: Record<string, unknown>) => void;
}

/** What we advertise: no default router (lifetime 0), no host parameters, our link-layer address. */
export function ourAdvertisement(mac: string | null): RouterAdvertisement {
  return {
    curHopLimit: 0,
    managed: false,
    other: false,
    routerLifetime: 0,
    reachableTimeMs: 0,
    retransTimerMs: 0,
    sourceLinkLayer: mac,
  };
}

export class RouterAdvertiser {
  private readonly socket: Icmp6Socket;
  private readonly schedule: RaSchedule;
  private readonly message: Buffer;
  private timer: NodeJS.Timeout | undefined;
  private fastLeft: number;
  private sentOk = false;
  private lastSent = 0;
  private readonly heard = new Set<string>(); // at most MAX_HEARD_ROUTERS
  /** RAs sent (successfully handed to the kernel). */
  sent = 0;

  private constructor(private readonly opts: RouterAdvertiserOptions) {
    this.schedule = {
      intervalMs: opts.schedule?.intervalMs ?? RA_INTERVAL_MS,
      fastIntervalMs: opts.schedule?.fastIntervalMs ?? RA_FAST_INTERVAL_MS,
      fastCount: opts.schedule?.fastCount ?? RA_FAST_COUNT,
    };
    this.fastLeft = this.schedule.fastCount;
    this.message = encodeRouterAdvertisement(ourAdvertisement(opts.mac));
    this.socket = Icmp6Socket.open({
      ifindex: opts.ifindex,
      netns: opts.netns,
      types: [ICMP6_ROUTER_ADVERT],
      onPackets: (packets) => {
        for (const p of packets) this.receive(p.from, p.hopLimit, p.data);
      },
      onError: (err: SystemError) => opts.onProblem?.('ra-receive-failed', { error: err.message }),
    });
  }

  /** Opens the socket and sends the first RA now. Throws a SystemError if the socket cannot be made. */
  static start(opts: RouterAdvertiserOptions): RouterAdvertiser {
    const a = new RouterAdvertiser(opts);
    a.tick();
    return a;
  }

  private receive(from: string, hopLimit: number, data: Buffer): void {
    const ra = decodeRouterAdvertisement(data, from, hopLimit);
    if (typeof ra === 'string') {
      this.opts.onProblem?.('ra-discarded', { from, reason: ra });
      return;
    }
    if (!this.heard.has(from)) {
      if (this.heard.size >= MAX_HEARD_ROUTERS) this.heard.clear();
      this.heard.add(from);
      if (Date.now() - this.lastSent >= RA_MIN_GAP_MS) this.advertise();
    }
    this.opts.onRouter?.(from, ra);
  }

  private advertise(): void {
    if (this.socket.closed) return;
    try {
      this.socket.send(ALL_NODES, this.message);
      this.sentOk = true;
      this.lastSent = Date.now();
      this.sent++;
    } catch (err) {
      // EADDRNOTAVAIL while our link-local address is tentative (DAD), ENETDOWN while the link is down.
      this.opts.onProblem?.('ra-send-failed', { error: err instanceof Error ? err.message : String(err) });
    }
  }

  private tick(): void {
    this.advertise();
    const fast = this.fastLeft > 0 || !this.sentOk;
    if (this.fastLeft > 0) this.fastLeft--;
    this.timer = setTimeout(
      () => this.tick(),
      fast ? this.schedule.fastIntervalMs : this.schedule.intervalMs,
    );
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.socket.close();
  }
}
