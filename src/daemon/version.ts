// anycastd's version, from the package.json beside the installed program (the metrics' build info and
// the control API's status carry it).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../native/addon.js';

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}
