// The command loop of the scale bench's child programs (etcd-fleet-child.ts, mesh-fleet-child.ts): one
// line per command on stdin, `<name> <JSON argument>`, one JSON line answered on stdout per command —
// the handler's result, or {error} — until `quit` or the end of stdin.

import { createInterface } from 'node:readline';

export type Commands = Record<string, (arg: never) => Promise<unknown>>;

export async function serveCommands(commands: Commands): Promise<void> {
  for await (const line of createInterface({ input: process.stdin })) {
    const at = line.indexOf(' ');
    const cmd = at < 0 ? line : line.slice(0, at);
    if (cmd === 'quit') break;
    const f = commands[cmd];
    try {
      if (!f) throw new Error(`unknown command ${cmd}`);
      process.stdout.write(
        `${JSON.stringify(await f((at < 0 ? {} : JSON.parse(line.slice(at + 1))) as never))}\n`,
      );
    } catch (err) {
      process.stdout.write(
        `${JSON.stringify({ error: err instanceof Error ? err.message : String(err) })}\n`,
      );
    }
  }
}
