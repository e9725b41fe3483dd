// Structured logs of the agent: one JSON object per line on stderr, with `time` (ISO 8601), `level`,
// `event` (kebab-case, e.g. route-withdrawn), and where they apply `service` and `reason`, plus the
// event's own fields. The same records go to listeners (the metrics/API layer and tests).

export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface LogRecord {
  time: string;
  level: Level;
  event: string;
  service?: string;
  reason?: string;
  [field: string]: unknown;
}

export type LogSink = (record: LogRecord) => void;

/** Writes each record as one JSON line (default: stderr). */
export function jsonLineSink(write: (line: string) => void = (l) => process.stderr.write(l)): LogSink {
  return (record) => write(`${JSON.stringify(record, errorReplacer)}\n`);
}

/** A sink that drops everything (tests that assert on events instead). */
export const silentSink: LogSink = () => {};

/** Errors become {name, code, message} instead of `{}`. */
function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, ...(code === undefined ? {} : { code }), message: value.message };
  }
  return value;
}

export function makeRecord(level: Level, event: string, fields: Record<string, unknown>): LogRecord {
  return { time: new Date().toISOString(), level, event, ...fields };
}
