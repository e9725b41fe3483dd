// The story of `anycastd demo` (lab/demo.ts runs it): the lab with three real anycastd agents, told step by
// step (DESIGN.md "The lab"): peers come up; three hosts advertise the VIP (each ToR's FIB 3 nexthops, the
// spine's 2 with 6 BGP paths); connections spread over the instances; h2's service is killed under long-lived
// connections and a steady stream of new ones; it returns; h3 is drained and undrained; h1's agent restarts.
// A progress line per step, a summary table at the end; the lab is torn down on success, failure and Ctrl-C.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HOSTS, type HostName, TORS, VIP4, VIP6 } from './addressing.js';
import { METRICS_PORT } from './agent-config.js';
import {
  bringUp,
  drainAndBack,
  failService,
  type KeptReport,
  restartAgent,
  restoreService,
  type SpreadReport,
  STEADY_COUNT,
  STEADY_EVERY_MS,
  spread,
} from './agent-steps.js';
import { HostAgents } from './agents.js';
import { LabError } from './errors.js';
import { runInAsync } from './exec.js';
import type { WithdrawalTimes } from './fabric-checks.js';
import type { ProbeProtocol } from './probe.js';
import { buildLab, type Lab } from './topology.js';

const SPREAD_COUNT = 300;
const HELD = 200;
const SPREAD_PROBES: readonly [string, string, ProbeProtocol][] = [
  ['tcp4', VIP4, 'tcp'],
  ['tcp6', VIP6, 'tcp'],
  ['udp4', VIP4, 'udp'],
  ['http6', VIP6, 'http'],
];

type Log = (line: string) => void;
type Row = [string, string];

const ms = (x: number): string => `${Math.round(x)} ms`;

function fmtWithdrawal(w: WithdrawalTimes): string {
  return `tor1 (FRR) ${ms(w.tor1[4])}, tor2 (BIRD) ${ms(w.tor2[4])}, spine BGP ${ms(w.spineBgp[4])}`;
}

function fmtSpread(r: SpreadReport): string {
  const served = HOSTS.map((h) => `${h} ${r.probe.counts[h] ?? 0}`).join(' / ');
  const arrived = HOSTS.map((h) => `${h} ${r.arrived[h].flowMiss}`).join(' / ');
  const fwd = HOSTS.reduce((n, h) => n + r.arrived[h].forwarded, 0);
  return `served by ${served}; arrived at ${arrived} (new flows in XDP); ${fwd} packets forwarded between hosts; failures ${r.probe.failures}`;
}

function fmtKept(k: KeptReport): string {
  const opened = HOSTS.map((h) => `${h} ${k.opened[h] ?? 0}`).join(' / ');
  return `${opened} held; broken on healthy instances ${k.brokenHealthy}, on the failed one ${k.brokenFailed}`;
}

function fail(where: string, what: string): never {
  throw new LabError('ERR_LAB_TIMEOUT', `${where}: ${what}`);
}

/** One step: a progress line before, its result (or its failure, naming the step) after. */
async function step<T>(log: Log, name: string, fn: () => Promise<T>, show: (r: T) => string): Promise<T> {
  const start = performance.now();
  log(`▸ ${name} ...`);
  try {
    const r = await fn();
    log(`  ✓ ${show(r)} [${((performance.now() - start) / 1000).toFixed(1)} s]`);
    return r;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new LabError('ERR_LAB_COMMAND', `step "${name}" failed: ${msg}`, { cause: err });
  }
}

