// How many client connections the local instance of a service still serves: TCP sockets on one of its
// VIPs and TCP ports, read with sock_diag through the native addon, in any state but listening and
// closed. Connections from this host's own addresses (the listener watcher's sentinel, health checks)
// are not clients and do not count. A drain ends early when this reaches zero; a service with UDP ports
// has flows no socket shows, so it is never counted (null) and its drain runs the full drain_time.

import type { ConnectionCounter } from '../agent/drain-wait.js';
import type { Config, ServiceConfig } from '../config/types.js';
import type { TcpState } from '../native/sockdiag.js';
import { SockDiag } from '../native/sockdiag.js';

const FAMILIES = [4, 6] as const;
/** States in which a connection still has data to exchange or to finish. */
const LIVE_STATES: TcpState[] = [
  'established',
  'syn-recv',
  'fin-wait1',
  'fin-wait2',
  'close-wait',
  'last-ack',
  'closing',
];
const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

export function sockDiagConnections(config: Pick<Config, 'node' | 'services'>): ConnectionCounter & {
  close(): void;
} {
  const diag = SockDiag.open();
  const own = new Set([config.node.host.ipv4, config.node.host.ipv6].filter((a): a is string => a !== null));
  const count = (service: ServiceConfig): number | null => {
    if (service.ports.some((p) => p.protocol === 'udp')) return null;
    const vips = new Set(service.vips);
    const ports = service.ports.map((p) => p.port);
    const isOwn = (addr: string): boolean => own.has(addr) || vips.has(addr) || LOOPBACK.test(addr);
    let n = 0;
    for (const family of FAMILIES)
      for (const s of diag.inetSockets({ family, protocol: 'tcp', states: LIVE_STATES }))
        if (
          vips.has(s.localAddress) &&
          (ports.includes(null) || ports.includes(s.localPort)) &&
          !isOwn(s.remoteAddress)
        )
          n++;
    return n;
  };
  return Object.assign(count, { close: () => diag.close() });
}
