// TCP sockets with the options Node lacks, set before connect or listen and then handed to Node
// (tcp.ts does the connect and listen):
// TCP MD5 signatures (RFC 2385, per peer address or prefix, optionally per interface), GTSM
// (RFC 5082: IP_TTL/IP_MINTTL, IPV6_UNICAST_HOPS/IPV6_MINHOPCOUNT), SO_BINDTODEVICE, a bound local
// address, and the network namespace the socket lives in. Node connects (`socket.connect`) and
// listens (`server.listen({ fd })`) on the fd made here; options set on a listener are inherited by
// the sockets it accepts, and MD5 keys can be added to or removed from a listener at any time.
import net from 'node:net';
import { AnycastdError } from '../errors.js';
import { afOf, type IpFamily } from '../netlink/ip.js';
import { native } from './addon.js';
import { callNative } from './errors.js';
import { withNetns } from './netns.js';

/** sys/socket.h, netinet/in.h, netinet/tcp.h constants. */
const SOCK_STREAM = 1;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SO_BINDTOIFINDEX = 62;
const IPPROTO_IP = 0;
const IP_TTL = 2;
const IP_FREEBIND = 15;
const IP_MINTTL = 21;
const IPPROTO_IPV6 = 41;
const IPV6_UNICAST_HOPS = 16;
const IPV6_V6ONLY = 26;
const IPV6_MINHOPCOUNT = 73;
const IPV6_FREEBIND = 78;
/** Longest TCP MD5 key the kernel takes (TCP_MD5SIG_MAXKEYLEN). */
export const TCP_MD5_MAX_KEY_LEN = 80;
/** Highest TTL / hop limit; GTSM (RFC 5082) sends with it and accepts >= 255 - (hops - 1). */
export const MAX_TTL = 255;
const NO_PREFIX = -1;

/** A TCP MD5 key for a peer address, or for a prefix of addresses, optionally on one interface. */
export interface Md5Key {
  address: string;
  /** The key (a string is taken as UTF-8); empty removes the key. */
  key: string | Buffer;
  /** Match a prefix instead of the one address. */
  prefixLength?: number;
  /**
   * Match only in this L3 domain: the ifindex of a VRF (L3 master) device. The kernel refuses any
   * other device with EINVAL; link-local peers need no ifindex (key by address, socket bound to the link).
   */
  ifindex?: number;
}

export interface TcpSocketOptions {
  family: IpFamily;
  /** Create the socket inside this network namespace (name under /run/netns or a path). */
  netns?: string;
  /** Bind to this local address (and localPort, default 0) before connect or listen. */
  localAddress?: string;
  localPort?: number;
  /** IPv6 scope (ifindex) of a link-local localAddress. */
  localScopeId?: number;
  /**
   * IP_FREEBIND / IPV6_FREEBIND: bind `localAddress` even while no interface has it (a listener made
   * before its address is configured takes connections once the address appears).
   */
  freebind?: boolean;
  /** SO_BINDTODEVICE. */
  device?: string;
  /** SO_BINDTOIFINDEX: like `device`, by ifindex. */
  deviceIndex?: number;
  /** TTL / hop limit of packets sent (GTSM: 255). */
  ttl?: number;
  /** Lowest TTL / hop limit accepted (GTSM: 255 for a directly connected peer). */
  minTtl?: number;
  md5?: Md5Key[];
  /** SO_REUSEADDR (default: true for listeners, false otherwise). */
  reuseAddress?: boolean;
  /** IPv6 only: accept no IPv4-mapped peers (default true). */
  v6Only?: boolean;
}

function invalid(message: string): AnycastdError {
  return new AnycastdError('ERR_INVALID_ARGUMENT', message);
}

/** Throws ERR_INVALID_ARGUMENT unless `address` is an address of `family`. */
export function checkAddress(family: IpFamily, address: string, what: string): void {
  if (net.isIP(address) !== family) throw invalid(`${what} ${address} is not an IPv${family} address`);
}

