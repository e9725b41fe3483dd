// The shared keys of the agents' cluster channel (HMAC-SHA256, RFC 2104; used by src/cluster/auth.ts),
// read from `cluster.key_file`: one key per line, hex or base64, at least MIN_KEY_BYTES each ('#' starts a
// comment line, blank lines are skipped; a line of hex digits only is hex). The first key signs, every
// key verifies, so a rotation is: add the new key on every host and reload; move it first and reload;
// remove the old one and reload.
//
// The file is read when the config is loaded (start, reload, `anycastd check`) and refused when another
// local user could read or change it: it must be a regular file owned by root or by the agent's own user,
// not writable by group or others and not readable by others (0600 or 0640). The keys never appear in a
// log line or a JSON rendering of the config: only their fingerprint does.

import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { FileProblem, readCheckedFile } from './checked-file.js';
import type { Config } from './types.js';

/** Shortest key accepted: 256 bits, the HMAC-SHA256 output size (RFC 2104 §3 recommends ≥ L bytes). */
export const MIN_KEY_BYTES = 32;
/** Most keys in one file (every one is tried on each verification). */
export const MAX_KEYS = 8;
/** A key file is a few lines; anything bigger is not one. */
const MAX_KEY_FILE_BYTES = 64 * 1024;
const FINGERPRINT_HEX = 16;
const HEX_RE = /^(?:[0-9a-fA-F]{2})+$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL_RE = /^[A-Za-z0-9_-]+$/;

/** What is wrong with a key file, in the config issue's terms (what it must be, what it is). */
export { FileProblem as KeyFileProblem } from './checked-file.js';

/** The keys of a key file; `fingerprint` (a hash of all of them, in order) tells two sets apart. */
export class ClusterKeys {
  readonly fingerprint: string;
  readonly #keys: readonly Buffer[];

  constructor(keys: readonly Buffer[]) {
    if (keys.length === 0 || keys.length > MAX_KEYS || keys.some((k) => k.length < MIN_KEY_BYTES))
      throw new RangeError(`1..${MAX_KEYS} keys of at least ${MIN_KEY_BYTES} bytes`);
    this.#keys = keys.map((k) => Buffer.from(k));
    const h = createHash('sha256');
    for (const k of this.#keys) h.update(createHash('sha256').update(k).digest());
    this.fingerprint = h.digest('hex').slice(0, FINGERPRINT_HEX);
  }

  /** The key replies and requests are signed with (the file's first line). */
  get signing(): Buffer {
    return this.#keys[0]!;
  }

  /** Every key a signature is checked against, the signing key first. */
  get all(): readonly Buffer[] {
    return this.#keys;
  }

  toJSON(): { fingerprint: string } {
    return { fingerprint: this.fingerprint };
  }

  [inspect.custom](): string {
    return `ClusterKeys(${this.#keys.length} keys, fingerprint ${this.fingerprint})`;
  }
}

/** One line of a key file as bytes, or null when it is neither hex nor base64. */
function decodeKey(line: string): Buffer | null {
  if (HEX_RE.test(line)) return Buffer.from(line, 'hex');
  if (BASE64_RE.test(line)) return Buffer.from(line, 'base64');
  if (BASE64URL_RE.test(line)) return Buffer.from(line, 'base64url');
  return null;
}

/** The keys of a key file's text; throws KeyFileProblem naming the first bad line. */
export function parseKeyText(text: string, path: string): ClusterKeys {
  const expected = `keys of at least ${MIN_KEY_BYTES} bytes in hex or base64, one per line`;
  const keys: Buffer[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const key = decodeKey(line);
    if (key === null) throw new FileProblem(expected, `${path} line ${i + 1}: neither hex nor base64`);
    if (key.length < MIN_KEY_BYTES)
      throw new FileProblem(expected, `${path} line ${i + 1}: a key of ${key.length} bytes`);
    keys.push(key);
  }
  if (keys.length === 0) throw new FileProblem(expected, `${path}: no key`);
  if (keys.length > MAX_KEYS)
    throw new FileProblem(`at most ${MAX_KEYS} keys`, `${path}: ${keys.length} keys`);
  return new ClusterKeys(keys);
}

/**
 * Reads and checks a key file (see the header; checked-file.ts); throws KeyFileProblem. `euid` is the user
 * the agent runs as (the owner it accepts besides root).
 */
export function readKeyFile(path: string, euid?: number): ClusterKeys {
  const text = readCheckedFile(path, {
    what: 'key file',
    maxBytes: MAX_KEY_FILE_BYTES,
    secret: true,
    ...(euid === undefined ? {} : { euid }),
  }).toString('utf8');
  return parseKeyText(text, path);
}

/**
 * The load step for `cluster.key_file`: reads it into `cfg.cluster.keys`; returns what is wrong with it
 * (located at the key by the caller). No key file: nothing to read (the channel stays off, see warnings.ts).
 */
export function loadClusterKeys(
  cfg: Config,
): { path: (string | number)[]; expected: string; found: string }[] {
  const file = cfg.cluster.keyFile;
  if (file === null) return [];
  try {
    cfg.cluster.keys = readKeyFile(file);
    return [];
  } catch (err) {
    if (!(err instanceof FileProblem)) throw err;
    return [{ path: ['cluster', 'key_file'], expected: err.expected, found: err.found }];
  }
}
