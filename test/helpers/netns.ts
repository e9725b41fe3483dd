// Network namespaces for tests: create them under a unique prefix, add veth pairs, run commands
// inside, and remove everything carrying the prefix (also after a failure). Test code may spawn
// `ip`; the agent's runtime never does (it uses netlink through the native addon).
//
//   const prefix = uniquePrefix('native');          // 'acd-native-<pid>-'
//   t.after(() => removeNetnsByPrefix(prefix));     // always, even if the test throws
//   const ns = createNetns(prefix);                  // 'acd-native-<pid>-0', lo up
//   addVethPair(ns, 'veth0', 'veth1');               // both ends inside ns, up
//   ns.exec(['ping', '-c1', '192.0.2.1']);           // any command inside ns
import { execFileSync } from 'node:child_process';

const IP = 'ip';
let counter = 0;

/** A prefix unique to this process and part: `acd-<part>-<pid>-`. */
export function uniquePrefix(part: string): string {
  return `acd-${part}-${process.pid}-`;
}

/** Runs a command, returning its stdout; throws with its stderr when it fails. */
export function run(argv: string[]): string {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('run: empty command');
  return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export class Netns {
  constructor(readonly name: string) {}

  /** Runs `argv` inside this namespace. */
  exec(argv: string[]): string {
    return run([IP, 'netns', 'exec', this.name, ...argv]);
  }

  /** Runs `ip <args>` inside this namespace. */
  ip(args: string[]): string {
    return run([IP, '-n', this.name, ...args]);
  }

  /** Deletes the namespace (its interfaces go with it). */
  remove(): void {
    run([IP, 'netns', 'delete', this.name]);
  }
}

/** Creates namespace `<prefix><n>` with `lo` up. */
export function createNetns(prefix: string, suffix: string = String(counter++)): Netns {
  const ns = new Netns(`${prefix}${suffix}`);
  run([IP, 'netns', 'add', ns.name]);
  ns.ip(['link', 'set', 'lo', 'up']);
  return ns;
}

/**
 * Adds a veth pair `a`–`b` in `ns` (or `b` in `peerNs`), both up. Returns nothing; look the
 * ifindexes up inside the namespace (e.g. with withNetns + ifIndex).
 */
export function addVethPair(ns: Netns, a: string, b: string, peerNs?: Netns): void {
  ns.ip(['link', 'add', a, 'type', 'veth', 'peer', 'name', b, ...(peerNs ? ['netns', peerNs.name] : [])]);
  ns.ip(['link', 'set', a, 'up']);
  (peerNs ?? ns).ip(['link', 'set', b, 'up']);
}

/** Names of existing namespaces starting with `prefix`. */
export function listNetns(prefix: string): string[] {
  return run([IP, 'netns', 'list'])
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(prefix));
}

/**
 * Deletes every namespace whose name starts with `prefix`; a namespace that is already gone is no
 * error (for cleanup paths). Refuses a prefix shorter than `acd-x-`, which could match others' namespaces.
 */
export function removeNetnsByPrefix(prefix: string): void {
  if (prefix.length < 'acd-x-'.length) throw new Error(`refusing to remove by a short prefix: ${prefix}`);
  for (const name of listNetns(prefix)) {
    try {
      run([IP, 'netns', 'delete', name]);
    } catch {
      // already gone
    }
  }
}
