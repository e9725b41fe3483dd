// Run by agent-fault.test.ts under a low RLIMIT_NOFILE (`prlimit --nofile=SOFT:HARD node --import tsx
// this-file PORT`): a real TCP check of a healthy listener (in the parent process) brings an instance up;
// then this process's fds are filled, and the same checks go on. Prints one JSON line: the fd limits as
// Node left them, how many fds were filled, a direct probe's result while full, the faults reported, the
// instance's transitions and final state, and what the listener watcher made of it. The checks, the
// watcher's polls and the reserve's retake run on a FakeClock moved one check interval at a time; each
// interval's probe and listing (real syscalls) are awaited to their end before the next.

import { openSync } from 'node:fs';
import { FdReserve, fdLimits } from '../../src/health/fd-reserve.js';
import { InstanceHealth, type InstanceTransition } from '../../src/health/instance-health.js';
import { PollingListenerWatcher } from '../../src/health/listener-watcher.js';
import { probeTcp } from '../../src/health/probe-tcp.js';
import { readListeners } from '../../src/health/proc-net.js';
import { ResourceFaults } from '../../src/health/resource-faults.js';
import type { Probe } from '../../src/health/types.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { waitFor } from '../helpers/wait-for.js';

const HOST = '127.0.0.1';
const port = Number(process.argv[2]);
const RESERVE = 4;
const INTERVAL_MS = 50;
/** Check intervals run with every fd taken. */
const RUNS_FULL = 30;
const UP_WAIT_MS = 2_000;
const clock = new FakeClock();

const limits = fdLimits();
const logged: Record<string, unknown>[] = [];
const reserve = new FdReserve({ size: RESERVE, retakeMs: 200, clock });
const reserveHeld = reserve.take();
const faults = new ResourceFaults(
  (level, event, fields) => logged.push({ level, event, ...fields }),
  reserve,
);
const target = { service: 'web', instance: 'h1', check: 'tcp#0' };
let probes = 0;
const probe: Probe = async (signal) => {
  const r = await probeTcp(HOST, port, signal);
  if (r.fault) faults.report(r.fault, { ...target, detail: r.detail });
  probes++;
  return r;
};
const transitions: InstanceTransition[] = [];
const instance = new InstanceHealth({
  service: 'web',
  instance: 'h1',
  local: true,
  checks: [
    {
      options: {
        name: 'tcp#0',
        intervalMs: INTERVAL_MS,
        fastIntervalMs: INTERVAL_MS,
        timeoutMs: 500,
        rise: 1,
        fall: 1,
        dampening: null,
      },
      probe,
      watchSocket: false,
    },
  ],
  onTransition: (t) => transitions.push(t),
  clock,
});
const gone: string[] = [];
const sourceErrors: string[] = [];
let listings = 0;
const listing = async () => {
  try {
    return [...(await readListeners('/proc/net/tcp'))];
  } finally {
    listings++;
  }
};
const watcher = new PollingListenerWatcher(listing, {
  intervalMs: INTERVAL_MS,
  sentinel: false,
  onSourceError: (err) => sourceErrors.push((err as NodeJS.ErrnoException).code ?? String(err)),
  clock,
});
watcher.watch({ port, addresses: [HOST] }, { gone: (d) => gone.push(d) });
await waitFor(() => listings === 1, { what: 'the first listing' });

/** One check interval: the clock moves, and the check and the listing it starts run to their end. */
async function interval(): Promise<void> {
  const [p, l] = [probes, listings];
  await clock.advance(INTERVAL_MS);
  await waitFor(() => probes > p && listings > l, { what: 'the check and the listing of an interval' });
}

instance.start();
await clock.advance(0); // the first check runs at once
// the parent asserts on the state
await waitFor(() => instance.state === 'up', { timeoutMs: UP_WAIT_MS }).catch(() => {});
const stateBefore = instance.state;

// fill every free fd, and again once a check that was under way has closed its socket
const filled: number[] = [];
const fill = (): void => {
  for (;;) {
    try {
      filled.push(openSync('/dev/null', 'r'));
    } catch {
      return;
    }
  }
};
fill();
await interval();
await interval();
fill();
const direct = await probeTcp(HOST, port, new AbortController().signal);
const procRead = await readListeners('/proc/net/tcp').then(
  (l) => `listed ${l.length}`,
  (err: NodeJS.ErrnoException) => `rejected ${err.code}`,
);
const faultsBefore = faults.counts.get('emfile') ?? 0;
for (let i = 0; i < RUNS_FULL; i++) await interval();
const faultsWhileFull = (faults.counts.get('emfile') ?? 0) - faultsBefore;
const stateWhileFull = instance.state;
const checkDetail = instance.checks()[0]?.detail;
instance.stop();
watcher.close();
reserve.close();
process.stdout.write(
  `${JSON.stringify({
    limits,
    reserveHeld,
    filled: filled.length,
    stateBefore,
    direct,
    procRead,
    stateWhileFull,
    checkDetail,
    transitions: transitions.map((t) => `${t.from}>${t.to}:${t.reason}:${t.detail}`),
    faults: Object.fromEntries(faults.counts),
    runsFull: RUNS_FULL,
    faultsWhileFull,
    faultLines: logged.filter((r) => r.event === 'agent-resource-fault').length,
    released: logged.map((r) => r.reserve_released).filter((n) => Number(n) > 0).length,
    gone,
    sourceErrors: sourceErrors.length,
    sourceErrorCodes: [...new Set(sourceErrors)],
  })}\n`,
);
process.exit(0);
