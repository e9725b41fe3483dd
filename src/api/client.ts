// The control API's client (used by the CLI): connects to the agent's unix socket, sends one Request
// frame per call and waits for the Reply with the same id. An error reply becomes an ApiError with its
// code; a socket that is missing, refused, forbidden or silent becomes an ApiUnreachableError.
import { createConnection, type Socket } from 'node:net';
import { decodeReply, encodeRequest } from './codec.js';
import { FrameReader, frame } from './framing.js';
import { ApiError, ApiUnreachableError, type MethodName, type Methods } from './types.js';

export const DEFAULT_TIMEOUT_MS = 10_000;

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

export class ApiClient {
  readonly path: string;
  readonly #socket: Socket;
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  private constructor(path: string, socket: Socket, timeoutMs: number) {
    this.path = path;
    this.#socket = socket;
    this.#timeoutMs = timeoutMs;
    const reader = new FrameReader();
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const f of reader.push(chunk)) this.#settle(f);
      } catch (err) {
        this.#failAll(err as Error);
      }
    });
    socket.on('close', () =>
      this.#failAll(new ApiUnreachableError(path, `${path}: the agent closed the connection`)),
    );
    socket.on('error', (err) => this.#failAll(new ApiUnreachableError(path, `${path}: ${err.message}`, err)));
  }

  static connect(path: string, timeoutMs: number = DEFAULT_TIMEOUT_MS): Promise<ApiClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      const fail = (err: NodeJS.ErrnoException): void => {
        socket.destroy();
        reject(
          new ApiUnreachableError(path, `cannot reach the agent at ${path}: ${err.code ?? err.message}`, err),
        );
      };
      socket.once('error', fail);
      socket.once('connect', () => {
        socket.off('error', fail);
        resolve(new ApiClient(path, socket, timeoutMs));
      });
    });
  }

  call<M extends MethodName>(method: M, args: Methods[M]['args']): Promise<Methods[M]['reply']> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(
          new ApiUnreachableError(
            this.path,
            `${this.path}: no reply to ${method} within ${this.#timeoutMs} ms`,
          ),
        );
      }, this.#timeoutMs);
      const done = (fn: () => void) => {
        clearTimeout(timer);
        fn();
      };
      this.#pending.set(id, {
        resolve: (v) => done(() => resolve(v as Methods[M]['reply'])),
        reject: (e) => done(() => reject(e)),
      });
      this.#socket.write(frame(encodeRequest(id, method, args)));
    });
  }

  close(): void {
    this.#socket.end();
  }

  #settle(bytes: Buffer): void {
    const { id, body } = decodeReply(bytes);
    const p = this.#pending.get(id);
    if (!p) {
      if ('error' in body) this.#failAll(new ApiError(body.error.code, body.error.message));
      return;
    }
    this.#pending.delete(id);
    if ('error' in body) p.reject(new ApiError(body.error.code, body.error.message));
    else p.resolve(body.value);
  }

  #failAll(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}

/** Connects, makes one call, closes. */
export async function callOnce<M extends MethodName>(
  path: string,
  method: M,
  args: Methods[M]['args'],
  timeoutMs?: number,
): Promise<Methods[M]['reply']> {
  const client = await ApiClient.connect(path, timeoutMs);
  try {
    return await client.call(method, args);
  } finally {
    client.close();
  }
}
