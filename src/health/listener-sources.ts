// Where the listener watcher gets the list of listening TCP sockets: sock_diag through the native addon
// (inet_diag dump with only TCPF_LISTEN: the kernel walks the listening hash only), or the listening
// prefix of /proc/net/tcp{,6} when the addon is not available. createListenerWatcher() picks the first
// that works. With sock_diag the listeners come with their accept queues, and the stall signs
// (stall-signs.ts) read one port's established connections with their tcp_info, the port filtered in the
// kernel (the dump still walks the established hash: ~0.3-1 ms per poll of both families here on an
// idle box); without the addon there are no stall signs.

import { type InetSocket, SockDiag } from '../native/sockdiag.js';
import {
  type ConnectionSource,
  type ListenerSource,
  PollingListenerWatcher,
  type PollingWatcherOptions,
  type QueuedListener,
} from './listener-watcher.js';
import { readListeners } from './proc-net.js';
import type { ServedConnection } from './stall-signs.js';

const FAMILIES = [4, 6] as const;

export function procNetSource(dir = '/proc/net'): ListenerSource {
  const tables = [`${dir}/tcp`, `${dir}/tcp6`];
  return async () => (await Promise.all(tables.map(readListeners))).flat();
}

/** A sock_diag socket, or null when the native addon cannot be used (not built, no permission). */
function openDiag(): SockDiag | null {
  try {
    return SockDiag.open();
  } catch {
    return null;
  }
}

/** A sock_diag source, or null when the native addon cannot be used (not built, no permission). */
export function sockDiagSource(): ListenerSource | null {
  const diag = openDiag();
  if (!diag) return null;
  return (): QueuedListener[] =>
    FAMILIES.flatMap((family) =>
      diag.inetSockets({ family, protocol: 'tcp', states: ['listen'] }).map((s) => ({
        address: s.localAddress,
        port: s.localPort,
        queue: { queued: s.rqueue, max: s.wqueue },
      })),
    );
}

function served(s: InetSocket): ServedConnection {
  const i = s.tcpInfo;
  return {
    peer: `[${s.remoteAddress}]:${s.remotePort}`,
    accepted: s.inode !== 0,
    ...(i
      ? {
          info: {
            lastDataSentMs: i.lastDataSentMs,
            lastDataRecvMs: i.lastDataRecvMs,
            dataSegsIn: i.dataSegsIn,
            dataSegsOut: i.dataSegsOut,
            bytesReceived: i.bytesReceived,
          },
        }
      : {}),
  };
}

/** The established connections to a local port with their tcp_info, or null without the addon. */
export function sockDiagConnections(): ConnectionSource | null {
  const diag = openDiag();
  if (!diag) return null;
  return (port: number): ServedConnection[] =>
    FAMILIES.flatMap((family) =>
      diag
        .inetSockets({ family, protocol: 'tcp', states: ['established'], localPort: port, tcpInfo: true })
        .map(served),
    );
}

export function createListenerWatcher(opts: PollingWatcherOptions & { source?: 'sock_diag' | 'proc' } = {}) {
  const source = opts.source === 'proc' ? null : sockDiagSource();
  const connections = source ? (opts.connections ?? sockDiagConnections()) : null;
  return {
    watcher: new PollingListenerWatcher(source ?? procNetSource(), {
      ...opts,
      ...(connections ? { connections } : {}),
    }),
    source: source ? ('sock_diag' as const) : ('proc' as const),
  };
}
