// The BFD thread's entry (a worker_thread started by thread.ts): the sessions (manager.ts, the RFC 5880
// state machine unchanged) with their UDP sockets and timers on this thread's own event loop, so a
// busy or collected agent loop delays neither our packets nor the detection of the peer's. It runs at
// the process's priority: the packaged unit denies setpriority (SystemCallFilter ~@resources) and holds
// no CAP_SYS_NICE, so a nice value asked for here would be refused in every real deployment. State
// changes, log events and status snapshots go to the agent's loop (thread-messages.ts).

import { parentPort, workerData } from 'node:worker_threads';
import { systemClock } from '../clock.js';
import { BfdManager } from './manager.js';
import { type BfdThreadData, type FromBfdThread, plainField, type ToBfdThread } from './thread-messages.js';

/** How often the agent's loop gets the sessions' counters when no state changed. */
const SNAPSHOT_MS = 1_000;

const port = parentPort;
if (!port) throw new Error('src/bfd/thread-main.ts runs as a worker thread only');
const data = workerData as BfdThreadData;
const post = (m: FromBfdThread): void => port.postMessage(m);

const manager: BfdManager = new BfdManager({
  clock: systemClock,
  netns: data.netns,
  port: data.port,
  peerPort: data.peerPort,
  onState: (peer, from, to, diag) => post({ kind: 'state', peer, from, to, diag, ...snapshot() }),
  log: (event, fields) =>
    post({
      kind: 'log',
      event,
      fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, plainField(v)])),
    }),
});

function snapshot(): { statuses: ReturnType<BfdManager['statuses']>; drops: BfdManager['drops'] } {
  return { statuses: manager.statuses(), drops: { ...manager.drops } };
}

const timer = setInterval(() => post({ kind: 'snapshot', ...snapshot() }), SNAPSHOT_MS);
timer.unref();

port.on('message', (m: ToBfdThread) => {
  if (m.kind === 'close') {
    clearInterval(timer);
    manager.close();
    post({ kind: 'closed' });
    port.close();
    return;
  }
  try {
    manager.apply(m.specs);
  } catch (err) {
    post({ kind: 'log', event: 'bfd-plan-failed', fields: { error: plainField(err) } });
  }
  post({ kind: 'snapshot', ...snapshot() });
});
post({ kind: 'ready' });
