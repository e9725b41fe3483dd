// TCP connect check: healthy when a connection to address:port is established.

import { connect } from 'node:net';
import { runProbe, settleError } from './probe-util.js';
import type { ProbeResult } from './types.js';

export function probeTcp(address: string, port: number, signal: AbortSignal): Promise<ProbeResult> {
  return runProbe(signal, (settle, cleanup) => {
    const sock = connect({ host: address, port });
    cleanup(() => sock.destroy());
    sock.once('connect', () => settle(true, 'connected'));
    sock.on('error', (err) => settleError(settle, err));
  });
}
