// Failure → withdrawal benchmark (DESIGN.md "Measures that matter"): the real agent
// (`anycastd run`) on lab host h2 of the full fabric (lab/topology.ts: tor1 = FRR, tor2 = BIRD),
// its service (the lab's Node TCP server) SIGKILLed, ms until h2 leaves each ToR's kernel FIB for the
// VIP (IPv4 and IPv6: the kernel's route events, `ip -ts monitor route`), then the service restarted
// and its re-advertisement awaited. h2's check: TCP, interval 1 s, fall 2, rise 1 (only to shorten
// the restore), no faster interval; the kill spread evenly over the check's phase; two modes over
// TRIALS trials each:
//  - event: the listener watch on (socket-gone fails the check at once);
//  - poll: the listener watch off (the check's interval alone).
// The floor, measured the same way in the same run: h2's agent replaced by a BIRD stand-in that
// withdraws the VIP by `birdc disable` of its static protocols (a plain withdrawal UPDATE).
// The references (BIRD + 1 s poll script, ExaBGP healthcheck, FRR floor) were measured elsewhere on
// this machine (DESIGN.md); they are printed beside ours, not re-measured here.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { HOSTS, TORS, type TorName } from '../lab/addressing.js';
import { type AgentTimings, LAB_AGENT_TIMINGS, renderAgentConfig } from '../lab/agent-config.js';
import { HostAgents } from '../lab/agents.js';
import { birdc } from '../lab/bird.js';
import { sleep } from '../lab/exec.js';
import { waitVipAt } from '../lab/fabric-checks.js';
import { buildLab, type Lab } from '../lab/topology.js';
import { type Dist, perTor } from './failover-stats.js';
import { FailoverWatch, type TorTimes } from './failover-watch.js';
import type { BenchOutput } from './run.js';

const TRIALS = Number(process.env.ANYCASTD_BENCH_FAILOVER_TRIALS ?? 50);
const FLOOR_TRIALS = Number(process.env.ANYCASTD_BENCH_FAILOVER_FLOOR_TRIALS ?? 20);
const HOST = 'h2';
const GONE_TIMEOUT_MS = 10_000;
const BACK_TIMEOUT_MS = 30_000;
const SESSIONS_TIMEOUT_MS = 30_000;
/** The check of h2's service in both modes: interval 1 s, fall 2 (a dead service seen within ~2 s). */
const TIMINGS: AgentTimings = {
  ...LAB_AGENT_TIMINGS,
  checkIntervalMs: 1000,
  checkTimeoutMs: 500,
  rise: 1,
  fall: 2,
};
const WATCH_ON = 'watch_socket: true';
const WATCH_OFF = 'watch_socket: false';
/** Measured elsewhere on this machine (DESIGN.md "Measures that matter"), p99 in ms. */
const REFERENCES = { birdPollScriptP99: 2100, exabgpHealthcheckP99: 6900, frrTorFloor: 61, aimFrrP99: 120 };
const TOR_DAEMON: Record<TorName, string> = { tor1: 'FRR', tor2: 'BIRD' };

function writeHostConfig(agents: HostAgents, watch: boolean): void {
  const p = agents.paths(HOST);
  const yaml = renderAgentConfig(HOST, p, TIMINGS);
  assert.ok(yaml.includes(WATCH_ON), 'the lab config has the listener watch');
  writeFileSync(p.config, watch ? yaml : yaml.replace(WATCH_ON, WATCH_OFF));
}

async function killTrials(
  lab: Lab,
  agents: HostAgents,
  watch: FailoverWatch,
  n: number,
): Promise<TorTimes[]> {
  const out: TorTimes[] = [];
  for (let i = 0; i < n; i++) {
    // Spread the kill evenly over the check's phase: just after waitBack() it would always land right
    // after a passing check (the poll figure would sit at its worst case, 2 intervals, every time).
    await sleep((i / n) * TIMINGS.checkIntervalMs);
    watch.forget();
    out.push(await watch.timeGone(HOST, () => lab.stopService(HOST, 'SIGKILL'), GONE_TIMEOUT_MS));
    await agents.startService(HOST);
    await watch.waitBack(HOST, BACK_TIMEOUT_MS);
  }
  return out;
}

