// SystemdNotifier over the addon's sender: datagrams reach a socket in the abstract namespace ('@name')
// and at a path, as one message with the state lines in order; without NOTIFY_SOCKET nothing is sent;
// a socket nobody listens on is reported to onError, not thrown; the watchdog interval is half of
// WATCHDOG_USEC and only for the pid WATCHDOG_PID names.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { SystemError } from '../../src/errors.js';
import { SystemdNotifier } from '../../src/native/notify.js';
import { NotifyListener } from '../agent/fixtures/notify-listen.js';

const dir = mkdtempSync(join(tmpdir(), 'acd-notify-'));
after(() => rmSync(dir, { recursive: true, force: true }));

for (const address of [`@acd-notify-${process.pid}`, join(dir, 'notify.sock')]) {
  test(`datagrams to ${address.startsWith('@') ? 'an abstract name' : 'a path'}`, async () => {
    const listener = await NotifyListener.open(address);
    try {
      const n = new SystemdNotifier({ env: { NOTIFY_SOCKET: address } });
      assert.equal(n.ready('up'), true);
      assert.equal(n.stopping('bye'), true);
      await listener.waitFor('STOPPING=1');
      assert.deepEqual(listener.messages[0]!.lines, ['READY=1', 'STATUS=up']);
      assert.deepEqual(listener.messages[1]!.lines, ['STOPPING=1', 'STATUS=bye']);
    } finally {
      listener.close();
    }
  });
}

test('no NOTIFY_SOCKET: nothing sent; a dead socket: reported, not thrown', () => {
  assert.equal(new SystemdNotifier({ env: {} }).ready('up'), false);
  const errors: SystemError[] = [];
  const n = new SystemdNotifier({
    env: { NOTIFY_SOCKET: join(dir, 'nobody') },
    onError: (e) => errors.push(e),
  });
  assert.equal(n.status('x'), false);
  assert.equal(errors[0]?.code, 'ENOENT');
  assert.equal(errors[0]?.syscall, 'sendto');
});

test('watchdog: half of WATCHDOG_USEC, only for our pid', () => {
  assert.equal(new SystemdNotifier({ env: { WATCHDOG_USEC: '10000000' } }).watchdogMs, 5000);
  assert.equal(
    new SystemdNotifier({ env: { WATCHDOG_USEC: '10000000', WATCHDOG_PID: '7' }, pid: 7 }).watchdogMs,
    5000,
  );
  assert.equal(
    new SystemdNotifier({ env: { WATCHDOG_USEC: '10000000', WATCHDOG_PID: '7' }, pid: 8 }).watchdogMs,
    undefined,
  );
  assert.equal(new SystemdNotifier({ env: {} }).watchdogMs, undefined);
});
