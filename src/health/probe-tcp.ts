// TCP connect check: healthy when a connection to address:port is established. The socket binds the
// target as its source when the target is on this host (probe-source.ts).

import { connect } from 'node:net';
import type { ProbeSource } from './probe-source.js';
import { runProbe, settleError } from './probe-util.js';
import type { ProbeResult } from './types.js';

export function probeTcp(
  address: string,
  port: number,
  signal: AbortSignal,
  source?: ProbeSource,
): Promise<ProbeResult> {
  return runProbe(signal, (settle, cleanup) => {
    const attempt = (localAddress: string | undefined): void => {
      const sock = connect({ host: address, port, ...(localAddress ? { localAddress } : {}) });
      cleanup(() => sock.destroy());
      sock.once('connect', () => settle(true, 'connected'));
      sock.on('error', (err) => {
        if (localAddress && source?.refused(err)) attempt(undefined);
        else settleError(settle, err);
      });
    };
    attempt(source?.bind);
  });
}
