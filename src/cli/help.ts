// Help text that reads like a man page: every command's --help ends with EXAMPLES, and the top-level
// help adds EXIT STATUS, FILES and ENVIRONMENT (the same text as man/anycastd.8).
import type { Command } from 'commander';
import { SOCKET_ENV } from './api-command.js';
import { EXIT_STATUS_HELP } from './exit.js';

export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n\n${EXIT_STATUS_HELP}\n`;
}

export const MAIN_HELP = `
Examples:
  $ anycastd check -c /etc/anycastd/anycastd.yaml
  $ anycastd run -c /etc/anycastd/anycastd.yaml
  $ anycastd show peers
  $ anycastd show rings web --json
  $ anycastd drain web

${EXIT_STATUS_HELP}

Files:
  /etc/anycastd/anycastd.yaml   the config file
  /run/anycastd/anycastd.sock   the control socket (api.socket; mode 0660, group api.group)
  /sys/fs/bpf/anycastd/         the XDP program's pinned maps

Environment:
  ${SOCKET_ENV}   control socket used by show/drain/undrain/reload (default /run/anycastd/anycastd.sock)

See anycastd(8).
`;

/** Examples of the commands defined in main.ts (run, check): added to their --help. */
const MAIN_COMMAND_EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  run: ['anycastd run -c /etc/anycastd/anycastd.yaml', 'systemctl start anycastd   # the unit runs the same'],
  check: ['anycastd check -c /etc/anycastd/anycastd.yaml', 'anycastd check -c new.yaml --json'],
};

/** Gives every top-level command without examples its EXAMPLES and EXIT STATUS sections. */
export function addCommandExamples(cli: Command): void {
  for (const cmd of cli.commands) {
    const lines = MAIN_COMMAND_EXAMPLES[cmd.name()];
    if (lines) cmd.addHelpText('after', examples(...lines));
  }
}
