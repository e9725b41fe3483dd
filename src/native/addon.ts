// Loads the native addon (native/build/Release/anycastd.node) and describes its raw surface.
// The addon is thin: ints, strings and Buffers in and out. Everything typed and validated lives in
// the sibling modules (bpf.ts, map.ts, xdp.ts, netns.ts); only they call `native()`.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AnycastdError } from '../errors.js';

/** Offset and size of a `const volatile` global inside the object's .rodata. */
export interface RodataVar {
  offset: number;
  size: number;
}
export interface RawProgInfo {
  id: number;
  name: string;
  type: number;
  /** Total ns the program ran and how many runs, counted while run-time stats are on. */
  runTimeNs: number;
  runCnt: number;
}
export interface RawLinkInfo {
  id: number;
  progId: number;
  type: number;
}
export interface RawMapInfo {
  id: number;
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}
/** One BPF_MAP_LOOKUP_BATCH step: entries read, and whether the walk reached the end. */
export interface RawLookupBatch {
  count: number;
  done: boolean;
}
export interface RawTestRun {
  retval: number;
  data: Buffer;
  durationNs: number;
}
export interface RawXdpQuery {
  progId: number;
  drvProgId: number;
  skbProgId: number;
  hwProgId: number;
  attachMode: number;
}

/** A received ICMPv6 message: source address, hop limit it arrived with (-1: unknown), the message. */
export interface RawIcmp6Packet {
  from: string;
  hopLimit: number;
  data: Buffer;
}

/** A received UDP datagram: source, source port, TTL / hop limit it arrived with (-1: unknown). */
export interface RawUdpPacket {
  from: string;
  port: number;
  ttl: number;
  /** Longer than the addon reads (512 bytes): `data` holds only the start. */
  truncated: boolean;
  data: Buffer;
}

/** A map as an object declares it, before load. */
export interface RawObjMap {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** libbpf's own maps (.rodata, .bss, .data), never pinned. */
  internal: boolean;
}

