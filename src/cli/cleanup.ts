// `anycastd cleanup`: after the final stop of the agent on a host leaving the service, remove what the
// stopped agent keeps for a restart (src/daemon/cleanup.ts): VIPs off lo, XDP off the uplinks, the pins.
// Exit 1 (nothing touched) while an agent answers on the config's control socket; 2 for an invalid
// config; run it again and it reports nothing left.
import type { Command } from 'commander';
import { DEFAULT_CONFIG_PATH } from '../config/index.js';
import { agentListening, type CleanupReport, cleanupHost, readConfigForCleanup } from '../daemon/cleanup.js';
import { AnycastdError, ConfigError } from '../errors.js';
import { DEFAULT_PIN_DIR } from '../steer/dataplane.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './exit.js';
import { examples } from './help.js';
import type { CliIo } from './io.js';

interface CleanupOptions {
  config: string;
  pinDir: string;
  json?: boolean;
}

function human(r: CleanupReport): string {
  const lines = [
    ...r.vips.map((v) => `removed VIP ${v} from lo`),
    ...r.xdp.map((x) => `detached XDP program ${x.progId} (${x.mode}) from ${x.uplink}`),
    ...r.missingUplinks.map((u) => `uplink ${u} does not exist: nothing to detach`),
    ...r.pins.map((p) => `removed pin ${p}`),
    ...(r.pinDirRemoved ? ['removed the pin directory'] : []),
    ...r.routes.map((d) => `deleted the agent's default route ${d}`),
  ];
  const removed = r.vips.length + r.xdp.length + r.pins.length + r.routes.length;
  return [...lines, removed === 0 ? 'nothing left to remove' : 'cleanup done'].join('\n');
}

function fail(io: CliIo, o: CleanupOptions, code: string, message: string, exit: number): void {
  if (o.json) io.out(`${JSON.stringify({ ok: false, code, error: message })}\n`);
  else io.err(`anycastd cleanup: ${message}\n`);
  io.exitCode = exit;
}

export function registerCleanup(cli: Command, io: CliIo): void {
  cli
    .command('cleanup')
    .description(
      "decommission this host after the agent's final stop: its VIPs off lo, XDP off the uplinks, the pinned maps removed (refused while an agent runs)",
    )
    .option('-c, --config <file>', 'config file (VIPs, uplinks, control socket)', DEFAULT_CONFIG_PATH)
    .option('--pin-dir <dir>', 'bpffs directory of the pinned maps', DEFAULT_PIN_DIR)
    .option('--json', 'print what was removed as JSON')
    .addHelpText(
      'after',
      examples('systemctl disable --now anycastd && anycastd cleanup', 'anycastd cleanup --json'),
    )
    .action(async (o: CleanupOptions) => {
      try {
        const config = readConfigForCleanup(o.config);
        if (await agentListening(config.api.socket)) {
          fail(
            io,
            o,
            'AGENT_RUNNING',
            `an agent answers on ${config.api.socket}: stop it first`,
            EXIT_FAILED,
          );
          return;
        }
        const report = cleanupHost(config, o.pinDir);
        io.out(`${o.json ? JSON.stringify({ ok: true, ...report }) : human(report)}\n`);
        io.exitCode = EXIT_OK;
      } catch (err) {
        const code = err instanceof AnycastdError ? err.code : 'ERROR';
        fail(
          io,
          o,
          code,
          err instanceof Error ? err.message : String(err),
          err instanceof ConfigError ? EXIT_USAGE : EXIT_FAILED,
        );
      }
    });
}
