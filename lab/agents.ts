// Real anycastd agents in the lab's host namespaces: `anycastd run -c <config> --pin-dir <dir>` started
// with `ip netns exec` (tracked by pid in the lab's registry, stdout/stderr to a log file), stopped by pid
// with SIGTERM or SIGKILL. The agent command is this checkout's src/cli/main.ts through tsx unless
// overridden: `fromDist` or ANYCASTD_LAB_AGENT=dist (the built dist/), `command` or ANYCASTD_LAB_AGENT
// split on spaces (e.g. `/usr/bin/anycastd`: an installed package's agent in the lab); it must exec, so
// the lab's pid is the agent's. prepare() readies the fabric for the agents' XDP steering:
// - a bpffs mounted in the run directory, one pin directory per host: `ip netns exec` gives every
//   process a private /sys, so pins under /sys/fs/bpf would vanish with the agent and a restart could
//   not adopt them (the lab unmounts it with the run: lab/netns.ts);
// - a plain XDP_PASS program on the ToR end of every host link: XDP_TX out of a veth is only received
//   when the peer end has an XDP program;
// - TX checksum offload off on the client's uplink: a veth hands locally sent packets on with
//   CHECKSUM_PARTIAL, which an XDP encapsulation and XDP_TX lose (the frame would arrive with a bad
//   L4 checksum); real wire frames are complete.

import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { callOnce } from '../src/api/client.js';
import { HOST_PLAN, HOSTS, type HostName, linkBetween, TORS, VIP4, VIP6 } from './addressing.js';
import {
  type AgentPaths,
  type EtcdAgentSettings,
  HOST_UPLINKS,
  LAB_AGENT_TIMINGS,
  renderAgentConfig,
  SERVICE_NAME,
} from './agent-config.js';
import { run, runIn, waitFor } from './exec.js';
import type { LabProcess } from './processes.js';
import type { Lab } from './topology.js';

const TSX_LOADER = import.meta.resolve('tsx');
const CLI_SCRIPT = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
/** The built product (`make ts`): starts in a fraction of tsx's time on a loaded box. */
const CLI_DIST = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));

/** Overrides the agent command (words split on spaces), as HostAgents' `command` does. */
export const AGENT_COMMAND_ENV = 'ANYCASTD_LAB_AGENT';
const XDP_PASS_OBJECT = fileURLToPath(new URL('../build/bpf/xdp_pass.bpf.o', import.meta.url));
const XDP_SECTION = 'xdp';
/** ANYCASTD_LAB_START_TIMEOUT_MS stretches it on a loaded box (an agent start is ~1 s of CPU: the verifier, the rings). */
const START_TIMEOUT_MS = Number(process.env.ANYCASTD_LAB_START_TIMEOUT_MS ?? 20_000);
/** The lab's cluster key: 256 bits (src/config/cluster-keys.ts MIN_KEY_BYTES). */
const CLUSTER_KEY_BYTES = 32;
/** The agent's log event after a SIGHUP reload (src/daemon/signals.ts). */
const RELOAD_EVENT = /^config-(reloaded|rejected)$/;

/** One JSON line of an agent's log (only the fields the lab reads). */
export interface AgentEvent {
  level?: string;
  event?: string;
  reason?: string;
  adopted?: string[];
  [field: string]: unknown;
}

export interface HostAgentsOptions {
  /**
   * Run the agents from dist/ (the product as built by `make ts`) instead of src/ with tsx. On a loaded
   * box tsx's start takes ~10 s, past steer/join-grace.ts RESTART_WINDOW_MS: a restart then looks like a
   * host coming back after an absence. Default: ANYCASTD_LAB_AGENT=dist in the environment.
   */
  fromDist?: boolean;
  /**
   * The `anycastd` command, program first, e.g. an installed package's `/usr/bin/anycastd`; it must exec
   * (the lab's pid is the agent's). Default: $ANYCASTD_LAB_AGENT split on spaces when it is not `dist`.
   */
  command?: readonly string[];
  /** Fleet mode: every agent's config names the etcd store and lists no instances (lab/etcd.ts). */
  etcd?: EtcdAgentSettings;
  /** How long an agent may take to attach XDP after its start (default START_TIMEOUT_MS). */
  startTimeoutMs?: number;
}

