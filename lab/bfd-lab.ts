// The peer-liveness lab: one host running a real agent (`anycastd run`, dataplane none) and the lab's
// service on the VIP, multihomed to two ToRs — tor1 FRR 8.4 (zebra, bgpd, bfdd), tor2 BIRD 2 (bgp,
// bfd) — each sending it a default route and taking its VIP. With `bfd` on, both ends run BFD at
// 100 ms × 3 (the agent's default); off, only the BGP hold timer (3 s) finds a failure: the baseline.
// Scenarios, each timed from the fault to the route change, watched in-process over rtnetlink:
// - freeze-tor: SIGSTOP the ToR's daemons → its next hop leaves the host's ECMP default;
// - blackhole: the link carries nothing but keeps its carrier (static neighbour entries to an unused
//   MAC at both ends: every frame is addressed to nobody) → its next hop leaves the host's default;
// - link-down: `ip link set dn1 down` at the ToR's end of the veth → same, from carrier loss;
// - freeze-host: SIGSTOP the agent and the service → the VIP route leaves that ToR's FIB.
// Every fault is undone and the lab waits for the routes to come back before the next trial.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { callOnce } from '../src/api/client.js';
import { peersText } from '../src/cli/show.js';
import { DEFAULT_ROUTE_PROTOCOL } from '../src/config/schema-bgp.js';
import { Rtnetlink } from '../src/native/rtnl.js';
import { watchRtnl } from '../src/native/rtnl-events.js';
import { nodeArgs, startLoadIn, startServiceIn } from './apps.js';
import { startBfdd } from './bfd-peers.js';
import { runAsync, runIn, sleep, waitFor } from './exec.js';
import { startFrr } from './frr.js';
import { addAddress, createNamespace, createVeth, linkUp } from './netns.js';
import type { LabProcess, ProcessRegistry } from './processes.js';

const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const VIP = '203.0.113.10';
const HOST = '198.51.100.11';
const HOST_AS = 4_200_000_011;
const BOGUS_MAC = '02:00:5e:00:53:ff';
const SERVICE_PORT = 8080;
export const HOLD_TIME_MS = 3_000;
const SETTLE_MS = 60_000;
/** Before each fault, the routes must have been steady this long (sessions settle their timers). */
const STEADY_MS = 1_500;
const POLL_MS = 20;

export type Tor = 'frr' | 'bird';
export type Scenario = 'freeze-tor' | 'blackhole' | 'link-down' | 'freeze-host';

interface TorPlan {
  ns: string;
  ifname: string;
  torAddr: string;
  hostAddr: string;
  hostIf: string;
  asn: number;
}

/** Now on the wall clock, ms (fractional). */
const now = (): number => performance.timeOrigin + performance.now();

/**
 * Resolves with the wall time at which `holds` first became true: checked on every route change the
 * kernel reports in `ns` (so the time is the event's, not a poll's) and every POLL_MS as a fallback.
 */
async function whenTrue(ns: string, holds: (rtnl: Rtnetlink) => boolean, timeoutMs: number): Promise<number> {
  const rtnl = Rtnetlink.open({ netns: ns });
  let at: number | undefined;
  const check = (): void => {
    if (at === undefined && holds(rtnl)) at = now();
  };
  const watch = watchRtnl(['ipv4-route'], check, { netns: ns });
  try {
    check();
    const deadline = now() + timeoutMs;
    while (at === undefined && now() < deadline) {
      await sleep(POLL_MS);
      check();
    }
    if (at === undefined) throw new Error(`route condition in ${ns} not met in ${timeoutMs} ms`);
    return at;
  } finally {
    watch.close();
    rtnl.close();
  }
}

export class BfdLab {
  readonly h: string;
  readonly tors: Record<Tor, TorPlan>;
  agent: LabProcess | undefined;
  service: LabProcess | undefined;
  torProcs: Record<Tor, LabProcess[]> = { frr: [], bird: [] };

  constructor(
    private readonly procs: ProcessRegistry,
    prefix: string,
    private readonly dir: string,
    readonly bfd: boolean,
  ) {
    this.h = `${prefix}h`;
    this.tors = {
      frr: {
        ns: `${prefix}frr`,
        ifname: 'dn1',
        torAddr: '192.0.2.0',
        hostAddr: '192.0.2.1',
        hostIf: 'up1',
        asn: 65001,
      },
      bird: {
        ns: `${prefix}bird`,
        ifname: 'dn1',
        torAddr: '192.0.2.2',
        hostAddr: '192.0.2.3',
        hostIf: 'up2',
        asn: 65002,
      },
    };
  }

