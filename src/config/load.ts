// Reads and validates the config file: YAML 1.2 parsed with node positions kept (parseDocument +
// LineCounter), then the zod schema; every problem becomes a located ConfigIssue and the whole file is
// rejected with one ConfigError. A file read from disk is also checked against the host's accounts (an
// exec check's user, the api group must exist: accounts.ts) and has its cluster key file read and checked
// (cluster-keys.ts). `check` is the pure entry behind `anycastd check -c FILE`: it reads the file, the key
// file, /etc/passwd and /etc/group, and touches nothing else.

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isAlias, LineCounter, parseDocument, visit } from 'yaml';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { accountIssues } from './accounts.js';
import { loadClusterKeys } from './cluster-keys.js';
import { loadEtcdTls } from './etcd-tls.js';
import { flowTableIssues, ringMemoryIssues } from './flow-memory.js';
import { toConfigIssues } from './issues.js';
import { formatPath, locate } from './locate.js';
import { configSchema, DEFAULT_CONFIG_PATH } from './schema.js';
import type { Config } from './types.js';
import { configWarnings } from './warnings.js';

/** What is wrong with something on this host a config names, at the key that names it. */
export interface HostIssue {
  path: (string | number)[];
  expected: string;
  found: string;
}

/** Facts of the host a config names (accounts, files), checked after the schema; each issue is located. */
export type HostCheck = (cfg: Config) => HostIssue[];

/**
 * Alias expansions allowed when the document becomes data (the yaml library's own default, named here):
 * beyond it a few lines of anchors and aliases ("billion laughs") would expand to gigabytes.
 */
export const MAX_ALIAS_COUNT = 100;

/** The document as plain data; an alias bomb is a located ConfigError, never a thrown ReferenceError. */
function toData(doc: ReturnType<typeof parseDocument>, counter: LineCounter, file: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    let offset = 0;
    visit(doc, {
      Alias: (_key, node) => {
        if (isAlias(node) && node.range) offset = node.range[0];
        return visit.BREAK;
      },
    });
    const pos = counter.linePos(offset);
    throw new ConfigError([
      {
        file,
        line: pos.line,
        column: pos.col,
        path: '',
        expected: `YAML whose aliases expand to at most ${MAX_ALIAS_COUNT} nodes`,
        found: 'aliases that expand without bound (a resource exhaustion attack)',
        code: 'CONFIG_ALIAS_LIMIT',
      },
    ]);
  }
}

/**
 * Parses config text; `file` is used in messages and stored in the result. `host` checks what the file
 * names on this host (loadConfig: the accounts and the cluster key file). Throws ConfigError.
 */
export function parseConfig(text: string, file: string, host?: HostCheck): Config {
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
        code: 'CONFIG_YAML' as const,
      })),
    );
  }
  const data = toData(doc, counter, file);
  const result = configSchema.safeParse(data ?? {}, { reportInput: true });
  if (!result.success) {
    const issues: ConfigIssue[] = result.error.issues.flatMap((iss) =>
      toConfigIssues(iss, file, doc, counter, data),
    );
    issues.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new ConfigError(issues);
  }
  const missing = host?.(result.data) ?? [];
  if (missing.length > 0)
    throw new ConfigError(
      missing.map((m) => ({
        file,
        ...locate(doc, counter, m.path),
        path: formatPath(m.path),
        expected: m.expected,
        found: m.found,
        code: 'CONFIG_HOST' as const,
      })),
    );
  return { ...result.data, file };
}

/** What a config read from disk names on this host: accounts, the cluster key file and the etcd TLS files (read into the config), the flow table's and the rings' memory. */
const hostFacts: HostCheck = (cfg) => [
  ...accountIssues(cfg),
  ...loadClusterKeys(cfg),
  ...loadEtcdTls(cfg),
  ...flowTableIssues(cfg),
  ...ringMemoryIssues(cfg),
];

/** Reads and parses a config file. Throws ConfigError (also for an unreadable file). */
export async function loadConfig(file: string = DEFAULT_CONFIG_PATH): Promise<Config> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw new ConfigError([
      {
        file: path,
        line: 0,
        column: 0,
        path: '',
        expected: 'a readable file',
        found: code,
        code: 'CONFIG_UNREADABLE',
      },
    ]);
  }
  return parseConfig(text, path, hostFacts);
}

/** A valid config comes with the warnings of warnings.ts (`path: text` lines). */
export type CheckResult =
  | { ok: true; config: Config; warnings: string[] }
  | { ok: false; error: ConfigError };

/** Validates a config file without touching the host (no sockets, no netlink, no files written). */
export async function check(file: string = DEFAULT_CONFIG_PATH): Promise<CheckResult> {
  try {
    const config = await loadConfig(file);
    return { ok: true, config, warnings: configWarnings(config) };
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, error: err };
    throw err;
  }
}
