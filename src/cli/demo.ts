// `anycastd demo`: builds the lab (client, spine, two ToRs running FRR and BIRD, three hosts each running
// a real anycastd and the lab service) in network namespaces and tells the story of src/lab/demo-story.ts,
// a progress line per step and a summary table; everything is torn down at the end, on failure and on Ctrl-C.
import { runLabDemo } from '../lab/demo-story.js';

/** Runs the demo, printing a line per step; resolves false when a step failed (after cleaning up). */
export function runDemo(log: (line: string) => void): Promise<boolean> {
  return runLabDemo(log);
}
