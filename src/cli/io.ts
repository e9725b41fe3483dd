// What a command of the CLI reads and writes of the process it runs in: standard output and error, the
// environment, and the exit status it leaves. The `anycastd` program (main.ts) passes its own process
// (processIo); a test passes buffers (test/cli/run-cli.ts) and runs the command in its own process — the same
// parsing, the same actions, without a node start per case.

export interface CliIo {
  /** Writes to standard output. */
  out(text: string): void;
  /** Writes to standard error. */
  err(text: string): void;
  /** The environment the options' defaults read (ANYCASTD_SOCKET). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The exit status the command leaves (0 unless an action sets it), as process.exitCode. */
  exitCode: number;
}

/** The process's own stdout, stderr and environment; the exit status is the process's. */
export function processIo(): CliIo {
  return {
    out: (text) => {
      process.stdout.write(text);
    },
    err: (text) => {
      process.stderr.write(text);
    },
    env: process.env,
    get exitCode() {
      return Number(process.exitCode ?? 0);
    },
    set exitCode(code: number) {
      process.exitCode = code;
    },
  };
}
