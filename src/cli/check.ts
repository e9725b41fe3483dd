// `anycastd check -c FILE [--diff]` and `anycastd plan`: validates a config file without touching the
// host (--diff and plan: and prints what applying it would change, plan.ts). Text: one line per
// problem on stderr; --json: one object whose `issues` is a list of {code, path, message, severity, line,
// column}, errors and warnings alike, so a script reads each problem without parsing prose.
import type { Command } from 'commander';
import { check, DEFAULT_CONFIG_PATH } from '../config/index.js';
import { configWarningList } from '../config/warnings.js';
import { type ConfigIssue, formatConfigIssue } from '../errors.js';
import { apiOptions, defaultSocket, SOCKET_ENV } from './api-command.js';
import { EXIT_OK, EXIT_USAGE } from './exit.js';
import { examples } from './help.js';
import type { CliIo } from './io.js';
import { type PlanOptions, runPlan } from './plan.js';

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
  /** Also print what applying it would change on the running agent (plan.ts). */
  diff?: boolean;
  socket: string;
}

/** Runs `check` and prints its result; returns the exit code. */
export async function runCheck(io: CliIo, opts: CheckOptions): Promise<number> {
  const result = await check(opts.config);
  if (opts.json) {
    const issues: CheckIssue[] = result.ok
      ? configWarningList(result.config).map((w) => ({ ...w, severity: 'warning', line: 0, column: 0 }))
      : result.error.issues.map(issueOf);
    io.out(`${JSON.stringify({ ok: result.ok, file: opts.config, issues })}\n`);
  } else if (result.ok) {
    for (const w of result.warnings) io.err(`${opts.config}: warning: ${w}\n`);
    io.out(`${opts.config}: ok\n`);
  } else {
    for (const i of result.error.issues) io.err(`${formatConfigIssue(i)}\n`);
  }
  return result.ok ? EXIT_OK : EXIT_USAGE;
}

export function registerCheck(cli: Command, io: CliIo): void {
  cli
    .command('check')
    .description('validate a config file without touching the host')
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
    .option('--json', 'print the result as JSON: {ok, file, issues: [{code, path, message, severity}]}')
    .option('--diff', 'and print what it would change on the running agent (as `anycastd plan`)')
    .option(
      '-s, --socket <path>',
      `control socket of the agent, for --diff (env ${SOCKET_ENV})`,
      defaultSocket(io),
    )
    .action(async (opts: CheckOptions) => {
      if (opts.diff && opts.json) {
        io.exitCode = await runPlan(io, opts);
        return;
      }
      const code = await runCheck(io, opts);
      io.exitCode = code === EXIT_OK && opts.diff ? await runPlan(io, opts) : code;
    });

  apiOptions(
    cli
      .command('plan')
      .description(
        'what applying a config file would do, before it is applied: sessions touched, routes added and withdrawn, the share of each ring (and of new flows) that moves',
      )
      .option('-c, --config <file>', 'the new config file', DEFAULT_CONFIG_PATH)
      .option('--from <file>', 'compare with this file instead of the running agent (offline)'),
    io,
  )
    .addHelpText(
      'after',
      examples(
        'anycastd plan -c /etc/anycastd/anycastd.yaml.new',
        'anycastd plan --from old.yaml -c new.yaml --json',
      ),
    )
    .action(async (opts: PlanOptions) => {
      io.exitCode = await runPlan(io, opts);
    });
}
