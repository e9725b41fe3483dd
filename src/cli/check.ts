// `anycastd check -c FILE`: validates a config file without touching the host. Text: one line per
// problem on stderr; --json: one object whose `issues` is a list of {code, path, message, severity, line,
// column}, errors and warnings alike, so a script reads each problem without parsing prose.
import type { Command } from 'commander';
import { check, DEFAULT_CONFIG_PATH } from '../config/index.js';
import { configWarningList } from '../config/warnings.js';
import { type ConfigIssue, formatConfigIssue } from '../errors.js';
import { EXIT_OK, EXIT_USAGE } from './exit.js';

export interface CheckIssue {
  code: string;
  /** Key path such as `services[0].checks[1].timeout`; "" for the document itself. */
  path: string;
  message: string;
  severity: 'error' | 'warning';
  /** 1-based; 0 when the problem is not at a place in the text. */
  line: number;
  column: number;
}

const issueOf = (i: ConfigIssue): CheckIssue => ({
  code: i.code ?? 'CONFIG_INVALID',
  path: i.path,
  message: `expected ${i.expected}, found ${i.found}`,
  severity: 'error',
  line: i.line,
  column: i.column,
});

export interface CheckOptions {
  config: string;
  json?: boolean;
}

/** Runs `check` and prints its result; returns the exit code. */
export async function runCheck(opts: CheckOptions): Promise<number> {
  const result = await check(opts.config);
  if (opts.json) {
    const issues: CheckIssue[] = result.ok
      ? configWarningList(result.config).map((w) => ({ ...w, severity: 'warning', line: 0, column: 0 }))
      : result.error.issues.map(issueOf);
    process.stdout.write(`${JSON.stringify({ ok: result.ok, file: opts.config, issues })}\n`);
  } else if (result.ok) {
    for (const w of result.warnings) process.stderr.write(`${opts.config}: warning: ${w}\n`);
    process.stdout.write(`${opts.config}: ok\n`);
  } else {
    for (const i of result.error.issues) process.stderr.write(`${formatConfigIssue(i)}\n`);
  }
  return result.ok ? EXIT_OK : EXIT_USAGE;
}

export function registerCheck(cli: Command): void {
  cli
    .command('check')
    .description('validate a config file without touching the host')
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
    .option('--json', 'print the result as JSON: {ok, file, issues: [{code, path, message, severity}]}')
    .action(async (opts: CheckOptions) => {
      process.exitCode = await runCheck(opts);
    });
}
