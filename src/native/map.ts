// A BPF map by fd: lookup, update with flags, delete, key iteration, batch update, batch lookup
// (entries, count), pinning, and creating a bare map (tests). Keys and values are Buffers of the map's
// sizes; per-CPU maps take and return one value per possible CPU (the kernel lays them out at 8-byte
// strides). Typed encoders live with their users.
import { AnycastdError, SystemError } from '../errors.js';
import { native, type RawLookupBatch } from './addon.js';
import { callNative } from './errors.js';

/** BPF map types (linux/bpf.h enum bpf_map_type) the binding treats specially. */
export const BPF_MAP_TYPE_HASH = 1;
export const BPF_MAP_TYPE_ARRAY = 2;
export const BPF_MAP_TYPE_PERCPU_HASH = 5;
export const BPF_MAP_TYPE_PERCPU_ARRAY = 6;
export const BPF_MAP_TYPE_LRU_HASH = 9;
export const BPF_MAP_TYPE_LRU_PERCPU_HASH = 10;
export const BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE = 21;
const PER_CPU_TYPES: ReadonlySet<number> = new Set([
  BPF_MAP_TYPE_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE,
]);

/** Update flags (BPF_ANY, BPF_NOEXIST, BPF_EXIST). */
export type MapUpdateFlag = 'any' | 'noexist' | 'exist';
const UPDATE_FLAGS: Readonly<Record<MapUpdateFlag, number>> = { any: 0, noexist: 1, exist: 2 };

/** Per-CPU values are stored at this alignment, one slot per possible CPU. */
const PER_CPU_VALUE_ALIGN = 8;

/** Entries per BPF_MAP_LOOKUP_BATCH call in lookupBatch, entries and count. */
export const LOOKUP_BATCH_ENTRIES = 4096;
/** A hash map's batch cursor is a u32 bucket index; other maps' is a key: the token holds either. */
const HASH_BATCH_TOKEN_BYTES = 4;

/** Entries read by one batch step: `count` keys and values, concatenated (values as `storedValueSize`). */
export interface MapChunk {
  keys: Buffer;
  values: Buffer;
  count: number;
}

/** The shape of a map made by BpfMap.create. */
export interface MapCreateSpec {
  type: number;
  name: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
}

let cpuCount: number | undefined;
/** Number of possible CPUs: how many values a per-CPU map holds per key. */
export function possibleCpus(): number {
  cpuCount ??= callNative(
    () => 'count possible CPUs',
    () => native().possibleCpus(),
  );
  return cpuCount;
}

function invalid(message: string): AnycastdError {
  return new AnycastdError('ERR_INVALID_ARGUMENT', message);
}

export class BpfMap {
  readonly name: string;
  readonly id: number;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly perCpu: boolean;
  #fd: number;
  readonly #owned: boolean;
  #batchLookup: boolean | undefined;

  /** Wraps an fd. `owned`: close() closes it (pinned maps); otherwise its BpfObject owns it. */
  constructor(fd: number, owned: boolean) {
    const info = callNative(
      () => `read info of map fd ${fd}`,
      () => native().mapInfo(fd),
    );
    this.#fd = fd;
    this.#owned = owned;
    this.name = info.name;
    this.id = info.id;
    this.type = info.type;
    this.keySize = info.keySize;
    this.valueSize = info.valueSize;
    this.maxEntries = info.maxEntries;
    this.perCpu = PER_CPU_TYPES.has(info.type);
  }

  /** Opens a map pinned on bpffs; the returned map owns its fd. */
  static openPinned(path: string): BpfMap {
    const fd = callNative(
      () => `open pinned map ${path}`,
      () => native().objGet(path),
    );
    return BpfMap.#owning(fd);
  }

  /** A new map not tied to any object (tests, tools); the returned map owns its fd. */
  static create(spec: MapCreateSpec): BpfMap {
    const fd = callNative(
      () => `create map ${spec.name}`,
      () =>
        native().mapCreate(
          spec.type,
          spec.name,
          spec.keySize,
          spec.valueSize,
          spec.maxEntries,
          spec.flags ?? 0,
        ),
    );
    return BpfMap.#owning(fd);
  }

