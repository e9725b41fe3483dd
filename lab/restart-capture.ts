// Diagnosis by hand (root): drain h3 and back, then restart h1's agent (SIGTERM / SIGKILL alternating),
// with tcpdump running in every namespace during the restart and the check; stops at the first restart
// that broke held connections and keeps its captures.
//   node --import tsx lab/restart-capture.ts [--held 70] [--rounds 30] [--out /tmp/rcap]
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HOSTS, SERVICE_PORTS } from './addressing.js';
import { bringUp, restartAgent } from './agent-steps.js';
import { HostAgents } from './agents.js';
import { sleep } from './exec.js';
import { waitVipAt } from './fabric-checks.js';
import { buildLab } from './topology.js';

const { values } = parseArgs({
  options: { held: { type: 'string' }, rounds: { type: 'string' }, out: { type: 'string' } },
});
const held = Number(values.held ?? 70);
const out = values.out ?? '/tmp/rcap';
const NODES = ['client', 'tor1', 'tor2', ...HOSTS] as const;
const filter = `tcp port ${SERVICE_PORTS.tcp} or ip proto 4 or ip6 proto 41 or ip6 proto 41 or icmp`;
const lab = await buildLab();
try {
  const agents = new HostAgents(lab);
  await bringUp(lab, agents);
  for (let round = 1; round <= Number(values.rounds ?? 30); round++) {
    await agents.setDrained('h3', true);
    await waitVipAt(lab, ['h1', 'h2']);
    await agents.setDrained('h3', false);
    await waitVipAt(lab, HOSTS);
    const sig = round % 2 ? 'SIGTERM' : 'SIGKILL';
    const dir = join(out, `r${round}`);
    mkdirSync(dir, { recursive: true });
    const dumps: ChildProcess[] = NODES.map((n) =>
      spawn(
        'ip',
        [
          'netns',
          'exec',
          lab.ns(n),
          'tcpdump',
          '-i',
          'any',
          '-nn',
          '-U',
          '-s',
          '200',
          '-w',
          join(dir, `${n}.pcap`),
          filter,
        ],
        {
          stdio: 'ignore',
        },
      ),
    );
    await sleep(500);
    const r = await restartAgent(lab, agents, 'h1', sig, held);
    await sleep(300);
    for (const p of dumps) p.kill('SIGINT');
    await Promise.all(dumps.map((p) => new Promise((res) => p.once('exit', res))));
    console.log(
      `round ${round} restart ${sig} back ${Math.round(r.backMs)} ms broken ${JSON.stringify(r.kept.check.broken)} of ${JSON.stringify(r.kept.opened)} ${JSON.stringify(r.kept.check.reasons)}`,
    );
    if (r.kept.brokenHealthy > 0) {
      for (const s of r.kept.check.samples) console.log(`  ${s}`);
      for (const h of HOSTS) {
        cpSync(join(lab.dir, h, 'anycastd.log'), join(dir, `${h}-anycastd.log`));
        writeFileSync(
          join(dir, `${h}-nstat.txt`),
          execFileSync('ip', ['netns', 'exec', lab.ns(h), 'nstat', '-az']),
        );
        writeFileSync(
          join(dir, `${h}-ss.txt`),
          execFileSync('ip', ['netns', 'exec', lab.ns(h), 'ss', '-tanoi']),
        );
      }
      for (const t of ['tor1', 'tor2', 'spine'] as const)
        writeFileSync(
          join(dir, `${t}-nstat.txt`),
          execFileSync('ip', ['netns', 'exec', lab.ns(t), 'nstat', '-az']),
        );
      console.log(`captures in ${dir}; lab dir ${lab.dir}`);
      break;
    }
    rmSync(dir, { recursive: true, force: true });
  }
} finally {
  lab.teardown();
}
