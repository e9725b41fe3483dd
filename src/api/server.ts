// The control socket: a unix stream socket (default /run/anycastd/anycastd.sock), mode 0660, so only its
// owner (root) and its group may connect — that group is the boundary between local users. The socket is
// born with the agent's group (the unit runs the agent with Group=anycastd); `api.group`, when set and
// different, is given with chown(-1, gid), which the owner may do without CAP_CHOWN for a group it is a
// member of (the unit grants no CAP_CHOWN). A directory made for the socket gets mode 0755 whatever the
// umask (the unit's UMask=0077 would lock the group out). Each connection carries length-delimited
// Request frames, each answered with one Reply (connection.ts). At most MAX_CONNECTIONS are held: a new
// one beyond that replaces the connection idle the longest, or is closed when none is idle, so a flood of
// connections cannot lock the operator out for longer than the idle timeout. The server never stops for
// a client's mistake.
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { GROUP_FILE, lookupGroup } from '../config/accounts.js';
import { AnycastdError } from '../errors.js';
import { ApiConnection, IDLE_TIMEOUT_MS } from './connection.js';
import type { ApiHandler } from './types.js';

export const SOCKET_MODE = 0o660;
export const SOCKET_DIR_MODE = 0o755;
/** Connections held at once (the CLI makes one per command). */
export const MAX_CONNECTIONS = 32;
const PROBE_TIMEOUT_MS = 500;

export interface ApiServerOptions {
  path: string;
  handler: ApiHandler;
  /** Group name given the socket; null = the agent's own group. */
  group?: string | null;
  mode?: number;
  /** Idle timeout of a connection (default IDLE_TIMEOUT_MS). */
  idleTimeoutMs?: number;
}

/** What the server did with connections since it started. */
export interface ApiServerStats {
  open: number;
  accepted: number;
  /** Idle connections closed to make room for a new one. */
  evicted: number;
  /** New connections closed because every held one was busy. */
  refused: number;
}

/** The gid of a group name, from /etc/group (Node has no getgrnam). */
export function groupId(name: string, file: string = GROUP_FILE): number {
  const gid = lookupGroup(name, file);
  if (gid === undefined)
    throw new AnycastdError('ERR_INVALID_ARGUMENT', `api.group ${name}: no such group in ${file}`);
  return gid;
}

export class ApiServer {
  readonly path: string;
  readonly #server: Server;
  readonly #connections = new Set<ApiConnection>();
  readonly #stats = { accepted: 0, evicted: 0, refused: 0 };

  private constructor(path: string, server: Server) {
    this.path = path;
    this.#server = server;
  }

  static async listen(opts: ApiServerOptions): Promise<ApiServer> {
    const gid = opts.group ? groupId(opts.group) : undefined;
    makeDirs(dirname(opts.path));
    await removeStaleSocket(opts.path);
    const server = createServer();
    const api = new ApiServer(opts.path, server);
    const idleMs = opts.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    server.on('connection', (s) => api.#accept(s, opts.handler, idleMs));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => {}); // accept errors (EMFILE) are the kernel's to retry; never fatal
    try {
      chmodSync(opts.path, opts.mode ?? SOCKET_MODE);
      if (gid !== undefined && statSync(opts.path).gid !== gid) giveGroup(opts.path, opts.group!, gid);
    } catch (err) {
      await api.close();
      throw err;
    }
    return api;
  }

  stats(): ApiServerStats {
    return { open: this.#connections.size, ...this.#stats };
  }

  /** Stops listening, closes every connection and removes the socket file. */
  close(): Promise<void> {
    for (const c of this.#connections) c.close();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: Socket, handler: ApiHandler, idleMs: number): void {
    if (this.#connections.size >= MAX_CONNECTIONS) {
      const victim = [...this.#connections].find((c) => c.idle);
      if (victim === undefined) {
        this.#stats.refused++;
        socket.destroy();
        return;
      }
      this.#stats.evicted++;
      this.#connections.delete(victim);
      victim.close();
    }
    this.#stats.accepted++;
    const conn = new ApiConnection(socket, handler, idleMs);
    this.#connections.add(conn);
    socket.once('close', () => this.#connections.delete(conn));
  }
}

/** Gives the socket file to `gid`; EPERM here means the agent is not a member and has no CAP_CHOWN. */
function giveGroup(path: string, group: string, gid: number): void {
  try {
    chownSync(path, -1, gid);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new AnycastdError(
      'ERR_INVALID_ARGUMENT',
      code === 'EPERM'
        ? `api.group ${group}: the agent may not give ${path} to group ${group} (EPERM): it is not a member ` +
            '(the unit runs it with Group=anycastd; without CAP_CHOWN only its own groups can be given)'
        : `api.group ${group}: chown ${path}: ${code ?? String(err)}`,
    );
  }
}

/** Makes the missing directories of `dir`, each mode SOCKET_DIR_MODE whatever the umask. */
function makeDirs(dir: string): void {
  if (existsSync(dir)) return;
  makeDirs(dirname(dir));
  mkdirSync(dir, { mode: SOCKET_DIR_MODE });
  chmodSync(dir, SOCKET_DIR_MODE);
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
