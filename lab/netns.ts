// Network namespaces and veth pairs of the lab and of the tests, each name under a per-run prefix, removed
// by that prefix only (also after a failure), with the processes left inside stopped first. Two families:
// - the lab's, `acdlab-<pid base 36>-<run>-<node>` (labPrefix): cleanupStale() removes only leftovers whose
//   creating pid is dead; removeByPrefix() also removes the run's FRR directories and run directory;
// - a test's, `acd-<part>-<pid>-<n>` (uniquePrefix, createNetns): removed by removeNetnsByPrefix().
// Test-bed code: it drives `ip` and `sysctl` (lab/exec.ts), never the native addon under test.
//
//   const prefix = uniquePrefix('native');          // 'acd-native-<pid>-'
//   t.after(() => removeNetnsByPrefix(prefix));     // always, even if the test throws
//   const ns = createNetns(prefix);                  // 'acd-native-<pid>-0', lo up
//   addVethPair(ns, 'veth0', 'veth1');               // both ends inside ns, up
//   ns.exec(['ping', '-c1', '192.0.2.1']);           // any command inside ns

import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, runIn, sleepSync, tryRun } from './exec.js';
import type { LinkAddresses } from './peers.js';
import { pidAlive } from './processes.js';

/** Every lab namespace name starts with this. */
export const PREFIX_FAMILY = 'acdlab-';
/** `acdlab-<pid36>-<run>-`: group 1 is the creating pid in base 36. */
const PREFIX_PATTERN = /^acdlab-([0-9a-z]+)-([0-9]+)-/;
const PID_RADIX = 36;
/** Settle time between SIGTERM and SIGKILL for processes left in a namespace being removed. */
const LEFTOVER_GRACE_MS = 500;
/** The shortest prefix removeNetnsByPrefix() accepts: anything shorter could match others' namespaces. */
const SHORTEST_PREFIX = 'acd-x-';
let testCounter = 0;

/** A test's prefix, unique to this process and part: `acd-<part>-<pid>-`. */
export function uniquePrefix(part: string): string {
  return `acd-${part}-${process.pid}-`;
}

/** The prefix of run number `run` of this process. */
export function labPrefix(run: number, pid = process.pid): string {
  return `${PREFIX_FAMILY}${pid.toString(PID_RADIX)}-${run}-`;
}

/** The creating pid encoded in a namespace name, or undefined if the name is not a lab's. */
export function prefixPid(name: string): number | undefined {
  const m = PREFIX_PATTERN.exec(name);
  return m ? Number.parseInt(m[1]!, PID_RADIX) : undefined;
}

/** The per-run directory for configs, sockets, pid files and logs. */
export function runDir(prefix: string): string {
  return join(tmpdir(), prefix.replace(/-$/, ''));
}

/** Names of all network namespaces (from `ip netns list`). */
export function listNamespaces(): string[] {
  const out = run('ip', ['-j', 'netns', 'list']).trim();
  if (out === '') return [];
  return (JSON.parse(out) as { name: string }[]).map((n) => n.name);
}

/** Strict reverse-path filtering would drop replies that come back over the other ToR. */
const COMMON_SYSCTLS = ['net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0'];
/** fib_multipath_hash_policy 1: L4 (5-tuple); 3: the fields in fib_multipath_hash_fields. */
const HASH_POLICY_L4 = 1;
const HASH_POLICY_CUSTOM = 3;
/** src addr | dst addr | proto | src port | dst port (the 5-tuple; no flow label, no inner headers). */
const HASH_FIELDS_5TUPLE = 0x37;

/**
 * sysctls of a router: forwarding in both families, ECMP hashed on the 5-tuple, its own hash seed.
 *
 * Lab quirk (veth only): a veth hands the sender's skb to the peer namespace with its hash intact,
 * and policy 1 reuses an skb's L4 hash when there is one instead of hashing the headers. So every
 * router behind the client could see the client socket's hash, and the spine's and a ToR's choices
 * would be correlated (hash polarization: seen as a ToR sending nothing to one of its three hosts,
 * in IPv6 often, in IPv4 in about one run of ten). A second-stage router (`secondStage`, the ToRs)
 * therefore hashes with policy 3 over the same 5-tuple, which always reads the headers, and every
 * router gets a distinct seed (the unseeded hash is one function for the whole kernel; the IPv4
 * seed sysctl covers IPv6 too). The spine, the first stage, keeps policy 1. Real wires need neither.
 */
