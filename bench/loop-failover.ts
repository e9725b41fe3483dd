// The agent's event-loop delay during a failover of many services (loop.bench.ts): loop-runner.ts runs
// the real agent in a namespace with SERVICES services that all check one local listener; once every
// service is advertised, the listener is killed and the delay is measured in the agent's process from
// just before the kill until every ring write has landed (+ SETTLE_MS).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { nodeArgs } from '../lab/apps.js';
import { run } from '../lab/exec.js';
import { addVethPair, createNetns, removeNetnsByPrefix, uniquePrefix } from '../lab/netns.js';

const PREFIX = uniquePrefix('dploop');
const HOST = '198.51.100.1';
const REMOTE = '198.51.100.2';
const UPLINK = '198.51.100.129';
const TOR = '198.51.100.128';
const PORT = 8080;
const RUNNER = join(import.meta.dirname, 'loop-runner.ts');
/** After the last ring write landed: timers late by then still report. */
const SETTLE_MS = 200;
const START_MS = 60_000;
const FAILOVER_MS = 60_000;
/** After the start: the table thread is up (seconds under tsx on a loaded box). */
const THREAD_UP_MS = 8_000;

export type BuildMode = 'thread' | 'loop' | 'former';

export interface FailoverLag {
  mode: BuildMode;
  services: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** From the kill to the last ring write landed. */
  landedMs: number;
  /** Time the agent's event loop was busy (not waiting for events) over the window (eventLoopUtilization). */
  activeMs: number;
}

interface Line {
  type: string;
  op?: string;
  event?: string;
  t: number;
  p50Ms?: number;
  p99Ms?: number;
  maxMs?: number;
  activeMs?: number;
}

function configText(services: number, dir: string): string {
  const blocks = Array.from(
    { length: services },
    (_, i) => `  - name: s${i}
    vips: [203.0.113.${i + 1}]
    ports: [{ protocol: tcp, port: ${PORT} }]
    instances:
      - { id: h1, host: { ipv4: ${HOST} } }
      - { id: h2, host: { ipv4: ${REMOTE} } }
    checks:
      - { type: tcp, port: ${PORT}, interval: 2s, fast_interval: 200ms, timeout: 500ms, rise: 1, fall: 1, watch_socket: true }
    grace_time: 3s
    on_down: { action: withdraw }
    drain_file: ${join(dir, `drain-s${i}`)}
`,
  ).join('');
  return `node: { id: h1, host: { ipv4: ${HOST} }, asn: 65001, uplinks: [up0] }
services:
${blocks}dataplane: { xdp_mode: native }
`;
}

/** One failover of `services` services with the tables built as `mode` says. */
export async function failoverLag(services: number, mode: BuildMode): Promise<FailoverLag> {
  removeNetnsByPrefix(PREFIX);
  const dir = mkdtempSync(join(tmpdir(), PREFIX));
  mkdirSync(join(dir, 'bpffs'));
  run('mount', ['-t', 'bpf', 'bpf', join(dir, 'bpffs')]);
  const configFile = join(dir, 'anycastd.yaml');
  writeFileSync(configFile, configText(services, dir));
  const ns = createNetns(PREFIX, 'host');
  const tor = createNetns(PREFIX, 'tor');
  let child: ChildProcess | null = null;
  try {
    addVethPair(ns, 'up0', 'tor0', tor);
    ns.ip(['addr', 'add', `${UPLINK}/31`, 'dev', 'up0']);
    tor.ip(['addr', 'add', `${TOR}/31`, 'dev', 'tor0']);
    ns.ip(['addr', 'add', `${REMOTE}/32`, 'dev', 'lo']);
    ns.exec(['sysctl', '-qw', 'net.ipv4.ip_nonlocal_bind=1']); // the listener binds the host address before the agent puts it on lo
    const c = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns.name,
        process.execPath,
        ...nodeArgs(RUNNER, [configFile, join(dir, 'bpffs', 'pins'), HOST, REMOTE, String(PORT), mode]),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    child = c;
    const lines: Line[] = [];
    const waiters = new Set<() => void>();
    createInterface({ input: c.stdout! }).on('line', (l) => {
      if (!l.startsWith('{')) return;
      lines.push(JSON.parse(l) as Line);
      for (const w of waiters) w();
    });
    const until = (pred: () => boolean, ms: number, what: string): Promise<void> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`loop bench: ${what} not within ${ms} ms (${mode})`));
        }, ms);
        const check = (): void => {
          if (!pred()) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      });
    const count = (pred: (l: Line) => boolean, from = 0): number => lines.slice(from).filter(pred).length;
    await until(() => count((l) => l.op === 'advertise') >= services, START_MS, 'every service advertised');
    const send = (cmd: string): boolean => c.stdin!.write(`${cmd}\n`);
    let from = lines.length;
    send('settled'); // the start's ring writes have landed
    await until(() => count((l) => l.type === 'settled', from) > 0, START_MS, 'start settled');
    await new Promise((r) => setTimeout(r, THREAD_UP_MS));
    from = lines.length;
    send('lag-start');
    await until(() => count((l) => l.type === 'lag-started', from) > 0, 5_000, 'lag started');
    from = lines.length;
    send('kill-local');
    // both kinds of every service leave h1: 2 ring-updated records per service
    await until(
      () => count((l) => l.event === 'ring-updated', from) >= 2 * services,
      FAILOVER_MS,
      'every ring asked for',
    );
    const settledFrom = lines.length;
    send('settled');
    await until(() => count((l) => l.type === 'settled', settledFrom) > 0, FAILOVER_MS, 'every ring landed');
    const killedAt = lines.slice(from).find((l) => l.type === 'killed')!.t;
    const landedAt = lines.slice(settledFrom).find((l) => l.type === 'settled')!.t;
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const lagFrom = lines.length;
    send('lag-stop');
    await until(() => count((l) => l.type === 'lag', lagFrom) > 0, 5_000, 'lag figures');
    const lag = lines.slice(lagFrom).find((l) => l.type === 'lag')!;
    return {
      mode,
      services,
      p50Ms: lag.p50Ms!,
      p99Ms: lag.p99Ms!,
      maxMs: lag.maxMs!,
      landedMs: landedAt - killedAt,
      activeMs: lag.activeMs!,
    };
  } finally {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 1500));
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    removeNetnsByPrefix(PREFIX);
    try {
      run('umount', [join(dir, 'bpffs')]);
    } catch {
      // not mounted
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
