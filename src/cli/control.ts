// `anycastd drain SERVICE`, `undrain SERVICE`, `reload`: the operator's levers on the running agent.
import type { Command } from 'commander';
import { type ApiOptions, apiOptions, runApi } from './api-command.js';
import { examples } from './help.js';

export function registerControl(cli: Command): void {
  apiOptions(
    cli
      .command('drain')
      .description(
        'withdraw SERVICE from the peers and take this host out of its new-flow ring; established flows stay here until they end',
      )
      .argument('<service>', 'service name'),
  )
    .addHelpText(
      'after',
      examples('anycastd drain web && sleep 60 && systemctl restart web && anycastd undrain web'),
    )
    .action((service: string, o: ApiOptions) => runApi(o, 'drain', { service }, (r) => r.message));
  apiOptions(
    cli
      .command('undrain')
      .description('end the drain of SERVICE: it is announced again once its checks pass')
      .argument('<service>', 'service name'),
  )
    .addHelpText('after', examples('anycastd undrain web'))
    .action((service: string, o: ApiOptions) => runApi(o, 'undrain', { service }, (r) => r.message));
  apiOptions(
    cli
      .command('reload')
      .description(
        'reload the config file (as SIGHUP does): only what changed is applied; an invalid file is rejected whole and the running config stays',
      ),
  )
    .addHelpText('after', examples('anycastd check -c /etc/anycastd/anycastd.yaml && anycastd reload'))
    .action((o: ApiOptions) =>
      runApi(o, 'reload', {}, (r) =>
        r.changed
          ? ['config reloaded:', ...r.changes.map((c) => `  ${c}`)].join('\n')
          : 'config reloaded: no change',
      ),
    );
}