export function routerSysctls(hashSeed: number, secondStage: boolean): string[] {
  const hash = (family: 'ipv4' | 'ipv6'): string[] =>
    secondStage
      ? [
          `net.${family}.fib_multipath_hash_policy=${HASH_POLICY_CUSTOM}`,
          `net.${family}.fib_multipath_hash_fields=${HASH_FIELDS_5TUPLE}`,
        ]
      : [`net.${family}.fib_multipath_hash_policy=${HASH_POLICY_L4}`];
  return [
    'net.ipv4.ip_forward=1',
    'net.ipv6.conf.all.forwarding=1',
    ...hash('ipv4'),
    ...hash('ipv6'),
    `net.ipv4.fib_multipath_hash_seed=${hashSeed}`,
  ];
}

function addNamespace(ns: string): void {
  run('ip', ['netns', 'add', ns]);
  runIn(ns, 'ip', ['link', 'set', 'lo', 'up']);
}

/** Create the lab's namespace `ns` with lo up, rp_filter off and these sysctls (see routerSysctls()). */
export function createNamespace(ns: string, sysctls: readonly string[] = []): void {
  addNamespace(ns);
  runIn(ns, 'sysctl', ['-q', '-w', ...COMMON_SYSCTLS, ...sysctls]);
}

/** A test's namespace, by name, with the commands a test runs in it. */
export class Netns {
  constructor(readonly name: string) {}

  /** Runs `argv` inside this namespace; returns its stdout. */
  exec(argv: readonly string[]): string {
    const [cmd, ...args] = argv;
    if (cmd === undefined) throw new RangeError('exec: empty command');
    return runIn(this.name, cmd, args);
  }

  /** Runs `ip <args>` inside this namespace. */
  ip(args: readonly string[]): string {
    return run('ip', ['-n', this.name, ...args]);
  }
}

/** Creates a test's namespace `<prefix><n>` (or `<prefix><suffix>`) with `lo` up. */
export function createNetns(prefix: string, suffix: string = String(testCounter++)): Netns {
  const ns = new Netns(`${prefix}${suffix}`);
  addNamespace(ns.name);
  return ns;
}

/**
 * A veth pair whose ends are created directly inside their namespaces, so no temporary name ever
 * exists in the root namespace and generic names (up1, dn1) cannot collide between runs.
 */
export function createVeth(nsA: string, ifA: string, nsB: string, ifB: string): void {
  run('ip', ['link', 'add', ifA, 'netns', nsA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB]);
}

/** Add an address (`nodad` for IPv6: usable at once, no 1-2 s of duplicate address detection). */
export function addAddress(ns: string, ifname: string, cidr: string): void {
  const dad = cidr.includes(':') ? ['nodad'] : [];
  runIn(ns, 'ip', ['addr', 'add', cidr, 'dev', ifname, ...dad]);
}

export function linkUp(ns: string, ifname: string): void {
  runIn(ns, 'ip', ['link', 'set', ifname, 'up']);
}

/** A veth pair `a`–`b` in `ns` (or `b` in `peerNs`), both ends up. */
/**
 * A host–ToR link of the two-namespace setups: veth `to-<tor>` in the host namespace, `to-host` in the
 * ToR's, the /31 and /127 of `l` on both ends, both up.
 */
export function wireHostToTor(hostNs: string, tor: string, torNs: string, l: LinkAddresses): void {
  createVeth(hostNs, `to-${tor}`, torNs, 'to-host');
  addAddress(hostNs, `to-${tor}`, `${l.h4}/31`);
  addAddress(hostNs, `to-${tor}`, `${l.h6}/127`);
  addAddress(torNs, 'to-host', `${l.t4}/31`);
  addAddress(torNs, 'to-host', `${l.t6}/127`);
  linkUp(hostNs, `to-${tor}`);
  linkUp(torNs, 'to-host');
}

