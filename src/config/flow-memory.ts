// The flow table's kernel memory (dataplane.flow_table_size) against what this host lets a process
// allocate: the kernel makes the whole table when the program loads (an LRU hash is preallocated) and
// charges it to the loading process's memory cgroup; RLIMIT_MEMLOCK no longer applies (Linux >= 5.11;
// the unit sets LimitMEMLOCK=infinity for older kernels). A table that does not fit is refused by the
// kernel with ENOMEM at load (the agent then names the size: ERR_FLOW_TABLE); `check` says so first.
import { readFileSync } from 'node:fs';
import { ringServices, ringsBytes, ringValueBytes } from './limits.js';
import type { HostIssue } from './load.js';
import type { Config } from './types.js';

/** dataplane.flow_table_size bounds and default (1 Mi entries: ~112 MiB of kernel memory). */
export const MIN_FLOW_TABLE = 1024;
export const MAX_FLOW_TABLE = 1 << 24;
export const DEFAULT_FLOW_TABLE_SIZE = 1 << 20;
/**
 * Kernel memory per flow-table entry: the map's fdinfo `memlock` on 6.18 x86-64 is 112 B × entries + 896 B
 * for 2^17..2^25 entries (element header, 40-byte key, 8-byte value, bucket); MemAvailable fell by
 * ~100 B per entry when one was made.
 */
export const FLOW_ENTRY_BYTES = 112;
const FLOW_TABLE_FIXED_BYTES = 896;
const MIB = 2 ** 20;

export const flowTableBytes = (entries: number): number =>
  entries * FLOW_ENTRY_BYTES + FLOW_TABLE_FIXED_BYTES;

/** What this process may allocate now: MemAvailable, and its memory cgroup's limit less its usage. */
export interface MemoryFacts {
  availableBytes: number | null;
  cgroupFreeBytes: number | null;
}

const readText = (path: string): string | null => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
};

/** The headroom of this process's memory cgroup (v2 memory.max − memory.current, v1 limit − usage); null: none. */
function cgroupFree(root: string, procCgroup: string | null): number | null {
  for (const line of (procCgroup ?? '').split('\n')) {
    const [, controllers, path] = line.split(':');
    const v2 = controllers === '';
    if (!v2 && !(controllers ?? '').split(',').includes('memory')) continue;
    const dir = v2 ? `${root}${path}` : `${root}/memory${path}`;
    const limit = readText(`${dir}/${v2 ? 'memory.max' : 'memory.limit_in_bytes'}`)?.trim();
    const used = Number(readText(`${dir}/${v2 ? 'memory.current' : 'memory.usage_in_bytes'}`) ?? 0);
    if (limit === undefined || limit === 'max' || !Number.isFinite(Number(limit))) continue;
    if (Number(limit) >= Number.MAX_SAFE_INTEGER) continue; // v1 "unlimited" is a page-rounded 2^63
    return Math.max(0, Number(limit) - used);
  }
  return null;
}

/** Where readMemoryFacts reads (tests give a tree of their own). */
export interface MemoryFiles {
  cgroupRoot: string;
  meminfo: string;
  procCgroup: string;
}

const SYSTEM_MEMORY_FILES: MemoryFiles = {
  cgroupRoot: '/sys/fs/cgroup',
  meminfo: '/proc/meminfo',
  procCgroup: '/proc/self/cgroup',
};

export function readMemoryFacts(files: MemoryFiles = SYSTEM_MEMORY_FILES): MemoryFacts {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(readText(files.meminfo) ?? '');
  return {
    availableBytes: m ? Number(m[1]) * 1024 : null,
    cgroupFreeBytes: cgroupFree(files.cgroupRoot, readText(files.procCgroup)),
  };
}

/** A flow table larger than this host lets a process allocate now (none without XDP). */
export function flowTableIssues(cfg: Config, facts: MemoryFacts = readMemoryFacts()): HostIssue[] {
  if (cfg.dataplane.mode === 'none') return [];
  const n = cfg.dataplane.flowTableSize;
  const need = flowTableBytes(n);
  const limits = [
    { bytes: facts.availableBytes, what: 'MemAvailable' },
    { bytes: facts.cgroupFreeBytes, what: "the free memory of this process's memory cgroup" },
  ].filter((l): l is { bytes: number; what: string } => l.bytes !== null && need > l.bytes);
  return limits.map((l) => ({
    path: ['dataplane', 'flow_table_size'],
    expected:
      `a flow table the kernel can allocate: ${n} entries need ~${Math.ceil(need / MIB)} MiB ` +
      `(${FLOW_ENTRY_BYTES} B per entry), more than ${l.what} (${Math.floor(l.bytes / MIB)} MiB); ` +
      'the kernel would refuse it (ENOMEM) when the program loads',
    found: String(n),
  }));
}

/**
 * Rings that do not fit beside the flow table: the rings map (made at load like the flow table, charged
 * the same way) needs max_services × 4 rings × ring_size × 4 B; reported when the flow table alone fits
 * but the two together do not (a flow table too large is flowTableIssues' report).
 */
export function ringMemoryIssues(cfg: Config, facts: MemoryFacts = readMemoryFacts()): HostIssue[] {
  if (cfg.dataplane.mode === 'none') return [];
  const flow = flowTableBytes(cfg.dataplane.flowTableSize);
  const room = ringServices(cfg.services.length, cfg.dataplane.maxServices);
  const rings = ringsBytes(room, cfg.dataplane.ringSize);
  const limits = [
    { bytes: facts.availableBytes, what: 'MemAvailable' },
    { bytes: facts.cgroupFreeBytes, what: "the free memory of this process's memory cgroup" },
  ].filter(
    (l): l is { bytes: number; what: string } =>
      l.bytes !== null && flow <= l.bytes && flow + rings > l.bytes,
  );
  const perService = 4 * ringValueBytes(cfg.dataplane.ringSize);
  return limits.map((l) => ({
    path: ['dataplane', 'max_services'],
    expected:
      `rings the kernel can allocate: ${room} services × 4 rings of ${cfg.dataplane.ringSize} entries need ` +
      `~${Math.ceil(rings / MIB)} MiB (${Math.ceil(perService / 1024)} KiB per service; a smaller ` +
      `dataplane.ring_size or fewer services need less), with the flow table's ~${Math.ceil(flow / MIB)} MiB ` +
      `more than ${l.what} (${Math.floor(l.bytes / MIB)} MiB); the kernel would refuse it (ENOMEM) when the ` +
      'program loads',
    found: String(room),
  }));
}
