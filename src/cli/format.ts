// Human output of the CLI: aligned text tables (left-aligned text, right-aligned numbers), durations
// ("3d4h", "12m5s"), percentages and "-" for absent values. --json bypasses all of this.

export interface Column<T> {
  header: string;
  value: (row: T) => string | number;
}

/** Renders rows as an aligned table with a header line; number columns (and their headers) are right-aligned. */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((r) => columns.map((c) => c.value(r)));
  const widths = columns.map((c, i) =>
    Math.max(c.header.length, ...cells.map((row) => String(row[i]).length)),
  );
  const numeric = columns.map((_, i) => cells.length > 0 && cells.every((row) => typeof row[i] === 'number'));
  const line = (values: readonly (string | number)[]): string =>
    values
      .map((v, i) => (numeric[i] ? String(v).padStart(widths[i]!) : String(v).padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}

const UNITS: [string, number][] = [
  ['d', 86_400],
  ['h', 3600],
  ['m', 60],
  ['s', 1],
];

/** "3d4h", "12m5s", "7s": the two largest units of a number of seconds. */
export function duration(seconds: number): string {
  let left = Math.max(0, Math.floor(seconds));
  const parts: string[] = [];
  for (const [unit, size] of UNITS) {
    if (left >= size || (unit === 's' && parts.length === 0)) {
      parts.push(`${Math.floor(left / size)}${unit}`);
      left %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join('');
}

/** Time since a unix timestamp in seconds, or "-" for 0 (never). */
export function since(unixSeconds: number, now: number = Date.now() / 1000): string {
  return unixSeconds > 0 ? duration(now - unixSeconds) : '-';
}

export const percent = (ratio: number): string => `${(ratio * 100).toFixed(1)}%`;
export const yesNo = (b: boolean): string => (b ? 'yes' : 'no');
export const orDash = (s: string): string => (s === '' ? '-' : s);

/** Rejected routes by reason with a count, e.g. "nexthop-own-address=1 family-not-negotiated=2". */
export function rejectedText(counts: readonly { reason: string; count: number }[]): string {
  return counts
    .filter((c) => c.count > 0)
    .map((c) => `${c.reason}=${c.count}`)
    .join(' ');
}
