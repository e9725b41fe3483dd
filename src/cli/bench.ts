// `anycastd bench [args...]`: runs the benchmarks of bench/run.ts (a source checkout) with tsx, passing
// the arguments on; its exit code becomes ours (src/cli/checkout.ts). Hidden from --help without it.
import type { Command } from 'commander';
import { checkoutFile, runFromCheckout } from './checkout.js';
import { examples } from './help.js';
import type { CliIo } from './io.js';

export const BENCH_ENTRY = 'bench/run.ts';

export function registerBench(cli: Command, io: CliIo): void {
  cli
    .command('bench', { hidden: checkoutFile(BENCH_ENTRY) === undefined })
    .description(`run the benchmarks (${BENCH_ENTRY} of the source tree); results go to bench/results/`)
    .argument('[args...]', 'passed to the benchmark runner')
    .allowUnknownOption()
    .addHelpText('after', examples('anycastd bench', 'anycastd bench steer'))
    .action(async (args: string[]) => {
      io.exitCode = await runFromCheckout(io, 'bench', BENCH_ENTRY, args);
    });
}
