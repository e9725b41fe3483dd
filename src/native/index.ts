// The native binding's public surface: libbpf objects, maps, XDP, network namespaces.
// See docs in each module; errors are SystemError (errno name as code) or AnycastdError.
export type { NativeAddon } from './addon.js';
export { native, projectRoot } from './addon.js';
export {
  BpfMap,
  BpfObject,
  BpfProgram,
  DEFAULT_BPFFS,
  ensureBpffs,
  type MapUpdateFlag,
  possibleCpus,
  type TestRunOptions,
  type TestRunResult,
  type XdpMode,
} from './bpf.js';
export { errnoName } from './errors.js';
export { netnsPath, withNetns } from './netns.js';
export {
  type ConnectOptions,
  connectTcp,
  type IpFamily,
  type ListenOptions,
  listenTcp,
  MAX_TTL,
  type Md5Key,
  TCP_MD5_MAX_KEY_LEN,
  type TcpListener,
  TcpSocketFd,
  type TcpSocketOptions,
} from './sockopt.js';
export {
  attachXdp,
  detachXdp,
  ifIndex,
  ifName,
  queryXdp,
  type XdpAttachedMode,
  type XdpAttachOptions,
  type XdpDetachOptions,
  type XdpQueryResult,
} from './xdp.js';