  async start(): Promise<void> {
    createNamespace(this.h);
    for (const t of Object.values(this.tors)) {
      createNamespace(t.ns);
      createVeth(this.h, t.hostIf, t.ns, t.ifname);
      addAddress(this.h, t.hostIf, `${t.hostAddr}/31`);
      addAddress(t.ns, t.ifname, `${t.torAddr}/31`);
      linkUp(this.h, t.hostIf);
      linkUp(t.ns, t.ifname);
    }
    await this.#startFrr();
    await this.#startBird();
    await this.#startHost();
    await this.waitSteady();
    if (this.bfd) await this.#waitBfdUp();
  }

  /** Both of the agent's BFD sessions Up (its metrics), e.g. after a start: the sessions' thread starts in seconds under tsx. */
  async #waitBfdUp(): Promise<void> {
    await waitFor(
      'agent BFD sessions up',
      async () =>
        (this.metrics().match(/^anycastd_bfd_session_up\{[^}]*\} 1$/gm) ?? []).length === 2
          ? true
          : undefined,
      SETTLE_MS,
    );
  }

  async #startFrr(): Promise<void> {
    const t = this.tors.frr;
    const dir = join(this.dir, 'frr');
    const bfd = this.bfd ? ` neighbor ${t.hostAddr} bfd\n neighbor ${t.hostAddr} bfd profile lab\n` : '';
    const conf = `hostname tor1
!
router bgp ${t.asn}
 bgp router-id 192.0.2.101
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 bgp graceful-restart-disable
 timers bgp 1 3
 neighbor ${t.hostAddr} remote-as ${HOST_AS}
 neighbor ${t.hostAddr} timers connect 1
 neighbor ${t.hostAddr} advertisement-interval 0
${bfd} address-family ipv4 unicast
  neighbor ${t.hostAddr} activate
  neighbor ${t.hostAddr} default-originate
 exit-address-family
!
`;
    const frr = await startFrr(this.procs, t.ns, dir, 'tor1', conf);
    this.torProcs.frr = [frr.zebra, frr.bgpd];
    if (this.bfd) {
      const bfdConf =
        'hostname tor1\n!\nbfd\n profile lab\n  transmit-interval 100\n  receive-interval 100\n  detect-multiplier 3\n !\n!\n';
      this.torProcs.frr.push(await startBfdd(this.procs, t.ns, dir, bfdConf));
    }
  }

  async #startBird(): Promise<void> {
    const t = this.tors.bird;
    const dir = join(this.dir, 'bird');
    mkdirSync(dir, { recursive: true });
    const conf = join(dir, 'bird.conf');
    writeFileSync(
      conf,
      `log "${join(dir, 'bird.log')}" all;
router id 192.0.2.102;
protocol device { scan time 10; }
protocol kernel { ipv4 { import none; export where source = RTS_BGP; }; }
protocol static { ipv4; route 0.0.0.0/0 blackhole; }
${this.bfd ? 'protocol bfd { interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }' : ''}
protocol bgp h1 {
  local ${t.torAddr} as ${t.asn}; neighbor ${t.hostAddr} as ${HOST_AS};
  hold time 3; keepalive time 1; connect delay time 1; error wait time 1, 5;
  ${this.bfd ? 'bfd on;' : ''}
  ipv4 { import all; export where net = 0.0.0.0/0; };
}
`,
    );
    const ctl = join(dir, 'bird.ctl');
    const bird = this.procs.start(
      'bird tor2',
      t.ns,
      'bird',
      ['-f', '-c', conf, '-s', ctl, '-P', join(dir, 'bird.pid')],
      join(dir, 'bird.out'),
    );
    await waitFor('bird ctl', () => runAsync('birdc', ['-s', ctl, 'show status']).then(() => true), 10_000);
    this.torProcs.bird = [bird];
  }

  async #startHost(): Promise<void> {
    const dir = join(this.dir, 'h');
    mkdirSync(join(dir, 'pins'), { recursive: true });
    const bfd = this.bfd ? ', bfd: true' : '';
    const peers = Object.entries(this.tors)
      .map(
        ([name, t]) =>
          `    - { name: ${name}, address: ${t.torAddr}, remote_asn: ${t.asn}, hold_time: 3s, keepalive: 1s, connect_retry: 1s${bfd} }`,
      )
      .join('\n');
    const yaml = `node: { id: h1, host: { ipv4: ${HOST} }, asn: ${HOST_AS} }
bgp:
  peers:
${peers}
services:
  - name: web
    vips: [${VIP}]
    ports: [{ protocol: tcp, port: ${SERVICE_PORT} }]
    instances: [{ id: h1, host: { ipv4: ${HOST} } }]
    checks: [{ type: tcp, port: ${SERVICE_PORT}, interval: 200ms, timeout: 150ms, watch_socket: true }]
    grace_time: 200ms
    drain_file: ${dir}/drain-web
dataplane: { mode: none }
cluster: { enabled: false }
metrics: { listen: "127.0.0.1:9469" }
api: { socket: ${dir}/anycastd.sock }
`;
    writeFileSync(join(dir, 'anycastd.yaml'), yaml);
    for (const a of [VIP, HOST]) runIn(this.h, 'ip', ['addr', 'add', `${a}/32`, 'dev', 'lo']);
    this.agent = this.procs.start(
      'agent h1',
      this.h,
      process.execPath,
      nodeArgs(CLI, ['run', '-c', join(dir, 'anycastd.yaml'), '--pin-dir', join(dir, 'pins', 'anycastd')]),
      join(dir, 'agent.log'),
    );
    this.service = await startServiceIn(this.procs, this.h, dir, 'h1', [VIP, HOST]);
  }

  /** The agent's /metrics text. */
  metrics(): string {
    return runIn(this.h, 'curl', ['-s', '--max-time', '2', 'http://127.0.0.1:9469/metrics']);
  }

  /** `anycastd show peers` of the agent, as the CLI prints it (over the control socket, in-process). */
  async showPeers(): Promise<string> {
    return peersText(await callOnce(join(this.dir, 'h', 'anycastd.sock'), 'peers', {}));
  }

  /** The host's default route has a next hop via `tor` (false: gone). */
  hasNexthop(rtnl: Rtnetlink, tor: Tor): boolean {
    const gw = this.tors[tor].torAddr;
    return rtnl
      .routes({ family: 4, dst: '0.0.0.0/0', protocol: DEFAULT_ROUTE_PROTOCOL })
      .some((r) => r.nexthops.some((n) => n.gateway === gw));
  }

  /** The ToR has the VIP in its FIB. */
  static hasVip(rtnl: Rtnetlink): boolean {
    return rtnl.routes({ family: 4, dst: `${VIP}/32` }).length > 0;
  }

  /** Both next hops at the host, the VIP at both ToRs, steady for STEADY_MS. */
  async waitSteady(timeoutMs = SETTLE_MS): Promise<void> {
    const all = (): boolean => {
      const h = Rtnetlink.open({ netns: this.h });
      try {
        if (!this.hasNexthop(h, 'frr') || !this.hasNexthop(h, 'bird')) return false;
      } finally {
        h.close();
      }
      return Object.values(this.tors).every((t) => {
        const r = Rtnetlink.open({ netns: t.ns });
        try {
          return BfdLab.hasVip(r);
        } finally {
          r.close();
        }
      });
    };
    const deadline = now() + timeoutMs;
    let since: number | undefined;
    for (;;) {
      if (all()) {
        since ??= now();
        if (now() - since >= STEADY_MS) return;
      } else since = undefined;
      if (now() > deadline) throw new Error(`lab not steady in ${timeoutMs} ms (bfd ${this.bfd})`);
      await sleep(POLL_MS * 5);
    }
  }

  /** The transitions of each BFD session by new state (anycastd_bfd_transitions_total), summed per state. */
  bfdTransitions(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const m of this.metrics().matchAll(
      /^anycastd_bfd_transitions_total\{[^}]*state="([a-z-]+)"[^}]*\} (\d+)/gm,
    ))
      out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
    return out;
  }

  /**
   * Counts route changes for `ms`: each time the host's default loses or regains a ToR's next hop, or a
   * ToR's FIB loses or regains the VIP (a flap is two). Sampled on every route event and every POLL_MS.
   */
  async countRouteChanges(ms: number): Promise<{ host: number; tors: Record<Tor, number> }> {
    const h = Rtnetlink.open({ netns: this.h });
    const tors = (Object.keys(this.tors) as Tor[]).map((t) => ({
      t,
      rtnl: Rtnetlink.open({ netns: this.tors[t].ns }),
    }));
    const state = (): boolean[] => [
      this.hasNexthop(h, 'frr'),
      this.hasNexthop(h, 'bird'),
      ...tors.map((x) => BfdLab.hasVip(x.rtnl)),
    ];
    let last = state();
    const changes = last.map(() => 0);
    const sample = (): void => {
      const cur = state();
      cur.forEach((v, i) => {
        if (v !== last[i]) changes[i]!++;
      });
      last = cur;
    };
    const watches = [this.h, ...tors.map((x) => this.tors[x.t].ns)].map((ns) =>
      watchRtnl(['ipv4-route'], sample, { netns: ns }),
    );
    try {
      const end = now() + ms;
      while (now() < end) {
        await sleep(POLL_MS);
        sample();
      }
    } finally {
      for (const w of watches) w.close();
      h.close();
      for (const x of tors) x.rtnl.close();
    }
    return {
      host: changes[0]! + changes[1]!,
      tors: Object.fromEntries(tors.map((x, i) => [x.t, changes[2 + i]!])) as Record<Tor, number>,
    };
  }

  /** The load generator (lab/load.ts) from the FRR ToR's namespace to the VIP over the link, no pause. */
  startLoad(concurrency: number): LabProcess {
    return startLoadIn(this.procs, this.tors.frr.ns, this.dir, { target: VIP, concurrency });
  }

  /**
   * `n` CPU burners (a busy shell loop each, in the host's namespace), each ending by itself after
   * `seconds` (coreutils timeout) should the lab not stop it first.
   */
  startBurners(n: number, seconds: number): LabProcess[] {
    return Array.from({ length: n }, (_, i) =>
      this.procs.start(
        `burner ${i}`,
        this.h,
        'timeout',
        [String(seconds), 'sh', '-c', 'while :; do :; done'],
        join(this.dir, `burner-${i}.log`),
      ),
    );
  }

  /** A stopped load generator's counts line ("ok N errors N req/s N"). */
  static loadResult(load: LabProcess): string {
    const last = readFileSync(load.logFile, 'utf8').trim().split('\n').at(-1) ?? '{}';
    try {
      const c = JSON.parse(last) as { ok: number; errors: number; elapsedMs: number };
      return `${c.ok} ok, ${c.errors} errors, ${Math.round((c.ok * 1000) / Math.max(1, c.elapsedMs))} req/s`;
    } catch {
      return `no counts (${last.slice(0, 80)})`;
    }
  }

  /** One trial: the fault, the time to the route change (ms), the fault undone, routes back. */
  async trial(scenario: Scenario, tor: Tor, timeoutMs: number): Promise<number> {
    const t = this.tors[tor];
    const watchNs = scenario === 'freeze-host' ? t.ns : this.h;
    const gone =
      scenario === 'freeze-host'
        ? (r: Rtnetlink) => !BfdLab.hasVip(r)
        : (r: Rtnetlink) => !this.hasNexthop(r, tor);
    const pending = whenTrue(watchNs, gone, timeoutMs);
    await sleep(POLL_MS); // the watch is subscribed before the fault
    const at = now();
    const undo = this.#fault(scenario, tor);
    try {
      return (await pending) - at;
    } finally {
      undo();
      await this.waitSteady();
    }
  }

  /** Applies a fault; returns its undoing. */
  #fault(scenario: Scenario, tor: Tor): () => void {
    const t = this.tors[tor];
    const signal = (procs: LabProcess[], sig: NodeJS.Signals) => {
      for (const p of procs) process.kill(p.pid, sig);
    };
    switch (scenario) {
      case 'freeze-tor':
        signal(this.torProcs[tor], 'SIGSTOP');
        return () => signal(this.torProcs[tor], 'SIGCONT');
      case 'freeze-host': {
        const procs = [this.agent!, this.service!];
        signal(procs, 'SIGSTOP');
        return () => signal(procs, 'SIGCONT');
      }
      // Link and neighbour changes go over rtnetlink from this process (microseconds), not by
      // spawning `ip` (up to hundreds of ms on a loaded box), so the time measured is the detection.
      case 'link-down': {
        const rtnl = Rtnetlink.open({ netns: t.ns });
        const ifindex = rtnl.link(t.ifname).ifindex;
        rtnl.setLinkUp(ifindex, false);
        return () => {
          rtnl.setLinkUp(ifindex, true);
          rtnl.close();
        };
      }
      case 'blackhole': {
        // Both ends address every frame to a MAC nobody has; the ToR's side first, since what reaches
        // the host is what the host's detection times.
        const ends = [
          { ns: t.ns, ifname: t.ifname, address: t.hostAddr },
          { ns: this.h, ifname: t.hostIf, address: t.torAddr },
        ].map((e) => {
          const rtnl = Rtnetlink.open({ netns: e.ns });
          return { rtnl, ifindex: rtnl.link(e.ifname).ifindex, address: e.address };
        });
        for (const e of ends) e.rtnl.setNeighbour({ ifindex: e.ifindex, address: e.address, mac: BOGUS_MAC });
        return () => {
          for (const e of ends) {
            e.rtnl.deleteNeighbour({ ifindex: e.ifindex, address: e.address });
            e.rtnl.close();
          }
        };
      }
    }
  }
}
