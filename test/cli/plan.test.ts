// `anycastd plan` and `check --diff` on real configs: offline between two files (a peer's hold time
// resets its session, an import policy change only refreshes, a password change resets without the
// password ever printed, a service swapped for another adds and withdraws its VIP, a fourth instance
// moves the share of the ring the real Maglev tables say — checked against buildMaglev directly — and a
// ring size change is estimated); and against a running agent over its control socket, whose `new`
// ring holds only the instances its real checks pass.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitFor } from '../../lab/exec.js';
import { Agent } from '../../src/agent/agent.js';
import { silentSink } from '../../src/agent/log.js';
import { NoSteering } from '../../src/agent/no-steering.js';
import { callOnce } from '../../src/api/client.js';
import { parseConfig } from '../../src/config/load.js';
import { realHealth } from '../../src/daemon/health.js';
import { startOps } from '../../src/daemon/ops.js';
import { buildMaglev, EMPTY } from '../../src/steer/maglev.js';
import { FakeAnnouncer, FakeHost, Recorder } from '../agent/fakes.js';
import { scratchDir } from '../helpers/scratch-dir.js';
import { cli } from './run-cli.js';

const RING = 65537;
/**
 * The checks run once at the agent's start and must end by their command's exit, never by the timeout
 * (a timeout would take h1 or h2 out of the live ring): far above what starting `sh` takes on a loaded box.
 */
const CHECK_INTERVAL = '20s';
const CHECK_TIMEOUT = '10s';
/**
 * h3 (remote) is down at the start, so the agent settles web only at grace_time (src/agent/settling.ts):
 * short, so the live ring is there at once rather than after the default 10 s (a check that has not
 * ended by then joins the ring when it passes, which the test waits for).
 */
const GRACE_TIME = '200ms';

function yaml(o: {
  hold?: string;
  accept?: string;
  password?: string;
  instances?: number;
  second?: string;
  ring?: number;
}) {
  const n = o.instances ?? 3;
  const inst = Array.from(
    { length: n },
    (_, i) => `      - { id: h${i + 1}, host: { ipv4: 127.0.0.${i + 1} } }`,
  );
  return `node: { id: h1, host: { ipv4: 127.0.0.1 }, asn: 4200000011, uplinks: [eth0] }
bgp:
  peers:
    - { name: tor1, address: 198.51.100.0, remote_asn: 65001, hold_time: ${o.hold ?? '9s'}${o.accept ? `, import: { accept: [${o.accept}] }` : ''} }
    - { name: tor2, address: 198.51.100.2, remote_asn: 65002, password: ${o.password ?? 's3cret-one'} }
services:
  - name: web
    vips: [203.0.113.10]
    ports: [{ protocol: tcp, port: 80 }]
    instances:
${inst.join('\n')}
    checks: [{ type: exec, command: [sh, -c, 'test "$ANYCASTD_TARGET" != 127.0.0.3'], interval: ${CHECK_INTERVAL}, timeout: ${CHECK_TIMEOUT}, rise: 1 }]
    grace_time: ${GRACE_TIME}
  - name: ${o.second ?? 'old'}
    vips: [${o.second === 'api' ? '203.0.113.20' : '203.0.113.30'}]
    ports: [{ protocol: tcp, port: 81 }]
    instances: [{ id: h1, host: { ipv4: 127.0.0.1 } }]
    checks: [{ type: exec, command: ["true"], interval: ${CHECK_INTERVAL}, timeout: ${CHECK_TIMEOUT}, rise: 1 }]
dataplane: { ring_size: ${o.ring ?? RING} }
cluster: { enabled: false }
`;
}

/** Share of buckets whose owner differs between the tables of two member sets (the oracle). */
function moved(before: string[], after: string[]): number {
  const a = buildMaglev(
    before.map((id) => ({ id })),
    RING,
  );
  const b = buildMaglev(
    after.map((id) => ({ id })),
    RING,
  );
  let n = 0;
  for (let i = 0; i < RING; i++) {
    const x = a.table[i] === EMPTY ? null : a.ids[a.table[i]!];
    const y = b.table[i] === EMPTY ? null : b.ids[b.table[i]!];
    if (x !== y) n++;
  }
  return n / RING;
}

interface PlanJson {
  ok: boolean;
  plan: {
    sessions: { peer: string; action: string; fields: string[] }[];
    routes: { prefix: string; service: string; action: string }[];
    rings: {
      service: string;
      moved: number;
      sampled: boolean;
      membersBefore: string[];
      membersAfter: string[];
    }[];
    restartRequired: string[];
  };
}

