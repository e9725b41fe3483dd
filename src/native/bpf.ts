// BPF objects and programs over libbpf: open a .o, set `const volatile` rodata, adopt pinned maps,
// load, find programs and maps by name, pin, BPF_PROG_TEST_RUN; and bpffs mounting.
import { mkdirSync, statfsSync } from 'node:fs';
import { AnycastdError } from '../errors.js';
import { native } from './addon.js';
import { callNative } from './errors.js';
import { BpfLink } from './link.js';
import { BpfMap } from './map.js';

export { BpfMap, type MapChunk, type MapUpdateFlag, possibleCpus } from './map.js';

export type XdpMode = 'native' | 'generic';

/** A map as an object declares it (before load); `internal`: libbpf's .rodata/.bss/.data maps. */
export interface DeclaredMap {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly internal: boolean;
}

/** The kernel's count of a program's runs and their total time (counted while run-time stats are on). */
export interface ProgRunStats {
  runTimeNs: number;
  runCnt: number;
}

/** Result of BPF_PROG_TEST_RUN; durationNs is the kernel's average per repeat. */
export interface TestRunResult {
  retval: number;
  data: Buffer;
  durationNs: number;
}

export interface TestRunOptions {
  data: Buffer;
  /** Runs of the program in one syscall (default 1). The kernel does not restore the frame between them. */
  repeat?: number;
  /** Room for the output packet (default: input length + XDP_PACKET_HEADROOM). */
  dataSizeOut?: number;
}

/** Room XDP programs may grow a packet by at the front (bpf_xdp_adjust_head with a negative delta). */
const XDP_PACKET_HEADROOM = 256;
/** statfs f_type of bpffs (linux/magic.h BPF_FS_MAGIC). */
const BPF_FS_MAGIC = 0xcafe4a11;
export const DEFAULT_BPFFS = '/sys/fs/bpf';

export class BpfProgram {
  readonly name: string;
  readonly fd: number;
  readonly id: number;

  constructor(name: string, fd: number) {
    this.name = name;
    this.fd = fd;
    this.id = callNative(
      () => `read info of program ${name}`,
      () => native().progInfo(fd),
    ).id;
  }

  /** Pins the program at `path` on bpffs. */
  pin(path: string): void {
    callNative(
      () => `pin program ${this.name} at ${path}`,
      () => native().objPin(this.fd, path),
    );
  }

  /** Runs and run time so far (both 0 unless run-time stats were on: `enableRunTimeStats`). */
  runStats(): ProgRunStats {
    const info = callNative(
      () => `read info of program ${this.name}`,
      () => native().progInfo(this.fd),
    );
    return { runTimeNs: info.runTimeNs, runCnt: info.runCnt };
  }

  /** Runs the program on `data` (BPF_PROG_TEST_RUN): verdict, output bytes, average ns per repeat. */
  testRun(opts: TestRunOptions): TestRunResult {
    const repeat = opts.repeat ?? 1;
    const sizeOut = opts.dataSizeOut ?? opts.data.length + XDP_PACKET_HEADROOM;
    if (!Number.isInteger(repeat) || repeat < 1)
      throw invalidArg(`repeat must be a positive integer: ${repeat}`);
    if (!Number.isInteger(sizeOut) || sizeOut < 1)
      throw invalidArg(`dataSizeOut must be positive: ${sizeOut}`);
    return callNative(
      () => `test-run program ${this.name} on ${opts.data.length} bytes x${repeat}`,
      () => native().progTestRun(this.fd, opts.data, repeat, sizeOut),
    );
  }
}

function invalidArg(message: string): AnycastdError {
  return new AnycastdError('ERR_INVALID_ARGUMENT', message);
}

export class BpfObject {
  readonly path: string;
  #handle: number;
  #loaded = false;
  readonly #programs = new Map<string, BpfProgram>();
  readonly #maps = new Map<string, BpfMap>();

  private constructor(path: string, handle: number) {
    this.path = path;
    this.#handle = handle;
  }

  /** Opens a BPF ELF object (bpf_object__open_file); nothing is loaded yet. */
  static open(path: string): BpfObject {
    const handle = callNative(
      () => `open BPF object ${path}`,
      () => native().objOpen(path),
    );
    return new BpfObject(path, handle);
  }

  /** Sets a `const volatile` global before load; `value` must be exactly the variable's size. */
  setRodata(name: string, value: Buffer): void {
    const handle = this.#openHandle('set rodata');
    const v = native().objRodataVar(handle, name);
    if (v === null)
      throw new AnycastdError('ERR_BPF_OBJECT', `${this.path}: no const volatile variable ${name}`);
    if (v.size !== value.length) {
      throw invalidArg(`${this.path}: ${name} is ${v.size} bytes, value is ${value.length}`);
    }
    callNative(
      () => `set rodata ${name} of ${this.path}`,
      () => native().objWriteRodata(handle, v.offset, value),
    );
  }

  /** Reads a `const volatile` global's initial value (what load would use): null when there is none. */
  readRodata(name: string): Buffer | null {
    const handle = this.#openHandle('read rodata');
    const v = native().objRodataVar(handle, name);
    if (v === null) return null;
    return callNative(
      () => `read rodata ${name} of ${this.path}`,
      () => native().objReadRodata(handle, v.offset, v.size),
    );
  }

