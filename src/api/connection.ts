// One connection to the control socket. Requests are answered one at a time, in order; while one is being
// answered or its reply is still unread, the connection is not read (the rest waits in the kernel's
// buffer), so a client makes the agent hold at most one frame and one reply. Nothing a client sends ends
// the agent. A connection is closed when
//   - a frame announces more than MAX_MESSAGE_BYTES (after an error reply: the stream cannot be resynced),
//   - MAX_BAD_REQUESTS of its requests could not be decoded (garbage, after an error reply for each),
//   - no complete request arrives within the idle timeout of the connect or of the last reply (a client
//     dribbling bytes does not extend it), or a reply stays unread for the idle timeout.

import type { Socket } from 'node:net';
import { AnycastdError } from '../errors.js';
import { decodeRequest, encodeReply, type ReplyBody, requestId } from './codec.js';
import { FrameReader, frame } from './framing.js';
import { ApiError, type ApiHandler } from './types.js';

/** How long a connection may wait for its next complete request, or leave a reply unread. */
export const IDLE_TIMEOUT_MS = 10_000;
/** Requests that cannot be decoded (malformed, unknown method) before the connection is closed. */
export const MAX_BAD_REQUESTS = 8;

const BAD_REQUEST_CODES: ReadonlySet<string> = new Set(['MALFORMED_REQUEST', 'UNKNOWN_METHOD']);

export class ApiConnection {
  readonly socket: Socket;
  readonly #handler: ApiHandler;
  readonly #idleMs: number;
  readonly #reader = new FrameReader();
  readonly #queue: Buffer[] = [];
  #busy = false;
  #closing = false;
  #bad = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(socket: Socket, handler: ApiHandler, idleMs: number = IDLE_TIMEOUT_MS) {
    this.socket = socket;
    this.#handler = handler;
    this.#idleMs = idleMs;
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.#disarm());
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#arm();
  }

  /** Nothing is being answered or written: the connection may be closed without losing a reply. */
  get idle(): boolean {
    return !this.#busy && this.#queue.length === 0;
  }

  close(): void {
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.#closing) return;
    let frames: Buffer[];
    try {
      frames = this.#reader.push(chunk);
    } catch (err) {
      // Oversized frame: answer it, then close once the reply was read (or the idle timeout ends it).
      this.#closing = true;
      this.socket.pause();
      this.#queue.length = 0;
      this.#arm();
      this.socket.end(frame(encodeReply(0, errorBody(err))));
      return;
    }
    if (frames.length === 0) return;
    this.#queue.push(...frames);
    this.socket.pause();
    this.#next();
  }

  #next(): void {
    if (this.#busy || this.#closing || this.socket.destroyed) return;
    const request = this.#queue.shift();
    if (request === undefined) {
      this.#arm();
      this.socket.resume();
      return;
    }
    this.#busy = true;
    this.#disarm();
    void answer(request, this.#handler).then(
      ({ reply, bad }) => {
        if (this.socket.destroyed) return;
        if (bad) this.#bad++;
        const last = this.#bad >= MAX_BAD_REQUESTS;
        this.#arm();
        const done = () => {
          this.#busy = false;
          this.#next();
        };
        if (last) {
          this.#closing = true;
          this.socket.end(reply);
        } else this.socket.write(reply, done);
      },
      () => this.socket.destroy(),
    );
  }

  /** (Re)starts the idle timer: the client must now send a complete request or read a reply. */
  #arm(): void {
    this.#disarm();
    this.#timer = setTimeout(() => this.socket.destroy(), this.#idleMs);
    this.#timer.unref();
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** The framed reply to one request frame, and whether the request could not be decoded. */
async function answer(bytes: Buffer, handler: ApiHandler): Promise<{ reply: Buffer; bad: boolean }> {
  let id = 0;
  try {
    id = requestId(bytes);
    const req = decodeRequest(bytes);
    id = req.id;
    const fn = handler[req.method] as (args: unknown) => Promise<unknown> | unknown;
    const value = await fn.call(handler, req.args);
    return { reply: frame(encodeReply(id, { method: req.method, value } as ReplyBody)), bad: false };
  } catch (err) {
    const bad = err instanceof ApiError && BAD_REQUEST_CODES.has(err.apiCode);
    return { reply: frame(encodeReply(id, errorBody(err))), bad };
  }
}

export function errorBody(err: unknown): ReplyBody {
  if (err instanceof ApiError) return { error: { code: err.apiCode, message: err.message } };
  const code = err instanceof AnycastdError ? `${err.code}: ` : '';
  return { error: { code: 'FAILED', message: `${code}${err instanceof Error ? err.message : String(err)}` } };
}
