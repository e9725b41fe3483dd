// The flow hash and the vip_table slot hash of bpf/hash.h. The flow hash is MurmurHash3 (x86, 32-bit) over whole
// little-endian u32 words. Byte-identical to the C side; the differential test holds them together.

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const N = 0xe6546b64;
const F1 = 0x85ebca6b;
const F2 = 0xc2b2ae35;

const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));

/** murmur3_32 of `buf` (length a multiple of 4) read as little-endian u32 words, with `seed`. */
export function hashWords(buf: Uint8Array, seed: number): number {
  if (buf.length % 4 !== 0) throw new RangeError(`hashWords: length ${buf.length} is not a multiple of 4`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let h = seed >>> 0;
  for (let off = 0; off < buf.length; off += 4) {
    let k = view.getUint32(off, true);
    k = Math.imul(k, C1);
    k = rotl(k, 15);
    k = Math.imul(k, C2);
    h ^= k;
    h = rotl(h, 13);
    h = (Math.imul(h, 5) + N) | 0;
  }
  h ^= buf.length;
  h ^= h >>> 16;
  h = Math.imul(h, F1);
  h ^= h >>> 13;
  h = Math.imul(h, F2);
  h ^= h >>> 16;
  return h >>> 0;
}

/** murmur3_32 of arbitrary bytes (zero-padded to a word): used for the Maglev permutation of ids. */
export function hashBytes(bytes: Uint8Array, seed: number): number {
  const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
  padded.set(bytes);
  return hashWords(padded, seed ^ bytes.length);
}

const GOLDEN32 = 0x9e3779b1;

/** hash_vip_addr of bpf/hash.h: the vip_filter hash of a 16-byte address (or of a key's first 16 bytes). */
export function hashVipAddr(addr: Uint8Array): number {
  const v = new DataView(addr.buffer, addr.byteOffset, 16);
  const w = [0, 4, 8, 12].map((o) => v.getUint32(o, true));
  return Math.imul((w[0]! ^ rotl(w[1]!, 8) ^ rotl(w[2]!, 16) ^ rotl(w[3]!, 24)) >>> 0, GOLDEN32) >>> 0;
}

/** hash_vip_key of bpf/hash.h: the vip_table slot hash of an encoded vip_key (20 bytes). */
export function hashVipKey(key: Uint8Array): number {
  const w4 = new DataView(key.buffer, key.byteOffset, key.byteLength).getUint32(16, true);
  const h = (hashVipAddr(key) ^ Math.imul(w4, F1)) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** hash_flow_slot of bpf/hash.h: the flow_cache slot hash of an encoded flow_key (40 bytes). */
export function hashFlowSlot(key: Uint8Array): number {
  const v = new DataView(key.buffer, key.byteOffset, key.byteLength);
  const w = Array.from({ length: 10 }, (_, i) => v.getUint32(i * 4, true));
  let h = Math.imul(
    (w[0]! ^ w[1]! ^ w[2]! ^ w[3]! ^ rotl(w[4]! ^ w[5]! ^ w[6]! ^ w[7]!, 16)) >>> 0,
    GOLDEN32,
  );
  h ^= Math.imul((w[8]! ^ rotl(w[9]!, 8)) >>> 0, F1);
  return (h ^ (h >>> 15)) >>> 0;
}
