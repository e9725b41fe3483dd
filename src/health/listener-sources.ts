// Where the listener watcher gets the list of listening TCP sockets: sock_diag through the native addon
// (inet_diag dump with only TCPF_LISTEN: the kernel walks the listening hash only), or the listening
// prefix of /proc/net/tcp{,6} when the addon is not available. createListenerWatcher() picks the first
// that works.

import { SockDiag } from '../native/sockdiag.js';
import {
  type ListenerSource,
  PollingListenerWatcher,
  type PollingWatcherOptions,
} from './listener-watcher.js';
import { type Listener, readListeners } from './proc-net.js';

export function procNetSource(dir = '/proc/net'): ListenerSource {
  const tables = [`${dir}/tcp`, `${dir}/tcp6`];
  return async () => (await Promise.all(tables.map(readListeners))).flat();
}

/** A sock_diag source, or null when the native addon cannot be used (not built, no permission). */
export function sockDiagSource(): ListenerSource | null {
  let diag: SockDiag;
  try {
    diag = SockDiag.open();
  } catch {
    return null;
  }
  return (): Listener[] =>
    ([4, 6] as const).flatMap((family) =>
      diag
        .inetSockets({ family, protocol: 'tcp', states: ['listen'] })
        .map((s) => ({ address: s.localAddress, port: s.localPort })),
    );
}

export function createListenerWatcher(opts: PollingWatcherOptions & { source?: 'sock_diag' | 'proc' } = {}) {
  const source = opts.source === 'proc' ? null : sockDiagSource();
  return {
    watcher: new PollingListenerWatcher(source ?? procNetSource(), opts),
    source: source ? ('sock_diag' as const) : ('proc' as const),
  };
}
