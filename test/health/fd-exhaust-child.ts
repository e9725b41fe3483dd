// Run by agent-fault.test.ts under a low RLIMIT_NOFILE (`prlimit --nofile=SOFT:HARD node --import tsx
// this-file PORT`): a real TCP check of a healthy listener (in the parent process) brings an instance up;
// then this process's fds are filled, and the same checks go on. Prints one JSON line: the fd limits as
// Node left them, how many fds were filled, a direct probe's result while full, the faults reported, the
// instance's transitions and final state, and what the listener watcher made of it.

import { openSync } from 'node:fs';
import { FdReserve, fdLimits } from '../../src/health/fd-reserve.js';
import { InstanceHealth, type InstanceTransition } from '../../src/health/instance-health.js';
import { PollingListenerWatcher } from '../../src/health/listener-watcher.js';
import { probeTcp } from '../../src/health/probe-tcp.js';
import { readListeners } from '../../src/health/proc-net.js';
import { ResourceFaults } from '../../src/health/resource-faults.js';
import type { Probe } from '../../src/health/types.js';

const HOST = '127.0.0.1';
const port = Number(process.argv[2]);
const RESERVE = 4;
const INTERVAL_MS = 50;
const RUN_FULL_MS = 1_500;
const UP_WAIT_MS = 2_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const limits = fdLimits();
const logged: Record<string, unknown>[] = [];
const reserve = new FdReserve({ size: RESERVE, retakeMs: 200 });
const reserveHeld = reserve.take();
const faults = new ResourceFaults(
  (level, event, fields) => logged.push({ level, event, ...fields }),
  reserve,
);
const target = { service: 'web', instance: 'h1', check: 'tcp#0' };
const probe: Probe = async (signal) => {
  const r = await probeTcp(HOST, port, signal);
  if (r.fault) faults.report(r.fault, { ...target, detail: r.detail });
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
});
const gone: string[] = [];
const sourceErrors: string[] = [];
const watcher = new PollingListenerWatcher(async () => [...(await readListeners('/proc/net/tcp'))], {
  intervalMs: INTERVAL_MS,
  sentinel: false,
  onSourceError: (err) => sourceErrors.push((err as NodeJS.ErrnoException).code ?? String(err)),
});
watcher.watch({ port, addresses: [HOST] }, { gone: (d) => gone.push(d) });

instance.start();
for (let waited = 0; instance.state !== 'up' && waited < UP_WAIT_MS; waited += 10) await sleep(10);
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
await sleep(INTERVAL_MS * 2);
fill();
const direct = await probeTcp(HOST, port, new AbortController().signal);
const procRead = await readListeners('/proc/net/tcp').then(
  (l) => `listed ${l.length}`,
  (err: NodeJS.ErrnoException) => `rejected ${err.code}`,
);
await sleep(RUN_FULL_MS);
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
    faultLines: logged.filter((r) => r.event === 'agent-resource-fault').length,
    released: logged.map((r) => r.reserve_released).filter((n) => Number(n) > 0).length,
    gone,
    sourceErrors: sourceErrors.length,
    sourceErrorCodes: [...new Set(sourceErrors)],
  })}\n`,
);
process.exit(0);
