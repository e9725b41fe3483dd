// Child of flow-table-size.root.test.ts, run inside a memory cgroup: loads the program with a flow table
// of argv[2] entries and asks check's estimate (flowTableIssues) about it; prints one JSON line
// {load: 'ok' | error code, check: [expected texts]}.
import { flowTableIssues } from '../../src/config/flow-memory.js';
import type { Config } from '../../src/config/types.js';
import { Dataplane } from '../../src/steer/dataplane.js';

const entries = Number(process.argv[2]);
const cfg = { dataplane: { mode: 'xdp', flowTableSize: entries } } as Config;
const check = flowTableIssues(cfg).map((i) => i.expected); // before the load (its memory is freed lazily)
let load = 'ok';
try {
  Dataplane.open({ pin: false, flowTableSize: entries }).close();
} catch (err) {
  load = (err as { code?: string }).code ?? String(err);
}
process.stdout.write(`${JSON.stringify({ load, check })}\n`);
