// Graceful restart as the restarting speaker (RFC 4724) in the full lab: three real agents, the ToRs
// (FRR tor1, BIRD tor2) as graceful restart helpers, h1's agent restarted with SIGTERM under HELD held
// connections. The VIP's route in each ToR's FIB is followed continuously (`ip -ts monitor route`)
// from the stop until the VIP is at every host again: no change at either ToR (h1 never left), no
// connection broken. The same restart against ToRs without graceful restart is in
// bench/graceful-restart.bench.ts (the ToRs drop h1 and take it back).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bringUp } from '../../lab/agent-steps.js';
import { HostAgents } from '../../lab/agents.js';
import { watchedRestart } from '../../lab/graceful-restart.js';
import { buildLab, type Lab } from '../../lab/topology.js';

const log = (l: string): void => void process.stderr.write(`${l}\n`);
const HELD = Number(process.env.ANYCASTD_E2E_GR_HELD ?? 100);

let lab: Lab;
let agents: HostAgents;

before(async () => {
  lab = await buildLab({ log, gracefulRestart: true });
  agents = new HostAgents(lab, { fromDist: true });
  await bringUp(lab, agents);
});

after(() => lab?.teardown());

test(`h1's agent restarted (SIGTERM) under ${HELD} held, ToRs as graceful restart helpers: no ToR FIB change, 0 broken`, async () => {
  const r = await watchedRestart(lab, agents, 'h1', HELD);
  log(
    `e2e graceful restart: VIP route changes tor1 (FRR) ${r.fibChanges.tor1}, tor2 (BIRD) ${r.fibChanges.tor2}; ` +
      `broken ${r.broken} of ${r.held}; back ${r.backMs} ms`,
  );
  assert.deepEqual(r.fibChanges, { tor1: 0, tor2: 0 }, 'the ToRs kept h1 in the VIP route throughout');
  assert.equal(r.broken, 0);
});
