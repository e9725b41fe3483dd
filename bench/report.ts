// The readable side of a lab benchmark: one Markdown report beside the JSON, naming the machine it ran
// on, with the figures as bullet lines, the SVG plots, and the raw data.
import { writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';

export interface MarkdownReport {
  file: string;
  title: string;
  lines: readonly string[];
  /** Plots as [alt text, relative path]. */
  images: ReadonlyArray<readonly [string, string]>;
  data: unknown;
}

/** The machine a figure was measured on, in one line. */
export function machineLine(): string {
  return `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Linux ${release()}, Node ${process.version}`;
}

export function writeMarkdownReport(r: MarkdownReport): void {
  const md = [
    `# ${r.title}`,
    '',
    `Machine: ${machineLine()}. Date: ${new Date().toISOString()}.`,
    '',
    ...r.lines.map((l) => `- ${l}`),
    '',
    ...r.images.flatMap(([alt, path]) => [`![${alt}](${path})`, '']),
    '```json',
    JSON.stringify(r.data, null, 2),
    '```',
    '',
  ].join('\n');
  writeFileSync(r.file, md);
}
