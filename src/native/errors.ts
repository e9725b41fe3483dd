// Turns the addon's errors ({errno, syscall, detail} on a thrown Error) into typed SystemErrors:
// errno number -> name via os.constants.errno, plus what anycastd was attempting.
import { constants } from 'node:os';
import { SystemError } from '../errors.js';

/** Kernel-internal errnos that libc has no name for (the BPF syscall returns some of them). */
const KERNEL_ERRNO_NAMES: ReadonlyMap<number, string> = new Map([
  [512, 'ERESTARTSYS'],
  [524, 'ENOTSUPP'], // returned e.g. by BPF batch ops on map types without them
]);

const ERRNO_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(constants.errno).map(([name, value]) => [value, name]),
);

/** The errno's name ('ENODEV'), or `E<number>` for one nobody named. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? KERNEL_ERRNO_NAMES.get(errno) ?? `E${errno}`;
}

interface NativeFailure extends Error {
  errno: number;
  syscall: string;
  detail?: string;
}

function isNativeFailure(err: unknown): err is NativeFailure {
  if (!(err instanceof Error)) return false;
  const e = err as Partial<NativeFailure>;
  return typeof e.errno === 'number' && e.errno > 0 && typeof e.syscall === 'string';
}

/** A SystemError for `errno` raised by `syscall` while doing `attempt`. */
export function systemError(errno: number, syscall: string, attempt: string, detail?: string): SystemError {
  return new SystemError(errnoName(errno), errno, syscall, attempt, detail);
}

/**
 * Runs one addon call; a failure becomes a SystemError whose `attempt` is built only then
 * (so hot paths do not format strings). Other errors pass through unchanged.
 */
export function callNative<T>(attempt: () => string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!isNativeFailure(err)) throw err;
    const detail = err.detail?.trim();
    throw systemError(err.errno, err.syscall, attempt(), detail || undefined);
  }
}
