// Structured logs of the agent: one JSON object per line on stderr, written by pino (synchronously, so
// no line is lost on exit), with `time` (ISO 8601), `level` (the label: debug, info, warn, error),
// `event` (kebab-case, e.g. route-withdrawn), and where they apply `service` and `reason`, plus the
// event's own fields; errors as {name, code, message}. The same records go to listeners (the
// metrics/API layer and tests).

import { pino } from 'pino';

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

/** Writes each record as one JSON line through pino (default: stderr, synchronously). */
export function jsonLineSink(write?: (line: string) => void): LogSink {
  const logger = pino(
    {
      level: 'debug',
      base: undefined, // no pid, no hostname
      timestamp: false, // the record's own `time` is written
      messageKey: 'event',
      formatters: {
        level: (label) => ({ level: label }),
        log: (fields) => JSON.parse(JSON.stringify(fields, errorReplacer)) as Record<string, unknown>,
      },
    },
    write ? { write } : pino.destination({ fd: STDERR_FD, sync: true }),
  );
  return ({ level, event, ...fields }) => logger[level](fields, event);
}

const STDERR_FD = 2;

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
