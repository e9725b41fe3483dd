// Splits a TCP byte stream into whole BGP messages (RFC 4271 §4.1): waits for a header, checks the
// marker and length as soon as the header is complete, then waits for the body. Extended messages
// (RFC 8654) are accepted only when the caller raises `maxLength` after negotiating them.

import { HEADER_LENGTH, MAX_MESSAGE_LENGTH } from './constants.js';
import { checkHeader } from './header.js';

export class Framer {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  maxLength = MAX_MESSAGE_LENGTH;

  /** Feed bytes; returns the complete messages they finish (each a copy). Throws BgpCodecError on a bad header. */
  push(chunk: Buffer): Buffer[] {
    if (chunk.length > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
    }
    const out: Buffer[] = [];
    while (this.pendingBytes >= HEADER_LENGTH) {
      const head = this.peek(HEADER_LENGTH);
      const length = checkHeader(head, this.maxLength);
      if (this.pendingBytes < length) break;
      out.push(this.take(length));
    }
    return out;
  }

  /** Octets received but not yet part of a complete message. */
  get buffered(): number {
    return this.pendingBytes;
  }

  private peek(n: number): Buffer {
    if (this.pending[0]!.length < n) this.pending = [Buffer.concat(this.pending)];
    return this.pending[0]!.subarray(0, n);
  }

  private take(n: number): Buffer {
    this.peek(n);
    const first = this.pending[0]!;
    const msg = Buffer.from(first.subarray(0, n));
    if (first.length === n) this.pending.shift();
    else this.pending[0] = first.subarray(n);
    this.pendingBytes -= n;
    return msg;
  }
}