function checkTtl(ttl: number, what: string): void {
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL)
    throw invalid(`${what} must be 1..${MAX_TTL}: ${ttl}`);
}

/** A TCP socket fd with options applied; Node takes it over on connect/listen. */
export class TcpSocketFd {
  readonly fd: number;
  readonly family: IpFamily;
  #state: 'own' | 'node' | 'closed' = 'own';

  private constructor(fd: number, family: IpFamily) {
    this.fd = fd;
    this.family = family;
  }

  /**
   * Options access to the fd of a socket Node already owns (e.g. one a listener accepted, for a
   * per-peer TTL or minimum TTL); close() leaves it alone.
   */
  static adopt(socket: net.Socket): TcpSocketFd {
    const handle = (socket as unknown as { _handle?: { fd?: unknown } })._handle;
    const fd = handle?.fd;
    if (typeof fd !== 'number' || fd < 0) {
      throw new AnycastdError('ERR_NOT_SUPPORTED', 'this socket has no file descriptor (closed, or not TCP)');
    }
    const family: IpFamily = socket.remoteFamily === 'IPv6' || socket.localAddress?.includes(':') ? 6 : 4;
    const sock = new TcpSocketFd(fd, family);
    sock.#state = 'node';
    return sock;
  }

  /** Creates a non-blocking TCP socket and applies `opts` (bind last). Closes it again on failure. */
  static create(opts: TcpSocketOptions): TcpSocketFd {
    const make = (): number =>
      callNative(
        () => `create IPv${opts.family} TCP socket`,
        () => native().sockCreate(afOf(opts.family), SOCK_STREAM),
      );
    const sock = new TcpSocketFd(opts.netns ? withNetns(opts.netns, make) : make(), opts.family);
    try {
      sock.#apply(opts);
    } catch (err) {
      sock.close();
      throw err;
    }
    return sock;
  }

  /** IP_TTL / IPV6_UNICAST_HOPS. */
  setTtl(ttl: number): void {
    checkTtl(ttl, 'ttl');
    if (this.family === 4) this.#setInt(IPPROTO_IP, IP_TTL, ttl, 'ttl');
    else this.#setInt(IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl, 'hop limit');
  }

  /** IP_MINTTL / IPV6_MINHOPCOUNT: packets arriving with less are dropped. */
  setMinTtl(ttl: number): void {
    checkTtl(ttl, 'minTtl');
    if (this.family === 4) this.#setInt(IPPROTO_IP, IP_MINTTL, ttl, 'minimum ttl');
    else this.#setInt(IPPROTO_IPV6, IPV6_MINHOPCOUNT, ttl, 'minimum hop count');
  }

  /** Adds (or with an empty key removes) a TCP MD5 key; works on listeners handed to Node too. */
  setMd5Key(spec: Md5Key): void {
    checkAddress(this.family, spec.address, 'md5 peer');
    const key = typeof spec.key === 'string' ? Buffer.from(spec.key, 'utf8') : spec.key;
    if (key.length > TCP_MD5_MAX_KEY_LEN) throw invalid(`md5 key longer than ${TCP_MD5_MAX_KEY_LEN} bytes`);
    const maxPrefix = this.family === 4 ? 32 : 128;
    const prefix = spec.prefixLength ?? NO_PREFIX;
    if (prefix !== NO_PREFIX && !(Number.isInteger(prefix) && prefix >= 0 && prefix <= maxPrefix)) {
      throw invalid(`md5 prefix length must be 0..${maxPrefix}: ${prefix}`);
    }
    const family = afOf(this.family);
    callNative(
      () =>
        `${key.length ? 'set' : 'remove'} tcp md5 key for ${spec.address}${prefix === NO_PREFIX ? '' : `/${prefix}`}`,
      () => native().sockSetMd5(this.fd, family, spec.address, 0, 0, prefix, spec.ifindex ?? 0, key),
    );
  }