/** The agent command: the option, dist/, the environment's, or this checkout's CLI through tsx. */
function agentCommand(opts: HostAgentsOptions): readonly string[] {
  if (opts.command) return opts.command;
  const env = process.env[AGENT_COMMAND_ENV]?.trim() ?? '';
  if (opts.fromDist ?? env === 'dist') return [process.execPath, CLI_DIST];
  if (env !== '') return env.split(/\s+/);
  return [process.execPath, '--import', TSX_LOADER, CLI_SCRIPT];
}

export class HostAgents {
  readonly #lab: Lab;
  readonly #procs = new Map<HostName, LabProcess>();
  readonly #command: readonly string[];
  readonly #etcd: EtcdAgentSettings | undefined;
  readonly #startTimeoutMs: number;
  readonly bpffs: string;

  constructor(lab: Lab, opts: HostAgentsOptions = {}) {
    this.#lab = lab;
    this.#command = agentCommand(opts);
    this.#etcd = opts.etcd;
    this.#startTimeoutMs = opts.startTimeoutMs ?? START_TIMEOUT_MS;
    this.bpffs = join(lab.dir, 'bpffs');
  }

  /** bpffs, XDP_PASS on the ToR ends, checksum offload off at the client; VIP on lo and the service on each host. */
  async prepare(): Promise<void> {
    mkdirSync(this.bpffs, { recursive: true });
    run('mount', ['-t', 'bpf', 'bpf', this.bpffs]);
    runIn(this.#lab.ns('client'), 'ethtool', ['-K', linkBetween('spine', 'client').b.ifname, 'tx', 'off']);
    await Promise.all(HOSTS.map((h) => this.prepareHost(h)));
  }

  /** XDP_PASS on the ToR ends of `host`'s links, the VIP on its lo, its run directory and its service. */
  async prepareHost(host: HostName): Promise<void> {
    for (const tor of TORS) {
      const dev = linkBetween(tor, host).a.ifname;
      runIn(this.#lab.ns(tor), 'ip', [
        'link',
        'set',
        'dev',
        dev,
        'xdpdrv',
        'obj',
        XDP_PASS_OBJECT,
        'sec',
        XDP_SECTION,
      ]);
    }
    this.#lab.addVip(host);
    mkdirSync(join(this.#lab.dir, host), { recursive: true });
    await this.startService(host);
  }

  /** Write `host`'s config listing the lab's current hosts as instances (fleet mode: none, the store's settings). */
  writeConfig(host: HostName): void {
    const p = this.paths(host);
    this.#ensureClusterKey(p.clusterKey);
    writeFileSync(p.config, renderAgentConfig(host, p, LAB_AGENT_TIMINGS, this.#lab.hosts, this.#etcd));
  }

  /** The lab's cluster key: one random key, mode 0600, made once per run and shared by every host. */
  #ensureClusterKey(path: string): void {
    if (existsSync(path)) return;
    writeFileSync(path, `${randomBytes(CLUSTER_KEY_BYTES).toString('hex')}\n`, { mode: 0o600 });
    chmodSync(path, 0o600);
  }

  /**
   * Rewrite every running agent's config with the lab's current hosts as instances and send it SIGHUP
   * (the agent applies the difference); resolves once each has logged its reload.
   */
  async reloadInstances(): Promise<void> {
    await Promise.all(
      [...this.#procs].map(async ([host, proc]) => {
        this.writeConfig(host);
        const from = this.events(host).length;
        process.kill(proc.pid, 'SIGHUP');
        await waitFor(
          `anycastd ${host} reloaded`,
          async () => {
            const ev = this.events(host)
              .slice(from)
              .find((e) => RELOAD_EVENT.test(e.event ?? ''));
            if (ev?.level === 'error') throw new Error(`reload failed: ${JSON.stringify(ev)}`);
            return ev;
          },
          START_TIMEOUT_MS,
        );
      }),
    );
  }

  /** Start `host`'s service on the VIP and on its host address (where the other hosts' agents check it). */
  startService(host: HostName): Promise<LabProcess> {
    return this.#lab.startService(host, [VIP4, VIP6, HOST_PLAN[host].lo4, HOST_PLAN[host].lo6]);
  }

  paths(host: HostName): AgentPaths & { log: string; pins: string } {
    const dir = join(this.#lab.dir, host);
    return {
      config: join(dir, 'anycastd.yaml'),
      api: join(dir, 'anycastd.sock'),
      drainFile: join(dir, 'drain-web'),
      clusterKey: join(this.#lab.dir, 'cluster.key'),
      log: join(dir, 'anycastd.log'),
      pins: join(this.bpffs, host),
    };
  }

  /** Write `host`'s config and start its agent; resolves once the agent has attached XDP. */
  async start(host: HostName): Promise<LabProcess> {
    const p = this.paths(host);
    this.#ensureClusterKey(p.clusterKey);
    if (!existsSync(p.config))
      writeFileSync(p.config, renderAgentConfig(host, p, LAB_AGENT_TIMINGS, HOSTS, this.#etcd));
    const from = this.events(host).length;
    const [cmd, ...pre] = this.#command;
    const args = [...pre, 'run', '-c', p.config, '--pin-dir', p.pins];
    const proc = this.#lab.procs.start(`anycastd ${host}`, this.#lab.ns(host), cmd!, args, p.log);
    this.#procs.set(host, proc);
    await waitFor(
      `anycastd ${host} started (XDP attached)`,
      async () => {
        if (proc.child.exitCode !== null) throw new Error(`exited ${proc.child.exitCode}: see ${p.log}`);
        return this.events(host)
          .slice(from)
          .find((e) => e.event === 'xdp-attached');
      },
      this.#startTimeoutMs,
    );
    return proc;
  }

  /** Start every host's agent at once. */
  async startAll(): Promise<void> {
    await Promise.all(HOSTS.map((h) => this.start(h)));
  }

  /** Stop `host`'s agent by pid (SIGTERM: withdraw and Cease; SIGKILL: the sessions just close). */
  async stop(host: HostName, sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = this.#procs.get(host);
    this.#procs.delete(host);
    if (proc) await this.#lab.procs.stop(proc, sig);
  }

  running(host: HostName): LabProcess | undefined {
    return this.#procs.get(host);
  }

  /** Every JSON line the agent of `host` has logged so far (across restarts). */
  events(host: HostName): AgentEvent[] {
    const p = this.paths(host);
    if (!existsSync(p.log)) return [];
    const out: AgentEvent[] = [];
    for (const line of readFileSync(p.log, 'utf8').split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        out.push(JSON.parse(line) as AgentEvent);
      } catch {
        // a line being written
      }
    }
    return out;
  }

  /** Drain (or undrain) `host`'s instance through its drain file, which the agent watches. */
  setDrainFile(host: HostName, drained: boolean): void {
    const file = this.paths(host).drainFile;
    if (drained) writeFileSync(file, 'drained by the lab\n');
    else rmSync(file, { force: true });
  }

  /**
   * Drain (or undrain) `host`'s instance as an operator would: the control API's drain call (what
   * `anycastd drain web` sends) over the agent's socket — a unix socket, reachable from outside the
   * namespace; called in-process so that timings do not include a CLI's start. Resolves with how it was done.
   */
  async setDrained(host: HostName, drained: boolean): Promise<'api' | 'file'> {
    const socket = this.paths(host).api;
    if (!existsSync(socket)) {
      this.setDrainFile(host, drained);
      return 'file';
    }
    await callOnce(socket, drained ? 'drain' : 'undrain', { service: SERVICE_NAME });
    return 'api';
  }

  /** Detach the agent's XDP program from `host`'s uplinks: plain ECMP anycast (the baseline). */
  detachXdp(host: HostName): void {
    for (const dev of HOST_UPLINKS)
      runIn(this.#lab.ns(host), 'ip', ['link', 'set', 'dev', dev, 'xdpdrv', 'off']);
  }

  /** The XDP program id on each uplink of `host` (null: none). */
  xdpProgIds(host: HostName): (number | null)[] {
    return HOST_UPLINKS.map((dev) => {
      const [link] = JSON.parse(runIn(this.#lab.ns(host), 'ip', ['-j', 'link', 'show', 'dev', dev])) as {
        xdp?: { prog?: { id?: number } };
      }[];
      return link?.xdp?.prog?.id ?? null;
    });
  }
}
