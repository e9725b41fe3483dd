// `anycastd demo`: runs the lab's demo (lab/demo.ts of a source checkout, with tsx: src/cli/checkout.ts)
// — a client, a spine, two ToRs running FRR and BIRD, three hosts each running a real anycastd and the
// lab service, in network namespaces — a progress line per step and a summary table; everything is torn
// down at the end, on failure and on Ctrl-C. The lab is test-bed code beside the product, not in it:
// without lab/demo.ts beside the program (an installed package) the command is hidden from --help.
import type { Command } from 'commander';
import { checkoutFile, runFromCheckout } from './checkout.js';
import { examples } from './help.js';
import type { CliIo } from './io.js';

export const DEMO_ENTRY = 'lab/demo.ts';

export function registerDemo(cli: Command, io: CliIo): void {
  cli
    .command('demo', { hidden: checkoutFile(DEMO_ENTRY) === undefined })
    .description(
      `build a throwaway lab in network namespaces, show anycastd at work, tear it down (${DEMO_ENTRY}: a source checkout)`,
    )
    .addHelpText('after', examples('anycastd demo', 'make demo   # the same, after building everything'))
    .action(async () => {
      io.exitCode = await runFromCheckout(io, 'demo', DEMO_ENTRY, []);
    });
}
