// A baseline for the keeping bench: resilient next-hop groups at the ToRs (Linux `ip nexthop ... type
// resilient`, kernel ≥ 5.13), with every agent's XDP detached. The routing daemons (FRR, BIRD) keep
// installing the VIP's plain hash-threshold ECMP route in the main table; this mirror polls it every
// POLL_MS and keeps, per ToR and family, a resilient group of the same members (one nexthop object per
// host) under a route in a table of its own, looked up first for the VIP (`ip rule ... to VIP lookup
// TABLE`). Not the main table: FRR's zebra takes any other route there for the same prefix as a kernel
// route (distance 0), prefers it and removes its own BGP route, so the mirror would see no members.
// Nexthop ids from ID_BASE, far above the ones zebra allocates. A resilient group keeps a fixed table of
// buckets: a member that leaves loses only its buckets (the others' flows stay put, unlike
// hash-threshold, where every flow past the removed member's range moves); a member that arrives gets
// only buckets idle for IDLE_TIMER_S — with traffic on every bucket, none, so an added or returning host
// takes no flows until the table rebalances.
// The mirror follows each ToR's `ip monitor route nexthop` (rtnetlink events as the kernel sends them):
// an event that is not the mirror's own write resyncs that ToR at once (a change during a sync runs one
// more sync after it), so the group trails the daemon's route by the time of a few `ip` calls, not a
// poll period. A slow BACKSTOP_MS poll catches anything the monitor line filter missed; its catches are
// counted (`backstopChanges`, 0 when the monitor saw everything).

import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { TORS, VIP4, VIP6 } from './addressing.js';
import { runAsync, tryRun } from './exec.js';
import type { LabProcess } from './processes.js';
import type { Lab } from './topology.js';

/** How often each ToR is resynced even with no event seen (a backstop; the monitor drives the mirror). */
const BACKSTOP_MS = 1_000;
/** Buckets of each resilient group. */
const BUCKETS = 128;
/** Seconds a bucket must be idle before it may move to another member (the kernel's default, 120). */
const IDLE_TIMER_S = 120;
/** Our routing table, and the priority of the rule that sends the VIP to it (before main's 32766). */
const TABLE = '100';
const RULE_PREF = '100';
/** Nexthop object ids: a group per family, the members from MEMBER_BASE. */
const ID_BASE = 900_000;
const GROUP_ID = { 4: ID_BASE + 4, 6: ID_BASE + 6 } as const;
const MEMBER_BASE = ID_BASE + 100;
const PREFIX = { 4: `${VIP4}/32`, 6: `${VIP6}/128` } as const;
const OWN_ID = /\b(?:nh)?id (\d+)/g;

/** True for a monitor line about the mirror's own objects (our table, a nexthop id from ID_BASE on). */
function ownLine(line: string): boolean {
  if (line.includes(`table ${TABLE}`)) return true;
  return [...line.matchAll(OWN_ID)].some((m) => Number(m[1]) >= ID_BASE);
}

/** `ip rule` arguments sending the VIP of `family` to our table (`verb`: add or del), at the ToR `ns`. */
function ruleArgs(ns: string, family: 4 | 6, verb: 'add' | 'del'): string[] {
  return ['-n', ns, `-${family}`, 'rule', verb, 'to', PREFIX[family], 'lookup', TABLE, 'pref', RULE_PREF];
}

interface RouteJson {
  type?: string;
  protocol?: string;
  gateway?: string;
  dev?: string;
  nexthops?: { gateway?: string; dev?: string }[];
}

/** The daemon's ECMP route's members at a ToR: "gateway dev" strings, sorted. */
async function daemonMembers(ns: string, family: 4 | 6): Promise<string[]> {
  const out = await runAsync('ip', ['-n', ns, `-${family}`, '-j', 'route', 'show', 'exact', PREFIX[family]]);
  const routes = JSON.parse(out.trim() === '' ? '[]' : out) as RouteJson[];
  const r = routes.find((x) => (x.type ?? 'unicast') === 'unicast');
  if (!r) return [];
  const nhs = r.nexthops ?? (r.gateway ? [{ gateway: r.gateway, dev: r.dev }] : []);
  return nhs.map((n) => `${n.gateway} ${n.dev}`).sort();
}

/** One ToR's sync state: a sync runs at most once at a time; `dirty` asks for one more after it. */
interface TorState {
  ns: string;
  busy: boolean;
  dirty: boolean;
  monitor?: LabProcess;
}

