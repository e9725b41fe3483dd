// Local accounts named by the config: the exec checks' users and the control socket's group, looked up
// by name in /etc/passwd and /etc/group (Node has no getpwnam/getgrnam; accounts known only through NSS,
// such as LDAP, are not seen — systemd-sysusers and useradd write these files). Reading only: `check`
// uses this and must touch nothing.

import { readFileSync } from 'node:fs';
import type { HostIssue } from './load.js';
import type { Config } from './types.js';

export const PASSWD_FILE = '/etc/passwd';
export const GROUP_FILE = '/etc/group';

export interface Account {
  name: string;
  uid: number;
  /** The user's primary group. */
  gid: number;
  home: string;
}

export interface AccountFiles {
  passwd: string;
  group: string;
}

export const SYSTEM_ACCOUNT_FILES: AccountFiles = { passwd: PASSWD_FILE, group: GROUP_FILE };

/** The colon-separated fields of the line of `file` whose first field is `name`; undefined if none. */
function entry(file: string, name: string): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === name) return fields;
  }
  return undefined;
}

/** A numeric uid/gid field; undefined when empty or not a number (an empty field must never read as 0). */
function id(field: string): number | undefined {
  return /^\d+$/.test(field) ? Number(field) : undefined;
}

/** The user `name` from the passwd file, or undefined. */
export function lookupUser(name: string, file: string = PASSWD_FILE): Account | undefined {
  const f = entry(file, name);
  if (f === undefined || f.length < 7) return undefined;
  const uid = id(f[2]!);
  const gid = id(f[3]!);
  return uid === undefined || gid === undefined ? undefined : { name, uid, gid, home: f[5]! };
}

/** The gid of group `name` from the group file, or undefined. */
export function lookupGroup(name: string, file: string = GROUP_FILE): number | undefined {
  const f = entry(file, name);
  return f === undefined || f.length < 3 ? undefined : id(f[2]!);
}

/** Every exec-check user and the api group that does not exist on this host. */
export function accountIssues(cfg: Config, files: AccountFiles = SYSTEM_ACCOUNT_FILES): HostIssue[] {
  const issues: HostIssue[] = [];
  cfg.services.forEach((svc, i) => {
    svc.checks.forEach((check, j) => {
      if (check.type === 'exec' && lookupUser(check.user, files.passwd) === undefined)
        issues.push({
          path: ['services', i, 'checks', j, 'user'],
          expected: `a user that exists in ${files.passwd}`,
          found: JSON.stringify(check.user),
        });
    });
  });
  if (cfg.api.group !== null && lookupGroup(cfg.api.group, files.group) === undefined)
    issues.push({
      path: ['api', 'group'],
      expected: `a group that exists in ${files.group}`,
      found: JSON.stringify(cfg.api.group),
    });
  return issues;
}
