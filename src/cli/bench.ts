// `anycastd bench [args...]`: runs the benchmarks of bench/run.ts (a source checkout) with tsx, passing
// the arguments on; its exit code becomes ours (src/cli/checkout.ts).
import type { Command } from 'commander';
import { runFromCheckout } from './checkout.js';
import { examples } from './help.js';

export const BENCH_ENTRY = 'bench/run.ts';

export function registerBench(cli: Command): void {
  cli
    .command('bench')
    .description(`run the benchmarks (${BENCH_ENTRY} of the source tree); results go to bench/results/`)
    .argument('[args...]', 'passed to the benchmark runner')
    .allowUnknownOption()
    .addHelpText('after', examples('anycastd bench', 'anycastd bench steer'))
    .action(async (args: string[]) => {
      process.exitCode = await runFromCheckout('bench', BENCH_ENTRY, args);
    });
}