export function addVethPair(ns: Netns, a: string, b: string, peerNs: Netns = ns): void {
  createVeth(ns.name, a, peerNs.name, b);
  linkUp(ns.name, a);
  linkUp(peerNs.name, b);
}

/** Pids of processes inside `ns` (`ip netns pids`). */
function nsPids(ns: string): number[] {
  try {
    return run('ip', ['netns', 'pids', ns])
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => Number.parseInt(l, 10));
  } catch {
    return [];
  }
}

/**
 * Remove one namespace: stop the processes left in it (all of them the run's own, started there by
 * pid), then delete it; deleting the namespace also deletes the veth ends inside it. One already gone
 * is no error (for cleanup paths).
 */
export function removeNamespace(ns: string): void {
  const pids = nsPids(ns);
  for (const pid of pids) tryKill(pid, 'SIGTERM');
  if (pids.length > 0) sleepSync(LEFTOVER_GRACE_MS);
  for (const pid of pids) if (pidAlive(pid)) tryKill(pid, 'SIGKILL');
  tryRun('ip', ['netns', 'del', ns]);
}

function tryKill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

/** FRR's state directory; `-N <ns>` makes each daemon create `<dir>/<ns>/` (empty, as the lab gives every path). */
const FRR_STATE_DIR = '/var/run/frr';

/** Directories under FRR's state directory that belong to lab runs. */
function frrPathSpaces(): string[] {
  try {
    return readdirSync(FRR_STATE_DIR).filter((n) => n.startsWith(PREFIX_FAMILY));
  } catch {
    return [];
  }
}

/** Mount points (field 2 of /proc/self/mounts, octal escapes decoded), deepest first. */
function mountPoints(): string[] {
  const text = readFileSync('/proc/self/mounts', 'utf8');
  return text
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((m): m is string => m !== undefined && m !== '')
    .map((m) => m.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))))
    .sort((a, b) => b.length - a.length);
}

/** Unmount whatever the run mounted under its directory (the agents' bpffs: its pins go with it). */
export function unmountUnder(dir: string): void {
  for (const m of mountPoints()) if (m === dir || m.startsWith(`${dir}/`)) tryRun('umount', [m]);
}

/**
 * Remove every namespace whose name starts with `prefix` (a test's or the lab's); refuses a prefix
 * shorter than `acd-x-`. Returns the namespace names.
 */
export function removeNetnsByPrefix(prefix: string): string[] {
  if (prefix.length < SHORTEST_PREFIX.length) throw new RangeError(`refusing a short prefix: ${prefix}`);
  const names = listNamespaces().filter((n) => n.startsWith(prefix));
  for (const ns of names) removeNamespace(ns);
  return names;
}

/**
 * Remove a lab run: every namespace whose name starts with `prefix`, FRR's per-namespace directories
 * of that prefix, and the run directory. Returns the namespace names.
 */
export function removeByPrefix(prefix: string): string[] {
  if (!PREFIX_PATTERN.test(prefix)) throw new RangeError(`not a lab prefix: ${prefix}`);
  const names = removeNetnsByPrefix(prefix);
  for (const d of frrPathSpaces().filter((n) => n.startsWith(prefix))) {
    rmSync(join(FRR_STATE_DIR, d), { recursive: true, force: true });
  }
  unmountUnder(runDir(prefix));
  rmSync(runDir(prefix), { recursive: true, force: true });
  return names;
}

/**
 * Remove leftovers of crashed runs: namespaces of the lab's prefix family whose creating pid is
 * no longer alive. A live run's namespaces (this process's or another test's) are never touched.
 */
export function cleanupStale(family = PREFIX_FAMILY): string[] {
  const removed: string[] = [];
  // FRR's directories are looked at too: a run that crashed after its namespaces went may leave them.
  for (const ns of new Set([...listNamespaces(), ...frrPathSpaces()])) {
    if (!ns.startsWith(family)) continue;
    const pid = prefixPid(ns);
    if (pid === undefined || pidAlive(pid)) continue;
    const prefix = PREFIX_PATTERN.exec(ns)![0];
    removed.push(...removeByPrefix(prefix));
  }
  return removed;
}
