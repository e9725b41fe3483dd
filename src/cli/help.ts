// Help text that reads like a man page: every command's --help ends with EXAMPLES, and the top-level
// help adds EXIT STATUS, FILES and ENVIRONMENT (the same text as man/anycastd.8).
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
