// The small fabric of the hostile-network tests, in network namespaces under one prefix: h1 (the agent
// under attack) linked to h2 (its peer) and to x (an attacker whose address no config names). Host
// addresses on lo: h1 198.51.100.1 / 2001:db8::1, h2 198.51.100.2 / 2001:db8::2; h1 also has the VIP
// 203.0.113.10 on lo. Links: h1–h2 192.0.2.0/31 and 2001:db8:12::/64, h1–x 192.0.2.2/31 (x is 192.0.2.3).
// Agents run as child processes (agent-proc.ts) inside their namespace; the test's own sockets are made in
// a namespace with the native addon's `netns` option (connectTcp/listenTcp).

import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { addVethPair, createNetns, type Netns } from '../../lab/netns.js';
import type { ClusterCountersSnapshot } from '../../src/cluster/counters.js';
import type { InstanceReport } from '../../src/cluster/report.js';

export const H1 = { v4: '198.51.100.1', v6: '2001:db8::1' };
export const H2 = { v4: '198.51.100.2', v6: '2001:db8::2' };
export const VIP = '203.0.113.10';
export const X_ADDRESS = '192.0.2.3';

export interface Fabric {
  h1: Netns;
  h2: Netns;
  x: Netns;
}

/** Builds the namespaces and links; h1's lo addresses only when `h1Addresses` (else addH1Addresses later). */
export function buildFabric(prefix: string, h1Addresses = true): Fabric {
  const h1 = createNetns(prefix, 'h1');
  const h2 = createNetns(prefix, 'h2');
  const x = createNetns(prefix, 'x');
  addVethPair(h1, 'to-h2', 'to-h1', h2);
  addVethPair(h1, 'to-x', 'to-h1', x);
  h1.ip(['addr', 'add', '192.0.2.0/31', 'dev', 'to-h2']);
  h2.ip(['addr', 'add', '192.0.2.1/31', 'dev', 'to-h1']);
  h1.ip(['addr', 'add', '2001:db8:12::1/64', 'dev', 'to-h2', 'nodad']);
  h2.ip(['addr', 'add', '2001:db8:12::2/64', 'dev', 'to-h1', 'nodad']);
  h1.ip(['addr', 'add', '192.0.2.2/31', 'dev', 'to-x']);
  x.ip(['addr', 'add', `${X_ADDRESS}/31`, 'dev', 'to-h1']);
  h2.ip(['addr', 'add', `${H2.v4}/32`, 'dev', 'lo']);
  h2.ip(['addr', 'add', `${H2.v6}/128`, 'dev', 'lo']);
  h1.ip(['addr', 'add', `${VIP}/32`, 'dev', 'lo']);
  h1.ip(['route', 'add', `${H2.v4}/32`, 'via', '192.0.2.1']);
  h1.ip(['route', 'add', `${H2.v6}/128`, 'via', '2001:db8:12::2']);
  h2.ip(['route', 'add', `${H1.v4}/32`, 'via', '192.0.2.0']);
  h2.ip(['route', 'add', `${H1.v6}/128`, 'via', '2001:db8:12::1']);
  x.ip(['route', 'add', '198.51.100.0/24', 'via', '192.0.2.2']);
  x.ip(['route', 'add', '203.0.113.0/24', 'via', '192.0.2.2']);
  if (h1Addresses) addH1Addresses({ h1, h2, x });
  return { h1, h2, x };
}

/** Puts h1's host addresses on its lo (what the agent does at start, after the cluster listens). */
export function addH1Addresses(f: Fabric): void {
  f.h1.ip(['addr', 'add', `${H1.v4}/32`, 'dev', 'lo']);
  f.h1.ip(['addr', 'add', `${H1.v6}/128`, 'dev', 'lo']);
}

