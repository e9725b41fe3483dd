// Build the lab fabric by hand, prove it and tear it down, with a progress line per step:
//   sudo node --import tsx src/lab/run-fabric.ts [--keep]
// --keep leaves the lab up until Enter is pressed (inspect it with `ip netns`, `vtysh --vty_socket
// /tmp/acdlab-<pid36>-0/spine`, `birdc -s /tmp/acdlab-<pid36>-0/tor2/bird.ctl`). Ctrl-C tears down too.

import { createInterface } from 'node:readline';
import { fmtWithdrawal, runFabricScenario } from './fabric-scenario.js';
import { buildLab } from './topology.js';

function stamp(start: number): (line: string) => void {
  return (line) => process.stdout.write(`[${((performance.now() - start) / 1000).toFixed(2)}s] ${line}\n`);
}

async function main(): Promise<void> {
  const keep = process.argv.includes('--keep');
  const start = performance.now();
  const log = stamp(start);
  const lab = await buildLab({ log });
  try {
    const r = await runFabricScenario(lab, log);
    process.stdout.write(
      [
        '',
        'summary',
        `  sessions Established after hosts start   ${Math.round(r.sessionsMs)} ms (${r.sessions.length} sessions)`,
        `  VIP converged after sessions             ${Math.round(r.convergeMs)} ms`,
        `  ToR FIB nexthops (v4/v6)                 tor1 ${r.converged.tor.tor1[4].length}/${r.converged.tor.tor1[6].length}, tor2 ${r.converged.tor.tor2[4].length}/${r.converged.tor.tor2[6].length}`,
        `  spine FIB nexthops / BGP paths (v4)      ${r.converged.spineFib[4].length} / ${r.converged.spinePathOrigins[4].length}`,
        `  withdrawal, SIGTERM (ms)                 ${fmtWithdrawal(r.gracefulWithdrawal)}`,
        `  withdrawal, SIGKILL (ms)                 ${fmtWithdrawal(r.abruptWithdrawal)}`,
        `  rejoin                                   ${Math.round(r.rejoinMs)} ms`,
        `  total                                    ${((performance.now() - start) / 1000).toFixed(1)} s`,
        '',
      ].join('\n'),
    );
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
