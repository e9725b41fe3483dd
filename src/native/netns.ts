// Runs synchronous code inside a network namespace: setns(2) on the calling (main) thread, then back.
// Sockets and interfaces created inside keep their namespace after the switch back, so a caller can
// make its fds there and use them from anywhere. Names are those of `ip netns` (/run/netns/<name>).
import { closeSync, openSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { AnycastdError } from '../errors.js';
import { native } from './addon.js';
import { callNative } from './errors.js';

const NETNS_RUN_DIR = '/run/netns';
const SELF_NETNS = '/proc/thread-self/ns/net';

/** The nsfs path of namespace `nameOrPath` (a bare name is looked up under /run/netns). */
export function netnsPath(nameOrPath: string): string {
  return isAbsolute(nameOrPath) ? nameOrPath : join(NETNS_RUN_DIR, nameOrPath);
}

function enter(fd: number, what: string): void {
  callNative(
    () => `enter network namespace ${what}`,
    () => native().setns(fd, native().CLONE_NEWNET),
  );
}

/**
 * Calls `fn` inside network namespace `nameOrPath` and returns its result. `fn` must be synchronous:
 * whatever runs after an `await` would run back in the original namespace.
 */
export function withNetns<T>(nameOrPath: string, fn: () => T): T {
  const path = netnsPath(nameOrPath);
  const self = openSync(SELF_NETNS, 'r');
  let target: number | undefined;
  try {
    target = openSync(path, 'r');
    enter(target, path);
    try {
      const result = fn();
      if (result instanceof Promise) {
        throw new AnycastdError('ERR_INVALID_ARGUMENT', 'withNetns: fn must be synchronous');
      }
      return result;
    } finally {
      enter(self, 'of this process');
    }
  } finally {
    if (target !== undefined) closeSync(target);
    closeSync(self);
  }
}
