// Where the listener watcher gets the list of listening TCP sockets: sock_diag through the native addon
// (inet_diag dump with only TCPF_LISTEN: the kernel walks the listening hash only), or the listening
// prefix of /proc/net/tcp{,6} when the addon is not available. createListenerWatcher() picks the first
// that works. With sock_diag the listeners come with their accept queues, and the stall signs
// (stall-signs.ts) read the watched ports' established connections with their tcp_info: one dump per
// family per poll for all ports, filtered in the kernel (the dump still walks the established hash:
// ~0.3-1 ms per poll of both families here on an idle box); without the addon there are no stall signs.

import { type InetSocket, SockDiag } from '../native/sockdiag.js';
import { httpErrorTap } from './http-error-tap.js';
import {
  type ConnectionLookup,
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
    tuple: {
      family: s.family,
      localAddress: s.localAddress,
      localPort: s.localPort,
      remoteAddress: s.remoteAddress,
      remotePort: s.remotePort,
    },
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

/**
 * The established connections to the given local ports with their tcp_info, by port, or null without
 * the addon: one dump per family whatever the number of ports (each dump walks the established hash
 * once; the ports are filtered by one bytecode program in the kernel).
 */
export function sockDiagConnections(): ConnectionSource | null {
  const diag = openDiag();
  if (!diag) return null;
  return connectionsOf(diag);
}

/** One connection again by its 4-tuple (a hash lookup), or null without the addon. */
export function sockDiagLookup(): ConnectionLookup | null {
  const diag = openDiag();
  if (!diag) return null;
  return (tuple) => {
    const s = diag.tcpConnection({ ...tuple, tcpInfo: true });
    return s && s.state === 'established' ? served(s) : null;
  };
}

function connectionsOf(diag: SockDiag): ConnectionSource {
  return (ports: readonly number[]): Map<number, ServedConnection[]> => {
    const byPort = new Map<number, ServedConnection[]>(ports.map((p) => [p, []]));
    if (ports.length === 0) return byPort;
    for (const family of FAMILIES)
      for (const s of diag.inetSockets({
        family,
        protocol: 'tcp',
        states: ['established'],
        localPorts: ports,
        tcpInfo: true,
      }))
        byPort.get(s.localPort)?.push(served(s));
    return byPort;
  };
}

export function createListenerWatcher(opts: PollingWatcherOptions & { source?: 'sock_diag' | 'proc' } = {}) {
  const source = opts.source === 'proc' ? null : sockDiagSource();
  const connections = source ? (opts.connections ?? sockDiagConnections()) : null;
  const lookup = connections ? (opts.lookup ?? sockDiagLookup()) : null;
  const tap = opts.errorAnswers ? null : httpErrorTap();
  const errorAnswers = opts.errorAnswers ?? tap?.read;
  const watcher = new PollingListenerWatcher(source ?? procNetSource(), {
    ...opts,
    ...(connections ? { connections } : {}),
    ...(lookup ? { lookup } : {}),
    ...(errorAnswers ? { errorAnswers } : {}),
  });
  return {
    watcher,
    /** Closes the watcher and the tap it owns. */
    close: () => {
      watcher.close();
      tap?.close();
    },
    source: source ? ('sock_diag' as const) : ('proc' as const),
    /** Whether 5xx answers are a sign (the packet tap opened: CAP_NET_RAW). */
    errorSign: errorAnswers !== undefined,
  };
}
