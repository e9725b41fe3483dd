// The watch's liveness check against a real etcd (test/helpers/etcd-single.ts): a watch that etcd has
// dropped while the client still reports it connected (the library's own cancel: etcd ends the watch,
// the library goes silent, our code is told nothing) is found by the check and starts over with a full
// read, for a missed put and for a missed delete; a live watch under writes is never taken for stuck.
// The check's timers run on a fake clock moved in steps while the real reads and writes proceed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Etcd3 } from 'etcd3';
import { makeClient } from '../../../src/cluster/etcd/client.js';
import { KeyLayout } from '../../../src/cluster/etcd/keys.js';
import { WATCH_CHECK_CONFIRM_MS, WATCH_CHECK_MS } from '../../../src/cluster/etcd/limits.js';
import { encodeRecord } from '../../../src/cluster/etcd/record.js';
import { MemberWatch } from '../../../src/cluster/etcd/watch.js';
import { type EtcdSingle, startEtcdSingle } from '../../helpers/etcd-single.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { waitFor } from '../../helpers/wait-for.js';
import { record } from './records.js';

/** Fake time moved per step while waiting for the real store. */
const STEP_MS = 250;
/** Real time a stalled watch is given to show it really delivers nothing. */
const STALL_SHOWN_MS = 300;

let etcd: EtcdSingle;
let client: Etcd3;
const watches: MemberWatch[] = [];

before(async () => {
  etcd = await startEtcdSingle();
  client = makeClient({ endpoints: [etcd.endpoint] });
});
after(async () => {
  for (const w of watches) await w.close();
  client.close();
  await etcd.close();
});

async function watching(prefix: string, clock: FakeClock): Promise<{ w: MemberWatch; layout: KeyLayout }> {
  const layout = new KeyLayout(prefix);
  const w = new MemberWatch(client, layout, clock);
  watches.push(w);
  await w.start();
  await waitFor(() => w.connected, { what: 'the watch established' });
  return { w, layout };
}

const has = (w: MemberWatch, id: string): boolean => w.instances.get('web')?.has(id) ?? false;

/** Moves the fake clock in steps until `probe` holds; returns the fake time it took. */
async function advanceUntil(clock: FakeClock, probe: () => boolean, what: string): Promise<number> {
  const t0 = clock.now();
  await waitFor(
    async () => {
      if (probe()) return true;
      await clock.advance(STEP_MS);
      return probe();
    },
    { timeoutMs: 20_000, what },
  );
  return clock.now() - t0;
}

/** Drops the watch in etcd behind the client's back: the library cancels it and tells us nothing. */
async function stall(w: MemberWatch): Promise<void> {
  const lib = w.watcher;
  assert.ok(lib, 'a watcher to stall');
  await lib.cancel();
  assert.equal(w.connected, true, 'the stalled watch still reports itself connected');
}

test('a watch etcd dropped while it reports itself connected: a missed put is found and read again', async () => {
  const clock = new FakeClock();
  const { w, layout } = await watching('/live/put', clock);
  await client.put(layout.instance('web', 'h1')).value(encodeRecord(record('h1', 11)));
  await waitFor(() => has(w, 'h1'), { what: 'h1 delivered' });
  await stall(w);
  await client.put(layout.instance('web', 'h2')).value(encodeRecord(record('h2', 12)));
  await new Promise((r) => setTimeout(r, STALL_SHOWN_MS));
  assert.equal(has(w, 'h2'), false, 'the stalled watch delivered nothing');
  const took = await advanceUntil(clock, () => has(w, 'h2'), 'h2 after the check');
  assert.equal(w.stalls, 1, 'one stall found');
  assert.equal(w.restarts, 1, 'one full read after it');
  assert.ok(took <= WATCH_CHECK_MS + WATCH_CHECK_CONFIRM_MS + STEP_MS, `found within a check (${took} ms)`);
  // the new watch is live: a later change arrives without another check
  await client.put(layout.instance('web', 'h3')).value(encodeRecord(record('h3', 13)));
  await waitFor(() => has(w, 'h3'), { what: 'h3 on the new watch' });
});

test('a missed delete (same highest revision, one key fewer) is found by the key count', async () => {
  const clock = new FakeClock();
  const { w, layout } = await watching('/live/delete', clock);
  await client.put(layout.instance('web', 'h1')).value(encodeRecord(record('h1', 11)));
  await client.put(layout.instance('web', 'h2')).value(encodeRecord(record('h2', 12)));
  await waitFor(() => has(w, 'h1') && has(w, 'h2'), { what: 'h1 and h2 delivered' });
  await stall(w);
  await client.delete().key(layout.instance('web', 'h1'));
  await new Promise((r) => setTimeout(r, STALL_SHOWN_MS));
  assert.equal(has(w, 'h1'), true, 'the stalled watch still holds h1');
  await advanceUntil(clock, () => !has(w, 'h1'), 'h1 gone after the check');
  assert.equal(w.stalls, 1);
  assert.equal(has(w, 'h2'), true);
});

test('a live watch under writes is never taken for stuck', async () => {
  const clock = new FakeClock();
  const { w, layout } = await watching('/live/busy', clock);
  const checks = 3;
  for (let i = 0; i < checks * (WATCH_CHECK_MS / STEP_MS); i++) {
    if (i % 4 === 0)
      await client.put(layout.instance('web', `h${i % 7}`)).value(encodeRecord(record(`h${i % 7}`, 10 + i)));
    await clock.advance(STEP_MS);
  }
  await waitFor(() => w.instances.get('web')?.size === 7, { what: 'every write delivered' });
  assert.equal(w.stalls, 0);
  assert.equal(w.restarts, 0);
});
