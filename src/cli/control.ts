// `anycastd drain SERVICE [--instance ID]`, `undrain SERVICE [--instance ID]`, `reload`: the operator's
// levers on the running agent (an instance of another host: written to the store, etcd backend only).
import type { Command } from 'commander';
import { type ApiOptions, apiOptions, runApi } from './api-command.js';
import { examples } from './help.js';
import type { CliIo } from './io.js';

export function registerControl(cli: Command, io: CliIo): void {
  apiOptions(
    cli
      .command('drain')
      .description(
        'withdraw SERVICE from the peers and take this host out of its new-flow ring; established flows stay here until they end',
      )
      .argument('<service>', 'service name')
      .option(
        '--instance <id>',
        "another host's instance of SERVICE (cluster.backend etcd: the drain is written to the store and its own agent honours it)",
      ),
    io,
  )
    .addHelpText(
      'after',
      examples(
        'anycastd drain web && sleep 60 && systemctl restart web && anycastd undrain web',
        'anycastd drain web --instance h3    # from any host (etcd backend)',
      ),
    )
    .action((service: string, o: ApiOptions & { instance?: string }) =>
      runApi(io, o, 'drain', { service, instance: o.instance ?? '' }, (r) => r.message),
    );
  apiOptions(
    cli
      .command('undrain')
      .description('end the drain of SERVICE: it is announced again once its checks pass')
      .argument('<service>', 'service name')
      .option('--instance <id>', "another host's instance of SERVICE (cluster.backend etcd)"),
    io,
  )
    .addHelpText('after', examples('anycastd undrain web', 'anycastd undrain web --instance h3'))
    .action((service: string, o: ApiOptions & { instance?: string }) =>
      runApi(io, o, 'undrain', { service, instance: o.instance ?? '' }, (r) => r.message),
    );
  apiOptions(
    cli
      .command('reload')
      .description(
        'reload the config file (as SIGHUP does): only what changed is applied; an invalid file is rejected whole and the running config stays',
      ),
    io,
  )
    .addHelpText('after', examples('anycastd check -c /etc/anycastd/anycastd.yaml && anycastd reload'))
    .action((o: ApiOptions) =>
      runApi(io, o, 'reload', {}, (r) =>
        r.changed
          ? ['config reloaded:', ...r.changes.map((c) => `  ${c}`)].join('\n')
          : 'config reloaded: no change',
      ),
    );
}
