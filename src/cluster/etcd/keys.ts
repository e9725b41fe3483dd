// The key layout of one fabric in etcd, under its prefix P (cluster.etcd.prefix):
//   P/digests/<node>                    what <node>'s rings digest to, at which revision (its lease)
//   P/drains/<service>/<instance>       an operator's drain of an instance (no lease: it outlives agents)
//   P/instances/<service>/<instance>    a registered instance (its agent's lease)
// Every agent watches one key range, [P/drains/, P/instances0): the drains and the instances (and nothing
// of the digests, which only the agreement check reads: 1,000 hosts writing digests must not wake
// 1,000 watchers each). Names are key-safe ids (src/config/semantics-etcd.ts KEY_ID_RE); a key that does
// not parse is skipped and counted by the reader.

/** The byte after '/': the end of a range that holds every key starting with "<x>/". */
const AFTER_SLASH = '0';

export type EtcdKey =
  | { kind: 'instance'; service: string; instance: string }
  | { kind: 'drain'; service: string; instance: string };

/** An id as a key part (the config's rule, repeated: a key read back is hostile). */
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const isKeyId = (s: unknown): s is string => typeof s === 'string' && ID_RE.test(s);

export class KeyLayout {
  readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  instance(service: string, instance: string): string {
    return `${this.prefix}/instances/${service}/${instance}`;
  }

  drain(service: string, instance: string): string {
    return `${this.prefix}/drains/${service}/${instance}`;
  }

  digest(node: string): string {
    return `${this.prefix}/digests/${node}`;
  }

  get digests(): { start: string; end: string } {
    return { start: `${this.prefix}/digests/`, end: `${this.prefix}/digests${AFTER_SLASH}` };
  }

  /** The one range every agent watches: drains and instances. */
  get watched(): { start: string; end: string } {
    return { start: `${this.prefix}/drains/`, end: `${this.prefix}/instances${AFTER_SLASH}` };
  }

  /** What a watched key names, or null for a key of no known shape. */
  parse(key: string): EtcdKey | null {
    if (!key.startsWith(`${this.prefix}/`)) return null;
    const parts = key.slice(this.prefix.length + 1).split('/');
    if (parts.length !== 3) return null;
    const [kind, service, instance] = parts as [string, string, string];
    if (!ID_RE.test(service) || !ID_RE.test(instance)) return null;
    if (kind === 'instances') return { kind: 'instance', service, instance };
    if (kind === 'drains') return { kind: 'drain', service, instance };
    return null;
  }
}
