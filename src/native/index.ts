// The native binding's public surface: libbpf objects, maps, XDP, network namespaces, netlink and
// sock_diag sockets, socket options. See docs in each module; errors are SystemError (errno name as code)
// or AnycastdError. The messages these sockets carry are encoded and decoded in src/netlink/.
export type { NativeAddon } from './addon.js';
export { native, projectRoot } from './addon.js';
export {
  BpfMap,
  BpfObject,
  BpfProgram,
  DEFAULT_BPFFS,
  type DeclaredMap,
  ensureBpffs,
  type MapChunk,
  type MapUpdateFlag,
  type ProgRunStats,
  possibleCpus,
  type TestRunOptions,
  type TestRunResult,
  type XdpMode,
} from './bpf.js';
export { errnoName } from './errors.js';
export { BpfLink, enableRunTimeStats, type LinkInfo } from './link.js';
export { NETLINK_ROUTE, NETLINK_SOCK_DIAG, type NetlinkOpenOptions, NetlinkSocket } from './netlink.js';
export { netnsPath, withNetns } from './netns.js';
export { NetlinkWatch, type NetlinkWatchOptions } from './nlwatch.js';
export { Rtnetlink } from './rtnl.js';
export { type RtnlAction, type RtnlEvent, type RtnlGroup, watchRtnl } from './rtnl-events.js';
export {
  type DestroyWatchOptions,
  type InetSocket,
  type InetSocketQuery,
  SockDiag,
  type TcpState,
  watchSocketDestroy,
} from './sockdiag.js';
export {
  MAX_TTL,
  type Md5Key,
  TCP_MD5_MAX_KEY_LEN,
  TcpSocketFd,
  type TcpSocketOptions,
} from './sockopt.js';
export { type BpfInsn, PacketTap, type PacketTapOptions } from './tap.js';
export { type ConnectOptions, connectTcp, type ListenOptions, listenTcp, type TcpListener } from './tcp.js';
export type { TcpInfo } from './tcp-info.js';
export {
  attachXdp,
  detachXdp,
  ifIndex,
  ifName,
  queryXdp,
  replaceXdp,
  type XdpAttachedMode,
  type XdpAttachOptions,
  type XdpDetachOptions,
  type XdpQueryResult,
} from './xdp.js';
