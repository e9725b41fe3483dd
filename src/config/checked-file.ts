// Reading a file the config names (a key file, a TLS certificate or key) with the checks every such file
// gets: it opens, it is a regular file of bounded size, and — for a secret — no other local user can read
// or change it: owned by root or by the agent's own user, not writable by group or others and not readable
// by others (0600 or 0640). Each failure is a FileProblem in the config issue's terms (what the file must
// be, what it is, naming the path). Synchronous: it runs in the config's load step, a few KiB once per load.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const GROUP_OR_OTHER_WRITE = 0o022;
const OTHER_READ = 0o004;
export const ROOT_UID = 0;

/** What is wrong with a file the config names (what it must be, what it is). */
export class FileProblem {
  constructor(
    readonly expected: string,
    readonly found: string,
  ) {}
}

export interface CheckedFileRules {
  /** What the file is, in messages ("key file", "TLS CA file"). */
  what: string;
  maxBytes: number;
  /** A secret: no other user may read it (a public certificate only must not be writable by others). */
  secret: boolean;
  /** The user the agent runs as (the owner accepted besides root). */
  euid?: number;
}

/** The bytes of `path` once every rule holds; throws FileProblem naming the first that does not. */
export function readCheckedFile(path: string, rules: CheckedFileRules): Buffer {
  const euid = rules.euid ?? process.geteuid?.() ?? ROOT_UID;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new FileProblem(
      `a readable ${rules.what}`,
      `${path}: ${(err as NodeJS.ErrnoException).code ?? 'EIO'}`,
    );
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new FileProblem(`a regular ${rules.what}`, `${path}: not a regular file`);
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    const unshared = rules.secret
      ? `a ${rules.what} no other user can read or change (mode 0600 or 0640)`
      : `a ${rules.what} no other user can change (not writable by group or others)`;
    if (st.mode & GROUP_OR_OTHER_WRITE)
      throw new FileProblem(unshared, `${path}: mode ${mode} (writable by group or others)`);
    if (rules.secret && st.mode & OTHER_READ)
      throw new FileProblem(unshared, `${path}: mode ${mode} (readable by others)`);
    if (st.uid !== ROOT_UID && st.uid !== euid)
      throw new FileProblem(
        `a ${rules.what} owned by root or the agent's user (uid ${euid})`,
        `${path}: owned by uid ${st.uid}`,
      );
    if (st.size > rules.maxBytes)
      throw new FileProblem(
        `a ${rules.what} of at most ${rules.maxBytes} bytes`,
        `${path}: ${st.size} bytes`,
      );
    const buf = Buffer.alloc(st.size);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}
