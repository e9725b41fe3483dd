// XDP attach/detach/query on a veth pair inside a namespace this test creates and always removes:
// native and generic mode, XDP_FLAGS_REPLACE with the right and a wrong expected program, and the
// ENODEV error path with its context.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { addVethPair, createNetns, type Netns, removeNetnsByPrefix, uniquePrefix } from '../../lab/netns.js';
import { SystemError } from '../../src/errors.js';
import {
  attachXdp,
  BpfObject,
  detachXdp,
  ifIndex,
  ifName,
  queryXdp,
  withNetns,
  type XdpMode,
} from '../../src/native/index.js';
import { TEST_OBJECT } from './fixture.js';

const prefix = uniquePrefix('native-xdp');
// Interface names unique to this run, so the root-namespace check below cannot hit another's device.
const VETH = `ax${process.pid}a`;
const PEER = `ax${process.pid}b`;
let ns: Netns;
let obj: BpfObject;

before(() => {
  removeNetnsByPrefix(prefix);
  ns = createNetns(prefix);
  addVethPair(ns, VETH, PEER);
  obj = BpfObject.open(TEST_OBJECT);
  obj.load();
});

after(() => {
  obj?.close();
  removeNetnsByPrefix(prefix);
});

/** Runs `fn` inside the test namespace with VETH's ifindex. */
function onVeth<T>(fn: (ifindex: number) => T): T {
  return withNetns(ns.name, () => fn(ifIndex(VETH)));
}

for (const mode of ['native', 'generic'] as XdpMode[]) {
  test(`${mode} mode: attach, query, replace only the expected program, detach`, () => {
    const first = obj.program('xdp_test');
    const second = obj.program('xdp_pass');
    const other = obj.program('xdp_pop');
    onVeth((ifindex) => {
      assert.equal(ifName(ifindex), VETH);
      assert.deepEqual(queryXdp(ifindex).mode, 'none');
      attachXdp(ifindex, first.fd, { mode });
      assert.deepEqual(
        { progId: queryXdp(ifindex).progId, mode: queryXdp(ifindex).mode },
        { progId: first.id, mode },
      );
      assert.throws(() => attachXdp(ifindex, second.fd, { mode, ifNotExists: true }), { code: 'EBUSY' });

      // Replace with the wrong expected program: refused, nothing changes.
      assert.throws(
        () => attachXdp(ifindex, second.fd, { mode, replaceFd: other.fd }),
        (err: unknown) => {
          assert.ok(err instanceof SystemError);
          assert.equal(err.code, 'EEXIST');
          assert.equal(err.syscall, 'bpf_xdp_attach');
          assert.match(err.attempt, new RegExp(`\\(${VETH}\\)`));
          return true;
        },
      );
      assert.equal(queryXdp(ifindex).progId, first.id);

      attachXdp(ifindex, second.fd, { mode, replaceFd: first.fd });
      assert.equal(queryXdp(ifindex).progId, second.id);

      assert.throws(() => detachXdp(ifindex, { mode, expectedFd: first.fd }), { code: 'EEXIST' });
      detachXdp(ifindex, { expectedFd: second.fd }); // mode found by query
      assert.deepEqual(queryXdp(ifindex), {
        progId: 0,
        mode: 'none',
        nativeProgId: 0,
        genericProgId: 0,
        offloadProgId: 0,
      });
      detachXdp(ifindex); // nothing attached: nothing to do
    });
  });
}

test('interfaces of the namespace are visible only inside it', () => {
  assert.ok(withNetns(ns.name, () => ifIndex(PEER)) > 0);
  assert.throws(() => ifIndex(PEER), { code: 'ENODEV' });
});

test('missing interface: ENODEV with the attempt', () => {
  assert.throws(
    () => ifIndex('nosuchdev0'),
    (err: unknown) => {
      assert.ok(err instanceof SystemError);
      assert.equal(err.code, 'ENODEV');
      assert.equal(err.syscall, 'if_nametoindex');
      assert.equal(err.attempt, 'look up interface nosuchdev0');
      return true;
    },
  );
  const missing = onVeth((ifindex) => ifindex + 1000);
  withNetns(ns.name, () => {
    assert.throws(
      () => attachXdp(missing, obj.program('xdp_pass').fd, { mode: 'native' }),
      (err: unknown) => {
        assert.ok(err instanceof SystemError);
        assert.equal(err.code, 'ENODEV');
        assert.equal(err.syscall, 'bpf_xdp_attach');
        assert.match(err.attempt, new RegExp(`attach xdp .* ifindex ${missing} \\(no such interface\\)`));
        return true;
      },
    );
  });
});

test('withNetns refuses an async callback and returns to the original namespace', async () => {
  const rootIndex = ifIndex('lo');
  assert.throws(() => withNetns(ns.name, async () => {}), { code: 'ERR_INVALID_ARGUMENT' });
  assert.equal(ifIndex('lo'), rootIndex);
  assert.throws(() => withNetns(`${prefix}missing`, () => 1), { code: 'ENOENT' });
});
