// A real etcd cluster for the lab and the tests: Debian's etcd-server (/usr/bin/etcd, v3.4), one member
// per network namespace (`<prefix>etcd1`…), all on the management network (lab/mgmt-net.ts,
// 192.0.2.128/26: lab/addressing.ts), mutual TLS everywhere (clients and peers; lab/etcd-tls.ts makes
// the certificates with openssl into the run directory). The lab's own etcd commands (etcdctl, from
// Debian's etcd-client) run in the management network's namespace with the client certificate.
// Members are started with `ip netns exec` (which execs: the pid is etcd's), stopped and killed by pid;
// stop() and every way out (lab/cleanup.ts) remove the namespaces by the run's prefix only.
//
//   const etcd = await startEtcdCluster({ prefix: lab.prefix, dir: lab.dir });
//   etcd.attach(lab.ns('h1'), 'h1', MGMT_HOST4.h1);   // h1 reaches etcd.endpoints
//   await etcd.kill(await etcd.leader());             // and a new leader is elected
//   await etcd.stop();
//
// Timing: etcd's defaults (heartbeat 100 ms, election timeout 1 s) unless given; a member that lost
// its leader elects another after the election timeout plus a random part of it.

import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  ETCD_CLIENT_PORT,
  ETCD_METRICS_PORT,
  ETCD_PEER_PORT,
  etcdMemberAddress,
  MAX_ETCD_MEMBERS,
  MGMT_OTHER_FIRST,
  MGMT_OTHER_LAST,
} from './addressing.js';
import { registerTeardown } from './cleanup.js';
import { LabError } from './errors.js';
import { type EtcdPki, type EtcdTlsFiles, makeEtcdPki } from './etcd-tls.js';
import { runInAsync, sleep, waitFor } from './exec.js';
import { MgmtNet } from './mgmt-net.js';
import { createNamespace, removeNetnsByPrefix } from './netns.js';
import { type LabProcess, ProcessRegistry } from './processes.js';

const ETCD = '/usr/bin/etcd';
const ETCDCTL = 'etcdctl';
const DEFAULT_MEMBERS = 3;
const DEFAULT_HEARTBEAT_MS = 100;
const DEFAULT_ELECTION_MS = 1_000;
const READY_TIMEOUT_MS = 30_000;
const LEADER_TIMEOUT_MS = 15_000;
const POLL_MS = 100;
/** A member that exits this soon after its start failed to start (bad flags, port taken). */
const EARLY_EXIT_MS = 300;
/** etcdctl's own limits, so a dead member costs a poll little. */
const DIAL_TIMEOUT = '1s';
const COMMAND_TIMEOUT = '3s';
/** The namespace infix of every etcd-side namespace: `<prefix>etcd1`, `<prefix>etcdnet`. */
const NS_INFIX = 'etcd';

export interface EtcdClusterOptions {
  /** Namespace prefix (a lab's `lab.prefix`, or a test's `uniquePrefix()`); names are `<prefix>etcd…`. */
  prefix: string;
  /** Member count (odd, at most MAX_ETCD_MEMBERS). */
  members?: number;
  /** Run directory: certificates, data and logs go under `<dir>/etcd/`. */
  dir: string;
  heartbeatMs?: number;
  electionMs?: number;
  log?: (line: string) => void;
}

export interface EtcdctlOptions {
  endpoints?: readonly string[];
  /** TLS files to present (default: the client certificate); leave one out to go without it. */
  tls?: Partial<EtcdTlsFiles>;
  /** Run in this namespace instead of the management station's. */
  ns?: string;
}

export interface EtcdMember {
  name: string;
  ns: string;
  /** The running process's pid (0 while stopped). */
  pid: number;
  /** Its client URL, `https://<address>:2379`. */
  endpoint: string;
  address: string;
  /** Its Prometheus metrics, `http://<address>:2381/metrics` (plain: the lab's benches read it). */
  metricsUrl: string;
}

export class EtcdCluster {
  readonly members: EtcdMember[];
  readonly endpoints: string[];
  /** The client identity the agents use (CA, certificate, key). */
  readonly tls: EtcdTlsFiles;
  readonly pki: EtcdPki;
  readonly net: MgmtNet;
  readonly dir: string;
  readonly #opts: Required<Omit<EtcdClusterOptions, 'log'>> & { log: (line: string) => void };
  readonly #procs = new ProcessRegistry();
  readonly #running = new Map<string, LabProcess>();
  #nextOther = MGMT_OTHER_FIRST;
  #unregister: () => void = () => {};
  #down = false;

