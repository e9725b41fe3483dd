// Connect and listen with a TcpSocketFd (sockopt.ts): the options are set on the fd first, then
// Node connects it (`socket.connect` on an fd it did not create works) or listens on it
// (`server.listen({ fd })`). Failures are SystemErrors saying what was attempted.
import net from 'node:net';
import { constants } from 'node:os';
import { native } from './addon.js';
import { callNative, systemError } from './errors.js';
import { checkAddress, TcpSocketFd, type TcpSocketOptions } from './sockopt.js';

const DEFAULT_BACKLOG = 64;

/** A Node error ({code, syscall}) as a SystemError with what was attempted. */
function fromNodeError(err: unknown, attempt: string): unknown {
  if (!(err instanceof Error)) return err;
  const e = err as NodeJS.ErrnoException;
  const errno = e.code ? (constants.errno as Record<string, number>)[e.code] : undefined;
  if (errno === undefined) return err;
  return systemError(errno, e.syscall ?? 'connect', attempt);
}

export interface ConnectOptions extends TcpSocketOptions {
  address: string;
  port: number;
  /**
   * IPv6 scope (ifindex) of a link-local peer address. Applied as SO_BINDTOIFINDEX (the kernel takes
   * a bound device as the scope), since Node would resolve a `%zone` by name in its own namespace.
   */
  scopeId?: number;
  /** Give up after this long with SystemError 'ETIMEDOUT' (default: the kernel's SYN retries). */
  timeoutMs?: number;
}

/**
 * Connects a socket made with `opts` to address:port; resolves with a connected net.Socket.
 * Rejects with SystemError ('ECONNREFUSED', 'ETIMEDOUT', ...).
 */
export function connectTcp(opts: ConnectOptions): Promise<net.Socket> {
  checkAddress(opts.family, opts.address, 'peer address');
  const host = opts.address;
  const zone = opts.scopeId ? `%${opts.scopeId}` : '';
  const attempt = `connect to ${opts.family === 6 ? `[${host}${zone}]` : host}:${opts.port}`;
  const sock = TcpSocketFd.create(opts.scopeId ? { ...opts, deviceIndex: opts.scopeId } : opts);
  const socket = new net.Socket({ fd: sock.handOff(), readable: true, writable: true });
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const fail = (err: unknown): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const onError = (err: Error): void => fail(fromNodeError(err, attempt));
    socket.once('error', onError);
    if (opts.timeoutMs !== undefined) {
      timer = setTimeout(
        () => fail(systemError(constants.errno.ETIMEDOUT, 'connect', attempt)),
        opts.timeoutMs,
      );
    }
    socket.connect({ host, port: opts.port }, () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

export interface ListenOptions extends TcpSocketOptions {
  /** Local port (0: any; read it back from `port`). */
  port: number;
  /** Default: the family's any-address. */
  localAddress?: string;
  backlog?: number;
  /** Accepted sockets start paused: nothing is read until the connection handler resumes one. */
  pauseOnConnect?: boolean;
  /**
   * An error of the listening server after it listens (an accept that failed, e.g. EMFILE). Always
   * caught: without this it is dropped, never thrown (an unhandled 'error' would end the process).
   */
  onError?: (err: unknown) => void;
}

export interface TcpListener {
  server: net.Server;
  /** The listening socket: add or remove MD5 keys here while it runs. */
  socket: TcpSocketFd;
  port: number;
}

/** Listens with the options applied; accepted sockets inherit TTL, minimum TTL and MD5 keys. */
export async function listenTcp(
  opts: ListenOptions,
  onConnection?: (socket: net.Socket) => void,
): Promise<TcpListener> {
  const localAddress = opts.localAddress ?? (opts.family === 4 ? '0.0.0.0' : '::');
  const sock = TcpSocketFd.create({
    ...opts,
    localAddress,
    localPort: opts.port,
    reuseAddress: opts.reuseAddress ?? true,
  });
  const port = sock.localPort();
  const backlog = opts.backlog ?? DEFAULT_BACKLOG;
  callNative(
    () => `listen on ${localAddress} port ${port}`,
    () => native().sockListen(sock.fd, backlog),
  );
  const serverOpts = { pauseOnConnect: opts.pauseOnConnect ?? false };
  const server = onConnection ? net.createServer(serverOpts, onConnection) : net.createServer(serverOpts);
  const attempt = `listen on ${localAddress} port ${port}`;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(fromNodeError(err, attempt)));
    server.listen({ fd: sock.handOff(), backlog }, resolve);
  });
  server.removeAllListeners('error');
  server.on('error', (err) => opts.onError?.(fromNodeError(err, attempt)));
  return { server, socket: sock, port };
}
