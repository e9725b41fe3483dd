// BIRD 2 (Debian's bird2 package) as a lab router (tor2) and as the stand-in for a host's BGP speaker
// until anycastd's own exists: renders bird.conf from the session list and starts
// `bird -f -c <conf> -s <ctl socket> -P <pidfile>` inside the namespace (foreground, so the lab's pid
// is BIRD's). Queried with `birdc -s <ctl socket>`.
// Fast-convergence knobs: hold 3 s, keepalive 1 s, connect retry 1 s, connect delay 1 s, error wait
// 1..5 s (the default 60..300 s would keep a flapped session down for a minute), no graceful restart
// unless `gracefulRestart` (RFC 4724: BIRD then keeps a restarting host's routes until its End-of-RIB).
// Kernel export with `merge paths`, which turns equal BGP paths into one ECMP route (RFC 7938 §6.1).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HOST_RANGE4, HOST_RANGE6, VIP_RANGE4, VIP_RANGE6 } from './addressing.js';
import { runAsync, waitFor } from './exec.js';
import {
  DAEMON_READY_TIMEOUT_MS,
  type Family,
  LAB_TIMERS,
  MAX_PATHS,
  type PeerSpec,
  type Policy,
} from './peers.js';
import type { LabProcess, ProcessRegistry } from './processes.js';

const BIRD = 'bird';
const BIRDC = 'birdc';
const CONNECT_DELAY_S = 1;
const ERROR_WAIT_MIN_S = 1;
const ERROR_WAIT_MAX_S = 5;

function rangeSet(range: string, len: number): string {
  return `${range}{${len},${len}}`;
}

const FILTERS = `filter default_only4 { if net = 0.0.0.0/0 then accept; reject; }
filter default_only6 { if net = ::/0 then accept; reject; }
filter host_routes4 {
  if net ~ [ ${rangeSet(VIP_RANGE4, 32)}, ${rangeSet(HOST_RANGE4, 32)} ] then accept;
  reject;
}
filter host_routes6 {
  if net ~ [ ${rangeSet(VIP_RANGE6, 128)}, ${rangeSet(HOST_RANGE6, 128)} ] then accept;
  reject;
}
`;

function filterRef(policy: Policy, family: Family): string {
  return policy === 'none' ? 'none' : `filter ${policy.replace('-', '_')}${family}`;
}

/** Routes a BIRD instance originates itself (the host stand-in: its VIPs and host address). */
export interface OwnRoutes {
  v4: string[];
  v6: string[];
}

/** bird.conf for a router or host stand-in with these sessions. */
export function renderBird(
  routerId: string,
  peers: readonly PeerSpec[],
  logFile: string,
  own?: OwnRoutes,
  opts: { gracefulRestart?: boolean } = {},
): string {
  const parts = [
    `log "${logFile}" all;`,
    `router id ${routerId};`,
    'protocol device { scan time 10; }',
    ...([4, 6] as const).map(
      (f) =>
        `protocol kernel kernel${f} {\n  ipv${f} { import none; export where source = RTS_BGP; };\n` +
        `  merge paths on limit ${MAX_PATHS};\n}`,
    ),
    FILTERS,
  ];
  if (own) {
    for (const f of [4, 6] as const) {
      const routes = (f === 4 ? own.v4 : own.v6).map((r) => `  route ${r} blackhole;`).join('\n');
      parts.push(`protocol static own${f} {\n  ipv${f};\n${routes}\n}`);
    }
  }
  parts.push(`template bgp lab {
  hold time ${LAB_TIMERS.holdS};
  keepalive time ${LAB_TIMERS.keepaliveS};
  connect retry time ${LAB_TIMERS.connectRetryS};
  connect delay time ${CONNECT_DELAY_S};
  error wait time ${ERROR_WAIT_MIN_S}, ${ERROR_WAIT_MAX_S};
  graceful restart ${opts.gracefulRestart ? 'on' : 'off'};
}`);
  for (const p of peers) {
    parts.push(`protocol bgp ${p.name} from lab {
  local ${p.localAddress} as ${p.localAs};
  neighbor ${p.peerAddress} as ${p.peerAs};
  ipv${p.family} {
    import ${filterRef(p.import, p.family)};
    export ${filterRef(p.export, p.family)};${p.addPathTx ? '\n    add paths tx;' : ''}
  };
}`);
  }
  return `${parts.join('\n')}\n`;
}

export interface BirdInstance {
  dir: string;
  ctl: string;
  proc: LabProcess;
}

/** Write the config and start BIRD in `ns`; resolves once birdc answers. */
export async function startBird(
  procs: ProcessRegistry,
  ns: string,
  dir: string,
  label: string,
  conf: string,
): Promise<BirdInstance> {
  mkdirSync(dir, { recursive: true });
  const confFile = join(dir, 'bird.conf');
  const ctl = join(dir, 'bird.ctl');
  writeFileSync(confFile, conf);
  const args = ['-f', '-c', confFile, '-s', ctl, '-P', join(dir, 'bird.pid')];
  const proc = procs.start(`bird ${label}`, ns, BIRD, args, join(dir, 'bird.out'));
  await waitFor(
    `bird ${label} control socket`,
    () => birdc(ctl, 'show status').then(() => true),
    DAEMON_READY_TIMEOUT_MS,
  );
  return { dir, ctl, proc };
}

export function birdc(ctl: string, command: string): Promise<string> {
  return runAsync(BIRDC, ['-s', ctl, ...command.split(' ')]);
}

/**
 * Session state per BGP protocol name, from `show protocols`: "Established" when up, otherwise
 * the protocol's info column (Active, Connect, ...) or its state.
 */
export async function birdSessionStates(ctl: string): Promise<Map<string, string>> {
  const out = await birdc(ctl, 'show protocols');
  const states = new Map<string, string>();
  for (const line of out.split('\n')) {
    // name  proto  table  state  since  info
    const cols = line.trim().split(/\s+/);
    if (cols[1] !== 'BGP') continue;
    states.set(cols[0]!, cols[5] ?? cols[3] ?? 'unknown');
  }
  return states;
}
