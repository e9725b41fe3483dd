// Connection keeping on the two-host veth lab (test/steer/keeping.ts): 1,000 held connections before
// and 1,000 during a drain of B, then the ToR's route moves to B — broken connections with the program
// (two rings + second chance) beside the plain-ECMP baseline (XDP off), each asserted and reported.
import assert from 'node:assert/strict';
import { uniquePrefix } from '../test/helpers/netns.js';
import { keepingScenario } from '../test/steer/keeping.js';
import type { BenchOutput } from './run.js';

const COUNT = 1000;

export async function run(): Promise<BenchOutput> {
  const ours = await keepingScenario(uniquePrefix('steer-keep'), COUNT, true);
  const plain = await keepingScenario(uniquePrefix('steer-keep'), COUNT, false);
  assert.equal(ours.broken, 0, `ours broke ${ours.broken}: ${JSON.stringify(ours.reasons)}`);
  const lines = [
    `${2 * COUNT} held (${COUNT} before, ${COUNT} during the drain of B), then the ECMP route moves to B:`,
    `  two rings + second chance: broken ${ours.broken} (held ${JSON.stringify(ours.held)})`,
    `  plain ECMP (XDP off):      broken ${plain.broken} (${JSON.stringify(plain.reasons)})`,
  ];
  return { report: lines.join('\n'), data: { count: COUNT, ours, plain } };
}
