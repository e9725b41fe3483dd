// Length-delimited frames on the control socket: a 4-byte big-endian length, then that many bytes of
// protobuf. A reader collects chunks as they arrive (a frame may be split anywhere) and refuses a frame
// whose announced length exceeds the maximum before buffering it.
import { ApiError } from './types.js';

export const LENGTH_PREFIX_BYTES = 4;
/** Largest message accepted in either direction (1 MiB). */
export const MAX_MESSAGE_BYTES = 1 << 20;

export function frame(message: Uint8Array): Buffer {
  if (message.length > MAX_MESSAGE_BYTES)
    throw new ApiError(
      'MESSAGE_TOO_LARGE',
      `message of ${message.length} bytes exceeds ${MAX_MESSAGE_BYTES}`,
    );
  const out = Buffer.allocUnsafe(LENGTH_PREFIX_BYTES + message.length);
  out.writeUInt32BE(message.length, 0);
  out.set(message, LENGTH_PREFIX_BYTES);
  return out;
}

export class FrameReader {
  readonly #max: number;
  #chunks: Buffer[] = [];
  #buffered = 0;

  constructor(max: number = MAX_MESSAGE_BYTES) {
    this.#max = max;
  }

  /** Adds a chunk and returns the frames it completed; throws ApiError MESSAGE_TOO_LARGE on an oversized one. */
  push(chunk: Buffer): Buffer[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.#buffered < LENGTH_PREFIX_BYTES) break;
      const head = this.#take(LENGTH_PREFIX_BYTES, false);
      const length = head.readUInt32BE(0);
      if (length > this.#max)
        throw new ApiError(
          'MESSAGE_TOO_LARGE',
          `frame of ${length} bytes exceeds the maximum of ${this.#max}`,
        );
      if (this.#buffered < LENGTH_PREFIX_BYTES + length) break;
      this.#take(LENGTH_PREFIX_BYTES, true);
      frames.push(this.#take(length, true));
    }
    return frames;
  }

  /** The first n buffered bytes, removed from the buffer when `consume`. */
  #take(n: number, consume: boolean): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    this.#chunks = [all];
    const out = all.subarray(0, n);
    if (consume) {
      this.#chunks = all.length > n ? [all.subarray(n)] : [];
      this.#buffered -= n;
    }
    return out;
  }
}