export class ResilientMirror {
  readonly #lab: Lab;
  /** What each ToR/family group holds now ("" = none). */
  readonly #installed = new Map<string, string>();
  /** Member nexthop ids per "gateway dev", per ToR. */
  readonly #ids = new Map<string, number>();
  readonly #tors: TorState[];
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Syncs that failed (a read or write raced a daemon's change; the next event or backstop retries). */
  failures = 0;
  lastError: string | undefined;
  /** Group changes written. */
  changes = 0;
  /** Group changes found by the backstop poll, not by an event (0 when the monitor saw everything). */
  backstopChanges = 0;

  private constructor(lab: Lab) {
    this.#lab = lab;
    this.#tors = TORS.map((tor) => ({ ns: lab.ns(tor), busy: false, dirty: false }));
  }

  /** Start mirroring at both ToRs, both families; resolves after the first sync. */
  static async start(lab: Lab): Promise<ResilientMirror> {
    const m = new ResilientMirror(lab);
    for (const tor of m.#tors) {
      for (const family of [4, 6] as const) await runAsync('ip', ruleArgs(tor.ns, family, 'add'));
      m.#follow(tor);
    }
    await Promise.all(m.#tors.map((t) => m.#syncTor(t)));
    m.#timer = setInterval(() => {
      for (const t of m.#tors) void m.#run(t, true);
    }, BACKSTOP_MS);
    return m;
  }

  /** Resync `tor` on every route or nexthop event that is not one of the mirror's own writes. */
  #follow(tor: TorState): void {
    const proc = this.#lab.procs.start(
      `resilient monitor ${tor.ns}`,
      tor.ns,
      'ip',
      ['monitor', 'route', 'nexthop'],
      join(this.#lab.dir, `resilient-monitor-${tor.ns}.err`),
      { pipeStdout: true },
    );
    tor.monitor = proc;
    createInterface({ input: proc.child.stdout! }).on('line', (line) => {
      if (!ownLine(line)) void this.#run(tor, false);
    });
  }

  /** Sync `tor` now, or once more after the sync under way. */
  async #run(tor: TorState, backstop: boolean): Promise<void> {
    if (this.#stopped) return;
    if (tor.busy) {
      if (!backstop) tor.dirty = true;
      return;
    }
    tor.busy = true;
    try {
      do {
        tor.dirty = false;
        const before = this.changes;
        try {
          await this.#syncTor(tor);
        } catch (err) {
          this.failures++;
          this.lastError = err instanceof Error ? err.message : String(err);
        }
        if (backstop) this.backstopChanges += this.changes - before;
        backstop = false;
      } while (tor.dirty && !this.#stopped);
    } finally {
      tor.busy = false;
    }
  }

  async #syncTor(tor: TorState): Promise<void> {
    await Promise.all(([4, 6] as const).map((family) => this.#syncOne(tor.ns, family)));
  }
  #memberId(ns: string, member: string): number {
    const key = `${ns} ${member}`;
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = MEMBER_BASE + [...this.#ids.keys()].filter((k) => k.startsWith(`${ns} `)).length;
      this.#ids.set(key, id);
    }
    return id;
  }

  async #syncOne(ns: string, family: 4 | 6): Promise<void> {
    const members = await daemonMembers(ns, family);
    const key = `${ns} ${family}`;
    const want = members.join(',');
    if ((this.#installed.get(key) ?? '') === want) return;
    const group = String(GROUP_ID[family]);
    if (members.length === 0) {
      this.#installed.set(key, '');
      await runAsync('ip', ['-n', ns, `-${family}`, 'route', 'del', PREFIX[family], 'table', TABLE]);
      await runAsync('ip', ['-n', ns, 'nexthop', 'del', 'id', group]);
      return;
    }
    const ids: number[] = [];
    for (const m of members) {
      const [gateway, dev] = m.split(' ') as [string, string];
      const id = this.#memberId(ns, m);
      ids.push(id);
      await runAsync('ip', ['-n', ns, 'nexthop', 'replace', 'id', String(id), 'via', gateway, 'dev', dev]);
    }
    const groupArgs = ['group', ids.join('/'), 'type', 'resilient', 'buckets', String(BUCKETS)];
    // A group's size is fixed once made: replacing an existing group changes its members only.
    const exists = (this.#installed.get(key) ?? '') !== '';
    await runAsync('ip', [
      '-n',
      ns,
      'nexthop',
      'replace',
      'id',
      group,
      ...(exists ? groupArgs.slice(0, 4) : [...groupArgs, 'idle_timer', String(IDLE_TIMER_S)]),
    ]);
    await runAsync('ip', [
      '-n',
      ns,
      `-${family}`,
      'route',
      'replace',
      PREFIX[family],
      'nhid',
      group,
      'table',
      TABLE,
    ]);
    this.#installed.set(key, want);
    this.changes++;
  }

  /** Stop mirroring and remove our routes and nexthop objects (the daemons' routes are used again). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    for (const tor of this.#tors) if (tor.monitor) await this.#lab.procs.stop(tor.monitor);
    for (const tor of TORS) {
      const ns = this.#lab.ns(tor);
      for (const family of [4, 6] as const) {
        tryRun('ip', ruleArgs(ns, family, 'del'));
        tryRun('ip', ['-n', ns, `-${family}`, 'route', 'del', PREFIX[family], 'table', TABLE]);
        tryRun('ip', ['-n', ns, 'nexthop', 'del', 'id', String(GROUP_ID[family])]);
      }
    }
    for (const key of this.#ids.keys()) {
      const [ns] = key.split(' ');
      tryRun('ip', ['-n', ns!, 'nexthop', 'del', 'id', String(this.#ids.get(key))]);
    }
  }
}