  /** A map that owns `fd`, which is closed if its info cannot be read. */
  static #owning(fd: number): BpfMap {
    try {
      return new BpfMap(fd, true);
    } catch (err) {
      native().closeFd(fd);
      throw err;
    }
  }

  get fd(): number {
    if (this.#fd < 0) throw new AnycastdError('ERR_BPF_OBJECT', `map ${this.name} is closed`);
    return this.#fd;
  }

  /** Bytes of one stored value: valueSize, or nCPU slots of roundup8(valueSize) for per-CPU maps. */
  get storedValueSize(): number {
    if (!this.perCpu) return this.valueSize;
    return possibleCpus() * Math.ceil(this.valueSize / PER_CPU_VALUE_ALIGN) * PER_CPU_VALUE_ALIGN;
  }

  /** The value under `key`, or null when absent. Per-CPU maps: use lookupPerCpu. */
  lookup(key: Buffer): Buffer | null {
    if (this.perCpu) throw invalid(`map ${this.name} is per-CPU; use lookupPerCpu`);
    return this.#lookupRaw(key);
  }

  /** One Buffer of valueSize per possible CPU, or [] when the key is absent. */
  lookupPerCpu(key: Buffer): Buffer[] {
    if (!this.perCpu) throw invalid(`map ${this.name} is not per-CPU; use lookup`);
    const raw = this.#lookupRaw(key);
    return raw === null ? [] : this.unpackPerCpu(raw);
  }

  /** Splits a stored per-CPU value (lookupBatch, entries) into one Buffer of valueSize per CPU. */
  unpackPerCpu(raw: Buffer): Buffer[] {
    if (!this.perCpu) throw invalid(`map ${this.name} is not per-CPU`);
    const stride = raw.length / possibleCpus();
    return Array.from({ length: possibleCpus() }, (_, cpu) =>
      Buffer.from(raw.subarray(cpu * stride, cpu * stride + this.valueSize)),
    );
  }

  /** Stores `value` (per-CPU maps: the raw nCPU * roundup8(valueSize) layout). */
  update(key: Buffer, value: Buffer, flags: MapUpdateFlag = 'any'): void {
    this.#checkKey(key);
    if (value.length !== this.storedValueSize) {
      throw invalid(`map ${this.name}: value is ${value.length} bytes, expected ${this.storedValueSize}`);
    }
    const fd = this.fd;
    callNative(
      () => `update map ${this.name} (${flags})`,
      () => native().mapUpdate(fd, key, value, UPDATE_FLAGS[flags]),
    );
  }

  /** Per-CPU maps: stores one value (of valueSize bytes) per possible CPU. */
  updatePerCpu(key: Buffer, values: Buffer[], flags: MapUpdateFlag = 'any'): void {
    this.update(key, this.packPerCpu(values), flags);
  }

  /** Lays out one value per possible CPU at the kernel's 8-byte stride. */
  packPerCpu(values: Buffer[]): Buffer {
    if (!this.perCpu) throw invalid(`map ${this.name} is not per-CPU`);
    if (values.length !== possibleCpus()) {
      throw invalid(`map ${this.name}: ${values.length} per-CPU values, expected ${possibleCpus()}`);
    }
    const stride = this.storedValueSize / possibleCpus();
    const out = Buffer.alloc(this.storedValueSize);
    values.forEach((v, cpu) => {
      if (v.length !== this.valueSize) throw invalid(`map ${this.name}: value is ${v.length} bytes`);
      v.copy(out, cpu * stride);
    });
    return out;
  }

  /** Removes `key`; false when it was absent. */
  delete(key: Buffer): boolean {
    this.#checkKey(key);
    const fd = this.fd;
    return callNative(
      () => `delete from map ${this.name}`,
      () => native().mapDelete(fd, key),
    );
  }

  /** Every key, in the kernel's iteration order (at most maxEntries). */
  keys(): Buffer[] {
    const fd = this.fd;
    const out: Buffer[] = [];
    let prev: Buffer | null = null;
    while (out.length < this.maxEntries) {
      const next = Buffer.alloc(this.keySize);
      const from = prev;
      const found = callNative(
        () => `iterate keys of map ${this.name}`,
        () => native().mapNextKey(fd, from, next),
      );
      if (!found) break;
      out.push(next);
      prev = next;
    }
    return out;
  }

  /**
   * Every entry, `chunk` per BPF_MAP_LOOKUP_BATCH call, each chunk in fresh buffers (keep them if you
   * like). Map types without batch ops fall back to the key walk plus one lookup per key. A hash bucket
   * holding more entries than the chunk (ENOSPC) grows the chunk and retries. Entries added or deleted
   * during the walk may be seen or not, each at most once (the cursor is a bucket, not a key).
   */
  *lookupBatch(chunk: number = LOOKUP_BATCH_ENTRIES): Generator<MapChunk> {
    if (!Number.isInteger(chunk) || chunk < 1) throw invalid(`batch of ${chunk} entries`);
    if (!this.#hasBatchLookup()) {
      yield* this.#walkChunks(chunk);
      return;
    }
    const token = Buffer.alloc(Math.max(this.keySize, HASH_BATCH_TOKEN_BYTES));
    let size = chunk;
    let started = false;
    for (;;) {
      const keys = Buffer.allocUnsafe(size * this.keySize);
      const values = Buffer.allocUnsafe(size * this.storedValueSize);
      let step: RawLookupBatch;
      try {
        step = this.#batchStep(started ? token : null, token, keys, values, size);
      } catch (err) {
        // the kernel left the cursor on the bucket that did not fit: retry it with room for it
        if (!(err instanceof SystemError) || err.code !== 'ENOSPC' || size >= this.maxEntries) throw err;
        size = Math.min(size * 2, this.maxEntries);
        continue;
      }
      started = true;
      if (step.count > 0) {
        yield {
          keys: keys.subarray(0, step.count * this.keySize),
          values: values.subarray(0, step.count * this.storedValueSize),
          count: step.count,
        };
      }
      if (step.done) return;
    }
  }

  /** Every [key, value] (per-CPU values raw: see unpackPerCpu), read in batches (lookupBatch). */
  *entries(chunk: number = LOOKUP_BATCH_ENTRIES): Generator<[key: Buffer, value: Buffer]> {
    const vs = this.storedValueSize;
    for (const c of this.lookupBatch(chunk)) {
      for (let i = 0; i < c.count; i++) {
        yield [
          c.keys.subarray(i * this.keySize, (i + 1) * this.keySize),
          c.values.subarray(i * vs, (i + 1) * vs),
        ];
      }
    }
  }

  /** How many entries the map holds: batch lookups (a key walk on map types without batch ops). */
  count(chunk: number = LOOKUP_BATCH_ENTRIES): number {
    if (!this.#hasBatchLookup()) return this.keys().length;
    let n = 0;
    for (const c of this.lookupBatch(chunk)) n += c.count;
    return n;
  }

  /** Updates many entries: BPF_MAP_UPDATE_BATCH where the map type has it, else one by one. */
  updateBatch(keys: Buffer[], values: Buffer[], flags: MapUpdateFlag = 'any'): void {
    if (keys.length !== values.length) throw invalid(`${keys.length} keys but ${values.length} values`);
    if (keys.length === 0) return;
    for (const k of keys) this.#checkKey(k);
    for (const v of values) {
      if (v.length !== this.storedValueSize) throw invalid(`map ${this.name}: value is ${v.length} bytes`);
    }
    const fd = this.fd;
    try {
      callNative(
        () => `batch update ${keys.length} entries of map ${this.name}`,
        () =>
          native().mapUpdateBatch(
            fd,
            Buffer.concat(keys),
            Buffer.concat(values),
            keys.length,
            UPDATE_FLAGS[flags],
          ),
      );
    } catch (err) {
      if (!(err instanceof AnycastdError) || !BATCH_UNSUPPORTED.has(err.code)) throw err;
      keys.forEach((k, i) => {
        this.update(k, values[i]!, flags);
      });
    }
  }

  /** Pins the map at `path` on bpffs. */
  pin(path: string): void {
    const fd = this.fd;
    callNative(
      () => `pin map ${this.name} at ${path}`,
      () => native().objPin(fd, path),
    );
  }

  /** Closes the fd if this map owns it; the map is unusable afterwards. */
  close(): void {
    if (this.#fd >= 0 && this.#owned) native().closeFd(this.#fd);
    this.#fd = -1;
  }

  /** Whether the map type has BPF_MAP_LOOKUP_BATCH: asked of the kernel once, with a one-entry step. */
  #hasBatchLookup(): boolean {
    if (this.#batchLookup === undefined) {
      const token = Buffer.alloc(Math.max(this.keySize, HASH_BATCH_TOKEN_BYTES));
      try {
        this.#batchStep(null, token, Buffer.alloc(this.keySize), Buffer.alloc(this.storedValueSize), 1);
        this.#batchLookup = true;
      } catch (err) {
        if (!(err instanceof AnycastdError)) throw err;
        if (BATCH_UNSUPPORTED.has(err.code)) this.#batchLookup = false;
        else if (err.code === 'ENOSPC') this.#batchLookup = true;
        else throw err;
      }
    }
    return this.#batchLookup;
  }

  #batchStep(
    inToken: Buffer | null,
    outToken: Buffer,
    keys: Buffer,
    values: Buffer,
    count: number,
  ): RawLookupBatch {
    const fd = this.fd;
    return callNative(
      () => `batch look up ${count} entries of map ${this.name}`,
      () => native().mapLookupBatch(fd, inToken, outToken, keys, values, count),
    );
  }

  /** lookupBatch's fallback: the key walk, one lookup per key, gathered into chunks. */
  *#walkChunks(chunk: number): Generator<MapChunk> {
    let keys: Buffer[] = [];
    let values: Buffer[] = [];
    const flush = (): MapChunk => {
      const out = { keys: Buffer.concat(keys), values: Buffer.concat(values), count: keys.length };
      keys = [];
      values = [];
      return out;
    };
    for (const k of this.keys()) {
      const v = this.#lookupRaw(k);
      if (v === null) continue; // deleted since the walk saw it
      keys.push(k);
      values.push(v);
      if (keys.length === chunk) yield flush();
    }
    if (keys.length > 0) yield flush();
  }

  #lookupRaw(key: Buffer): Buffer | null {
    this.#checkKey(key);
    const fd = this.fd;
    const out = Buffer.allocUnsafe(this.storedValueSize);
    const found = callNative(
      () => `look up in map ${this.name}`,
      () => native().mapLookup(fd, key, out),
    );
    return found ? out : null;
  }

  #checkKey(key: Buffer): void {
    if (key.length !== this.keySize) {
      throw invalid(`map ${this.name}: key is ${key.length} bytes, expected ${this.keySize}`);
    }
  }
}

/** Errors meaning "this map type has no batch ops". */
const BATCH_UNSUPPORTED: ReadonlySet<string> = new Set(['ENOTSUPP', 'EOPNOTSUPP']);
