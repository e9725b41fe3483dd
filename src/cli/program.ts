// The `anycastd` command line as a function: runCli(args, io) parses the arguments (without node's and
// the script's), runs the command with its output and exit status going through `io` (src/cli/io.ts),
// and resolves with the exit status: 0 ok, 1 failure of the job, 2 bad usage or invalid config, 3 agent
// not reachable (src/cli/exit.ts). main.ts runs it on the process; tests run it in theirs.
import { Command, CommanderError } from 'commander';
import { systemClock } from '../clock.js';
import { DEFAULT_CONFIG_PATH } from '../config/index.js';
import { runDaemon } from '../daemon/run.js';
import { packageVersion } from '../daemon/version.js';
import { registerBench } from './bench.js';
import { registerCheck } from './check.js';
import { registerCleanup } from './cleanup.js';
import { registerControl } from './control.js';
import { registerDemo } from './demo.js';
import { EXIT_OK, EXIT_USAGE } from './exit.js';
import { addCommandExamples, MAIN_HELP } from './help.js';
import type { CliIo } from './io.js';
import { registerPeer } from './peer.js';
import { registerShow } from './show.js';

/**
 * The command tree. Output and exit settings are set before any subcommand is made: commander copies
 * them to a subcommand when it is created.
 */
function program(io: CliIo): Command {
  const cli = new Command('anycastd')
    .description('Anycast load-balancer agent: BGP VIP advertisement, health checks, Maglev steering in XDP')
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride()
    .version(packageVersion(), '-V, --version', 'print the version (package.json of the installed program)');

  registerCheck(cli, io);

  cli
    .command('run')
    .description(
      'run the agent: health checks, BGP, XDP steering (SIGHUP reloads; SIGTERM stops for a restart, routes kept by graceful-restart peers; SIGINT is the final stop, everything withdrawn)',
    )
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
    .option('--pin-dir <dir>', 'bpffs directory of the pinned maps (default /sys/fs/bpf/anycastd)')
    .action(async (opts: { config: string; pinDir?: string }) => {
      // The agent owns the process: its status ends it, whatever handle a library left open.
      process.exit(
        await runDaemon({
          configFile: opts.config,
          clock: systemClock,
          ...(opts.pinDir ? { pinDir: opts.pinDir } : {}),
          version: packageVersion(),
        }),
      );
    });

  registerDemo(cli, io);
  registerShow(cli, io);
  registerControl(cli, io);
  registerPeer(cli, io);
  registerCleanup(cli, io);
  registerBench(cli, io);
  addCommandExamples(cli);
  cli.addHelpText('after', MAIN_HELP);
  return cli;
}

/**
 * Runs the command `args` names (process.argv without node and the script) and resolves with its exit
 * status: the action's (io.exitCode), 0 after --help or --version, 2 for any usage error commander finds.
 */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  try {
    await program(io).parseAsync([...args], { from: 'user' });
    return io.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    throw err;
  }
}
