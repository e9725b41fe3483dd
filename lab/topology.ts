// The lab fabric (docs: DESIGN.md "The lab"): client — spine — {tor1 (FRR), tor2 (BIRD)} — {h1, h2, h3},
// every host multihomed to both ToRs, built from namespaces and veth pairs with a per-run prefix
// (lab/netns.ts) and the addressing plan (lab/addressing.ts). buildLab() creates it and
// starts the routers; the Lab it returns adds VIPs, starts host BGP stand-ins and services, reads
// session states and FIBs, and tears everything down — also on failure and on SIGINT/SIGTERM.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  HOST_PLAN,
  HOSTS,
  type HostName,
  LINKS,
  type Link,
  linkBetween,
  NODES,
  type NodeName,
  P2P_PREFIX_V4,
  P2P_PREFIX_V6,
  TORS,
  VIP4,
  VIP6,
} from './addressing.js';
import { type ProbeOptions, runProbeIn, startServiceIn } from './apps.js';
import { type BirdInstance, birdSessionStates, renderBird, startBird } from './bird.js';
import { registerTeardown } from './cleanup.js';
import { runIn, waitFor } from './exec.js';
import { type FrrInstance, frrSessionStates, startFrr } from './frr.js';
import {
  addAddress,
  cleanupStale,
  createNamespace,
  createVeth,
  labPrefix,
  linkUp,
  removeByPrefix,
  routerSysctls,
  runDir,
} from './netns.js';
import { hostPeers, type PeerSpec, spinePeers, torPeers } from './peers.js';
import type { ProbeResult } from './probe.js';
import { type LabProcess, ProcessRegistry } from './processes.js';
import { routerConfig } from './router-config.js';

export interface LabOptions {
  /** Run number within this process (part of the prefix); each live lab needs its own. */
  run?: number;
  /** Progress lines ("namespaces up", ...). */
  log?: (line: string) => void;
  /** The ToRs as graceful restart helpers (RFC 4724; default off: a lost session drops routes at once). */
  gracefulRestart?: boolean;
}

export type RouterName = 'spine' | 'tor1' | 'tor2';
const ROUTERS: readonly RouterName[] = ['spine', 'tor1', 'tor2'];

/** One BGP session as seen from a router: who, which family, and its state. */
export interface SessionState {
  router: RouterName;
  peer: NodeName;
  family: 4 | 6;
  state: string;
}

/** Routers forward and hash ECMP on L4, each with its own seed; the ToRs are the second stage. */
const ROUTER_SYSCTLS: Partial<Record<NodeName, string[]>> = {
  spine: routerSysctls(0x5eed0001, false),
  tor1: routerSysctls(0x5eed0002, true),
  tor2: routerSysctls(0x5eed0003, true),
};
const SESSIONS_TIMEOUT_MS = 20_000;
let nextRun = 0;

export class Lab {
  readonly prefix: string;
  readonly dir: string;
  readonly procs = new ProcessRegistry();
  readonly frr = new Map<'spine' | 'tor1', FrrInstance>();
  tor2: BirdInstance | undefined;
  /** The ToRs run as graceful restart helpers (LabOptions.gracefulRestart). */
  gracefulRestart = false;
  /** Host BGP stand-ins (BIRD) that are running. */
  readonly standIns = new Map<HostName, BirdInstance>();
  readonly services = new Map<HostName, LabProcess>();
  /** Hosts in the fabric now: the default three, plus any added by addHost() (lab/extra-host.ts). */
  readonly hosts: HostName[] = [...HOSTS];
  readonly #log: (line: string) => void;
  #unregister: () => void = () => {};
  #down = false;

  constructor(prefix: string, log: (line: string) => void) {
    this.prefix = prefix;
    this.dir = runDir(prefix);
    this.#log = log;
  }

  /** The namespace of a node. */
  ns(node: NodeName): string {
    return `${this.prefix}${node}`;
  }

  log(line: string): void {
    this.#log(line);
  }

  /** Called by buildLab before anything exists, so any later failure still tears down. */
  armTeardown(): void {
    this.#unregister = registerTeardown(() => this.teardown());
  }

  /** Put the anycast VIP (IPv4 /32 and IPv6 /128) on the host's lo — the agent's job in the real lab. */
  addVip(host: HostName, v4 = VIP4, v6 = VIP6): void {
    addAddress(this.ns(host), 'lo', `${v4}/32`);
    addAddress(this.ns(host), 'lo', `${v6}/128`);
  }

