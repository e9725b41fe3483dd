// The fabric proof, one step after another, on a built lab with BIRD stand-ins for the hosts' BGP
// speakers: sessions come up, the VIP converges at both ToRs and the spine, client connections
// spread over the three hosts, h2 is withdrawn gracefully (SIGTERM) and h3 abruptly (SIGKILL), each
// timed, traffic follows, h2 rejoins; tor2 fails and returns (multihoming). Returns every
// observation; the fabric test asserts on them and run-fabric.ts prints them.

import { HOSTS, type HostName, VIP4, VIP6 } from './addressing.js';
import {
  failTor,
  measureWithdrawal,
  type TorDownView,
  type VipView,
  type WithdrawalTimes,
  waitVipAt,
} from './fabric-checks.js';
import type { ProbeResult } from './probe.js';
import type { Lab, SessionState } from './topology.js';

/** Connections per probe: enough that each of 3 hosts gets some with overwhelming probability. */
export const PROBE_CONNECTIONS = 300;

export interface FabricReport {
  /** Host speakers started (VIPs and services already up) → every session Established. */
  sessionsMs: number;
  sessions: SessionState[];
  /** Sessions Established → VIP at all three hosts everywhere (both families). */
  convergeMs: number;
  converged: VipView;
  spread: Record<SpreadName, ProbeResult>;
  /** h2's speaker stopped with SIGTERM (BIRD sends a Cease NOTIFICATION). */
  gracefulWithdrawal: WithdrawalTimes;
  afterGraceful: VipView;
  spreadWithoutH2: ProbeResult;
  /** h2's speaker started again → VIP at all three hosts. */
  rejoinMs: number;
  /** h3's speaker killed with SIGKILL (the kernel closes its TCP sessions; no NOTIFICATION). */
  abruptWithdrawal: WithdrawalTimes;
  afterAbrupt: VipView;
  /** tor2 stopped (h3 up again first) → hosts' defaults and the spine use tor1 only. */
  torDownMs: number;
  torDown: TorDownView;
  spreadTorDown: ProbeResult;
  /** tor2 started again → VIP at all three hosts through both ToRs. */
  torBackMs: number;
}

/** The probes of the spread step: every protocol of the service, both families. */
const SPREAD_PROBES = [
  ['tcp4', VIP4, 'tcp'],
  ['tcp6', VIP6, 'tcp'],
  ['udp4', VIP4, 'udp'],
  ['udp6', VIP6, 'udp'],
  ['http4', VIP4, 'http'],
  ['http6', VIP6, 'http'],
] as const;
export type SpreadName = (typeof SPREAD_PROBES)[number][0];

async function spreadAll(lab: Lab, log: (line: string) => void): Promise<Record<SpreadName, ProbeResult>> {
  // One probe at a time: the client namespace's CPU is the machine's, and the figures are per probe.
  const out = {} as Record<SpreadName, ProbeResult>;
  for (const [name, target, protocol] of SPREAD_PROBES) {
    out[name] = await lab.probe({ target, protocol, count: PROBE_CONNECTIONS });
    log(`spread ${name}: ${fmtCounts(out[name])}`);
  }
  return out;
}

function fmtCounts(r: ProbeResult): string {
  const per = Object.entries(r.counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([h, n]) => `${h}=${n}`)
    .join(' ');
  return `${per} failures=${r.failures} (${r.elapsedMs} ms)`;
}

export function fmtWithdrawal(w: WithdrawalTimes): string {
  const ms = (x: number) => `${Math.round(x)}`;
  return (
    `tor1 v4 ${ms(w.tor1[4])} v6 ${ms(w.tor1[6])}, tor2 v4 ${ms(w.tor2[4])} v6 ${ms(w.tor2[6])}, ` +
    `spine BGP v4 ${ms(w.spineBgp[4])} v6 ${ms(w.spineBgp[6])} ms`
  );
}

