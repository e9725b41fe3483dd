// Finding the peer of an unnumbered BGP session (an `interface:` peer, RFC 8950 over IPv6
// link-local), the way FRR's `neighbor <if> interface` does: Router Advertisements on the
// interface (src/host/ra.ts) tell the peer our link-local address and tell us its address (the
// source of its RAs; FRR's bgpd makes zebra send them every 10 s on such interfaces). As a fallback
// for peers that send no RAs, the kernel's neighbour table on the interface (an IPv6 link-local
// entry that resolved, learned e.g. from the peer's own connection or neighbour solicitations) is
// polled while the address is unknown. The interface may appear later: it is looked up again on
// every poll until it exists. Polling stops once both are settled; a replaced peer is heard by its RAs.

import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import { MAX_HEARD_ROUTERS, type RaSchedule, RouterAdvertiser } from '../host/ra.js';
import { isLinkLocal6 } from '../host/ra-codec.js';
import type { Rtnetlink } from '../native/rtnl.js';
import { NUD_FAILED, NUD_NOARP } from '../netlink/rtnl-codec.js';

/** linux/neighbour.h: address resolution still in progress. */
const NUD_INCOMPLETE = 0x01;
const UNUSABLE_NUD = NUD_INCOMPLETE | NUD_FAILED | NUD_NOARP;
/** How often the interface and the neighbour table are looked at while something is missing. */
export const UNNUMBERED_POLL_MS = 1_000;

export type PeerSource = 'router-advertisement' | 'neighbour-table';

export interface UnnumberedEnvironment {
  rtnl: Pick<Rtnetlink, 'links' | 'neighbours' | 'addresses'>;
  netns?: string;
  schedule?: Partial<RaSchedule>;
  pollMs?: number;
  /** The agent's clock (src/clock.ts; default systemClock): the polls. */
  clock?: Clock;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

export interface UnnumberedDiscovery {
  /** The peer's link-local address once known. */
  readonly peer: string | undefined;
  stop(): void;
}

/**
 * Sends RAs on `ifname` and reports the peer's link-local address through `found` (again whenever
 * it changes: a replaced peer). The returned handle stops both.
 */
export function discoverUnnumberedPeer(
  ifname: string,
  env: UnnumberedEnvironment,
  found: (address: string, source: PeerSource) => void,
): UnnumberedDiscovery {
  const pollMs = env.pollMs ?? UNNUMBERED_POLL_MS;
  const clock = env.clock ?? systemClock;
  let advertiser: RouterAdvertiser | undefined;
  let ifindex: number | undefined;
  let peer: string | undefined;
  let stopped = false;
  let timer: TimerHandle | undefined;
  const routers = new Set<string>(); // logged once each; at most MAX_HEARD_ROUTERS (emptied when full)
  const log = (event: string, fields: Record<string, unknown>): void =>
    env.log?.(event, { interface: ifname, ...fields });

  const learn = (address: string, source: PeerSource): void => {
    if (stopped || address === peer) return;
    peer = address;
    log('bgp-unnumbered-peer-learned', { address, source });
    found(address, source);
  };

  const ownAddresses = (index: number): Set<string> =>
    new Set(env.rtnl.addresses({ family: 6, ifindex: index }).map((a) => a.address));

  /** The interface (opened once it exists) and, while no peer is known, the neighbour table. */
  const poll = (): void => {
    try {
      if (advertiser === undefined) {
        const link = env.rtnl.links().find((l) => l.name === ifname);
        if (link) {
          ifindex = link.ifindex;
          advertiser = RouterAdvertiser.start({
            ifindex: link.ifindex,
            mac: link.mac,
            netns: env.netns,
            schedule: env.schedule,
            onRouter: (from, ra) => {
              if (!routers.has(from)) {
                if (routers.size >= MAX_HEARD_ROUTERS) routers.clear();
                routers.add(from);
                log('bgp-unnumbered-router-heard', { address: from, routerLifetime: ra.routerLifetime });
              }
              learn(from, 'router-advertisement');
            },
            onProblem: (what, detail) => log(what, detail),
          });
        }
      }
      if (peer === undefined && ifindex !== undefined) {
        const own = ownAddresses(ifindex);
        const n = env.rtnl
          .neighbours({ family: 6, ifindex })
          .find(
            (x) =>
              isLinkLocal6(x.address) &&
              !own.has(x.address) &&
              x.mac !== null &&
              (x.state & UNUSABLE_NUD) === 0,
          );
        if (n) learn(n.address, 'neighbour-table');
      }
    } catch (err) {
      log('bgp-unnumbered-poll-failed', { error: err instanceof Error ? err.message : String(err) });
    }
    if (!stopped && (advertiser === undefined || peer === undefined)) {
      timer = clock.setTimeout(poll, pollMs, { unref: true });
    }
  };
  poll();

  return {
    get peer() {
      return peer;
    },
    stop() {
      stopped = true;
      clock.clearTimeout(timer);
      advertiser?.stop();
      advertiser = undefined;
    },
  };
}
