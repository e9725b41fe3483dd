// The steering object of an older revision, for A/B benches and migration tests: `rev`'s bpf/ compiled
// as the Makefile compiles it into build/bpf-base/<rev>/steer.bpf.o (kept: later runs reuse it). BASE_REV
// is main before the VIP address filter and the 65,536-slot vip_table (layout 1: a 4,096-slot table,
// 4 probes, no vip_spill / vip_filter); writeBaselineVips places entries as that object's table wants.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BpfObject, projectRoot } from '../../src/native/index.js';
import { u32key } from '../../src/steer/adopt.js';
import { hashVipKey } from '../../src/steer/hash.js';
import * as L from '../../src/steer/layout.js';

export const BASE_REV = '3eac9b9';
/** BASE_REV's vip_table: slots and probes (its bpf/steer.h). */
const BASE_VIP_SLOTS = 4096;
const BASE_VIP_PROBES = 4;

/** build/bpf-base/<rev>/steer.bpf.o, compiled on first use. */
export function baselineObject(rev: string = BASE_REV): string {
  const root = projectRoot();
  const out = join(root, 'build/bpf-base', rev, 'steer.bpf.o');
  if (existsSync(out)) return out;
  const src = mkdtempSync(join(tmpdir(), 'steer-base-'));
  try {
    const tar = execFileSync('git', ['-C', root, 'archive', rev, 'bpf'], { maxBuffer: 1 << 26 });
    execFileSync('tar', ['-x', '-C', src], { input: tar });
    const arch = execFileSync('gcc', ['-print-multiarch'], { encoding: 'utf8' }).trim();
    mkdirSync(join(root, 'build/bpf-base', rev), { recursive: true });
    const flags = ['-O2', '-g', '-target', 'bpf', '-Wall', '-Werror', `-I/usr/include/${arch}`];
    execFileSync('clang', [...flags, '-c', join(src, 'bpf/steer.bpf.c'), '-o', `${out}.tmp`]);
    execFileSync('mv', [`${out}.tmp`, out]);
    return out;
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
}

/** Writes `entries` into a BASE_REV object's vip_table at the slots its lookup probes; their slots. */
export function writeBaselineVips(obj: BpfObject, entries: readonly L.VipEntry[]): number[] {
  const table = obj.map('vip_table');
  const taken = new Set<number>();
  return entries.map((e) => {
    const h = hashVipKey(L.encodeVipKey(e.key));
    let slot = -1;
    for (let i = 0; i < BASE_VIP_PROBES && slot < 0; i++)
      if (!taken.has((h + i) & (BASE_VIP_SLOTS - 1))) slot = (h + i) & (BASE_VIP_SLOTS - 1);
    assert.ok(slot >= 0, 'baseline table: placed');
    taken.add(slot);
    table.update(u32key(slot), L.encodeVipEntry(e));
    return slot;
  });
}