test('plan --from: sessions, routes and ring moves between two real files', async (t) => {
  const { file } = scratchDir(t, 'acd-plan-');
  const old = file('old.yaml', yaml({}));
  const grown = file(
    'grown.yaml',
    yaml({ hold: '6s', accept: '0.0.0.0/0', password: 's3cret-two', instances: 4, second: 'api' }),
  );
  const policy = file('policy.yaml', yaml({ accept: '0.0.0.0/0' }));
  const resized = file('resized.yaml', yaml({ ring: 251 }));
  const [g, gText, p, r, same] = await Promise.all([
    cli(['plan', '--from', old, '-c', grown, '--json']),
    cli(['plan', '--from', old, '-c', grown]),
    cli(['plan', '--from', old, '-c', policy, '--json']),
    cli(['plan', '--from', old, '-c', resized, '--json']),
    cli(['plan', '--from', old, '-c', old]),
  ]);
  for (const x of [g, gText, p, r, same]) assert.equal(x.code, 0, x.stderr);
  const gp = (JSON.parse(g.stdout) as PlanJson).plan;
  assert.deepEqual(
    gp.sessions.map((s) => [s.peer, s.action]),
    [
      ['tor1', 'reset'],
      ['tor2', 'reset'],
    ],
  );
  assert.ok(gp.sessions[0]!.fields.includes('holdTimeMs'));
  assert.deepEqual(gp.sessions[1]!.fields, ['password']);
  assert.ok(!`${g.stdout}${gText.stdout}`.includes('s3cret'), 'no password printed');
  assert.deepEqual(gp.routes, [
    { prefix: '203.0.113.20/32', service: 'api', action: 'advertise' },
    { prefix: '203.0.113.30/32', service: 'old', action: 'withdraw' },
  ]);
  assert.equal(gp.rings.length, 1);
  const web = gp.rings[0]!;
  assert.deepEqual(
    [web.membersBefore, web.membersAfter],
    [
      ['h1', 'h2', 'h3'],
      ['h1', 'h2', 'h3', 'h4'],
    ],
  );
  assert.equal(web.moved, moved(['h1', 'h2', 'h3'], ['h1', 'h2', 'h3', 'h4']));
  assert.ok(web.moved >= 0.25 && web.moved < 0.27, `a fourth instance moves ~1/4: ${web.moved}`);
  assert.match(gText.stdout, /^ {2}web: 25\.\d% {2}\[h1,h2,h3\] -> \[h1,h2,h3,h4\]$/m);
  assert.match(gText.stdout, /^ {2}\+ 203\.0\.113\.20\/32 {2}api/m);

  const pp = (JSON.parse(p.stdout) as PlanJson).plan;
  assert.deepEqual(pp.sessions, [{ peer: 'tor1', action: 'refresh', fields: ['importAccept'] }]);
  assert.deepEqual([pp.routes, pp.rings], [[], []]);

  const rp = (JSON.parse(r.stdout) as PlanJson).plan;
  assert.deepEqual(rp.restartRequired, ['dataplane.ringSize']);
  assert.equal(rp.rings.length, 2);
  const webResized = rp.rings.find((x) => x.service === 'web')!;
  assert.equal(webResized.sampled, true);
  // new buckets, same three owners: a flow keeps its instance with probability ~1/3
  assert.ok(webResized.moved > 0.6 && webResized.moved < 0.73, String(webResized.moved));
  assert.equal(rp.rings.find((x) => x.service === 'old')!.moved, 0, 'one instance: nothing moves');
  assert.match(same.stdout, /no change$/m);
});

test('check --diff and plan against a running agent: its live ring, its running config', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'acd-plan-agent-'));
  const socket = join(dir, 'anycastd.sock');
  const running = `${yaml({})}api: { socket: ${socket} }\n`;
  const config = parseConfig(running, join(dir, 'anycastd.yaml'));
  const agent = new Agent(config, {
    announcer: new FakeAnnouncer(new Recorder()),
    host: new FakeHost(new Recorder()),
    steering: new NoSteering(),
    health: realHealth(),
    sink: silentSink,
    flushTimeoutMs: 200,
  });
  const ops = await startOps(
    { agent, version: '0.1.0', startedAt: Date.now() },
    { metricsListen: '127.0.0.1:0', socket },
  );
  t.after(async () => {
    await agent.stop(500);
    await ops.close();
    rmSync(dir, { recursive: true, force: true });
  });
  agent.start();
  // h3's check fails (its target is 127.0.0.3): the live `new` ring is h1, h2
  await waitFor(
    'the live ring',
    async () => {
      const { instances } = await callOnce(socket, 'instances', { service: 'web' });
      const inNew = instances.filter((i) => i.inNew).map((i) => i.id);
      return inNew.join() === 'h1,h2' && instances.find((i) => i.id === 'h3')?.health === 'down'
        ? true
        : undefined;
    },
    10_000,
  );
  const next = join(dir, 'next.yaml');
  writeFileSync(next, `${yaml({ instances: 4 })}api: { socket: ${socket} }\n`);
  const [diffText, planJson, unreachable] = await Promise.all([
    cli(['check', '-c', next, '--diff', '--socket', socket]),
    cli(['plan', '-c', next, '--socket', socket, '--json']),
    cli(['plan', '-c', next, '--socket', join(dir, 'nobody.sock')]),
  ]);
  assert.equal(diffText.code, 0, diffText.stderr);
  assert.match(diffText.stdout, /next\.yaml: ok/);
  assert.match(diffText.stdout, /over the running agent \(.*anycastd\.yaml\)/);
  const expected = moved(['h1', 'h2'], ['h1', 'h2', 'h4']);
  assert.match(
    diffText.stdout,
    new RegExp(`^ {2}web: ${(expected * 100).toFixed(1)}% {2}\\[h1,h2\\] -> \\[h1,h2,h4\\]$`, 'm'),
  );
  const plan = (JSON.parse(planJson.stdout) as PlanJson).plan;
  assert.deepEqual(plan.sessions, []);
  assert.equal(plan.rings[0]!.moved, expected);
  assert.ok(expected > 0.33 && expected < 0.35, `a third of h1+h2's buckets go to h4: ${expected}`);
  assert.equal(unreachable.code, 3, unreachable.stderr);
});
