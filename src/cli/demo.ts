// `anycastd demo`: the story of what exists so far, told step by step. Today: the XDP data plane in a
// throwaway namespace (load through the verifier, attach natively, packets through BPF_PROG_TEST_RUN).
import { xdpSmoke } from '../demo/xdp-smoke.js';

/** Runs the demo, printing a line per step; resolves false when a step failed (after cleaning up). */
export async function runDemo(log: (line: string) => void): Promise<boolean> {
  try {
    await xdpSmoke(log);
    return true;
  } catch (err) {
    const code = err instanceof Error && 'code' in err ? ` [${String(err.code)}]` : '';
    log(`demo failed${code}: ${err instanceof Error ? err.message : String(err)}`);
    return false;
  }
}
