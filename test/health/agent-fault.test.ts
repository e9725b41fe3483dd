// An fd shortage is the agent's fault, never the instance's: errors that mean THIS process lacked a
// resource are classified as agent faults; the check state machine counts them neither as failures nor as
// successes (fake clock); the probe wrapper counts and logs them and hands the fd reserve back; and for
// real, in a child process with a low RLIMIT_NOFILE whose fds are all taken, a TCP check of a healthy
// listener is an agent fault, the instance stays up and the listener watcher does not call it gone.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { CheckConfig, ServiceConfig } from '../../src/config/types.js';
import { agentFaultOf } from '../../src/health/agent-fault.js';
import { CheckRunner } from '../../src/health/check-runner.js';
import { CheckState, type CheckTiming } from '../../src/health/check-state.js';
import { FdReserve, fdLimits } from '../../src/health/fd-reserve.js';
import { ResourceFaults } from '../../src/health/resource-faults.js';
import type { Probe, ProbeResult, Transition } from '../../src/health/types.js';
import { FakeClock } from '../helpers/fake-clock.js';

const OK: ProbeResult = { ok: true, durationMs: 1, detail: 'connected' };
const FAIL: ProbeResult = { ok: false, durationMs: 1, detail: 'ECONNREFUSED' };
const FAULT: ProbeResult = {
  ok: false,
  durationMs: 0,
  detail: 'EMFILE',
  fault: { by: 'agent', kind: 'emfile' },
};
const TIMING: CheckTiming = { intervalMs: 1000, fastIntervalMs: 200, rise: 3, fall: 2, dampening: null };
const CHILD = fileURLToPath(new URL('./fd-exhaust-child.ts', import.meta.url));
/** The child's limits: soft below hard, so the test also shows Node raising the soft one. */
const CHILD_SOFT = 128;
const CHILD_HARD = 256;

const brief = (t: Transition | null) => (t ? `${t.from}>${t.to}:${t.reason}` : null);
const sysErr = (code: string, syscall: string) => Object.assign(new Error(code), { code, syscall });

test('which errors are agent faults', () => {
  for (const code of ['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM'])
    assert.deepEqual(agentFaultOf(sysErr(code, 'connect')), { by: 'agent', kind: code.toLowerCase() });
  assert.deepEqual(agentFaultOf(sysErr('EAGAIN', 'spawn /usr/bin/check')), { by: 'agent', kind: 'eagain' });
  assert.deepEqual(agentFaultOf(sysErr('EAGAIN', 'spawn')), { by: 'agent', kind: 'eagain' });
  assert.equal(agentFaultOf(sysErr('EAGAIN', 'read')), null, 'EAGAIN on a socket is flow control');
  for (const code of ['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOENT', 'EACCES'])
    assert.equal(agentFaultOf(sysErr(code, 'connect')), null, code);
  assert.equal(agentFaultOf('EMFILE'), null);
  assert.equal(agentFaultOf(null), null);
});

test('check state: an agent fault is neither a failure nor a success', () => {
  const s = new CheckState(TIMING);
  assert.equal(s.record(FAULT, 0), null, 'unknown stays unknown (a first failure would be down)');
  assert.equal(s.state, 'unknown');
  s.record(OK, 100);
  s.record(FAULT, 200);
  s.record(OK, 300);
  assert.equal(s.state, 'unknown', 'the fault did not count toward rise');
  assert.equal(brief(s.record(OK, 400)), 'unknown>up:rise-reached');
  assert.equal(s.record(FAIL, 500), null);
  assert.equal(s.record(FAULT, 600), null, 'not a second failure');
  assert.equal(s.state, 'up');
  assert.equal(s.lastDetail, 'agent fault: EMFILE');
  assert.equal(brief(s.record(FAIL, 700)), 'up>down:check-failed', 'nor did it reset the failure count');
  for (let i = 0; i < 10; i++) assert.equal(s.record(FAULT, 800 + i), null);
  assert.equal(s.state, 'down', 'a down check stays down too');
});

test('runner on the fake clock: a run of agent faults keeps an up instance up, then a real failure counts', async () => {
  const clock = new FakeClock();
  let next: ProbeResult = OK;
  const probe: Probe = async () => next;
  const seen: Transition[] = [];
  const r = new CheckRunner(
    { ...TIMING, rise: 1, name: 'tcp#0', timeoutMs: 300 },
    probe,
    (t) => seen.push(t),
    clock,
  );
  r.start();
  await clock.advance(100);
  assert.deepEqual(seen.map(brief), ['unknown>up:rise-reached']);
  next = FAULT;
  await clock.advance(60_000);
  assert.deepEqual(seen.map(brief), ['unknown>up:rise-reached'], 'a minute of faults: still up');
  assert.equal(r.state.state, 'up');
  next = FAIL;
  await clock.advance(1_500);
  assert.deepEqual(seen.map(brief), ['unknown>up:rise-reached', 'up>down:check-failed']);
  r.stop();
});

test('a probe that throws EMFILE synchronously is an agent fault, not an exception', async () => {
  const clock = new FakeClock();
  const seen: Transition[] = [];
  const throwing: Probe = () => {
    throw sysErr('EMFILE', 'socket');
  };
  const r = new CheckRunner(
    { ...TIMING, name: 'tcp#0', timeoutMs: 300 },
    throwing,
    (t) => seen.push(t),
    clock,
  );
  r.start();
  const result = await r.runOnce();
  assert.deepEqual(result.fault, { by: 'agent', kind: 'emfile' });
  await clock.advance(5_000);
  assert.deepEqual(seen, [], 'no transition');
  r.stop();
});

