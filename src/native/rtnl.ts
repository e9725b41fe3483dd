// rtnetlink for the host: links (by name or index, up/down), interface addresses (the VIP on lo),
// neighbours, and routes (multipath, RTA_VIA). One socket per Rtnetlink, in this or another network
// namespace; every call is one request and its replies, but for adding many addresses (batches of
// acked requests, one outcome each). Codecs: src/netlink/rtnl-codec.ts, route.ts.

import { AnycastdError, type SystemError } from '../errors.js';
import { afOf, type IpFamily, parseIp } from '../netlink/ip.js';
import {
  attr,
  attrString,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REPLACE,
} from '../netlink/nlmsg.js';
import {
  decodeRoute,
  describeRoute,
  encodeRoute,
  type KernelRoute,
  type Route,
  RTM_DELROUTE,
  RTM_GETROUTE,
  RTM_NEWROUTE,
  routeDumpHeader,
} from '../netlink/route.js';
import {
  type AddressSpec,
  AF_UNSPEC,
  decodeAddress,
  decodeLink,
  decodeNeighbour,
  encodeAddress,
  IFADDRMSG_SIZE,
  IFF_UP,
  IFINFOMSG_SIZE,
  IFLA_IFNAME,
  type InterfaceAddress,
  type Link,
  NDA_DST,
  NDA_LLADDR,
  NDMSG_SIZE,
  type Neighbour,
  NUD_PERMANENT,
  ndmsg,
  parseMac,
  RTM_DELADDR,
  RTM_DELNEIGH,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_GETNEIGH,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWNEIGH,
} from '../netlink/rtnl-codec.js';
import { NETLINK_BATCH_MAX, NETLINK_ROUTE, type NetlinkOpenOptions, NetlinkSocket } from './netlink.js';

export class Rtnetlink {
  readonly #nl: NetlinkSocket;

  private constructor(nl: NetlinkSocket) {
    this.#nl = nl;
  }

  /** Opens an rtnetlink socket (optionally inside a network namespace). */
  static open(opts: NetlinkOpenOptions = {}): Rtnetlink {
    return new Rtnetlink(NetlinkSocket.open(NETLINK_ROUTE, opts));
  }

  close(): void {
    this.#nl.close();
  }

  /** Every link. */
  links(): Link[] {
    return this.#nl
      .request(RTM_GETLINK, NLM_F_DUMP, Buffer.alloc(IFINFOMSG_SIZE), [], () => 'list links')
      .map(decodeLink);
  }

  /** One link by name or ifindex; SystemError 'ENODEV' when there is none. */
  link(nameOrIndex: string | number): Link {
    const ifi = Buffer.alloc(IFINFOMSG_SIZE);
    const attrs: Buffer[] = [];
    if (typeof nameOrIndex === 'number') ifi.writeInt32LE(nameOrIndex, 4);
    else attrs.push(attrString(IFLA_IFNAME, nameOrIndex));
    const [msg] = this.#nl.request(RTM_GETLINK, 0, ifi, attrs, () => `look up link ${nameOrIndex}`);
    if (!msg) throw new AnycastdError('ERR_NOT_SUPPORTED', `no reply for link ${nameOrIndex}`);
    return decodeLink(msg);
  }

  /** Sets a link administratively up or down. */
  setLinkUp(ifindex: number, up: boolean): void {
    const ifi = Buffer.alloc(IFINFOMSG_SIZE);
    ifi.writeInt32LE(ifindex, 4);
    ifi.writeUInt32LE(up ? IFF_UP : 0, 8);
    ifi.writeUInt32LE(IFF_UP, 12);
    this.#nl.request(RTM_NEWLINK, NLM_F_ACK, ifi, [], () => `set link ${ifindex} ${up ? 'up' : 'down'}`);
  }

  /** Interface addresses, optionally of one family and/or interface. */
  addresses(filter: { family?: IpFamily; ifindex?: number } = {}): InterfaceAddress[] {
    const ifa = Buffer.alloc(IFADDRMSG_SIZE);
    ifa.writeUInt8(filter.family ? afOf(filter.family) : AF_UNSPEC, 0);
    return this.#nl
      .request(RTM_GETADDR, NLM_F_DUMP, ifa, [], () => 'list addresses')
      .map(decodeAddress)
      .filter((a): a is InterfaceAddress => a !== null && (!filter.ifindex || a.ifindex === filter.ifindex));
  }

