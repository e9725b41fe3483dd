// The last membership this agent read from the store, kept in a file (`cluster.etcd.members_cache`; under
// systemd the default is the unit's state directory) so that an agent restarting while etcd is away
// starts from what it last saw instead of from its local instance alone. Rings of the local instance
// alone would send every flow the routers bring here to this host, and reset the connections the other
// hosts hold; the cached set gives the same rings the others still use.
//
// Used only until the store is first read (etcd-cluster.ts), and only if it was written for this prefix
// less than MEMBERS_CACHE_MAX_AGE_MS ago (the hosts it names may be long gone). Written at most once per
// MEMBERS_CACHE_WRITE_MS after a membership change, to a temporary file renamed over the old one (a crash
// mid-write leaves the previous cache). The file is read like a value from the store: bounded in size,
// every record checked (record.ts), anything malformed refused with the reason, never thrown.

import { readFileSync, statSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock, TimerHandle } from '../../clock.js';
import { isKeyId } from './keys.js';
import {
  MAX_INSTANCES_PER_SERVICE,
  MEMBERS_CACHE_MAX_AGE_MS,
  MEMBERS_CACHE_MAX_BYTES,
  MEMBERS_CACHE_WRITE_MS,
} from './limits.js';
import type { Member } from './membership.js';
import { recordFields, recordOf } from './record.js';

const VERSION = 1;
/** Its name in systemd's state directory. */
const FILE_NAME = 'etcd-members.json';
/** A cache stamped this far in the future (another host's clock, a clock step) is still believed. */
const CLOCK_SKEW_MS = 60_000;

export interface CachedMembers {
  revision: number;
  /** Wall-clock ms when it was written. */
  savedAtMs: number;
  services: Map<string, Member[]>;
}

/** The configured file, else the one in the state directory (the first, if systemd gives several). */
export function membersCachePath(configured: string | null, stateDirectory: string | null): string | null {
  if (configured) return configured;
  const dir = stateDirectory?.split(':')[0];
  return dir ? join(dir, FILE_NAME) : null;
}

/** The file's text: the members of each service (departing ones left out: they are on their way out). */
export function encodeMembersCache(
  prefix: string,
  revision: number,
  savedAtMs: number,
  services: Iterable<readonly [string, readonly Member[]]>,
): string {
  const out: Record<string, unknown[]> = {};
  for (const [service, members] of services)
    out[service] = members
      .filter((m) => !m.departing)
      .map((m) => ({ id: m.id, modRevision: m.modRevision, ...recordFields(m) }));
  return JSON.stringify({ version: VERSION, prefix, revision, savedAt: savedAtMs, services: out });
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** The cached members, or why the text is not a cache this agent may use. */
export function parseMembersCache(text: string, prefix: string, wallNowMs: number): CachedMembers | string {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (!isObject(o) || o.version !== VERSION) return `not a version ${VERSION} members cache`;
  if (o.prefix !== prefix) return `written for prefix ${JSON.stringify(o.prefix)}, not ${prefix}`;
  if (!isCount(o.revision) || typeof o.savedAt !== 'number' || !Number.isFinite(o.savedAt))
    return 'no revision or time';
  const age = wallNowMs - o.savedAt;
  if (age > MEMBERS_CACHE_MAX_AGE_MS || age < -CLOCK_SKEW_MS)
    return `written ${Math.round(age / 1000)} s ago (used up to ${MEMBERS_CACHE_MAX_AGE_MS / 1000} s)`;
  if (!isObject(o.services)) return 'no services';
  const services = new Map<string, Member[]>();
  for (const [service, list] of Object.entries(o.services)) {
    if (!isKeyId(service)) return `service ${JSON.stringify(service)}: not an id`;
    if (!Array.isArray(list) || list.length > MAX_INSTANCES_PER_SERVICE)
      return `service ${service}: not a list of at most ${MAX_INSTANCES_PER_SERVICE} instances`;
    const members: Member[] = [];
    for (const [i, e] of list.entries()) {
      const record = isObject(e) ? recordOf(e) : 'invalid';
      if (record === 'invalid' || !isKeyId(e.id) || !isCount(e.modRevision))
        return `service ${service}: instance ${i} invalid`;
      members.push({
        ...record,
        id: e.id,
        modRevision: e.modRevision,
        lease: '',
        departing: false,
        departsAt: null,
      });
    }
    services.set(service, members);
  }
  return { revision: o.revision, savedAtMs: o.savedAt, services };
}

export interface MembersCacheFileOptions {
  path: string;
  prefix: string;
  clock: Clock;
  /** A cache that could not be read or written (logged by the owner, rate-limited). */
  onProblem: (what: 'members-cache-read' | 'members-cache-write', detail: string) => void;
}

/** The cache file: read once at start, written after membership changes. */
export class MembersCacheFile {
  readonly #o: MembersCacheFileOptions;
  #timer: TimerHandle | null = null;
  #text: (() => string) | null = null;
  #writing: Promise<void> = Promise.resolve();

  constructor(o: MembersCacheFileOptions) {
    this.#o = o;
  }

  /** The cache if there is a usable one (none yet is no problem; anything else is reported). */
  load(): CachedMembers | null {
    let text: string;
    try {
      const size = statSync(this.#o.path).size;
      if (size > MEMBERS_CACHE_MAX_BYTES) {
        this.#o.onProblem(
          'members-cache-read',
          `${this.#o.path}: ${size} bytes, more than ${MEMBERS_CACHE_MAX_BYTES}`,
        );
        return null;
      }
      text = readFileSync(this.#o.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        this.#o.onProblem('members-cache-read', `${this.#o.path}: ${(e as Error).message}`);
      return null;
    }
    const cache = parseMembersCache(text, this.#o.prefix, this.#o.clock.wallNow());
    if (typeof cache === 'string') {
      this.#o.onProblem('members-cache-read', `${this.#o.path}: ${cache}`);
      return null;
    }
    return cache;
  }

  /** Writes `text()` MEMBERS_CACHE_WRITE_MS from now (one write for a burst of changes). */
  schedule(text: () => string): void {
    this.#text = text;
    if (this.#timer !== null) return;
    this.#timer = this.#o.clock.setTimeout(
      () => {
        this.#timer = null;
        this.#write();
      },
      MEMBERS_CACHE_WRITE_MS,
      { unref: true },
    );
  }

  /** Writes a pending change now and waits for the writes under way. */
  async flush(): Promise<void> {
    if (this.#timer !== null) {
      this.#o.clock.clearTimeout(this.#timer);
      this.#timer = null;
      this.#write();
    }
    await this.#writing;
  }

  #write(): void {
    const make = this.#text;
    this.#text = null;
    if (!make) return;
    this.#writing = this.#writing.then(async () => {
      const text = make();
      const { path, onProblem } = this.#o;
      if (Buffer.byteLength(text) > MEMBERS_CACHE_MAX_BYTES) {
        onProblem('members-cache-write', `${path}: more than ${MEMBERS_CACHE_MAX_BYTES} bytes, not written`);
        return;
      }
      const tmp = `${path}.tmp`;
      try {
        await writeFile(tmp, text, { mode: 0o600 });
        await rename(tmp, path);
      } catch (e) {
        onProblem('members-cache-write', `${path}: ${(e as Error).message}`);
      }
    });
  }
}