test('the probe wrapper counts and logs each fault and hands the fd reserve back, which is taken again', async () => {
  const clock = new FakeClock();
  const reserve = new FdReserve({ size: 3, retakeMs: 1_000, clock });
  assert.equal(reserve.take(), 3);
  const lines: Record<string, unknown>[] = [];
  const faults = new ResourceFaults(
    (level, event, fields) => lines.push({ level, event, ...fields }),
    reserve,
  );
  const check = { type: 'tcp', port: 80 } as CheckConfig;
  const service = {
    name: 'web',
    checks: [check],
    instances: [{ id: 'h2', host: { ipv4: '192.0.2.12', ipv6: null } }],
  } as unknown as ServiceConfig;
  let next: ProbeResult = FAULT;
  const probe = faults.probeFor(service, () => async () => next)(check, '192.0.2.12');
  await probe(new AbortController().signal);
  assert.equal(reserve.held, 0, 'released on EMFILE');
  assert.deepEqual(lines, [
    {
      level: 'warn',
      event: 'agent-resource-fault',
      reason: 'probe',
      kind: 'emfile',
      service: 'web',
      instance: 'h2',
      check: 'tcp#0',
      detail: 'EMFILE',
      reserve_released: 3,
    },
  ]);
  await clock.advance(1_000);
  assert.equal(reserve.held, 3, 'taken again after retakeMs');
  next = { ...FAULT, detail: 'ENOMEM', fault: { by: 'agent', kind: 'enomem' } };
  await probe(new AbortController().signal);
  assert.equal(reserve.held, 3, 'ENOMEM is no fd shortage: the reserve stays');
  next = FAIL;
  await probe(new AbortController().signal);
  assert.equal(lines.length, 2, 'a real failure is not a fault');
  assert.equal(faults.counts.get('emfile'), 1);
  assert.equal(faults.counts.get('enomem'), 1);
  faults.close();
  assert.equal(reserve.held, 0);
});

test('fdLimits reads both limits (and unlimited)', () => {
  const text =
    'Limit  Soft Limit  Hard Limit  Units\nMax open files            1024                 524288               files\n';
  assert.deepEqual(fdLimits(text), { soft: 1024, hard: 524288 });
  assert.deepEqual(fdLimits('Max open files  unlimited  unlimited  files\n'), {
    soft: Number.POSITIVE_INFINITY,
    hard: Number.POSITIVE_INFINITY,
  });
  assert.equal(fdLimits('nothing here'), null);
});

test('for real, every fd taken (prlimit): a TCP check of a healthy listener is an agent fault, the instance stays up', async (t) => {
  const server = createServer((c) => c.destroy());
  const port = await new Promise<number>((r) =>
    server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)),
  );
  t.after(() => server.close());
  const run = spawnSync(
    'prlimit',
    [`--nofile=${CHILD_SOFT}:${CHILD_HARD}`, process.execPath, '--import', 'tsx', CHILD, String(port)],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(run.status, 0, `child failed: ${run.stderr}`);
  const out = JSON.parse(run.stdout) as {
    limits: { soft: number; hard: number };
    reserveHeld: number;
    filled: number;
    stateBefore: string;
    direct: ProbeResult;
    procRead: string;
    stateWhileFull: string;
    transitions: string[];
    faults: Record<string, number>;
    runsFull: number;
    faultsWhileFull: number;
    faultLines: number;
    released: number;
    gone: string[];
    sourceErrors: number;
  };
  t.diagnostic(
    `child RLIMIT_NOFILE ${CHILD_SOFT}:${CHILD_HARD} → Node raised soft to ${out.limits.soft}; ` +
      `${out.filled} fds filled, reserve ${out.reserveHeld}; direct probe ${JSON.stringify(out.direct.fault)} ` +
      `"${out.direct.detail}"; ${out.faults.emfile} faults, ${out.faultsWhileFull} in ${out.runsFull} check intervals ` +
      `run full (reserve handed back ${out.released}×), ` +
      `state ${out.stateBefore} → ${out.stateWhileFull}; watcher: ${out.sourceErrors} failed listings, ` +
      `${out.gone.length} gone; /proc read while full: ${out.procRead}`,
  );
  assert.equal(out.limits.soft, CHILD_HARD, 'Node raises the soft limit to the hard one');
  assert.ok(out.filled > 0);
  assert.equal(out.stateBefore, 'up');
  assert.equal(out.direct.ok, false);
  assert.deepEqual(out.direct.fault, { by: 'agent', kind: 'emfile' });
  assert.ok(out.faults.emfile! >= 1, 'the checks met the shortage');
  assert.equal(out.faultsWhileFull, out.runsFull, 'every check while full is an agent fault');
  assert.equal(out.faultLines, out.faults.emfile, 'each one logged');
  assert.ok(out.released >= 1, 'the fd reserve was handed back');
  assert.equal(out.stateWhileFull, 'up', 'the healthy instance stays up');
  assert.deepEqual(out.transitions, ['unknown>up:rise-reached:connected'], 'no transition but the first up');
  assert.equal(
    out.procRead,
    'rejected EMFILE',
    'a listing that cannot be read is an error, not an empty list',
  );
  assert.deepEqual(out.gone, [], 'the listener is not called gone');
});
