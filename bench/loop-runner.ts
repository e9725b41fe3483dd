// The agent (runDaemon: real Dataplane with XDP on the uplink, real checks with the listener watcher, a
// recording announcer) with many services in the namespace it is started in, for loop.bench.ts: the
// local instance (one listener that every service checks) and a remote stand-in, and the event loop's
// delay measured in this process (perf_hooks.monitorEventLoopDelay) while the local instance fails.
// The rings' tables are built as `mode` says: `thread` (as `anycastd run`), `loop` (the same build on
// the event loop), `former` (the former build, on the loop, test/steer/maglev-oracle.ts).
// One JSON line per event on stdout; commands on stdin: lag-start, kill-local, start-local, settled,
// lag-stop.
//   ip netns exec NS node --import tsx loop-runner.ts CONFIG PINDIR LOCAL REMOTE PORT MODE
import { type ChildProcess, spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { Steering } from '../src/agent/steering.js';
import type { RouteAnnouncer } from '../src/bgp/announcer.js';
import { systemClock } from '../src/clock.js';
import { runDaemon } from '../src/daemon/run.js';
import type { TableBuilder } from '../src/steer/maglev-pool.js';
import { program } from '../test/helpers/programs.js';
import { buildMaglevOracle } from '../test/steer/maglev-oracle.js';

const [configFile, pinDir, local, remote, portText, mode] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  'thread' | 'loop' | 'former',
];
const out = (o: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ ...o, t: performance.now() })}\n`);
};
const services = new Map<string, ChildProcess>();
function startService(name: string, addr: string): Promise<void> {
  const [node, ...args] = program('tcp-listen', ['--port', portText, '--bind', addr]);
  const child = spawn(node!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  services.set(name, child);
  return new Promise((resolve) => child.stdout!.once('data', () => resolve()));
}
const recorder: RouteAnnouncer = {
  advertise: (prefix) => out({ type: 'bgp', op: 'advertise', prefix: prefix.addr }),
  withdraw: (prefix) => out({ type: 'bgp', op: 'withdraw', prefix: prefix.addr }),
  flushed: async () => true,
  releaseEndOfRib: () => out({ type: 'bgp', op: 'end-of-rib' }),
};
const former: TableBuilder = { build: (m, size) => Promise.resolve(buildMaglevOracle(m, size)) };
let steering: Steering | undefined;
const lag = monitorEventLoopDelay({ resolution: 1 });
const LAG_WARM_MS = 20;
let elu = performance.eventLoopUtilization();
createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'lag-start') {
    lag.reset();
    lag.enable();
    elu = performance.eventLoopUtilization();
    setTimeout(() => out({ type: 'lag-started' }), LAG_WARM_MS); // the histogram's first sample is a start
  } else if (cmd === 'lag-stop') {
    lag.disable();
    const busy = performance.eventLoopUtilization(elu);
    out({
      type: 'lag',
      p50Ms: lag.percentile(50) / 1e6,
      p99Ms: lag.percentile(99) / 1e6,
      maxMs: lag.max / 1e6,
      activeMs: busy.active,
    });
  } else if (cmd === 'kill-local') {
    out({ type: 'killed' });
    services.get('local')?.kill('SIGKILL');
    services.delete('local');
  } else if (cmd === 'start-local')
    void startService('local', local).then(() => out({ type: 'local-started' }));
  else if (cmd === 'settled') void steering?.settled().then(() => out({ type: 'settled' }));
});
await Promise.all([startService('local', local), startService('remote', remote)]);
const code = await runDaemon({
  configFile,
  clock: systemClock,
  ops: false,
  pinDir,
  stopTimeoutMs: 1000,
  tableBuilder: mode === 'thread' ? undefined : mode === 'loop' ? null : former,
  announcer: async () => ({ announcer: recorder, close: () => {} }),
  sink: (record) => {
    if (process.env.LOOP_DEBUG)
      process.stderr.write(
        `${performance.now().toFixed(1)} ${record.event} ${String(record.service ?? '')} ${String(record.reason ?? '')} ${String(record.error ?? '')}\n`,
      );
    if (record.event === 'ring-updated' || record.event === 'ring-write-failed')
      out({ type: 'log', event: record.event, service: record.service, members: record.members });
  },
  onStarted: (ctx) => {
    steering = ctx.steering;
    return undefined;
  },
});
for (const child of services.values()) child.kill('SIGKILL');
out({ type: 'exit', code });
process.exit(code);
