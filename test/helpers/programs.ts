// The tests' child programs (test/fixtures/programs/*.ts): real files run as TypeScript through tsx, as
// the lab runs its own (lab/apps.ts), by absolute path, so they run from any directory and namespace.
//
//   spawn('ip', ['netns', 'exec', ns.name, ...program('udp-echo', ['--name', 'A', ...])])
//   ns.exec(program('udp-ask', ['--payload', 'hello', ...]))
import { fileURLToPath } from 'node:url';
import { nodeArgs } from '../../lab/apps.js';

export type ProgramName =
  | 'api-status'
  | 'attacker'
  | 'tcp-connects'
  | 'tcp-echo'
  | 'tcp-hold'
  | 'tcp-listen'
  | 'tcp-writer'
  | 'try-bind'
  | 'udp-ask'
  | 'udp-echo';

/** The argv (node first) that runs program `name` with `args`. */
export function program(name: ProgramName, args: readonly string[]): string[] {
  const file = fileURLToPath(new URL(`../fixtures/programs/${name}.ts`, import.meta.url));
  return [process.execPath, ...nodeArgs(file, args)];
}
