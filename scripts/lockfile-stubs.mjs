#!/usr/bin/env node
// The npm registry reachable here serves only the Linux builds of platform-specific packages (e.g.
// @biomejs/cli-win32-x64 is absent), so `npm install` leaves those optional dependencies out of
// package-lock.json and `npm ci` then refuses the lockfile as out of sync. This adds, for each missing
// optional dependency whose name encodes a platform, a lock entry limited to that os/cpu: npm ci skips it
// on this machine without fetching anything. Idempotent; run after changing dependencies (make does).
import { readFileSync, writeFileSync } from 'node:fs';

const PLATFORM = /-(android|darwin|linux|win32|freebsd|openbsd|sunos|aix)-(arm64|x64|ia32|arm)(-musl|-gnu)?$/;
const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
let added = 0;
for (const [key, pkg] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    const entry = `node_modules/${name}`;
    const m = PLATFORM.exec(name);
    if (lock.packages[entry] || !m || key === '') continue;
    const [, os, cpu, libc] = m;
    lock.packages[entry] = {
      version,
      ...(pkg.dev ? { dev: true } : {}),
      optional: true,
      os: [os],
      cpu: [cpu],
      ...(libc === '-musl' ? { libc: ['musl'] } : {}),
    };
    added++;
  }
}
if (added > 0) {
  lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
  writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
  console.log(`lockfile-stubs: added ${added} platform-limited entries`);
}
