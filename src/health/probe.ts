// Builds the Probe for a configured check against one instance's host address.

import type { CheckConfig } from '../config/types.js';
import { probeExec } from './probe-exec.js';
import { probeHttp } from './probe-http.js';
import { probeTcp } from './probe-tcp.js';
import { probeDns, probeUdp } from './probe-udp.js';
import type { Probe } from './types.js';

/** Environment variable holding the checked instance's address for exec checks. */
export const TARGET_ENV = 'ANYCASTD_TARGET';

export function makeProbe(check: CheckConfig, address: string): Probe {
  switch (check.type) {
    case 'tcp':
      return (signal) => probeTcp(address, check.port, signal);
    case 'http':
    case 'https':
      return (signal) => probeHttp(address, check, signal);
    case 'exec':
      return (signal) =>
        probeExec(
          {
            command: check.command,
            expectExit: check.expectExit,
            timeoutMs: check.timeoutMs,
            env: { [TARGET_ENV]: address },
          },
          signal,
        );
    case 'dns':
      return (signal) => probeDns(address, check.port, check.query, check.queryType, check.expect, signal);
    case 'udp':
      return (signal) => probeUdp(address, check.port, check.send, check.expect, signal);
  }
}