async function story(lab: Lab, log: Log, rows: Row[]): Promise<void> {
  const agents = new HostAgents(lab);
  const up = await step(
    log,
    'start anycastd on h1, h2, h3 (service on the VIP, XDP on up1/up2, BGP to both ToRs)',
    () => bringUp(lab, agents),
    (r) => `12 host sessions Established in ${ms(r.sessionsMs)}; VIP everywhere ${ms(r.convergeMs)} later`,
  );
  rows.push(['peers Established after agents start', ms(up.sessionsMs)]);
  await step(
    log,
    'three hosts advertise the VIP: ToR FIBs, spine FIB and BGP table, host default routes',
    async () => {
      for (const f of [4, 6] as const) {
        for (const t of TORS)
          if (up.view.tor[t][f].length !== 3)
            fail(`${t} FIB v${f}`, `nexthops ${up.view.tor[t][f].join(',')}`);
        if (up.view.spineFib[f].length !== 2)
          fail(`spine FIB v${f}`, `${up.view.spineFib[f].length} nexthops`);
        if (up.view.spinePathOrigins[f].length !== 6) fail(`spine BGP v${f}`, 'not 6 paths');
        for (const h of HOSTS)
          if (up.defaults[h][f].length !== 2)
            fail(`${h} default v${f}`, `via ${up.defaults[h][f].join(',')}`);
      }
      return up.view;
    },
    (v) =>
      `tor1 → ${v.tor.tor1[4].join(',')}, tor2 → ${v.tor.tor2[4].join(',')} (IPv4 and IPv6); spine FIB ` +
      `${v.spineFib[4].length} nexthops (one per ToR), spine BGP ${v.spinePathOrigins[4].length} paths ` +
      '(ADD-PATH: one per host per ToR); each host one default via up1+up2',
  );
  rows.push(['ToR FIB / spine FIB / spine BGP paths', '3 / 2 / 6 (IPv4 and IPv6)']);
  await step(
    log,
    "each agent's own view: its Prometheus /metrics (in its namespace, 127.0.0.1:9469)",
    () => Promise.all(HOSTS.map((h) => agentView(lab, h))),
    (views) => views.join('; '),
  );
  for (const [name, target, protocol] of SPREAD_PROBES) {
    const r = await step(
      log,
      `${SPREAD_COUNT} ${name} connections to the VIP`,
      async () => {
        const s = await spread(lab, agents, target, protocol, SPREAD_COUNT);
        const missing = HOSTS.filter((h) => (s.probe.counts[h] ?? 0) === 0);
        if (missing.length > 0 || s.probe.failures > 0)
          fail(
            `client → ${target} ${protocol}`,
            `no answer from ${missing.join(',')}, ${s.probe.failures} failures`,
          );
        return s;
      },
      fmtSpread,
    );
    if (name === 'tcp4')
      rows.push(['spread tcp4 (served h1/h2/h3)', HOSTS.map((h) => r.probe.counts[h] ?? 0).join(' / ')]);
  }
  const f = await step(
    log,
    `kill h2's service (SIGKILL) under ${HELD} long-lived connections and ${STEADY_COUNT} new ones every ${STEADY_EVERY_MS} ms`,
    () => failService(lab, 'h2', HELD),
    (r) =>
      `h2 withdrawn: ${fmtWithdrawal(r.withdrawal)}; ${fmtKept(r.kept)}; new connections ` +
      `${r.steady.failures} failed of ${r.steady.attempts} (${HOSTS.map((h) => `${h} ${r.steady.byHost[h] ?? 0}`).join(' / ')})`,
  );
  rows.push([
    'service killed → gone from tor1 / tor2',
    `${ms(f.withdrawal.tor1[4])} / ${ms(f.withdrawal.tor2[4])}`,
  ]);
  rows.push([
    'held connections broken on h1+h3 (kill h2)',
    `${f.kept.brokenHealthy} of ${HELD - f.kept.brokenFailed}`,
  ]);
  rows.push(['new connections failed during the failover', `${f.steady.failures} of ${f.steady.attempts}`]);
  await step(
    log,
    `${SPREAD_COUNT} tcp4 connections without h2`,
    () => spread(lab, agents, VIP4, 'tcp', SPREAD_COUNT),
    fmtSpread,
  );
  const back = await step(
    log,
    "h2's service returns",
    () => restoreService(lab, agents, 'h2'),
    (x) => `VIP at h1, h2, h3 again after ${ms(x)} (rise 2 × 200 ms, then advertise)`,
  );
  rows.push(['service back → VIP at every host', ms(back)]);
  const d = await step(
    log,
    `drain h3 (the control API's drain, as \`anycastd drain web\`) under ${HELD} long-lived connections, then undrain`,
    () => drainAndBack(lab, agents, 'h3', HELD),
    (r) =>
      `drained via ${r.via}; withdrawn: ${fmtWithdrawal(r.withdrawal)}; after drain broken ${r.afterDrain.brokenHealthy}; ` +
      `new connections while drained ${JSON.stringify(r.newWhileDrained.counts)} (h3 must get none); back in ` +
      `${ms(r.backMs)}, after undrain broken ${r.afterBack.brokenHealthy} of ${HELD}; of ${HELD} opened while ` +
      `drained, broken by the undrain ${r.openedWhileOut.settled.brokenHealthy}`,
  );
  rows.push(['drain h3 and back: held connections broken', `${d.afterBack.brokenHealthy} of ${HELD}`]);
  rows.push([
    'undrain h3: connections opened while drained broken',
    `${d.openedWhileOut.settled.brokenHealthy} of ${HELD}`,
  ]);
  rows.push(['drain h3: new connections it still served', `${d.newWhileDrained.counts.h3 ?? 0}`]);
  if ((d.newWhileDrained.counts.h3 ?? 0) > 0)
    fail('drain', `h3 served ${d.newWhileDrained.counts.h3} new connections while drained`);
  const r = await step(
    log,
    `restart h1's agent (SIGTERM, start again) under ${HELD} long-lived connections`,
    () => restartAgent(lab, agents, 'h1', 'SIGTERM', HELD),
    (x) =>
      `back in ${ms(x.backMs)}; pinned maps adopted: ${x.adopted.length}; XDP on up1/up2 ` +
      `${x.progBefore.join(',')} → ${x.progAfter.join(',')}; broken: ${brokenBy(x.kept)}`,
  );
  rows.push(['agent restart: held connections broken', brokenBy(r.kept)]);
}