  /** Removes the TCP MD5 key of a peer address (or prefix). */
  removeMd5Key(address: string, opts: { prefixLength?: number; ifindex?: number } = {}): void {
    this.setMd5Key({ address, key: Buffer.alloc(0), ...opts });
  }

  /** SO_BINDTODEVICE ('' unbinds). */
  bindToDevice(device: string): void {
    callNative(
      () => `bind socket to device ${device}`,
      () => native().sockBindToDevice(this.fd, device),
    );
  }

  /** SO_BINDTOIFINDEX (0 unbinds). */
  bindToIfindex(ifindex: number): void {
    this.#setInt(SOL_SOCKET, SO_BINDTOIFINDEX, ifindex, 'bound ifindex');
  }

  /** Binds the local address and port. */
  bind(address: string, port = 0, scopeId = 0): void {
    checkAddress(this.family, address, 'local address');
    const family = afOf(this.family);
    callNative(
      () => `bind to ${address} port ${port}`,
      () => native().sockBind(this.fd, family, address, port, scopeId),
    );
  }

  /** The bound local port. */
  localPort(): number {
    return callNative(
      () => 'read local port',
      () => native().sockLocalPort(this.fd),
    );
  }

  /** The TTL / hop limit packets are sent with. */
  getTtl(): number {
    return this.family === 4
      ? this.#getInt(IPPROTO_IP, IP_TTL)
      : this.#getInt(IPPROTO_IPV6, IPV6_UNICAST_HOPS);
  }

  /** The lowest TTL / hop limit accepted (0: any). */
  getMinTtl(): number {
    return this.family === 4
      ? this.#getInt(IPPROTO_IP, IP_MINTTL)
      : this.#getInt(IPPROTO_IPV6, IPV6_MINHOPCOUNT);
  }

  /** Marks the fd as owned by a Node socket or server (close() then leaves it alone). */
  handOff(): number {
    if (this.#state !== 'own')
      throw new AnycastdError('ERR_INVALID_ARGUMENT', `socket fd ${this.fd} is ${this.#state}`);
    this.#state = 'node';
    return this.fd;
  }

  /** Closes the fd unless Node owns it. */
  close(): void {
    if (this.#state === 'own') native().closeFd(this.fd);
    if (this.#state !== 'node') this.#state = 'closed';
  }

  #setInt(level: number, option: number, value: number, what: string): void {
    callNative(
      () => `set ${what} ${value}`,
      () => native().sockSetInt(this.fd, level, option, value),
    );
  }

  #getInt(level: number, option: number): number {
    return callNative(
      () => `getsockopt ${level}/${option}`,
      () => native().sockGetInt(this.fd, level, option),
    );
  }

  #apply(opts: TcpSocketOptions): void {
    if (opts.family === 6) this.#setInt(IPPROTO_IPV6, IPV6_V6ONLY, opts.v6Only === false ? 0 : 1, 'v6only');
    if (opts.reuseAddress) this.#setInt(SOL_SOCKET, SO_REUSEADDR, 1, 'reuseaddr');
    if (opts.device !== undefined) this.bindToDevice(opts.device);
    if (opts.deviceIndex !== undefined) this.bindToIfindex(opts.deviceIndex);
    if (opts.ttl !== undefined) this.setTtl(opts.ttl);
    if (opts.minTtl !== undefined) this.setMinTtl(opts.minTtl);
    if (opts.freebind) {
      if (opts.family === 4) this.#setInt(IPPROTO_IP, IP_FREEBIND, 1, 'freebind');
      else this.#setInt(IPPROTO_IPV6, IPV6_FREEBIND, 1, 'freebind');
    }
    for (const key of opts.md5 ?? []) this.setMd5Key(key);
    if (opts.localAddress !== undefined)
      this.bind(opts.localAddress, opts.localPort ?? 0, opts.localScopeId ?? 0);
  }
}
