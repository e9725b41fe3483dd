#!/usr/bin/env node
// The `anycastd` command line: one subcommand per job, exit codes scripts can rely on
// (0 ok, 1 failure of the job, 2 bad usage or invalid config, 3 agent not reachable: src/cli/exit.ts).
import { Command } from 'commander';
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
import { registerPeer } from './peer.js';
import { registerShow } from './show.js';

export { EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE } from './exit.js';

function program(): Command {
  const cli = new Command('anycastd')
    .description('Anycast load-balancer agent: BGP VIP advertisement, health checks, Maglev steering in XDP')
    .version(packageVersion(), '-V, --version', 'print the version (package.json of the installed program)')
    .exitOverride((err) => process.exit(err.exitCode === 0 ? EXIT_OK : EXIT_USAGE));

  registerCheck(cli);

  cli
    .command('run')
    .description(
      'run the agent: health checks, BGP, XDP steering (SIGHUP reloads; SIGTERM stops for a restart, routes kept by graceful-restart peers; SIGINT is the final stop, everything withdrawn)',
    )
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
    .option('--pin-dir <dir>', 'bpffs directory of the pinned maps (default /sys/fs/bpf/anycastd)')
    .action(async (opts: { config: string; pinDir?: string }) => {
      process.exit(
        await runDaemon({
          configFile: opts.config,
          clock: systemClock,
          ...(opts.pinDir ? { pinDir: opts.pinDir } : {}),
          version: packageVersion(),
        }),
      );
    });

  registerDemo(cli);
  registerShow(cli);
  registerControl(cli);
  registerPeer(cli);
  registerCleanup(cli);
  registerBench(cli);
  addCommandExamples(cli);
  cli.addHelpText('after', MAIN_HELP);
  return cli;
}

await program().parseAsync(process.argv);
