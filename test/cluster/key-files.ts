// Key files and config files for the cluster key tests, in one temporary directory per test file.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';

export interface KeyFiles {
  readonly dir: string;
  /** Writes a key file of `mode`. */
  keyFile(name: string, text: string, mode?: number): string;
  /** Writes a config whose `cluster:` section is `cluster` (the key_file on line 7, column 13). */
  configFile(name: string, cluster: string): string;
  remove(): void;
}

export function keyFiles(prefix: string): KeyFiles {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    keyFile(name, text, mode = 0o600) {
      const path = join(dir, name);
      writeFileSync(path, text);
      chmodSync(path, mode);
      return path;
    },
    configFile(name, cluster) {
      const path = join(dir, name);
      writeFileSync(
        path,
        `node:
  id: h1
  host: { ipv4: 192.0.2.11 }
  asn: 65101
  uplinks: [eth0]
${cluster}
services:
  - name: web
    vips: [203.0.113.10]
    ports: [{ protocol: tcp, port: 80 }]
    instances:
      - { id: h1, host: { ipv4: 192.0.2.11 } }
      - { id: h2, host: { ipv4: 192.0.2.12 } }
    checks: [{ type: tcp, port: 80 }]
`,
      );
      return path;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The message of the ConfigError loading `file` throws. */
export async function configIssue(file: string): Promise<string> {
  try {
    await loadConfig(file);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message;
  }
  return assert.fail('expected a ConfigError');
}
