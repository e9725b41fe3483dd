// `make bench`: runs every bench/*.bench.ts (each exports `run(): Promise<BenchOutput>`), prints each
// one's report and writes all figures to bench/results/<date>.json.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** What a benchmark module returns: a readable report and its figures. */
export interface BenchOutput {
  report: string;
  data: unknown;
}

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();
const results: Record<string, unknown> = {};
for (const file of files) {
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { run?: () => Promise<BenchOutput> };
  const name = file.replace(/\.bench\.ts$/, '');
  console.log(`== ${name}`);
  if (typeof mod.run !== 'function') {
    console.log(`(skipped: ${file} exports no run())`);
    continue;
  }
  const out = await mod.run();
  console.log(out.report);
  results[name] = out.data;
}
const date = new Date().toISOString();
const outDir = join(here, 'results');
mkdirSync(outDir, { recursive: true });
const path = join(outDir, `${date.replace(/[:.]/g, '-')}.json`);
const machine = { kernel: release(), cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version };
writeFileSync(path, `${JSON.stringify({ date, machine, results }, null, 2)}\n`);
console.log(`results: ${path}`);
