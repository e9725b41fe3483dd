// The first lines of what an exec check wrote to stderr, for `anycastd show checks`: the command is the
// service's (hostile as any input), so at most OUTPUT_MAX_BYTES are kept whatever it writes (the rest is
// read and dropped, so a chatty command never blocks on a full pipe), at most OUTPUT_MAX_LINES lines,
// and control characters (escape sequences a terminal would obey) become U+FFFD.

/** Bytes of stderr kept per run. */
export const OUTPUT_MAX_BYTES = 2048;
/** Lines of stderr shown per run. */
export const OUTPUT_MAX_LINES = 5;
/** Any C0/C1 control character but newline and tab. */
const CONTROL = /(?![\n\t])\p{Cc}/gu;

export class OutputCapture {
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  #dropped = 0;

  push(chunk: Buffer): void {
    const room = OUTPUT_MAX_BYTES - this.#kept;
    if (room > 0) {
      const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
      this.#chunks.push(Buffer.from(part));
      this.#kept += part.length;
    }
    this.#dropped += Math.max(0, chunk.length - Math.max(room, 0));
  }

  /** The first lines, trimmed; "" when nothing was written. */
  text(): string {
    const all = Buffer.concat(this.#chunks)
      .toString('utf8')
      .replace(/\r\n/g, '\n')
      .replace(CONTROL, '\ufffd');
    const lines = all.split('\n');
    const shown = lines.slice(0, OUTPUT_MAX_LINES).join('\n').trimEnd();
    const more = lines.filter((l) => l !== '').length > OUTPUT_MAX_LINES || this.#dropped > 0;
    return more && shown !== '' ? `${shown}\n…` : shown;
  }
}