  /** Adds an address; SystemError 'EEXIST' if present (unless `replace`). */
  addAddress(spec: AddressSpec, opts: { replace?: boolean } = {}): void {
    const flags = NLM_F_ACK | NLM_F_CREATE | (opts.replace ? NLM_F_REPLACE : NLM_F_EXCL);
    const { fixed, attrs, text } = encodeAddress(spec);
    this.#nl.request(
      RTM_NEWADDR,
      flags,
      fixed,
      attrs,
      () => `add address ${text} to ifindex ${spec.ifindex}`,
    );
  }

  /**
   * Adds many addresses (like addAddress, without replace), NETLINK_BATCH_MAX per send: one outcome per
   * address, in order — null when added, else its SystemError ('EEXIST' when present).
   */
  addAddresses(specs: readonly AddressSpec[]): (SystemError | null)[] {
    const out: (SystemError | null)[] = [];
    for (let i = 0; i < specs.length; i += NETLINK_BATCH_MAX) {
      const requests = specs.slice(i, i + NETLINK_BATCH_MAX).map((spec) => {
        const { fixed, attrs, text } = encodeAddress(spec);
        return {
          type: RTM_NEWADDR,
          flags: NLM_F_CREATE | NLM_F_EXCL,
          fixed,
          attrs,
          attempt: () => `add address ${text} to ifindex ${spec.ifindex}`,
        };
      });
      out.push(...this.#nl.batch(requests));
    }
    return out;
  }

  /** Removes an address; SystemError 'EADDRNOTAVAIL' when absent. */
  deleteAddress(spec: AddressSpec): void {
    const { fixed, attrs, text } = encodeAddress(spec);
    this.#nl.request(
      RTM_DELADDR,
      NLM_F_ACK,
      fixed,
      attrs,
      () => `delete address ${text} from ifindex ${spec.ifindex}`,
    );
  }

  /** Neighbours (ARP / NDP entries), optionally of one family and/or interface. */
  neighbours(filter: { family?: IpFamily; ifindex?: number } = {}): Neighbour[] {
    const nd = Buffer.alloc(NDMSG_SIZE);
    nd.writeUInt8(filter.family ? afOf(filter.family) : AF_UNSPEC, 0);
    return this.#nl
      .request(RTM_GETNEIGH, NLM_F_DUMP, nd, [], () => 'list neighbours')
      .map(decodeNeighbour)
      .filter((n): n is Neighbour => n !== null && (!filter.ifindex || n.ifindex === filter.ifindex));
  }

  /** Adds or replaces a neighbour entry (default state NUD_PERMANENT). */
  setNeighbour(n: { ifindex: number; address: string; mac: string; state?: number }): void {
    const ip = parseIp(n.address);
    this.#nl.request(
      RTM_NEWNEIGH,
      NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
      ndmsg(ip.family, n.ifindex, n.state ?? NUD_PERMANENT),
      [attr(NDA_DST, ip.bytes), attr(NDA_LLADDR, parseMac(n.mac))],
      () => `set neighbour ${n.address} on ifindex ${n.ifindex}`,
    );
  }

  /** Removes a neighbour entry. */
  deleteNeighbour(n: { ifindex: number; address: string }): void {
    const ip = parseIp(n.address);
    this.#nl.request(
      RTM_DELNEIGH,
      NLM_F_ACK,
      ndmsg(ip.family, n.ifindex, 0),
      [attr(NDA_DST, ip.bytes)],
      () => `delete neighbour ${n.address} on ifindex ${n.ifindex}`,
    );
  }

  /** Routes of every table, optionally filtered. */
  routes(filter: { family?: IpFamily; table?: number; protocol?: number; dst?: string } = {}): KernelRoute[] {
    const families: IpFamily[] = filter.family ? [filter.family] : [4, 6];
    return families
      .flatMap((f) =>
        this.#nl.request(RTM_GETROUTE, NLM_F_DUMP, routeDumpHeader(f), [], () => `list IPv${f} routes`),
      )
      .map(decodeRoute)
      .filter(
        (r): r is KernelRoute =>
          r !== null &&
          (filter.table === undefined || r.table === filter.table) &&
          (filter.protocol === undefined || r.protocol === filter.protocol) &&
          (filter.dst === undefined || r.dst === filter.dst),
      );
  }

  /** Adds a route; SystemError 'EEXIST' if it exists (use replaceRoute to overwrite). */
  addRoute(route: Route): void {
    this.#route(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, route, 'add');
  }

  /** Adds or replaces a route (a multipath route's nexthop set is replaced as a whole). */
  replaceRoute(route: Route): void {
    this.#route(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, route, 'replace');
  }

  /** Deletes a route (matching dst, table, protocol, metric and, if given, nexthops); 'ESRCH' when absent. */
  deleteRoute(route: Route): void {
    this.#route(RTM_DELROUTE, 0, route, 'delete');
  }

  #route(type: number, flags: number, route: Route, verb: string): void {
    const { fixed, attrs } = encodeRoute(route, type === RTM_DELROUTE);
    this.#nl.request(type, flags | NLM_F_ACK, fixed, attrs, () => `${verb} route ${describeRoute(route)}`);
  }
}