/** Writes a key file (mode 0600) of hex keys, the first one signing. */
export function writeKeys(path: string, keys: readonly Buffer[]): void {
  writeFileSync(path, `${keys.map((k) => k.toString('hex')).join('\n')}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** A config for `node` (h1 or h2) with the service `web` on both hosts. */
export function writeAgentConfig(
  dir: string,
  node: 'h1' | 'h2',
  keyFile: string | null,
  port?: number,
): string {
  const self = node === 'h1' ? H1 : H2;
  const path = join(dir, `${node}-${port ?? 'default'}.yaml`);
  const cluster = [keyFile ? `key_file: ${keyFile}` : '', port ? `port: ${port}` : '']
    .filter(Boolean)
    .join(', ');
  writeFileSync(
    path,
    `node:
  id: ${node}
  host: { ipv4: ${self.v4}, ipv6: "${self.v6}" }
  asn: 65101
  uplinks: [to-h1]
cluster: { ${cluster} }
services:
  - name: web
    vips: [${VIP}]
    ports: [{ protocol: tcp, port: 80 }]
    instances:
      - { id: h1, host: { ipv4: ${H1.v4}, ipv6: "${H1.v6}" } }
      - { id: h2, host: { ipv4: ${H2.v4}, ipv6: "${H2.v6}" } }
    checks: [{ type: tcp, port: 80 }]
`,
  );
  return path;
}

export interface AgentStatus {
  counters: ClusterCountersSnapshot;
  rss: number;
  fds: number;
  port: number;
  peers: { address: string; reachable: boolean; replies: number }[];
  requests: number[];
}

const AGENT_SCRIPT = fileURLToPath(new URL('./agent-proc.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const READY_MS = 20_000;

/** One agent process (agent-proc.ts) in a namespace: commands in, answers and log lines out. */
export class AgentProc {
  readonly logs: Record<string, unknown>[] = [];
  logBytes = 0;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (v: { result?: unknown; error?: string }) => void>();
  #next = 0;

  private constructor(child: ChildProcess) {
    this.#child = child;
  }

  static async start(ns: Netns, config: string, env: Record<string, string> = {}): Promise<AgentProc> {
    const child = spawn(
      'ip',
      ['netns', 'exec', ns.name, process.execPath, '--import', TSX, AGENT_SCRIPT, config],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, ...env },
      },
    );
    const a = new AgentProc(child);
    createInterface({ input: child.stderr! }).on('line', (line) => {
      a.logBytes += line.length + 1;
      try {
        a.logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        a.logs.push({ event: 'stderr', line });
      }
    });
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`agent in ${ns.name} not ready: ${JSON.stringify(a.logs)}`)),
        READY_MS,
      );
      child.once('exit', (code) =>
        reject(new Error(`agent in ${ns.name} exited ${code}: ${JSON.stringify(a.logs)}`)),
      );
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const msg = JSON.parse(line) as { ready?: boolean; id?: number; result?: unknown; error?: string };
        if (msg.ready) {
          clearTimeout(timer);
          resolve();
        } else if (msg.id !== undefined) AgentProc.#resolve(a, msg.id, msg);
      });
    });
    await ready;
    return a;
  }

  static #resolve(a: AgentProc, id: number, msg: { result?: unknown; error?: string }): void {
    a.#pending.get(id)?.(msg);
    a.#pending.delete(id);
  }

  get alive(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  async call<T>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    if (!this.alive) throw new Error(`agent exited (${this.#child.exitCode ?? this.#child.signalCode})`);
    const id = this.#next++;
    const answer = new Promise<{ result?: unknown; error?: string }>((resolve) =>
      this.#pending.set(id, resolve),
    );
    this.#child.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
    const a = await answer;
    if (a.error) throw new Error(a.error);
    return a.result as T;
  }

  publish(service: string, instance: string, report: InstanceReport | null): Promise<void> {
    return this.call('publish', { service, instance, report });
  }

  reported(service: string, instance: string): Promise<InstanceReport | null> {
    return this.call('reported', { service, instance });
  }

  status(): Promise<AgentStatus> {
    return this.call('status');
  }

  events(event: string): Record<string, unknown>[] {
    return this.logs.filter((l) => l.event === event);
  }

  /** Ends it by its pid (stdin closed: it closes the cluster and exits; SIGKILL after a while). */
  async stop(): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.stdin!.end();
    const kill = setTimeout(() => this.#child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(kill);
  }
}