  removeVip(host: HostName, v4 = VIP4, v6 = VIP6): void {
    runIn(this.ns(host), 'ip', ['addr', 'del', `${v4}/32`, 'dev', 'lo']);
    runIn(this.ns(host), 'ip', ['-6', 'addr', 'del', `${v6}/128`, 'dev', 'lo']);
  }

  /**
   * Start a BIRD in the host's namespace that stands in for anycastd's BGP speaker: it advertises
   * the VIP and the host address (/32 and /128) to both ToRs and installs the ECMP default.
   */
  async startHostStandIn(host: HostName): Promise<BirdInstance> {
    const plan = HOST_PLAN[host];
    const dir = join(this.dir, host);
    mkdirSync(dir, { recursive: true });
    const own = { v4: [`${VIP4}/32`, `${plan.lo4}/32`], v6: [`${VIP6}/128`, `${plan.lo6}/128`] };
    const conf = renderBird(plan.lo4, hostPeers(host), join(dir, 'bird.log'), own);
    const bird = await startBird(this.procs, this.ns(host), dir, host, conf);
    this.standIns.set(host, bird);
    return bird;
  }

  /** Stop a host's stand-in (SIGTERM: BIRD closes its sessions with a Cease; SIGKILL: TCP just closes). */
  async stopHostStandIn(host: HostName, sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const bird = this.standIns.get(host);
    this.standIns.delete(host);
    if (bird) await this.procs.stop(bird.proc, sig);
  }

  /** Start the lab service on a host, bound to the VIP (add it first) or `bind`; answers with the host's name. */
  async startService(host: HostName, bind?: readonly string[]): Promise<LabProcess> {
    const proc = await startServiceIn(this.procs, this.ns(host), this.dir, host, bind);
    this.services.set(host, proc);
    return proc;
  }

  /** Stop (SIGTERM) or kill (SIGKILL) a host's service. */
  async stopService(host: HostName, sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = this.services.get(host);
    this.services.delete(host);
    if (proc) await this.procs.stop(proc, sig);
  }

  /** Many short client connections to a VIP; counts per answering host. */
  probe(opts: ProbeOptions): Promise<ProbeResult> {
    return runProbeIn(this.ns('client'), opts);
  }

  /** Start a router's daemons (FRR zebra + bgpd for the spine and tor1, BIRD for tor2). */
  async startRouter(router: RouterName): Promise<void> {
    const dir = join(this.dir, router);
    const conf = routerConfig(router, this.hosts, join(dir, 'bird.log'), {
      gracefulRestart: this.gracefulRestart,
    });
    if (router === 'tor2') {
      this.tor2 = await startBird(this.procs, this.ns('tor2'), dir, 'tor2', conf);
      return;
    }
    this.frr.set(router, await startFrr(this.procs, this.ns(router), dir, router, conf));
  }

  /** Stop a router's daemons (a ToR failure: its sessions close, its routes leave the kernel). */
  async stopRouter(router: RouterName): Promise<void> {
    if (router === 'tor2') {
      const bird = this.tor2;
      this.tor2 = undefined;
      if (bird) await this.procs.stop(bird.proc);
      return;
    }
    const frr = this.frr.get(router);
    this.frr.delete(router);
    if (frr) {
      await this.procs.stop(frr.bgpd);
      await this.procs.stop(frr.zebra);
    }
  }

  /** Every router-side session and its state. */
  async sessions(): Promise<SessionState[]> {
    const out: SessionState[] = [];
    const collect = (
      router: SessionState['router'],
      peers: PeerSpec[],
      states: Map<string, string>,
      byName: boolean,
    ) => {
      for (const p of peers) {
        const state = states.get(byName ? p.name : p.peerAddress) ?? 'missing';
        out.push({ router, peer: p.peer, family: p.family, state });
      }
    };
    for (const [router, frr] of this.frr) {
      const peers = router === 'spine' ? spinePeers() : torPeers(router, this.hosts);
      collect(router, peers, await frrSessionStates(frr.dir), false);
    }
    if (this.tor2)
      collect('tor2', torPeers('tor2', this.hosts), await birdSessionStates(this.tor2.ctl), true);
    return out;
  }

