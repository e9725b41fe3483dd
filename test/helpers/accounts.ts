// Local groups and users for tests, named under a prefix unique to this process (`acdt<pid36><n>`, within
// useradd's 32 characters) and removed after by name. Real accounts are never touched.

import { run } from '../../lab/exec.js';
import { lookupGroup, lookupUser } from '../../src/config/accounts.js';

let counter = 0;

function uniqueName(part: string): string {
  return `acdt${process.pid.toString(36)}${part}${counter++}`;
}

export interface TestAccounts {
  group(part: string): { name: string; gid: number };
  /** A user with no home and no login; `groups` are its supplementary groups. */
  user(part: string, groups?: string[]): { name: string; uid: number; gid: number };
  remove(): void;
}

export function testAccounts(): TestAccounts {
  const users: string[] = [];
  const groups: string[] = [];
  return {
    group(part) {
      const name = uniqueName(part);
      run('groupadd', [name]);
      groups.push(name);
      return { name, gid: lookupGroup(name)! };
    },
    user(part, supplementary = []) {
      const name = uniqueName(part);
      const extra = supplementary.length > 0 ? ['-G', supplementary.join(',')] : [];
      run('useradd', ['-M', '-N', '-s', '/usr/sbin/nologin', ...extra, name]);
      users.push(name);
      const u = lookupUser(name)!;
      return { name, uid: u.uid, gid: u.gid };
    },
    remove() {
      for (const [cmd, name] of [
        ...users.splice(0).map((n) => ['userdel', n] as const),
        ...groups.splice(0).map((n) => ['groupdel', n] as const),
      ])
        try {
          run(cmd, [name]);
        } catch (err) {
          console.error(`${cmd} ${name}: ${(err as Error).message}`);
        }
    },
  };
}
