// h1's agent restarted again and again under held connections, with three real agents in the lab:
// RESTARTS rounds (SIGTERM and kill -9 alternating), each after a drain and undrain of a host (h3, h2,
// h1 in turn), checking the connections held through the whole loop and those opened right before each
// stop. Every broken connection counts, whichever instance served it: 0 is asserted. The long run
// (100 restarts, 1,000 held) is bench/restart.bench.ts. The agents run from dist/ (built by `make`): with
// tsx a loaded box takes ~10 s to start one, and pins that old are a host back after an absence, not a
// restart (steer/join-grace.ts RESTART_WINDOW_MS).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bringUp } from '../../lab/agent-steps.js';
import { HostAgents } from '../../lab/agents.js';
import { type RestartLoopReport, restartLoop } from '../../lab/restart-loop.js';
import { buildLab, type Lab } from '../../lab/topology.js';

const log = (l: string): void => void process.stderr.write(`${l}\n`);
/** Restarts in `make test` (the floor is 20); ANYCASTD_E2E_RESTARTS to change. */
const RESTARTS = Number(process.env.ANYCASTD_E2E_RESTARTS ?? 20);
/** Connections in each set (held through, opened before each stop). */
const HELD = Number(process.env.ANYCASTD_E2E_RESTART_HELD ?? 100);

let lab: Lab;
let agents: HostAgents;

before(async () => {
  lab = await buildLab({ log });
  agents = new HostAgents(lab, { fromDist: true });
  await bringUp(lab, agents);
});

after(() => lab?.teardown());

test(`${RESTARTS} restarts of h1's agent (SIGTERM and kill -9 alternating, drains between): 0 broken`, async () => {
  const r: RestartLoopReport = await restartLoop(lab, agents, {
    restarts: RESTARTS,
    held: HELD,
    host: 'h1',
    drainHosts: ['h3', 'h2', 'h1'],
    onRound: (x) =>
      log(
        `restart ${x.round} ${x.signal} (after draining ${x.drained}): back ${Math.round(x.backMs)} ms, ` +
          `broken: opened before the stop ${x.brokenFresh}, held through ${x.brokenHeld}` +
          (x.samples.length ? ` ${JSON.stringify(x.samples)}` : ''),
      ),
  });
  log(
    `e2e restart loop: ${RESTARTS} restarts (${JSON.stringify(r.restartsBySignal)}); broken by kind ` +
      `${JSON.stringify(r.brokenBySignal)}; held through ${r.heldThrough.broken} of ${r.heldThrough.opened}, ` +
      `opened before a stop ${r.fresh.broken} of ${r.fresh.opened}`,
  );
  assert.equal(r.rounds.length, RESTARTS);
  assert.ok(r.heldThrough.opened >= HELD * 0.9, `held ${r.heldThrough.opened} of ${HELD}`);
  assert.equal(r.brokenBySignal.SIGTERM, 0, 'broken by SIGTERM restarts');
  assert.equal(r.brokenBySignal.SIGKILL, 0, 'broken by kill -9 restarts');
  assert.equal(r.heldThrough.broken, 0, 'held through every restart');
});