  constructor(opts: EtcdClusterOptions) {
    const count = opts.members ?? DEFAULT_MEMBERS;
    if (count < 1 || count > MAX_ETCD_MEMBERS || count % 2 === 0)
      throw new RangeError(`etcd members: an odd count from 1 to ${MAX_ETCD_MEMBERS}, not ${count}`);
    this.#opts = {
      prefix: opts.prefix,
      members: count,
      dir: opts.dir,
      heartbeatMs: opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
      electionMs: opts.electionMs ?? DEFAULT_ELECTION_MS,
      log: opts.log ?? (() => {}),
    };
    this.dir = join(opts.dir, 'etcd');
    this.members = Array.from({ length: count }, (_, i) => {
      const name = `etcd${i + 1}`;
      const address = etcdMemberAddress(i + 1);
      return {
        name,
        ns: `${opts.prefix}${name}`,
        pid: 0,
        endpoint: `https://${address}:${ETCD_CLIENT_PORT}`,
        address,
        metricsUrl: `http://${address}:${ETCD_METRICS_PORT}/metrics`,
      };
    });
    this.endpoints = this.members.map((m) => m.endpoint);
    this.net = new MgmtNet(opts.prefix);
    mkdirSync(this.dir, { recursive: true });
    this.pki = makeEtcdPki(join(this.dir, 'pki'), this.members);
    this.tls = this.pki.client;
  }

  /** Create the namespaces and the network, start every member, wait for all ready and a leader. */
  async start(): Promise<void> {
    this.#unregister = registerTeardown(() => this.stopSync());
    this.net.create();
    for (const m of this.members) {
      createNamespace(m.ns);
      this.net.attach(m.ns, m.name, m.address);
    }
    for (const m of this.members) this.#spawn(m);
    await this.waitReady();
    const leader = await this.leader();
    this.#opts.log(
      `etcd: ${this.members.length} members up (${this.endpoints.join(', ')}), leader ${leader}`,
    );
  }

  /** The member, by name (throws on an unknown name: a programming error). */
  member(name: string): EtcdMember {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new RangeError(`no etcd member ${name}`);
    return m;
  }

  #spawn(m: EtcdMember): void {
    const dataDir = join(this.dir, m.name);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const cert = this.pki.members.get(m.name)!;
    const peer = (x: EtcdMember) => `https://${x.address}:${ETCD_PEER_PORT}`;
    const args = [
      `--name=${m.name}`,
      `--data-dir=${join(dataDir, 'data')}`,
      `--listen-client-urls=${m.endpoint}`,
      `--advertise-client-urls=${m.endpoint}`,
      `--listen-metrics-urls=${m.metricsUrl.replace(/\/metrics$/, '')}`,
      `--listen-peer-urls=${peer(m)}`,
      `--initial-advertise-peer-urls=${peer(m)}`,
      `--initial-cluster=${this.members.map((x) => `${x.name}=${peer(x)}`).join(',')}`,
      `--initial-cluster-token=${this.#opts.prefix}etcd`,
      '--initial-cluster-state=new',
      `--heartbeat-interval=${this.#opts.heartbeatMs}`,
      `--election-timeout=${this.#opts.electionMs}`,
      '--client-cert-auth',
      `--trusted-ca-file=${this.pki.caFile}`,
      `--cert-file=${cert.certFile}`,
      `--key-file=${cert.keyFile}`,
      '--peer-client-cert-auth',
      `--peer-trusted-ca-file=${this.pki.caFile}`,
      `--peer-cert-file=${cert.certFile}`,
      `--peer-key-file=${cert.keyFile}`,
      '--logger=zap',
      '--log-outputs=stderr',
    ];
    const proc = this.#procs.start(`etcd ${m.name}`, m.ns, ETCD, args, join(dataDir, 'etcd.log'));
    this.#running.set(m.name, proc);
    m.pid = proc.pid;
    proc.exited.then(() => {
      if (this.#running.get(m.name) === proc) {
        this.#running.delete(m.name);
        m.pid = 0;
      }
    });
  }

  /** The members whose process is running. */
  running(): EtcdMember[] {
    return this.members.filter((m) => this.#running.has(m.name));
  }

  /**
   * Run etcdctl with the client certificate (or `opts.tls`) against `opts.endpoints` (default: every
   * member), at the management station or in namespace `opts.ns` (an attached one); resolves with its
   * stdout, rejects (ERR_LAB_COMMAND, etcdctl's stderr) when it fails.
   */
  etcdctl(args: readonly string[], opts: EtcdctlOptions = {}): Promise<string> {
    const tls = opts.tls ?? this.tls;
    const auth = [
      ...(tls.caFile ? [`--cacert=${tls.caFile}`] : []),
      ...(tls.certFile ? [`--cert=${tls.certFile}`] : []),
      ...(tls.keyFile ? [`--key=${tls.keyFile}`] : []),
    ];
    return runInAsync(opts.ns ?? this.net.ns, ETCDCTL, [
      `--endpoints=${(opts.endpoints ?? this.endpoints).join(',')}`,
      `--dial-timeout=${DIAL_TIMEOUT}`,
      `--command-timeout=${COMMAND_TIMEOUT}`,
      ...auth,
      ...args,
    ]);
  }

  /** `endpoint status` of one member: is it the leader? (throws while it does not answer) */
  async #isLeader(m: EtcdMember): Promise<boolean> {
    // -w simple: "endpoint, id, version, db size, is leader, is learner, term, index, applied, errors"
    const out = await this.etcdctl(['endpoint', 'status', '-w', 'simple'], { endpoints: [m.endpoint] });
    return out.split(',').map((f) => f.trim())[4] === 'true';
  }

  /** Wait until each of `names` (default: every running member) answers its status. */
  async waitReady(names: readonly string[] = this.running().map((m) => m.name)): Promise<void> {
    await Promise.all(
      names.map((n) =>
        waitFor(
          `etcd ${n} answering`,
          async () => {
            await this.#isLeader(this.member(n));
            return true;
          },
          READY_TIMEOUT_MS,
          POLL_MS,
        ),
      ),
    );
  }

  /** The leader's name, once a running member says it is the leader. */
  leader(timeoutMs = LEADER_TIMEOUT_MS): Promise<string> {
    return waitFor(
      'an etcd leader',
      async () => {
        const states = await Promise.all(
          this.running().map(async (m) =>
            (await this.#isLeader(m).catch(() => false)) ? m.name : undefined,
          ),
        );
        return states.find((s) => s !== undefined);
      },
      timeoutMs,
      POLL_MS,
    );
  }

  /**
   * Start a stopped member again (its data directory kept). Waits until it answers when the members
   * running with it are a quorum; otherwise (the first ones back after all stopped) only until it has
   * started: wait for them all with waitReady() once a quorum is started.
   */
  async startMember(name: string): Promise<void> {
    const m = this.member(name);
    if (this.#running.has(name)) throw new RangeError(`etcd ${name} is running`);
    this.#spawn(m);
    const proc = this.#running.get(name)!;
    const early = await Promise.race([proc.exited.then(() => true), sleep(EARLY_EXIT_MS).then(() => false)]);
    if (early) throw new LabError('ERR_LAB_COMMAND', `etcd ${name} exited at start (log: ${proc.logFile})`);
    const quorum = Math.floor(this.members.length / 2) + 1;
    if (this.running().length >= quorum) await this.waitReady([name]);
  }

  /** Stop a member with SIGTERM (it hands leadership over if it leads) and wait for its exit. */
  async stopMember(name: string): Promise<void> {
    const proc = this.#running.get(name);
    if (proc) await this.#procs.stop(proc, 'SIGTERM');
  }

  /** Kill a member with SIGKILL (no handover) and wait for its exit. */
  async kill(name: string): Promise<void> {
    const proc = this.#running.get(name);
    if (proc) await this.#procs.stop(proc, 'SIGKILL');
  }

  /**
   * Put namespace `ns` on the management network as `name` (a lab host: give its MGMT_HOST4 address;
   * others get the next free one). Returns the address.
   */
  attach(ns: string, name: string, address?: string): string {
    let addr = address;
    if (addr === undefined) {
      if (this.#nextOther > MGMT_OTHER_LAST) throw new RangeError('management network: no address left');
      addr = `192.0.2.${this.#nextOther++}`;
    }
    this.net.attach(ns, name, addr);
    return addr;
  }

  /** Cut `name` (an attached namespace or a member) off the management network (true) or heal it. */
  partition(name: string, cut: boolean): void {
    this.net.block(name, cut);
  }

  /**
   * Kill every member (SIGKILL: a graceful stop of all at once waits out each leader's handover to
   * followers that are going too, seconds for nothing) and remove the namespaces (by prefix) and
   * the data directories.
   */
  async stop(): Promise<void> {
    await Promise.all(this.running().map((m) => this.kill(m.name)));
    this.stopSync();
  }

  /** The synchronous teardown of exit and signal handlers (lab/cleanup.ts). */
  stopSync(): void {
    if (this.#down) return;
    this.#down = true;
    this.#procs.stopAllSync();
    removeNetnsByPrefix(`${this.#opts.prefix}${NS_INFIX}`);
    for (const m of this.members) rmSync(join(this.dir, m.name, 'data'), { recursive: true, force: true });
    this.#unregister();
  }
}

/** Start a `members`-member etcd cluster (default 3) under `prefix`; see the header. */
export async function startEtcdCluster(opts: EtcdClusterOptions): Promise<EtcdCluster> {
  const cluster = new EtcdCluster(opts);
  try {
    await cluster.start();
  } catch (err) {
    cluster.stopSync();
    throw err;
  }
  return cluster;
}
