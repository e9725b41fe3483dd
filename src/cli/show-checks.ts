// `anycastd show checks [SERVICE]` as text: one row per check of each instance (state, last result and
// its reason, latency, how long ago, the streak), then the stderr lines exec checks left, each block
// under the check it belongs to.
import type { CheckInfo } from '../api/types.js';
import { orDash, since, table } from './format.js';

const MS_PER_SECOND = 1000;

const latency = (c: CheckInfo): string =>
  c.lastResult === 'none' ? '-' : `${(c.latencySeconds * MS_PER_SECOND).toFixed(1)}ms`;
const streak = (c: CheckInfo): string =>
  c.failures > 0 ? `${c.failures} failed` : c.successes > 0 ? `${c.successes} ok` : '-';

export function checksText(r: { checks: CheckInfo[] }): string {
  const rows = table(r.checks, [
    { header: 'SERVICE', value: (c) => c.service },
    { header: 'INSTANCE', value: (c) => `${c.instance}${c.local ? ' (local)' : ''}` },
    { header: 'CHECK', value: (c) => c.name },
    { header: 'STATE', value: (c) => (c.held ? `${c.state} (dampened)` : c.state) },
    { header: 'LAST', value: (c) => c.lastResult },
    { header: 'REASON', value: (c) => orDash(c.reason) },
    { header: 'LATENCY', value: latency },
    { header: 'AGO', value: (c) => since(c.lastRun) },
    { header: 'STREAK', value: streak },
  ]);
  const outputs = r.checks
    .filter((c) => c.output !== '')
    .map((c) =>
      [`${c.service}/${c.instance} ${c.name} stderr:`, ...c.output.split('\n').map((l) => `  | ${l}`)].join(
        '\n',
      ),
    );
  return [rows, ...outputs].join('\n\n');
}
