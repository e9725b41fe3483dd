// When the passive sign came, per trial of the hung-service bench: the agent logs the check's down
// transition with the sign behind its fast window ("… (after: <sign>, N ms ago)"), so the window
// opened at the transition's time minus N. This reads the agent's log and gives, for each fault time,
// ms from the fault to the sign (null: the check went down with no window: the interval probe found it).
import { readFileSync } from 'node:fs';

const AFTER = /\(after: .*, (\d+) ms ago\)$/;

interface Transition {
  at: number;
  detail: string;
}

function downs(logFile: string): Transition[] {
  const out: Transition[] = [];
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    let r: { event?: string; to?: string; local?: boolean; time?: string; detail?: string };
    try {
      r = JSON.parse(line);
    } catch {
      continue;
    }
    if (r.event === 'health-transition' && r.to === 'down' && r.local && r.time)
      out.push({ at: Date.parse(r.time), detail: r.detail ?? '' });
  }
  return out;
}

/** For each fault time (wall clock ms): ms from it to the sign that opened the window, or null. */
export function signDelays(logFile: string, faultsAt: readonly number[]): (number | null)[] {
  const all = downs(logFile);
  return faultsAt.map((at) => {
    const down = all.find((d) => d.at >= at);
    const m = down ? AFTER.exec(down.detail) : null;
    return down && m ? down.at - Number(m[1]) - at : null;
  });
}