  /**
   * Wait until every router-side session to the spine, and to each host in `hosts`, is Established.
   * Resolves with the time it took.
   */
  async waitEstablished(hosts: readonly HostName[], timeoutMs = SESSIONS_TIMEOUT_MS): Promise<number> {
    const start = performance.now();
    const wanted = new Set<NodeName>(['spine', 'tor1', 'tor2', ...hosts]);
    await waitFor(
      `BGP sessions Established (${[...wanted].join(', ')})`,
      async () => {
        const relevant = (await this.sessions()).filter((s) => wanted.has(s.peer));
        const down = relevant.filter((s) => s.state !== 'Established');
        if (down.length === 0) return true;
        throw new Error(down.map((s) => `${s.router}→${s.peer}/v${s.family} ${s.state}`).join(', '));
      },
      timeoutMs,
      100,
    );
    return performance.now() - start;
  }

  /** Tear everything down: stop tracked processes by pid, then remove the namespaces by prefix. */
  teardown(): void {
    if (this.#down) return;
    this.#down = true;
    this.procs.stopAllSync();
    const removed = removeByPrefix(this.prefix);
    this.#unregister();
    this.#log(`lab ${this.prefix}: torn down (${removed.length} namespaces removed)`);
  }
}

/** Create `links` (veth pairs between existing namespaces), address them and bring them up. */
export function wireLinks(lab: Lab, links: readonly Link[]): void {
  for (const { a, b } of links) {
    createVeth(lab.ns(a.node), a.ifname, lab.ns(b.node), b.ifname);
    for (const e of [a, b]) {
      addAddress(lab.ns(e.node), e.ifname, `${e.v4}/${P2P_PREFIX_V4}`);
      addAddress(lab.ns(e.node), e.ifname, `${e.v6}/${P2P_PREFIX_V6}`);
      linkUp(lab.ns(e.node), e.ifname);
    }
  }
}

/** The host address (IPv4 /32 and IPv6 /128) on the host's lo. */
export function addHostAddress(lab: Lab, host: HostName): void {
  addAddress(lab.ns(host), 'lo', `${HOST_PLAN[host].lo4}/32`);
  addAddress(lab.ns(host), 'lo', `${HOST_PLAN[host].lo6}/128`);
}

function buildNetwork(lab: Lab): void {
  for (const node of NODES) createNamespace(lab.ns(node), ROUTER_SYSCTLS[node]);
  wireLinks(lab, LINKS);
  for (const host of HOSTS) addHostAddress(lab, host);
  // Nothing leaves the lab: whatever the spine has no route for is dropped there.
  runIn(lab.ns('spine'), 'ip', ['-4', 'route', 'add', 'blackhole', 'default']);
  runIn(lab.ns('spine'), 'ip', ['-6', 'route', 'add', 'blackhole', 'default']);
  const toSpine = linkBetween('spine', 'client').a;
  runIn(lab.ns('client'), 'ip', ['-4', 'route', 'add', 'default', 'via', toSpine.v4]);
  runIn(lab.ns('client'), 'ip', ['-6', 'route', 'add', 'default', 'via', toSpine.v6]);
}

async function startRouters(lab: Lab): Promise<void> {
  for (const r of ROUTERS) await lab.startRouter(r);
}

/**
 * Build the fabric: remove stale leftovers of crashed runs, create namespaces, links, addresses and
 * routes, start the spine and ToR routers. Hosts get their addresses but no BGP speaker and no VIP
 * (startHostStandIn(), addVip(), or the real agent, do that). On any failure, tears down and rethrows.
 */
export async function buildLab(opts: LabOptions = {}): Promise<Lab> {
  const stale = cleanupStale();
  const log = opts.log ?? (() => {});
  if (stale.length > 0) log(`removed ${stale.length} stale namespaces of crashed runs`);
  const lab = new Lab(labPrefix(opts.run ?? nextRun++), log);
  lab.gracefulRestart = opts.gracefulRestart ?? false;
  lab.armTeardown();
  try {
    mkdirSync(lab.dir, { recursive: true });
    buildNetwork(lab);
    log(`namespaces ${NODES.map((n) => lab.ns(n)).join(' ')}: ${LINKS.length} links up`);
    await startRouters(lab);
    log(`routers started: spine (FRR), tor1 (FRR), tor2 (BIRD); ${TORS.length} ToRs × ${HOSTS.length} hosts`);
    return lab;
  } catch (err) {
    lab.teardown();
    throw err;
  }
}
