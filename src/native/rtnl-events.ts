// rtnetlink change notifications: subscribe to link, address, route and neighbour groups and get
// each change decoded (the same shapes as Rtnetlink's dumps), with an 'overrun' event when the
// kernel dropped some (then dump again to resynchronise).
import type { SystemError } from '../errors.js';
import { messageType } from '../netlink/nlmsg.js';
import { decodeRoute, type KernelRoute } from '../netlink/route.js';
import {
  decodeAddress,
  decodeLink,
  decodeNeighbour,
  type InterfaceAddress,
  type Link,
  type Neighbour,
} from '../netlink/rtnl-codec.js';
import { NETLINK_ROUTE } from './netlink.js';
import { NetlinkWatch } from './nlwatch.js';

/** linux/rtnetlink.h RTNLGRP_* by name. */
const GROUPS = {
  link: 1,
  neigh: 3,
  'ipv4-addr': 5,
  'ipv4-route': 7,
  'ipv6-addr': 9,
  'ipv6-route': 11,
} as const;
export type RtnlGroup = keyof typeof GROUPS;

export type RtnlAction = 'new' | 'del';
export type RtnlEvent =
  | { type: 'link'; action: RtnlAction; link: Link }
  | { type: 'address'; action: RtnlAction; address: InterfaceAddress }
  | { type: 'route'; action: RtnlAction; route: KernelRoute }
  | { type: 'neighbour'; action: RtnlAction; neighbour: Neighbour }
  | { type: 'overrun'; error: SystemError };

/** RTM_* message type -> what it announces. */
const MESSAGES: ReadonlyMap<number, [RtnlEvent['type'], RtnlAction]> = new Map([
  [16, ['link', 'new']], // RTM_NEWLINK
  [17, ['link', 'del']], // RTM_DELLINK
  [20, ['address', 'new']], // RTM_NEWADDR
  [21, ['address', 'del']], // RTM_DELADDR
  [24, ['route', 'new']], // RTM_NEWROUTE
  [25, ['route', 'del']], // RTM_DELROUTE
  [28, ['neighbour', 'new']], // RTM_NEWNEIGH
  [29, ['neighbour', 'del']], // RTM_DELNEIGH
]);

function decodeEvent(msg: Buffer): RtnlEvent | null {
  const kind = MESSAGES.get(messageType(msg));
  if (!kind) return null;
  const [type, action] = kind;
  switch (type) {
    case 'link':
      return { type, action, link: decodeLink(msg) };
    case 'address': {
      const address = decodeAddress(msg);
      return address && { type, action, address };
    }
    case 'route': {
      const route = decodeRoute(msg);
      return route && { type, action, route };
    }
    case 'neighbour': {
      const neighbour = decodeNeighbour(msg);
      return neighbour && { type, action, neighbour };
    }
    default:
      return null;
  }
}

/** Calls `handler` for every change in `groups` until the returned watch is closed. */
export function watchRtnl(
  groups: RtnlGroup[],
  handler: (event: RtnlEvent) => void,
  opts: { netns?: string } = {},
): NetlinkWatch {
  return NetlinkWatch.open(
    NETLINK_ROUTE,
    groups.map((g) => GROUPS[g]),
    (messages) => {
      for (const msg of messages) {
        const event = decodeEvent(msg);
        if (event) handler(event);
      }
    },
    { ...opts, onOverrun: (error) => handler({ type: 'overrun', error }) },
  );
}
