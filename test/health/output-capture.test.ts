// An exec check's stderr as `show checks` gets it: a command writing megabytes finishes with at most
// OUTPUT_MAX_BYTES kept and OUTPUT_MAX_LINES shown; a grandchild that keeps the pipe open does not hold
// the probe beyond STDERR_GRACE_MS; control characters never reach the operator's terminal.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OUTPUT_MAX_BYTES, OUTPUT_MAX_LINES, OutputCapture } from '../../src/health/output-capture.js';
import { probeExec, STDERR_GRACE_MS } from '../../src/health/probe-exec.js';

const never = () => new AbortController().signal;
const FLOOD_BYTES = 4_000_000;
/** Longer than the probe's timeout: a probe that waited for the grandchild would time out first. */
const GRANDCHILD_SLEEP_S = 60;
const PROBE_TIMEOUT_MS = 30_000;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a stderr flood is read to the end and kept bounded', async () => {
  const r = await probeExec(
    {
      command: ['sh', '-c', `yes 'line of text' | head -c ${FLOOD_BYTES} >&2; exit 1`],
      expectExit: 0,
      timeoutMs: 5000,
    },
    never(),
  );
  assert.equal(r.detail, 'exit 1');
  const lines = r.output!.split('\n');
  assert.deepEqual(lines, [...Array(OUTPUT_MAX_LINES).fill('line of text'), '…']);
});

test('a grandchild holding stderr open does not hold the probe', async () => {
  // The grandchild writes its pid and sleeps far longer than any wait here: the probe must settle
  // (by its STDERR_GRACE_MS after the child's exit) while the grandchild still holds the pipe.
  const r = await probeExec(
    {
      command: ['sh', '-c', `sleep ${GRANDCHILD_SLEEP_S} & echo $! >&2; exit 0`],
      expectExit: 0,
      timeoutMs: PROBE_TIMEOUT_MS,
    },
    never(),
  );
  const pid = Number(r.output);
  assert.ok(Number.isInteger(pid) && pid > 1, `the grandchild's pid on stderr: ${r.output}`);
  try {
    assert.equal(r.ok, true);
    assert.equal(processAlive(pid), true, `settled (grace ${STDERR_GRACE_MS} ms) while the grandchild lives`);
  } finally {
    if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  }
});

test('nothing on stderr: no output; control characters are replaced; bytes beyond the bound dropped', () => {
  const c = new OutputCapture();
  assert.equal(c.text(), '');
  c.push(Buffer.from('red \u001b[31mtext\u0007\r\n'));
  assert.equal(c.text(), 'red \ufffd[31mtext\ufffd');
  const big = new OutputCapture();
  big.push(Buffer.alloc(OUTPUT_MAX_BYTES * 3, 0x61));
  assert.equal(big.text(), `${'a'.repeat(OUTPUT_MAX_BYTES)}\n…`);
});
