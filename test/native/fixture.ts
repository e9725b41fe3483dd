// Shared bits of the native binding's tests: the test BPF objects (bpf/test_*.bpf.c, built by
// `make bpf`), XDP verdicts, and packets.
import { join } from 'node:path';
import { projectRoot } from '../../src/native/index.js';

export const TEST_OBJECT = join(projectRoot(), 'build', 'bpf', 'test_xdp.bpf.o');
export const REJECT_OBJECT = join(projectRoot(), 'build', 'bpf', 'test_reject.bpf.o');

/** linux/bpf.h enum xdp_action. */
export const XDP_ABORTED = 0;
export const XDP_DROP = 1;
export const XDP_PASS = 2;
export const XDP_TX = 3;

/** test_xdp.bpf.c: the default cfg_mark written to byte 0, and how many bytes xdp_pop strips. */
export const DEFAULT_MARK = 0xa5;
export const POP_BYTES = 4;
const PACKET_LEN = 64;

/** A 64-byte frame whose byte 1 (the verdicts map key of xdp_test) is `key`, the rest a pattern. */
export function packet(key: number): Buffer {
  const p = Buffer.alloc(PACKET_LEN);
  for (let i = 0; i < PACKET_LEN; i++) p[i] = i;
  p[1] = key;
  return p;
}

/** A little-endian u32 as a Buffer (keys and values of the test maps). */
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}
