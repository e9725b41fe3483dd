// `anycastd bench [args...]`: runs the benchmarks of bench/run.ts (a source checkout) with tsx, passing
// the arguments on; its exit code becomes ours.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { projectRoot } from '../native/addon.js';
import { EXIT_FAILED } from './exit.js';
import { examples } from './help.js';

export const BENCH_ENTRY = 'bench/run.ts';

export function registerBench(cli: Command): void {
  cli
    .command('bench')
    .description(`run the benchmarks (${BENCH_ENTRY} of the source tree); results go to bench/results/`)
    .argument('[args...]', 'passed to the benchmark runner')
    .allowUnknownOption()
    .addHelpText('after', examples('anycastd bench', 'anycastd bench steer'))
    .action((args: string[]) => {
      const root = projectRoot();
      const entry = join(root, BENCH_ENTRY);
      if (!existsSync(entry)) {
        process.stderr.write(`anycastd: no ${BENCH_ENTRY} in ${root}\n`);
        process.exitCode = EXIT_FAILED;
        return;
      }
      const r = spawnSync(process.execPath, ['--import', 'tsx', entry, ...args], {
        cwd: root,
        stdio: 'inherit',
      });
      process.exitCode = r.status ?? EXIT_FAILED;
    });
}
