// Build the lab fabric by hand, prove it and tear it down, with a progress line per step:
//   sudo node --import tsx lab/run-fabric.ts [--trials N] [--keep]
// --trials N then repeats withdraw-and-rejoin of h2 N times per signal and prints p50/p99/max.
// --keep leaves the lab up until Enter is pressed (inspect it with `ip netns`, `vtysh --vty_socket
// /tmp/acdlab-<pid36>-0/spine`, `birdc -s /tmp/acdlab-<pid36>-0/tor2/bird.ctl`). Ctrl-C tears down too.

import { createInterface } from 'node:readline';
import { HOSTS } from './addressing.js';
import { waitVipAt } from './fabric-checks.js';
import { fmtWithdrawal, percentile, runFabricScenario, withdrawalTrials } from './fabric-scenario.js';
import { buildLab, type Lab } from './topology.js';

function stamp(start: number): (line: string) => void {
  return (line) => process.stdout.write(`[${((performance.now() - start) / 1000).toFixed(2)}s] ${line}\n`);
}

async function runTrials(lab: Lab, n: number, log: (line: string) => void): Promise<void> {
  await lab.startHostStandIn('h3'); // the scenario ends with h3 killed
  await waitVipAt(lab, HOSTS);
  for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
    const runs = await withdrawalTrials(lab, 'h2', sig, n);
    for (const where of ['tor1', 'tor2', 'spineBgp'] as const) {
      const xs = runs.flatMap((r) => [r[where][4], r[where][6]]);
      const f = (p: number) => Math.round(percentile(xs, p));
      log(
        `${sig} ${where}: p50 ${f(0.5)} ms, p99 ${f(0.99)} ms, max ${f(1)} ms over ${xs.length} (IPv4 and IPv6)`,
      );
    }
  }
}

async function main(): Promise<void> {
  const keep = process.argv.includes('--keep');
  const at = process.argv.indexOf('--trials');
  const trials = at > 0 ? Number(process.argv[at + 1]) : 0;
  const start = performance.now();
  const log = stamp(start);
  const lab = await buildLab({ log });
  try {
    const r = await runFabricScenario(lab, log);
    process.stdout.write(
      [
        '',
        'summary',
        `  sessions Established after speakers start ${Math.round(r.sessionsMs)} ms (${r.sessions.length} sessions)`,
        `  VIP converged after sessions              ${Math.round(r.convergeMs)} ms`,
        `  ToR FIB nexthops (v4/v6)                  tor1 ${r.converged.tor.tor1[4].length}/${r.converged.tor.tor1[6].length}, tor2 ${r.converged.tor.tor2[4].length}/${r.converged.tor.tor2[6].length}`,
        `  spine FIB nexthops / BGP paths (v4)       ${r.converged.spineFib[4].length} / ${r.converged.spinePathOrigins[4].length}`,
        `  withdrawal, SIGTERM (ms)                  ${fmtWithdrawal(r.gracefulWithdrawal)}`,
        `  withdrawal, SIGKILL (ms)                  ${fmtWithdrawal(r.abruptWithdrawal)}`,
        `  rejoin                                    ${Math.round(r.rejoinMs)} ms`,
        `  tor2 down → all via tor1 / tor2 back      ${Math.round(r.torDownMs)} ms / ${Math.round(r.torBackMs)} ms`,
        `  total                                     ${((performance.now() - start) / 1000).toFixed(1)} s`,
        '',
      ].join('\n'),
    );
    if (trials > 0) await runTrials(lab, trials, log);
    if (keep) {
      process.stdout.write(`lab ${lab.prefix} is up; press Enter to tear it down\n`);
      const rl = createInterface({ input: process.stdin });
      await new Promise<void>((resolve) => rl.once('line', () => resolve()));
      rl.close();
    }
  } finally {
    lab.teardown();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`run-fabric: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
