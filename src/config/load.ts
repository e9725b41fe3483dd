// Reads and validates the config file: YAML 1.2 parsed with node positions kept (parseDocument +
// LineCounter), then the zod schema; every problem becomes a located ConfigIssue and the whole file is
// rejected with one ConfigError. `check` is the pure entry behind `anycastd check -c FILE`: it reads the
// file and touches nothing else on the host.

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { toConfigIssues } from './issues.js';
import { configSchema, DEFAULT_CONFIG_PATH } from './schema.js';
import type { Config } from './types.js';

/** Parses config text; `file` is used in messages and stored in the result. Throws ConfigError. */
export function parseConfig(text: string, file: string): Config {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({
        file,
        line: e.linePos?.[0].line ?? 0,
        column: e.linePos?.[0].col ?? 0,
        path: '',
        expected: 'valid YAML',
        found: `${e.code}: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
      })),
    );
  }
  const data: unknown = doc.toJS();
  const result = configSchema.safeParse(data ?? {}, { reportInput: true });
  if (!result.success) {
    const issues: ConfigIssue[] = result.error.issues.flatMap((iss) =>
      toConfigIssues(iss, file, doc, counter, data),
    );
    issues.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new ConfigError(issues);
  }
  return { ...result.data, file };
}

/** Reads and parses a config file. Throws ConfigError (also for an unreadable file). */
export async function loadConfig(file: string = DEFAULT_CONFIG_PATH): Promise<Config> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw new ConfigError([
      { file: path, line: 0, column: 0, path: '', expected: 'a readable file', found: code },
    ]);
  }
  return parseConfig(text, path);
}

export type CheckResult = { ok: true; config: Config } | { ok: false; error: ConfigError };

/** Validates a config file without touching the host (no sockets, no netlink, no files written). */
export async function check(file: string = DEFAULT_CONFIG_PATH): Promise<CheckResult> {
  try {
    return { ok: true, config: await loadConfig(file) };
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, error: err };
    throw err;
  }
}
