// ExaBGP 4.2 (Debian's exabgp package) as a lab peer that announces whatever it is told: any next
// hop, any family, on any session — the hostile-but-well-formed ToR of the interop tests. Renders
// exabgp.conf for one neighbour and starts `exabgp <conf>` inside a namespace (foreground, the lab's
// pid is ExaBGP's). Routes are announced and withdrawn at run time through its API: a `process`
// runs `tail -f <commands>`, and announce()/withdraw() append ExaBGP API lines to that file.
// ExaBGP only connects out (no listener unless `exabgp.tcp.bind` is set): the speaker under test
// may stay passive or connect too; collisions are ExaBGP's to resolve (RFC 4271 §6.8).

import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAB_TIMERS } from './peers.js';
import type { LabProcess, ProcessRegistry } from './processes.js';

const EXABGP = '/usr/sbin/exabgp';
const PYTHON = '/usr/bin/python3';
const TAIL = '/usr/bin/tail';
const ANY_FAMILY = join(dirname(fileURLToPath(import.meta.url)), 'exabgp-any-family.py');

export interface ExaNeighbor {
  routerId: string;
  localAddress: string;
  peerAddress: string;
  localAs: number;
  peerAs: number;
  /** Families ExaBGP offers in its OPEN, e.g. ['ipv4 unicast', 'ipv6 unicast']. */
  families: string[];
  /** Offer IPv4 unicast with IPv6 next hops (RFC 8950). */
  extendedNextHop?: boolean;
  /**
   * Hostile: send routes of every family offered, negotiated or not (lab/exabgp-any-family.py patches
   * ExaBGP's negotiation, which otherwise keeps such routes off the wire).
   */
  anyFamily?: boolean;
}

/** exabgp.conf for one neighbour, with the API process that reads `commands`. */
export function renderExabgp(n: ExaNeighbor, commands: string): string {
  const nexthop = n.extendedNextHop ? '  nexthop { ipv4 unicast ipv6; }\n' : '';
  return `process commands {
  run ${TAIL} -n +1 -F ${commands};
  encoder text;
}
neighbor ${n.peerAddress} {
  router-id ${n.routerId};
  local-address ${n.localAddress};
  local-as ${n.localAs};
  peer-as ${n.peerAs};
  hold-time ${LAB_TIMERS.holdS};
  capability { route-refresh; }
  family {
${n.families.map((f) => `    ${f};`).join('\n')}
  }
${nexthop}  api { processes [ commands ]; }
}
`;
}

export interface ExabgpInstance {
  dir: string;
  proc: LabProcess;
  /** Announce a route, e.g. announce('0.0.0.0/0', '192.0.2.1'). */
  announce(prefix: string, nextHop: string): void;
  withdraw(prefix: string, nextHop: string): void;
}

/** Write the config and start ExaBGP in `ns`; routes are then announced through the returned handle. */
export function startExabgp(
  procs: ProcessRegistry,
  ns: string,
  dir: string,
  label: string,
  neighbor: ExaNeighbor,
): ExabgpInstance {
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'exabgp.conf');
  const commands = join(dir, 'commands');
  writeFileSync(commands, '');
  writeFileSync(conf, renderExabgp(neighbor, commands));
  const env = {
    'exabgp.daemon.user': 'root',
    'exabgp.daemon.drop': 'false',
    'exabgp.daemon.daemonize': 'false',
    'exabgp.api.cli': 'false',
    'exabgp.log.destination': 'stdout',
    'exabgp.log.level': 'INFO',
    'exabgp.log.packets': 'true',
    'exabgp.log.routes': 'true',
    'exabgp.cache.attributes': 'false',
    'exabgp.reactor.speed': '0.1',
  };
  const [cmd, args] = neighbor.anyFamily ? [PYTHON, [ANY_FAMILY, conf]] : [EXABGP, [conf]];
  const proc = procs.start(`exabgp ${label}`, ns, cmd, args, join(dir, 'exabgp.out'), { env });
  const say = (line: string) => appendFileSync(commands, `${line}\n`);
  return {
    dir,
    proc,
    announce: (prefix, nextHop) => say(`announce route ${prefix} next-hop ${nextHop}`),
    withdraw: (prefix, nextHop) => say(`withdraw route ${prefix} next-hop ${nextHop}`),
  };
}
