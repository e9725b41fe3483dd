import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { DrainControl } from '../../src/health/drain.js';
import type { InstanceTransition } from '../../src/health/instance-health.js';
import { procNetSource, sockDiagSource } from '../../src/health/listener-sources.js';
import {
  type ListenerWatcher,
  PollingListenerWatcher,
  type PollingWatch,
} from '../../src/health/listener-watcher.js';
import { ServiceHealth } from '../../src/health/service-health.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { program } from '../helpers/programs.js';
import { waitFor } from '../helpers/wait-for.js';

const TRIALS = 5;
// The check's own schedule would notice a dead service only after interval x fall = 30 s. Anything
// under this bound can only come from the event path (listener watch); the latency distribution itself is
// a benchmark figure (printed here as diagnostics), not a pass/fail threshold on a loaded 2-core machine.
const EVENT_BOUND_MS = 2000;
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

/** A TCP server in a child process on 127.0.0.1; resolves with the child and its port. */
function spawnServer(): Promise<{ child: ChildProcess; port: number }> {
  const [node, ...args] = program('tcp-listen', ['--bind', '127.0.0.1']);
  const child = spawn(node!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve({ child, port: Number(d.toString().trim()) }));
    child.once('error', reject);
  });
}

function configFor(port: number, drainFile: string) {
  return parseConfig(
    `node: { id: h1, host: { ipv4: 127.0.0.1 }, asn: 65000, uplinks: [lo] }
services:
  - name: web
    vips: [203.0.113.10]
    ports: [{ protocol: tcp, port: ${port} }]
    instances: [{ id: h1, host: { ipv4: 127.0.0.1 } }]
    checks: [{ type: tcp, port: ${port}, interval: 10s, timeout: 1s, rise: 1, fall: 3 }]
    drain_file: ${drainFile}
`,
    'inline.yaml',
  ).services[0]!;
}

/** The first transition in `seen` matching `pred`, looked for every ms (latencies are measured by it). */
function transition(seen: InstanceTransition[], pred: (t: InstanceTransition) => boolean, ms: number) {
  return waitFor(() => seen.find(pred), { timeoutMs: ms, intervalMs: 1, what: 'a matching transition' });
}

/**
 * Kills a child TCP server TRIALS times and returns the ms from kill to the 'socket-gone' transition. Each
 * kill comes once the watcher has listed the listener (and, with `sentinel`, holds its connection to it).
 */
async function killTrials(
  watcher: PollingListenerWatcher,
  sentinel: boolean,
): Promise<{ gone: number[]; reaped: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'acd-health-'));
  const latencies: number[] = [];
  const reaped: number[] = [];
  try {
    for (let i = 0; i < TRIALS; i++) {
      const { child, port } = await spawnServer();
      const seen: InstanceTransition[] = [];
      const watches: PollingWatch[] = [];
      const recorded: ListenerWatcher = {
        watch: (spec, handlers) => {
          const w = watcher.watch(spec, handlers);
          watches.push(w);
          return w;
        },
        close: () => watcher.close(),
      };
      const svc = new ServiceHealth({
        service: configFor(port, join(dir, 'drain')),
        watcher: recorded,
        onTransition: (tr) => seen.push(tr),
      });
      svc.start();
      await transition(seen, (tr) => tr.to === 'up', 2000);
      await waitFor(() => watches[0]?.present === true && (!sentinel || watches[0].guarded), {
        timeoutMs: 2000,
        what: sentinel ? 'the listener listed and its sentinel connected' : 'the listener listed',
      });
      const killedAt = performance.now();
      child.once('exit', () => reaped.push(performance.now() - killedAt));
      child.kill('SIGKILL');
      const gone = await transition(seen, (tr) => tr.to === 'down', EVENT_BOUND_MS);
      latencies.push(performance.now() - killedAt);
      svc.stop();
      children.delete(child);
      assert.equal(gone.reason, 'socket-gone');
      assert.equal(gone.check, 'tcp#0');
      assert.equal(gone.detail, `no listening socket on port ${port}`);
      assert.deepEqual(svc.healthyInstances(), []);
    }
  } finally {
    watcher.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return { gone: latencies, reaped };
}

function summary(latencies: number[]): string {
  const sorted = [...latencies].sort((a, b) => a - b);
  const p50 = sorted[Math.floor(sorted.length / 2)]!;
  return `p50 ${p50.toFixed(1)}, max ${sorted.at(-1)!.toFixed(1)}, all ${sorted.map((x) => x.toFixed(1)).join(' ')}`;
}

