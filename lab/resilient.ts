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
// takes no flows until the table rebalances. The mirror's poll adds up to POLL_MS to each change.

import { TORS, VIP4, VIP6 } from './addressing.js';
import { runAsync, tryRun } from './exec.js';
import type { Lab } from './topology.js';

/** How often each ToR's daemon route is read. */
const POLL_MS = 50;
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

export class ResilientMirror {
  readonly #lab: Lab;
  /** What each ToR/family group holds now ("" = none). */
  readonly #installed = new Map<string, string>();
  /** Member nexthop ids per "gateway dev", per ToR. */
  readonly #ids = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #busy = false;
  /** Polls that failed (a read or write raced a daemon's change; the next poll retries), and the last error. */
  failures = 0;
  lastError: string | undefined;
  /** Group changes written. */
  changes = 0;

  private constructor(lab: Lab) {
    this.#lab = lab;
  }

  /** Start mirroring at both ToRs, both families; resolves after the first sync. */
  static async start(lab: Lab): Promise<ResilientMirror> {
    const m = new ResilientMirror(lab);
    for (const tor of TORS)
      for (const family of [4, 6] as const) await runAsync('ip', ruleArgs(lab.ns(tor), family, 'add'));
    await m.#sync();
    m.#timer = setInterval(() => void m.#tick(), POLL_MS);
    return m;
  }

  async #tick(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      await this.#sync();
    } catch (err) {
      this.failures++;
      this.lastError = err instanceof Error ? err.message : String(err);
    } finally {
      this.#busy = false;
    }
  }

  async #sync(): Promise<void> {
    await Promise.all(
      TORS.flatMap((tor) => ([4, 6] as const).map((family) => this.#syncOne(this.#lab.ns(tor), family))),
    );
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
  stop(): void {
    clearInterval(this.#timer);
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
