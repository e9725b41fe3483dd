// Fleet mode join and leave, step by step, for diagnosis: the lab and its store (lab/etcd-steps.ts), h4
// joined and removed under held connections, and per host what its agent logged about the rings and
// registrations, with its XDP counters. Usage (root, from the checkout; the agents run from dist/):
//   node --import tsx lab/etcd-diagnose.ts [--held 100] [--leave term|kill] [--rounds 1]

import { parseArgs } from 'node:util';
import { HOSTS, type HostName } from './addressing.js';
import { bringUpFleet, type FleetLab, faultLine, joinNewHost, removeNewHost } from './etcd-steps.js';
import { readXdpCounters } from './xdp-counters.js';

const { values } = parseArgs({
  options: {
    held: { type: 'string', default: '100' },
    leave: { type: 'string', default: 'term' },
    rounds: { type: 'string', default: '1' },
  },
});
const held = Number(values.held);
const leaveSignal = values.leave === 'kill' ? 'SIGKILL' : 'SIGTERM';
const log = (l: string): void => void process.stderr.write(`${l}\n`);
const ALL: HostName[] = [...HOSTS, 'h4'];
const WATCHED =
  /ring-updated|instance-failed|instance-valid|drain|advertis|withdraw|settled|lease|etcd-connected|agent-started|xdp-attached/;

function dump(f: FleetLab, since: Map<HostName, number>): void {
  for (const h of ALL) {
    const ev = f.agents.events(h);
    for (const e of ev.slice(since.get(h) ?? 0))
      if (h === 'h4' || WATCHED.test(e.event ?? '')) log(`  ${h} ${JSON.stringify(e)}`);
    since.set(h, ev.length);
    try {
      log(`  ${h} xdp ${JSON.stringify(readXdpCounters(f.agents.paths(h).pins))}`);
    } catch {
      // no pins
    }
  }
}

const f = await bringUpFleet(log);
try {
  const since = new Map<HostName, number>();
  dump(f, since);
  for (let round = 0; round < Number(values.rounds); round++) {
    log(`--- round ${round + 1}: join`);
    await joinNewHost(f, held).then(
      (r) => log(faultLine('join', r)),
      (err: unknown) => log(`join failed: ${String(err)}`),
    );
    dump(f, since);
    log(`--- round ${round + 1}: leave (${leaveSignal})`);
    await removeNewHost(f, held, leaveSignal).then(
      (r) => log(faultLine('leave', r)),
      (err: unknown) => log(`leave failed: ${String(err)}`),
    );
    dump(f, since);
  }
} finally {
  f.lab.teardown();
}
