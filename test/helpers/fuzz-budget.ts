// How long a fuzz test runs. In `make test` and `make test-unit` a fixed number of seeded cases: the same
// inputs every run and the same work whatever the box's load (a time budget on a loaded 2-core box ran
// 1,000 cases where a quiet one ran 57,000, and a throughput assertion failed). With ANYCASTD_FUZZ=long
// (`make fuzz`) a time budget instead, to search for long.

export const FUZZ_LONG = process.env['ANYCASTD_FUZZ'] === 'long';
/** `make fuzz`'s budget per fuzz test. */
export const LONG_BUDGET_MS = 60_000;

export interface FuzzBudget {
  /** True while another case (or round of cases) should run, `done` being the cases run so far. */
  more(done: number): boolean;
  /** For the test's name and log line: "2000 cases" or "60000 ms". */
  readonly label: string;
}

/** `shortCases` seeded cases, or LONG_BUDGET_MS of them with ANYCASTD_FUZZ=long. */
export function fuzzBudget(shortCases: number): FuzzBudget {
  if (!FUZZ_LONG) return { more: (done) => done < shortCases, label: `${shortCases} cases` };
  const end = performance.now() + LONG_BUDGET_MS;
  return { more: () => performance.now() < end, label: `${LONG_BUDGET_MS} ms` };
}
