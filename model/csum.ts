// The Internet checksum (RFC 1071) over big-endian 16-bit words, as bpf/csum.h computes it.

/** One's-complement sum of `buf` (odd length padded with a zero byte), not folded. */
export function csumAdd(buf: Uint8Array, sum = 0): number {
  let s = sum;
  for (let i = 0; i + 1 < buf.length; i += 2) s += (buf[i]! << 8) | buf[i + 1]!;
  if (buf.length % 2 === 1) s += buf[buf.length - 1]! << 8;
  return s;
}

/** Folds a sum to 16 bits and complements it: the value to store (big-endian) in a checksum field. */
export function csumFold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

/** Checksum of the concatenation of `parts`, each of even length except possibly the last. */
export function checksum(...parts: Uint8Array[]): number {
  return csumFold(parts.reduce((s, p) => csumAdd(p, s), 0));
}

/** The IPv6 pseudo-header (RFC 8200 §8.1) for an upper-layer checksum. */
export function pseudo6(src: Uint8Array, dst: Uint8Array, length: number, nextHeader: number): Buffer {
  const b = Buffer.alloc(40);
  b.set(src.subarray(0, 16), 0);
  b.set(dst.subarray(0, 16), 16);
  b.writeUInt32BE(length, 32);
  b[39] = nextHeader;
  return b;
}

/** The IPv4 pseudo-header (RFC 793 §3.1) for a TCP/UDP checksum. */
export function pseudo4(src: Uint8Array, dst: Uint8Array, length: number, proto: number): Buffer {
  const b = Buffer.alloc(12);
  b.set(src.subarray(0, 4), 0);
  b.set(dst.subarray(0, 4), 4);
  b[9] = proto;
  b.writeUInt16BE(length, 10);
  return b;
}