test('kill -9 of the service: socket-gone by event, long before the check interval (10 s, fall 3)', async (t) => {
  const polledRun = await killTrials(
    new PollingListenerWatcher(procNetSource(), { intervalMs: 50, sentinel: false }),
    false,
  );
  const polled = polledRun.gone;
  t.diagnostic(`socket-gone after kill -9, /proc poll every 50 ms only (ms): ${summary(polled)}`);
  const sentinelRun = await killTrials(new PollingListenerWatcher(procNetSource()), true);
  const sentinel = sentinelRun.gone;
  t.diagnostic(`socket-gone after kill -9, sentinel connection + 100 ms poll (ms): ${summary(sentinel)}`);
  t.diagnostic(
    `for reference, kill -9 → child 'exit' event (ms): ${summary([...polledRun.reaped, ...sentinelRun.reaped])}`,
  );
  const diag = sockDiagSource();
  if (diag) {
    const diagRun = await killTrials(
      new PollingListenerWatcher(diag, { intervalMs: 50, sentinel: false }),
      false,
    );
    t.diagnostic(`socket-gone after kill -9, sock_diag poll every 50 ms only (ms): ${summary(diagRun.gone)}`);
  } else t.diagnostic('sock_diag: native addon not built, that mode was not measured');
});

test('the watcher reports gone and back for an in-process listener (closed, not killed), at its poll', async () => {
  const clock = new FakeClock();
  const INTERVAL_MS = 20;
  const watcher = new PollingListenerWatcher(procNetSource(), { intervalMs: INTERVAL_MS, clock });
  const srv = createServer();
  const port = await new Promise<number>((r) =>
    srv.listen(0, '::', () => r((srv.address() as { port: number }).port)),
  );
  const events: string[] = [];
  const w = watcher.watch(
    { port, addresses: ['192.0.2.1'] },
    { gone: (d) => events.push(`gone:${d}`), back: () => events.push('back') },
  );
  const other = watcher.watch(
    { port: port === 1 ? 2 : 1, addresses: [] },
    { gone: () => events.push('never') },
  );
  await waitFor(() => w.present === true && w.guarded, {
    what: 'the listener listed and its sentinel connected',
  });
  /** One poll interval on the clock, and the listing it starts (a real read of /proc) seeing `what`. */
  const tick = async (what: string) => {
    const n = events.length;
    await clock.advance(INTERVAL_MS);
    await waitFor(() => events.length > n, { what });
  };
  srv.close(); // the sentinel connection stays open: only the poll can see this
  await tick('gone');
  await new Promise<void>((r) => srv.listen(port, '0.0.0.0', r));
  await tick('back');
  srv.close();
  other.close();
  watcher.close();
  assert.deepEqual(events, [`gone:no listening socket on port ${port}`, 'back']);
  assert.equal(clock.pending, 0, 'closed: no timer left');
});

test('drain: the in-memory flag and the drain file (created, removed) drive the drained state', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'acd-health-drain-'));
  const file = join(dir, 'web');
  const events: string[] = [];
  const clock = new FakeClock();
  const POLL_MS = 50;
  const drain = new DrainControl(file, (d, src) => events.push(`${d}:${src}`), POLL_MS, clock);
  drain.start();
  try {
    drain.setFlag(true);
    drain.setFlag(true);
    writeFileSync(file, ''); // already drained by the flag: no event
    await clock.advance(POLL_MS); // seen by the poll at the latest
    drain.setFlag(false); // the file still drains
    assert.equal(drain.drained, true);
    rmSync(file);
    await waitFor(() => !drain.drained, { timeoutMs: 2000, what: 'the removal seen by the directory watch' });
    assert.equal(clock.now(), POLL_MS, 'by the watch: no poll ran');
    assert.deepEqual(events, ['true:flag', 'false:file']);
    writeFileSync(file, '');
    await clock.advance(POLL_MS);
    assert.deepEqual(events, ['true:flag', 'false:file', 'true:file'], 'seen by the poll at the latest');
  } finally {
    drain.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a drain file present at start drains the local instance of a ServiceHealth', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'acd-health-drain-'));
  const file = join(dir, 'web');
  writeFileSync(file, '');
  const srv = createServer((c) => c.end());
  const port = await new Promise<number>((r) =>
    srv.listen(0, '127.0.0.1', () => r((srv.address() as { port: number }).port)),
  );
  const seen: InstanceTransition[] = [];
  const clock = new FakeClock();
  const POLL_MS = 50;
  const svc = new ServiceHealth({
    service: configFor(port, file),
    onTransition: (tr) => seen.push(tr),
    drainPollMs: POLL_MS,
    clock,
  });
  svc.start();
  try {
    await clock.advance(0); // the first check runs at once
    await transition(seen, (tr) => tr.to === 'drained', 2000);
    assert.deepEqual(
      seen.map((tr) => `${tr.from}>${tr.to}:${tr.reason}`),
      ['unknown>drained:rise-reached'],
    );
    assert.deepEqual(svc.healthyInstances(), [], 'a drained instance takes no new flows');
    rmSync(file);
    await clock.advance(POLL_MS); // seen by the poll at the latest
    await transition(seen, (tr) => tr.to === 'up', 2000);
    assert.equal(seen.at(-1)!.reason, 'undrained');
    assert.deepEqual(svc.healthyInstances(), ['h1']);
  } finally {
    svc.stop();
    srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