  /** Before load: every map the object declares, with the shape load would give it. */
  declaredMaps(): DeclaredMap[] {
    const handle = this.#openHandle('list maps');
    return native().objMaps(handle);
  }

  /** Before load: make map `mapName` use the map pinned at `pinPath` (adopt pinned maps). */
  reuseMap(mapName: string, pinPath: string): void {
    const handle = this.#openHandle('reuse a map');
    const found = callNative(
      () => `reuse pinned map ${pinPath} as ${mapName} of ${this.path}`,
      () => native().objReuseMap(handle, mapName, pinPath),
    );
    if (!found) throw new AnycastdError('ERR_BPF_OBJECT', `${this.path}: no map ${mapName}`);
  }

  /** Before load: create map `mapName` with `maxEntries` entries instead of what the object declares. */
  setMaxEntries(mapName: string, maxEntries: number): void {
    this.#sizeMap(mapName, 'max_entries', maxEntries, (h) =>
      native().objSetMaxEntries(h, mapName, maxEntries),
    );
  }

  /** Before load: create map `mapName` with values of `bytes` (a map declared by size, not BTF type). */
  setValueSize(mapName: string, bytes: number): void {
    this.#sizeMap(mapName, 'value_size', bytes, (h) => native().objSetValueSize(h, mapName, bytes));
  }

  #sizeMap(mapName: string, what: string, n: number, set: (handle: number) => boolean): void {
    const handle = this.#openHandle('size a map');
    const found = callNative(
      () => `set ${what} of ${mapName} of ${this.path} to ${n}`,
      () => set(handle),
    );
    if (!found) throw new AnycastdError('ERR_BPF_OBJECT', `${this.path}: no map ${mapName}`);
  }

  /** Before load: make map `mapName` use `map` (another loaded object's map: programs sharing it). */
  reuseMapOf(mapName: string, map: BpfMap): void {
    const handle = this.#openHandle('reuse a map');
    const found = callNative(
      () => `reuse map ${map.name} as ${mapName} of ${this.path}`,
      () => native().objReuseMapFd(handle, mapName, map.fd),
    );
    if (!found) throw new AnycastdError('ERR_BPF_OBJECT', `${this.path}: no map ${mapName}`);
  }

  /** After load: attaches program `name` where its section says (a tracepoint, ...); the link is the caller's. */
  attach(name: string): BpfLink {
    const handle = this.#loadedHandle(`attach ${name}`);
    const fd = callNative(
      () => `attach program ${name} of ${this.path}`,
      () => native().objAttach(handle, name),
    );
    return new BpfLink(name, fd);
  }

  /** Loads every program and creates the maps; a failure carries the tail of the verifier log. */
  load(): void {
    const handle = this.#openHandle('load');
    callNative(
      () => `load BPF object ${this.path}`,
      () => native().objLoad(handle),
    );
    this.#loaded = true;
  }

  /** A loaded program by its function name. */
  program(name: string): BpfProgram {
    const cached = this.#programs.get(name);
    if (cached) return cached;
    const fd = native().objProgramFd(this.#loadedHandle(`program ${name}`), name);
    if (fd === null || fd < 0) throw new AnycastdError('ERR_BPF_OBJECT', `${this.path}: no program ${name}`);
    const prog = new BpfProgram(name, fd);
    this.#programs.set(name, prog);
    return prog;
  }

  /** A map of the loaded object by name; its fd belongs to this object. */
  map(name: string): BpfMap {
    const cached = this.#maps.get(name);
    if (cached) return cached;
    const fd = native().objMapFd(this.#loadedHandle(`map ${name}`), name);
    if (fd === null || fd < 0) throw new AnycastdError('ERR_BPF_OBJECT', `${this.path}: no map ${name}`);
    const map = new BpfMap(fd, false);
    this.#maps.set(name, map);
    return map;
  }

  /** Closes the object and every program and map fd it owns (pins stay). Idempotent. */
  close(): void {
    if (this.#handle < 0) return;
    for (const m of this.#maps.values()) m.close();
    native().objClose(this.#handle);
    this.#handle = -1;
  }

  #openHandle(what: string): number {
    if (this.#handle < 0)
      throw new AnycastdError('ERR_BPF_OBJECT', `${this.path}: ${what}: object is closed`);
    if (this.#loaded)
      throw new AnycastdError('ERR_BPF_OBJECT', `${this.path}: ${what}: object is already loaded`);
    return this.#handle;
  }

  #loadedHandle(what: string): number {
    if (this.#handle < 0)
      throw new AnycastdError('ERR_BPF_OBJECT', `${this.path}: ${what}: object is closed`);
    if (!this.#loaded)
      throw new AnycastdError('ERR_BPF_OBJECT', `${this.path}: ${what}: object is not loaded`);
    return this.#handle;
  }
}

/** Mounts bpffs at `mountPoint` unless it already is one. */
export function ensureBpffs(mountPoint: string = DEFAULT_BPFFS): void {
  mkdirSync(mountPoint, { recursive: true });
  if (statfsSync(mountPoint).type === BPF_FS_MAGIC) return;
  callNative(
    () => `mount bpffs at ${mountPoint}`,
    () => native().mount('bpf', mountPoint, 'bpf', 'mode=0700'),
  );
}