/** The functions the addon exports (see native/src/*.cc for each one's C counterpart). */
export interface NativeAddon {
  lastLibbpfLog(maxBytes?: number): string;
  // bpf.cc
  objOpen(path: string): number;
  objRodataVar(handle: number, name: string): RodataVar | null;
  objWriteRodata(handle: number, offset: number, bytes: Buffer): void;
  objReuseMap(handle: number, mapName: string, pinPath: string): boolean;
  objSetMaxEntries(handle: number, mapName: string, maxEntries: number): boolean;
  objSetValueSize(handle: number, mapName: string, bytes: number): boolean;
  objReadRodata(handle: number, offset: number, size: number): Buffer;
  objReuseMapFd(handle: number, mapName: string, fd: number): boolean;
  objAttach(handle: number, progName: string): number;
  linkInfo(fd: number): RawLinkInfo;
  enableRunTimeStats(): number;
  objMaps(handle: number): RawObjMap[];
  progFdById(id: number): number;
  objLoad(handle: number): void;
  objProgramFd(handle: number, name: string): number | null;
  objMapFd(handle: number, name: string): number | null;
  objClose(handle: number): void;
  objPin(fd: number, path: string): void;
  objGet(path: string): number;
  progInfo(fd: number): RawProgInfo;
  progTestRun(fd: number, data: Buffer, repeat: number, sizeOut: number): RawTestRun;
  mapInfo(fd: number): RawMapInfo;
  mapLookup(fd: number, key: Buffer, out: Buffer): boolean;
  mapUpdate(fd: number, key: Buffer, value: Buffer, flags: number): void;
  mapDelete(fd: number, key: Buffer): boolean;
  mapNextKey(fd: number, key: Buffer | null, out: Buffer): boolean;
  mapUpdateBatch(fd: number, keys: Buffer, values: Buffer, count: number, flags: number): number;
  mapLookupBatch(
    fd: number,
    inToken: Buffer | null,
    outToken: Buffer,
    keys: Buffer,
    values: Buffer,
    count: number,
  ): RawLookupBatch;
  mapCreate(
    type: number,
    name: string,
    keySize: number,
    valueSize: number,
    maxEntries: number,
    flags: number,
  ): number;
  possibleCpus(): number;
  // xdp.cc
  ifNameToIndex(name: string): number;
  ifIndexToName(ifindex: number): string | null;
  xdpAttach(ifindex: number, progFd: number, flags: number, oldFd: number): void;
  xdpQuery(ifindex: number): RawXdpQuery;
  // sockopt.cc
  sockCreate(family: number, type: number): number;
  sockSetInt(fd: number, level: number, option: number, value: number): void;
  sockGetInt(fd: number, level: number, option: number): number;
  sockBindToDevice(fd: number, device: string): void;
  sockSetMd5(
    fd: number,
    family: number,
    address: string,
    port: number,
    scopeId: number,
    prefixLen: number,
    ifindex: number,
    key: Buffer,
  ): void;
  sockBind(fd: number, family: number, address: string, port: number, scopeId: number): void;
  sockListen(fd: number, backlog: number): void;
  sockLocalPort(fd: number): number;
  // netlink.cc
  nlOpen(protocol: number): number;
  nlRequest(fd: number, message: Buffer): Buffer[];
  nlBatch(fd: number, messages: Buffer, count: number): [errno: number, text: string][];
  // nlwatch.cc
  nlWatch(protocol: number, groups: number[], callback: (errno: number, messages: Buffer[]) => void): number;
  nlUnwatch(id: number): void;
  // icmp6.cc
  icmp6Open(
    ifindex: number,
    hopLimit: number,
    types: number[],
    callback: (errno: number, packets: RawIcmp6Packet[]) => void,
  ): number;
  icmp6Send(id: number, destination: string, message: Buffer): void;
  icmp6Close(id: number): void;
  // udp.cc
  udpOpen(
    family: number,
    address: string,
    port: number,
    ifindex: number,
    ttl: number,
    callback: (errno: number, packets: RawUdpPacket[]) => void,
    /** IP_TOS / IPV6_TCLASS byte, with SO_PRIORITY 6 (0: left as is). */
    tos?: number,
  ): number;
  /** 0 when sent, else the errno of the failed send. */
  udpSend(id: number, address: string, port: number, data: Buffer): number;
  udpLocalPort(id: number): number;
  udpReadNow(id: number): void;
  udpClose(id: number): void;
  // notify.cc
  notifySend(socketName: string, message: string): void;
  // tap.cc
  tapOpen(filter: Buffer, rcvbufBytes: number): number;
  tapSetFilter(fd: number, filter: Buffer): void;
  tapDrain(fd: number, max: number): Buffer[];
  // sys.cc
  mount(source: string, target: string, fstype: string, data: string): void;
  setns(fd: number, nstype: number): void;
  closeFd(fd: number): void;
  readonly CLONE_NEWNET: number;
}

const ADDON_RELATIVE_PATH = join('native', 'build', 'Release', 'anycastd.node');

/** The project root: the nearest directory above this module that holds package.json. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir)
      throw new AnycastdError('ERR_NATIVE_UNAVAILABLE', 'cannot find the anycastd project root');
    dir = parent;
  }
}

let loaded: NativeAddon | undefined;

/** The loaded addon; throws ERR_NATIVE_UNAVAILABLE (saying to run `make`) when it is not built. */
export function native(): NativeAddon {
  if (loaded) return loaded;
  const path = join(projectRoot(), ADDON_RELATIVE_PATH);
  if (!existsSync(path)) {
    throw new AnycastdError('ERR_NATIVE_UNAVAILABLE', `native addon not built (${path}); run \`make\``);
  }
  try {
    loaded = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (cause) {
    throw new AnycastdError('ERR_NATIVE_UNAVAILABLE', `cannot load native addon ${path}; run \`make\``, {
      cause,
    });
  }
  return loaded;
}
