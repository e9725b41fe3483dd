// Connection keeping across a membership change and an ECMP move, on the two-host veth lab (veth-lab.ts)
// with the lab's own service and holder programs (lab/service.ts, lab/holder.ts, run as they are):
//  1. the ToR sends the VIP to A; rings before the change: `count` held connections;
//  2. the change — `drain`: B leaves `new`, stays in `established` (rings {A,B}/{A,B} → {A}/{A,B});
//     `add`: B joins `new`, `established` after its grace ({A}/{A} → {A,B}/{A}); `add-at-once`: B joins
//     both at once ({A,B}/{A,B}, what the join grace prevents) — then `count` more held connections;
//  3. the ToR's route moves to B (an ECMP change: B has never seen these flows), then every held
//     connection sends a line and must get its own instance's answer.
// `xdp` false runs the same steps with XDP off on both hosts (plain ECMP anycast, the baseline). Used by
// keeping.root.test.ts (small counts) and bench/steer-keeping.bench.ts (1,000).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface, type Interface } from 'node:readline';
import { removeNetnsByPrefix } from '../../lab/netns.js';
import { ifIndex, projectRoot, withNetns } from '../../src/native/index.js';
import { Dataplane, type InstanceSpec } from '../../src/steer/dataplane.js';
import { within } from '../helpers/wait-for.js';
import { buildVethLab, HOST_A, HOST_B, HOST6_A, HOST6_B, VIP } from './veth-lab.js';

const PORT = 8000; // the lab service's TCP port
const SVC = 0;
const A: InstanceSpec = { id: 'a/svc', host4: HOST_A, host6: HOST6_A, local: true };
const B: InstanceSpec = { id: 'b/svc', host4: HOST_B, host6: HOST6_B, local: false };
const LINE_TIMEOUT_MS = 30_000;

export type Change = 'drain' | 'add' | 'add-at-once';

/** Rings (new, established) before and after each change. */
const CHANGES: Record<Change, [InstanceSpec[][], InstanceSpec[][]]> = {
  drain: [
    [
      [A, B],
      [A, B],
    ],
    [[A], [A, B]],
  ],
  add: [
    [[A], [A]],
    [[A, B], [A]],
  ],
  'add-at-once': [
    [[A], [A]],
    [
      [A, B],
      [A, B],
    ],
  ],
};

export interface KeepingReport {
  change: Change;
  xdp: boolean;
  held: Record<string, number>; // per instance, both phases
  broken: number;
  reasons: Record<string, number>;
}

interface Proc {
  p: ChildProcess;
  lines: Interface;
}

function start(ns: string, args: string[]): Proc {
  const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', ...args], {
    cwd: projectRoot(),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return { p, lines: createInterface({ input: p.stdout! }) };
}

function line(proc: Proc): Promise<string> {
  return within(
    once(proc.lines, 'line').then(([l]) => String(l)),
    LINE_TIMEOUT_MS,
    'an answer from a lab process',
  );
}

/** Runs the three steps; `xdp` false is the plain-ECMP baseline. */
export async function keepingScenario(
  prefix: string,
  count: number,
  xdp: boolean,
  change: Change = 'drain',
  recordSettled = true, // false: the hosts record only flows a ring change could move (bpf/README.md "Fewer inserts")
): Promise<KeepingReport> {
  const [before, after] = CHANGES[change];
  const lab = buildVethLab(prefix);
  const procs: Proc[] = [];
  const dps: Dataplane[] = [];
  try {
    lab.tor.exec(['ethtool', '-K', 'tB', 'tx', 'off']); // after the move, B encapsulates the ToR's frames
    const dpA = Dataplane.open({ pin: false, host4: HOST_A, host6: HOST6_A, recordSettled });
    dps.push(dpA);
    const dpB = Dataplane.open({ pin: false, host4: HOST_B, host6: HOST6_B, recordSettled });
    dps.push(dpB);
    const rings = (fresh: InstanceSpec[], established: InstanceSpec[]): void => {
      for (const [dp, me] of [
        [dpA, A.id],
        [dpB, B.id],
      ] as const) {
        const view = (xs: InstanceSpec[]) => xs.map((i) => ({ ...i, local: i.id === me }));
        dp.setServiceRings(SVC, { new: view(fresh), established: view(established) });
      }
    };
    for (const dp of dps) dp.setVips([{ vipId: 0, serviceId: SVC, addr: VIP, proto: 'tcp', port: PORT }]);
    rings(before[0]!, before[1]!);
    if (xdp) {
      withNetns(lab.nsA.name, () => dpA.attach(ifIndex('up0'), 'native'));
      withNetns(lab.nsB.name, () => dpB.attach(ifIndex('up0'), 'native'));
    }
    for (const [ns, id] of [
      [lab.nsA.name, 'A'],
      [lab.nsB.name, 'B'],
    ] as const) {
      const s = start(ns, ['lab/service.ts', '--id', id, '--bind', VIP]);
      procs.push(s);
      if ((await line(s)) !== 'ready') throw new Error(`service ${id} did not start`);
    }
    const hold = async (): Promise<Proc> => {
      const h = start(lab.tor.name, ['lab/holder.ts', '--target', VIP, '--count', String(count)]);
      procs.push(h);
      const opened = JSON.parse(await line(h)) as { failed: number };
      if (opened.failed > 0) throw new Error(`holder: ${opened.failed} connections failed to open`);
      return h;
    };
    const first = await hold();
    rings(after[0]!, after[1]!);
    const second = await hold();
    lab.tor.ip(['route', 'replace', `${VIP}/32`, 'via', '198.51.100.131']); // ECMP move to B
    const report: KeepingReport = { change, xdp, held: {}, broken: 0, reasons: {} };
    for (const h of [first, second]) {
      h.p.stdin!.write('check\n');
      const r = JSON.parse(await line(h)) as {
        alive: Record<string, number>;
        broken: Record<string, number>;
        reasons: Record<string, number>;
      };
      for (const rec of [r.alive, r.broken])
        for (const [host, n] of Object.entries(rec)) report.held[host] = (report.held[host] ?? 0) + n;
      for (const n of Object.values(r.broken)) report.broken += n;
      for (const [why, n] of Object.entries(r.reasons)) report.reasons[why] = (report.reasons[why] ?? 0) + n;
    }
    return report;
  } finally {
    for (const { p } of procs) p.kill();
    removeNetnsByPrefix(prefix);
    for (const dp of dps) dp.close();
    lab.pass.close();
  }
}
