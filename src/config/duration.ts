// Durations in the config file: a number with a unit ("250ms", "2s", "1.5s", "5m", "1h"), parsed to
// integer milliseconds. A bare number is rejected, so no value silently means seconds or milliseconds.

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

/** Milliseconds for a duration string, or null if it is not one. */
export function parseDuration(text: string): number | null {
  const m = DURATION_RE.exec(text.trim());
  if (!m) return null;
  const ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  return Number.isFinite(ms) ? Math.round(ms) : null;
}
