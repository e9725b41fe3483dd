// Connection keeping on the two-host veth lab (test/steer/keeping.ts): 1,000 held connections before
// and 1,000 after a drain of B / an add of B, then the ToR's route moves to B — broken connections with
// the program (two rings + second chance) beside the plain-ECMP baseline (XDP off), and an add without
// the join grace.
import assert from 'node:assert/strict';
import { uniquePrefix } from '../lab/netns.js';
import { keepingScenario } from '../test/steer/keeping.js';
import type { BenchOutput } from './run.js';

const COUNT = 1000;

export async function run(): Promise<BenchOutput> {
  const lines = [
    `${2 * COUNT} held (${COUNT} before, ${COUNT} after the change), then the ECMP route moves to B:`,
  ];
  const data: Record<string, unknown> = { count: COUNT };
  for (const change of ['drain', 'add'] as const) {
    const ours = await keepingScenario(uniquePrefix('steer-keep'), COUNT, true, change);
    const plain = await keepingScenario(uniquePrefix('steer-keep'), COUNT, false, change);
    assert.equal(ours.broken, 0, `${change}: ours broke ${ours.broken}: ${JSON.stringify(ours.reasons)}`);
    lines.push(
      `  ${change} B: two rings + second chance broken ${ours.broken} (held ${JSON.stringify(ours.held)}); plain ECMP broken ${plain.broken}`,
    );
    data[change] = { ours, plain };
  }
  const atOnce = await keepingScenario(uniquePrefix('steer-keep'), COUNT, true, 'add-at-once');
  lines.push(`  add B to both rings at once (no join grace): broken ${atOnce.broken}`);
  data['add-at-once'] = atOnce;
  return { report: lines.join('\n'), data };
}
