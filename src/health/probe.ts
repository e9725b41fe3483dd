// Builds the Probe for a configured check against one instance's host address; an exec check's user is
// looked up here (once per probe built) and the command runs with that uid and the user's primary gid.

import { type Clock, systemClock } from '../clock.js';
import { lookupUser } from '../config/accounts.js';
import type { CheckConfig } from '../config/types.js';
import { probeExec } from './probe-exec.js';
import { probeHttp } from './probe-http.js';
import { ProbeSource } from './probe-source.js';
import { probeTcp } from './probe-tcp.js';
import { probeDns, probeUdp } from './probe-udp.js';
import type { Probe } from './types.js';

/** Environment variable holding the checked instance's address for exec checks. */
export const TARGET_ENV = 'ANYCASTD_TARGET';

/**
 * The uid/gid an exec check runs as: the configured user's, or none (run as is) when that is the agent's
 * own uid, so an unprivileged agent (a developer's shell) can run checks as itself. Undefined: no such
 * user (the config loader reports it first; this covers one removed since).
 */
function execIdentity(user: string): { uid?: number; gid?: number } | undefined {
  const account = lookupUser(user);
  if (account === undefined) return undefined;
  return account.uid === process.getuid?.() ? {} : { uid: account.uid, gid: account.gid };
}

/** `clock`: when a refused source bind is tried again (probe-source.ts). */
export function makeProbe(check: CheckConfig, address: string, clock: Clock = systemClock): Probe {
  switch (check.type) {
    case 'tcp': {
      const source = new ProbeSource(address, clock);
      return (signal) => probeTcp(address, check.port, signal, source);
    }
    case 'http':
    case 'https': {
      const source = new ProbeSource(address, clock);
      return (signal) => probeHttp(address, check, signal, source);
    }
    case 'exec': {
      const identity = execIdentity(check.user);
      return (signal) =>
        identity === undefined
          ? Promise.resolve({ ok: false, durationMs: 0, detail: `exec user ${check.user}: no such user` })
          : probeExec(
              {
                command: check.command,
                expectExit: check.expectExit,
                timeoutMs: check.timeoutMs,
                env: { [TARGET_ENV]: address },
                ...identity,
              },
              signal,
            );
    }
    case 'dns':
      return (signal) => probeDns(address, check.port, check.query, check.queryType, check.expect, signal);
    case 'udp':
      return (signal) => probeUdp(address, check.port, check.send, check.expect, signal);
  }
}