/** h2's agent out, a BIRD stand-in in: withdraw by `birdc disable` of its static protocols, n times. */
async function floorTrials(
  lab: Lab,
  agents: HostAgents,
  watch: FailoverWatch,
  n: number,
): Promise<TorTimes[]> {
  await agents.stop(HOST, 'SIGTERM');
  const bird = await lab.startHostStandIn(HOST);
  await watch.waitBack(HOST, BACK_TIMEOUT_MS);
  const both = (verb: string) => Promise.all([4, 6].map((f) => birdc(bird.ctl, `${verb} own${f}`)));
  const out: TorTimes[] = [];
  for (let i = 0; i < n; i++) {
    watch.forget();
    out.push(await watch.timeGone(HOST, async () => void (await both('disable')), GONE_TIMEOUT_MS));
    await both('enable');
    await watch.waitBack(HOST, BACK_TIMEOUT_MS);
  }
  return out;
}

export async function run(): Promise<BenchOutput> {
  const t0 = performance.now();
  const lab = await buildLab();
  let watch: FailoverWatch | undefined;
  try {
    const agents = new HostAgents(lab);
    await agents.prepare();
    writeHostConfig(agents, true);
    await agents.startAll();
    await lab.waitEstablished(HOSTS, SESSIONS_TIMEOUT_MS);
    await waitVipAt(lab, HOSTS);
    watch = await FailoverWatch.start(lab);
    const event = perTor(await killTrials(lab, agents, watch, TRIALS));
    await agents.stop(HOST, 'SIGTERM');
    writeHostConfig(agents, false);
    await agents.start(HOST);
    await watch.waitBack(HOST, BACK_TIMEOUT_MS);
    const poll = perTor(await killTrials(lab, agents, watch, TRIALS));
    const floor = perTor(await floorTrials(lab, agents, watch, FLOOR_TRIALS));
    const data = {
      trials: TRIALS,
      floorTrials: FLOOR_TRIALS,
      check: {
        intervalMs: TIMINGS.checkIntervalMs,
        timeoutMs: TIMINGS.checkTimeoutMs,
        fall: TIMINGS.fall,
        rise: TIMINGS.rise,
      },
      event,
      poll,
      floor,
      referencesMeasuredElsewhere: REFERENCES,
      totalS: Math.round((performance.now() - t0) / 1000),
    };
    const line = (name: string, d: Record<TorName, Dist>) =>
      `  ${name}: ${TORS.map((t) => `${t} (${TOR_DAEMON[t]}) p50 ${d[t].p50} p99 ${d[t].p99} max ${d[t].max}`).join('; ')}`;
    const lines = [
      `service SIGKILLed → VIP route gone from the ToR's kernel FIB (ms; ${TRIALS} trials × IPv4+IPv6; ` +
        `check TCP every ${TIMINGS.checkIntervalMs} ms, fall ${TIMINGS.fall}):`,
      line('event (socket gone)', event),
      line('poll (1 s, fall 2)  ', poll),
      line(`floor (BIRD stand-in, birdc disable; ${FLOOR_TRIALS} trials)`, floor),
      `  event p99 at FRR ÷ floor p99 at FRR: ${(event.tor1.p99 / floor.tor1.p99).toFixed(2)}×; poll ÷ event at FRR: ${(poll.tor1.p99 / event.tor1.p99).toFixed(1)}×`,
      `  references measured elsewhere on this machine (DESIGN.md), not in this run: BIRD + 1 s poll script p99 ≈ ${REFERENCES.birdPollScriptP99} ms; ` +
        `ExaBGP healthcheck p99 ≈ ${REFERENCES.exabgpHealthcheckP99} ms; FRR ToR floor ≈ ${REFERENCES.frrTorFloor} ms; aim p99 < ${REFERENCES.aimFrrP99} ms at an FRR ToR ` +
        `(ours: ${event.tor1.p99} ms ${event.tor1.p99 < REFERENCES.aimFrrP99 ? 'meets' : 'misses'} it)`,
      `  total ${data.totalS} s`,
    ];
    return { report: lines.join('\n'), data };
  } finally {
    await watch?.stop();
    lab.teardown();
  }
}
