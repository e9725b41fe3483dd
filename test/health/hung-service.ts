// A stand-in for a local service on the fake clock, for the check runner's tests: its probe passes at
// once, or never answers (until the runner's timeout aborts it) while `hung`; each start is recorded.
import { CheckRunner, type RunnerOptions } from '../../src/health/check-runner.js';
import type { Probe, Transition } from '../../src/health/types.js';
import { FakeClock } from '../helpers/fake-clock.js';

/** The hung-service benches' check: HTTP every 1 s, fast 50 ms, timeout 150 ms, rise 1, fall 2. */
export const HUNG_OPTS: RunnerOptions = {
  name: 'http#0',
  intervalMs: 1000,
  fastIntervalMs: 50,
  timeoutMs: 150,
  rise: 1,
  fall: 2,
  dampening: null,
};

/** A probe that passes, or hangs until aborted when `hung`; records each start time. */
export function hungService(clock: FakeClock) {
  const ctl: { hung: boolean; starts: number[]; probe: Probe } = {
    hung: false,
    starts: [],
    probe: (signal) => {
      ctl.starts.push(clock.now());
      if (!ctl.hung) return Promise.resolve({ ok: true, durationMs: 1, detail: 'status 200' });
      return new Promise((resolve) =>
        signal.addEventListener('abort', () => resolve({ ok: false, durationMs: 0, detail: 'aborted' })),
      );
    },
  };
  return ctl;
}

/** A runner with HUNG_OPTS on a fake clock over hungService(), started (up at 0, probed again at 1000). */
export function startedRunner() {
  const clock = new FakeClock();
  const s = hungService(clock);
  const seen: Transition[] = [];
  const r = new CheckRunner(HUNG_OPTS, s.probe, (t) => seen.push(t), clock);
  r.start();
  return { clock, s, seen, r };
}