export async function runFabricScenario(lab: Lab, log: (line: string) => void): Promise<FabricReport> {
  for (const h of HOSTS) lab.addVip(h);
  await Promise.all(HOSTS.map((h) => lab.startService(h)));
  log(`VIP on lo and service listening on ${HOSTS.join(', ')}`);
  const upStart = performance.now();
  await Promise.all(HOSTS.map((h) => lab.startHostStandIn(h)));
  await lab.waitEstablished(HOSTS);
  const sessionsMs = performance.now() - upStart;
  const sessions = await lab.sessions();
  log(
    `${sessions.length} router-side BGP sessions Established ${Math.round(sessionsMs)} ms after the host speakers started`,
  );

  const conv = await waitVipAt(lab, HOSTS);
  log(
    `VIP converged ${Math.round(conv.ms)} ms later: ToR FIBs → ${conv.view.tor.tor1[4].join(',')}; ` +
      `spine FIB ${conv.view.spineFib[4].length} nexthops, spine BGP ${conv.view.spinePathOrigins[4].length} paths`,
  );

  const spread = await spreadAll(lab, log);

  const gracefulWithdrawal = await measureWithdrawal(lab, 'h2', 'SIGTERM');
  log(`h2 speaker SIGTERM → withdrawn: ${fmtWithdrawal(gracefulWithdrawal)}`);
  const afterGraceful = (await waitVipAt(lab, without('h2'))).view;
  const spreadWithoutH2 = await lab.probe({ target: VIP4, count: PROBE_CONNECTIONS });
  log(`spread tcp4 without h2: ${fmtCounts(spreadWithoutH2)}`);

  const rejoinStart = performance.now();
  await lab.startHostStandIn('h2');
  await waitVipAt(lab, HOSTS);
  const rejoinMs = performance.now() - rejoinStart;
  log(`h2 speaker restarted → VIP at all three hosts again in ${Math.round(rejoinMs)} ms`);

  const abruptWithdrawal = await measureWithdrawal(lab, 'h3', 'SIGKILL');
  log(`h3 speaker SIGKILL → withdrawn: ${fmtWithdrawal(abruptWithdrawal)}`);
  const afterAbrupt = (await waitVipAt(lab, without('h3'))).view;

  await lab.startHostStandIn('h3');
  await waitVipAt(lab, HOSTS);
  const down = await failTor(lab, 'tor2');
  log(
    `tor2 stopped → every host's default and the spine's route use tor1 only after ${Math.round(down.ms)} ms`,
  );
  const spreadTorDown = await lab.probe({ target: VIP6, count: PROBE_CONNECTIONS });
  log(`spread tcp6 with tor2 down: ${fmtCounts(spreadTorDown)}`);
  const backStart = performance.now();
  await lab.startRouter('tor2');
  await waitVipAt(lab, HOSTS);
  const torBackMs = performance.now() - backStart;
  log(`tor2 restarted → VIP through both ToRs again in ${Math.round(torBackMs)} ms`);

  return {
    sessionsMs,
    sessions,
    convergeMs: conv.ms,
    converged: conv.view,
    spread,
    gracefulWithdrawal,
    afterGraceful,
    spreadWithoutH2,
    rejoinMs,
    abruptWithdrawal,
    afterAbrupt,
    torDownMs: down.ms,
    torDown: down.view,
    spreadTorDown,
    torBackMs,
  };
}

function without(host: HostName): HostName[] {
  return HOSTS.filter((h) => h !== host);
}

/** Percentile `p` (0..1) of `xs` by nearest rank. */
export function percentile(xs: readonly number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
}

/**
 * Repeat "stop `host`'s speaker with `sig`, time the withdrawal, start it again, wait until the VIP
 * is back everywhere" `n` times (the lab must be converged with every host up).
 */
export async function withdrawalTrials(
  lab: Lab,
  host: HostName,
  sig: NodeJS.Signals,
  n: number,
): Promise<WithdrawalTimes[]> {
  const out: WithdrawalTimes[] = [];
  for (let i = 0; i < n; i++) {
    out.push(await measureWithdrawal(lab, host, sig));
    await lab.startHostStandIn(host);
    await waitVipAt(lab, HOSTS);
  }
  return out;
}