/** Sessions up and instances whose checks pass, from `host`'s agent's /metrics. */
async function agentView(lab: Lab, host: HostName): Promise<string> {
  const text = await runInAsync(lab.ns(host), 'curl', ['-sf', `http://127.0.0.1:${METRICS_PORT}/metrics`]);
  const ones = (metric: string): number =>
    text.split('\n').filter((l) => l.startsWith(`${metric}{`) && l.endsWith(' 1')).length;
  const sessions = ones('anycastd_bgp_session_up');
  const healthy = ones('anycastd_health_check_up');
  if (sessions !== 4) fail(`${host} /metrics`, `${sessions} BGP sessions up, not 4`);
  return `${host}: ${sessions}/4 sessions up, ${healthy}/3 instances passing`;
}

function brokenBy(k: KeptReport): string {
  return HOSTS.map((h: HostName) => `${h} ${k.check.broken[h] ?? 0}/${k.opened[h] ?? 0}`).join(', ');
}

/** The last lines of a log file, indented (empty if there is none). */
function tail(file: string, lines = 5): string {
  if (!existsSync(file)) return '    (no log)';
  return readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .slice(-lines)
    .map((l) => `    ${l.slice(0, 300)}`)
    .join('\n');
}

function table(rows: readonly Row[]): string {
  const w = Math.max(...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`).join('\n');
}

/** Build the lab, tell the story, print the summary; always tears down. Resolves false if a step failed. */
export async function runLabDemo(log: Log): Promise<boolean> {
  const start = performance.now();
  const stamp: Log = (l) => log(`[${((performance.now() - start) / 1000).toFixed(1).padStart(5)}s] ${l}`);
  const rows: Row[] = [];
  let lab: Lab | undefined;
  let ok = false;
  try {
    lab = await step(
      stamp,
      'build the lab: client, spine, tor1 (FRR), tor2 (BIRD), h1..h3',
      () => buildLab(),
      (l) => `namespaces ${l.prefix}*`,
    );
    await story(lab, stamp, rows);
    ok = true;
  } catch (err) {
    const code = err instanceof LabError ? ` [${err.code}]` : '';
    stamp(`✗ demo failed${code}: ${err instanceof Error ? err.message : String(err)}`);
    if (lab)
      for (const h of HOSTS)
        stamp(`  ${h} agent log, last lines:\n${tail(join(lab.dir, h, 'anycastd.log'))}`);
  } finally {
    lab?.teardown();
  }
  rows.push(['total', `${((performance.now() - start) / 1000).toFixed(1)} s`]);
  log('');
  log('summary');
  log(table(rows));
  return ok;
}
