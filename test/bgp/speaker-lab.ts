// Shared set-up of the speaker's namespace tests: a unique namespace prefix, a run directory, the
// lab's process registry for FRR and BIRD, and one after() hook that stops the speaker (and whatever
// else was registered), then the daemons, and removes the namespaces and the directory — also when
// the test fails.

import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { removeNetnsByPrefix, uniquePrefix } from '../../lab/netns.js';
import { ProcessRegistry } from '../../lab/processes.js';
import type { BgpSpeaker } from '../../src/bgp/speaker.js';
import { DEFAULT_IMPORT, DEFAULT_MAX_PREFIX, parsePrefixMatch } from '../../src/config/schema-bgp.js';
import type { PeerConfig } from '../../src/config/types.js';

/** A numbered peer with the lab's quick timers (hold 9 s, keepalive 3 s, connect retry 1 s), default import. */
export function labPeer(
  name: string,
  address: string,
  remoteAsn: number,
  extra: Partial<PeerConfig> = {},
): PeerConfig {
  return {
    name,
    address,
    interface: null,
    remoteAsn,
    localAddress: null,
    password: null,
    passwordFile: null,
    ttlSecurityHops: null,
    holdTimeMs: 9000,
    keepaliveMs: 3000,
    connectRetryMs: 1000,
    passive: false,
    gracefulRestart: { enabled: true, restartTimeMs: 30_000 },
    maxPrefix: { ...DEFAULT_MAX_PREFIX },
    importAccept: DEFAULT_IMPORT.map((p) => parsePrefixMatch(p)!),
    exportCommunities: [],
    exportLargeCommunities: [],
    ...extra,
  };
}

/** Runs `f`; a failure carries the speaker's events so far. */
export async function withEvents<T>(events: string[], f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    throw new Error(
      `${err instanceof Error ? err.message : String(err)}\nspeaker events:\n${events.join('\n')}`,
    );
  }
}

export class SpeakerLab {
  readonly prefix: string;
  readonly dir: string;
  readonly procs = new ProcessRegistry();
  speaker: BgpSpeaker | undefined;
  private readonly closers: (() => void)[] = [];

  constructor(part: string) {
    this.prefix = uniquePrefix(part);
    this.dir = join(tmpdir(), `${this.prefix}run`);
    after(() => this.teardown());
  }

  /** Name of this test's namespace `suffix`. */
  ns(suffix: string): string {
    return `${this.prefix}${suffix}`;
  }

  /** Run `close` at teardown, after the speaker stops. */
  onTeardown(close: () => void): void {
    this.closers.push(close);
  }

  private async teardown(): Promise<void> {
    this.speaker?.stop();
    for (const c of this.closers.splice(0)) c();
    await this.procs.stopAll();
    removeNetnsByPrefix(this.prefix);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
