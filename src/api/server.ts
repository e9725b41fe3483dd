// The control socket: a unix stream socket (default /run/anycastd/anycastd.sock) made mode 0660 and
// given to the configured group, so members of that group can run the CLI without root. Each connection
// carries length-delimited Request frames; each gets one Reply. A bad request (unknown method, malformed
// protobuf, handler error) gets an error reply and the connection goes on; an oversized frame gets an
// error reply and the connection is closed (the stream cannot be resynchronised). The server never
// stops for a client's mistake.
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { AnycastdError } from '../errors.js';
import { decodeRequest, encodeReply, type ReplyBody, requestId } from './codec.js';
import { FrameReader, frame } from './framing.js';
import { ApiError, type ApiHandler } from './types.js';

export const SOCKET_MODE = 0o660;
const SOCKET_DIR_MODE = 0o755;
const GROUP_FILE = '/etc/group';
const PROBE_TIMEOUT_MS = 500;

export interface ApiServerOptions {
  path: string;
  handler: ApiHandler;
  /** Group name given the socket (chown); null = the process's group. */
  group?: string | null;
  mode?: number;
}

/** The gid of a group name, from /etc/group (Node has no getgrnam). */
export function groupId(name: string, file: string = GROUP_FILE): number {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [group, , gid] = line.split(':');
    if (group === name && gid !== undefined) return Number(gid);
  }
  throw new AnycastdError('ERR_INVALID_ARGUMENT', `api.group ${name}: no such group in ${file}`);
}

export class ApiServer {
  readonly path: string;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(path: string, server: Server) {
    this.path = path;
    this.#server = server;
  }

  static async listen(opts: ApiServerOptions): Promise<ApiServer> {
    const gid = opts.group ? groupId(opts.group) : undefined;
    mkdirSync(dirname(opts.path), { recursive: true, mode: SOCKET_DIR_MODE });
    await removeStaleSocket(opts.path);
    const server = createServer();
    const api = new ApiServer(opts.path, server);
    server.on('connection', (s) => api.#serve(s, opts.handler));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(opts.path, opts.mode ?? SOCKET_MODE);
    if (gid !== undefined) chownSync(opts.path, process.getuid?.() ?? 0, gid);
    return api;
  }

  /** Stops listening, closes every connection and removes the socket file. */
  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #serve(socket: Socket, handler: ApiHandler): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const reader = new FrameReader();
    let queue = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = reader.push(chunk);
      } catch (err) {
        socket.pause();
        queue = queue.then(() => {
          socket.end(frame(encodeReply(0, errorBody(err))));
        });
        return;
      }
      for (const f of frames)
        queue = queue.then(async () => {
          if (!socket.destroyed) socket.write(frame(await answer(f, handler)));
        });
    });
  }
}

async function answer(bytes: Buffer, handler: ApiHandler): Promise<Uint8Array> {
  let id = 0;
  try {
    id = requestId(bytes);
    const req = decodeRequest(bytes);
    id = req.id;
    const fn = handler[req.method] as (args: unknown) => Promise<unknown> | unknown;
    const value = await fn.call(handler, req.args);
    return encodeReply(id, { method: req.method, value } as ReplyBody);
  } catch (err) {
    return encodeReply(id, errorBody(err));
  }
}

function errorBody(err: unknown): ReplyBody {
  if (err instanceof ApiError) return { error: { code: err.apiCode, message: err.message } };
  const code = err instanceof AnycastdError ? `${err.code}: ` : '';
  return { error: { code: 'FAILED', message: `${code}${err instanceof Error ? err.message : String(err)}` } };
}

/** Removes a socket file left by a dead agent; refuses when an agent still answers on it. */
async function removeStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket())
    throw new AnycastdError('ERR_INVALID_ARGUMENT', `api.socket ${path}: exists and is not a socket`);
  const alive = await new Promise<boolean>((resolve) => {
    const c = createConnection(path);
    const done = (v: boolean): void => {
      c.destroy();
      resolve(v);
    };
    c.setTimeout(PROBE_TIMEOUT_MS, () => done(true));
    c.once('connect', () => done(true));
    c.once('error', () => done(false));
  });
  if (alive)
    throw new AnycastdError('ERR_INVALID_ARGUMENT', `api.socket ${path}: another agent is listening on it`);
  unlinkSync(path);
}
