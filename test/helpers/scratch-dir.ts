// A scratch directory for one test, removed when the test ends, and files written into it by name.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export interface ScratchDir {
  dir: string;
  /** Writes `text` to `name` in the directory; returns its path. */
  file(name: string, text: string): string;
}

export function scratchDir(t: TestContext, prefix: string): ScratchDir {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    file: (name, text) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    },
  };
}
