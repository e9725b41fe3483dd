// The fabric proof, one step after another, on a built lab with BIRD stand-ins for the hosts' BGP
// speakers: sessions come up, the VIP converges at both ToRs and the spine, client connections
// spread over the three hosts, h2 is withdrawn gracefully (SIGTERM) and h3 abruptly (SIGKILL), each
// timed, traffic follows, h2 rejoins. Returns every observation; the fabric test asserts on them and
// run-fabric.ts prints them.

import { HOSTS, type HostName, VIP4, VIP6 } from './addressing.js';
import {
  bringUpHost,
  measureWithdrawal,
  type VipView,
  type WithdrawalTimes,
  waitVipAt,
} from './fabric-checks.js';
import type { ProbeResult } from './probe.js';
import type { Lab, SessionState } from './topology.js';

/** Connections per probe: enough that each of 3 hosts gets some with overwhelming probability. */
export const PROBE_CONNECTIONS = 300;

export interface FabricReport {
  /** Hosts up (VIP, service, speaker started) → every session Established. */
  sessionsMs: number;
  sessions: SessionState[];
  /** Sessions Established → VIP at all three hosts everywhere (both families). */
  convergeMs: number;
  converged: VipView;
  spread: { tcp4: ProbeResult; tcp6: ProbeResult; udp4: ProbeResult };
  /** h2's speaker stopped with SIGTERM (BIRD sends a Cease NOTIFICATION). */
  gracefulWithdrawal: WithdrawalTimes;
  afterGraceful: VipView;
  spreadWithoutH2: ProbeResult;
  /** h2's speaker started again → VIP at all three hosts. */
  rejoinMs: number;
  /** h3's speaker killed with SIGKILL (the kernel closes its TCP sessions; no NOTIFICATION). */
  abruptWithdrawal: WithdrawalTimes;
  afterAbrupt: VipView;
}

async function spreadAll(lab: Lab): Promise<FabricReport['spread']> {
  // One probe at a time: the client namespace's CPU is the machine's, and the figures are per probe.
  const tcp4 = await lab.probe({ target: VIP4, count: PROBE_CONNECTIONS });
  const tcp6 = await lab.probe({ target: VIP6, count: PROBE_CONNECTIONS });
  const udp4 = await lab.probe({ target: VIP4, protocol: 'udp', count: PROBE_CONNECTIONS });
  return { tcp4, tcp6, udp4 };
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
  const upStart = performance.now();
  for (const h of HOSTS) await bringUpHost(lab, h);
  await lab.waitEstablished(HOSTS);
  const sessionsMs = performance.now() - upStart;
  const sessions = await lab.sessions();
  log(
    `${sessions.length} router-side BGP sessions Established ${Math.round(sessionsMs)} ms after hosts started`,
  );

  const conv = await waitVipAt(lab, HOSTS);
  log(
    `VIP converged ${Math.round(conv.ms)} ms later: ToR FIBs → ${conv.view.tor.tor1[4].join(',')}; ` +
      `spine FIB ${conv.view.spineFib[4].length} nexthops, spine BGP ${conv.view.spinePathOrigins[4].length} paths`,
  );

  const spread = await spreadAll(lab);
  log(`spread tcp4: ${fmtCounts(spread.tcp4)}`);
  log(`spread tcp6: ${fmtCounts(spread.tcp6)}`);
  log(`spread udp4: ${fmtCounts(spread.udp4)}`);

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
  };
}

function without(host: HostName): HostName[] {
  return HOSTS.filter((h) => h !== host);
}
