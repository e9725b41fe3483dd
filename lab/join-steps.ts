// Issue 8's "add a fourth host" with real agents: under held connections, wire h4 into the fabric
// (lab/extra-host.ts), start its service, rewrite every running agent's config with h4 as an
// instance and SIGHUP it (the agent applies the diff: its rings gain h4), start h4's agent, and wait
// until the VIP is at every host. Checks the held connections at once and after the join grace, and
// sends short new connections right away to see h4 take its share. leaveHost() removes it again.

import type { HostName } from './addressing.js';
import { VIP4 } from './addressing.js';
import { LAB_AGENT_TIMINGS } from './agent-config.js';
import { type KeptReport, kept, SETTLE_MS } from './agent-steps.js';
import type { HostAgents } from './agents.js';
import { sleep } from './exec.js';
import { addHost, removeHost } from './extra-host.js';
import { waitVipAt } from './fabric-checks.js';
import { Holder } from './holder-client.js';
import type { ProbeResult } from './probe.js';
import type { Lab } from './topology.js';

/** Short connections sent as soon as the VIP is at the new host. */
export const NEW_FLOWS = 200;

export interface JoinReport {
  /** addHost started → the VIP at every host, the new one included (ms). */
  joinMs: number;
  /** Held connections checked as soon as the VIP is at the new host. */
  atJoin: KeptReport;
  /** Checked again once the join grace (grace_time) has passed everywhere. */
  settled: KeptReport;
  /** NEW_FLOWS short connections right after the join: who served them. */
  newFlows: ProbeResult;
}

/** Hold `held` connections and add `host` (its agent with XDP, or detached when `xdp` is false). */
export async function joinHost(
  lab: Lab,
  agents: HostAgents,
  host: HostName,
  held: number,
  xdp = true,
  target: string = VIP4,
): Promise<JoinReport> {
  const holder = await Holder.start(lab, { count: held, target });
  try {
    const start = performance.now();
    await addHost(lab, host);
    await agents.prepareHost(host);
    await agents.reloadInstances();
    agents.writeConfig(host);
    await agents.start(host);
    if (!xdp) agents.detachXdp(host);
    await lab.waitEstablished(lab.hosts);
    await waitVipAt(lab, lab.hosts);
    const joinMs = performance.now() - start;
    const newFlows = await lab.probe({ target, protocol: 'tcp', count: NEW_FLOWS });
    const atJoin = kept(holder, await holder.check(), []);
    await sleep(LAB_AGENT_TIMINGS.graceTimeMs + SETTLE_MS);
    const settled = kept(holder, await holder.check(), []);
    return { joinMs, atJoin, settled, newFlows };
  } finally {
    await holder.stop();
  }
}

/** Stop `host`'s agent and service, take it out of the fabric and the other agents' configs. */
export async function leaveHost(lab: Lab, agents: HostAgents, host: HostName): Promise<void> {
  await agents.stop(host);
  await lab.stopService(host);
  await removeHost(lab, host);
  await agents.reloadInstances();
  await waitVipAt(lab, lab.hosts);
}
