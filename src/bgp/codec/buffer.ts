// Bounds-checked big-endian reader and growable writer for the BGP codec. A read past the end
// throws the error the caller chose (`short`), so each message layer maps truncation to its own
// NOTIFICATION or RFC 7606 outcome.

import type { BgpCodecError } from './errors.js';

export class Reader {
  private pos: number;
  constructor(
    readonly buf: Buffer,
    private readonly short: () => BgpCodecError,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }
  get offset(): number {
    return this.pos;
  }
  get remaining(): number {
    return this.end - this.pos;
  }
  private need(n: number): number {
    if (this.end - this.pos < n) throw this.short();
    const at = this.pos;
    this.pos += n;
    return at;
  }
  u8(): number {
    return this.buf[this.need(1)]!;
  }
  u16(): number {
    return this.buf.readUInt16BE(this.need(2));
  }
  u32(): number {
    return this.buf.readUInt32BE(this.need(4));
  }
  bytes(n: number): Buffer {
    const at = this.need(n);
    return this.buf.subarray(at, at + n);
  }
  /** A sub-reader over the next n octets (advances this one past them). */
  sub(n: number, short: () => BgpCodecError = this.short): Reader {
    const at = this.need(n);
    return new Reader(this.buf, short, at, at + n);
  }
  rest(): Buffer {
    return this.bytes(this.remaining);
  }
}

export class Writer {
  private buf = Buffer.allocUnsafe(256);
  private pos = 0;
  get length(): number {
    return this.pos;
  }
  private grow(n: number): number {
    if (this.pos + n > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
      this.buf.copy(next, 0, 0, this.pos);
      this.buf = next;
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }
  u8(v: number): this {
    const at = this.grow(1); // grow first: it may replace this.buf
    this.buf.writeUInt8(v, at);
    return this;
  }
  u16(v: number): this {
    const at = this.grow(2);
    this.buf.writeUInt16BE(v, at);
    return this;
  }
  u32(v: number): this {
    const at = this.grow(4);
    this.buf.writeUInt32BE(v >>> 0, at);
    return this;
  }
  bytes(b: Uint8Array): this {
    const at = this.grow(b.length);
    this.buf.set(b, at);
    return this;
  }
  /** Reserve a 1- or 2-octet length field; returns a function that fills it with the bytes written since. */
  lengthField(octets: 1 | 2): () => void {
    const at = this.grow(octets);
    return () => {
      const n = this.pos - at - octets;
      if (octets === 1) this.buf.writeUInt8(n, at);
      else this.buf.writeUInt16BE(n, at);
    };
  }
  /** Overwrite a 16-bit value at an absolute offset. */
  patchU16(at: number, v: number): void {
    this.buf.writeUInt16BE(v, at);
  }
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}
