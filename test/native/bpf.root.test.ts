// BpfObject / BpfProgram against the real kernel: rodata before load, load, test-run verdicts and
// output bytes, bpf_xdp_adjust_head, and the typed errors (missing names, verifier rejection).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SystemError } from '../../src/errors.js';
import { BpfObject } from '../../src/native/index.js';
import {
  DEFAULT_MARK,
  POP_BYTES,
  packet,
  REJECT_OBJECT,
  TEST_OBJECT,
  u32,
  XDP_DROP,
  XDP_PASS,
  XDP_TX,
} from './fixture.js';

function withObject<T>(setup: (obj: BpfObject) => void, fn: (obj: BpfObject) => T): T {
  const obj = BpfObject.open(TEST_OBJECT);
  try {
    setup(obj);
    obj.load();
    return fn(obj);
  } finally {
    obj.close();
  }
}

const NS_PER_MS = 1_000_000;

test('defaults: verdict from rodata, byte 0 rewritten to the default mark', () => {
  withObject(
    () => {},
    (obj) => {
      const input = packet(9);
      const r = obj.program('xdp_test').testRun({ data: input });
      assert.equal(r.retval, XDP_PASS);
      assert.equal(r.data.length, input.length);
      assert.equal(r.data[0], DEFAULT_MARK);
      assert.deepEqual(r.data.subarray(1), input.subarray(1));
      assert.ok(obj.program('xdp_test').id > 0);
    },
  );
});

test('setRodata before load changes verdict and mark, observed by test-run', () => {
  withObject(
    (obj) => {
      obj.setRodata('cfg_verdict', u32(XDP_DROP));
      obj.setRodata('cfg_mark', Buffer.from([0x5a]));
    },
    (obj) => {
      const r = obj.program('xdp_test').testRun({ data: packet(9), repeat: 5 });
      assert.equal(r.retval, XDP_DROP);
      assert.equal(r.data[0], 0x5a);
      // the kernel's average over the repeats: a real run takes some ns, far below a millisecond
      assert.ok(r.durationNs > 0 && r.durationNs < NS_PER_MS, `${r.durationNs} ns per run`);
    },
  );
});

test('map value read by the program decides the verdict', () => {
  withObject(
    () => {},
    (obj) => {
      obj.map('verdicts').update(u32(7), u32(XDP_TX));
      assert.equal(obj.program('xdp_test').testRun({ data: packet(7) }).retval, XDP_TX);
      assert.equal(obj.program('xdp_test').testRun({ data: packet(8) }).retval, XDP_PASS);
    },
  );
});

test('bpf_xdp_adjust_head: xdp_pop strips the first bytes', () => {
  withObject(
    () => {},
    (obj) => {
      const input = packet(1);
      const r = obj.program('xdp_pop').testRun({ data: input });
      assert.equal(r.retval, XDP_PASS);
      assert.deepEqual(r.data, input.subarray(POP_BYTES));
    },
  );
});

test('setRodata: unknown name is ERR_BPF_OBJECT, wrong size ERR_INVALID_ARGUMENT, after load refused', () => {
  const obj = BpfObject.open(TEST_OBJECT);
  try {
    assert.throws(() => obj.setRodata('no_such_var', u32(1)), { code: 'ERR_BPF_OBJECT' });
    assert.throws(() => obj.setRodata('cfg_verdict', Buffer.alloc(2)), { code: 'ERR_INVALID_ARGUMENT' });
    assert.throws(() => obj.program('xdp_test'), { code: 'ERR_BPF_OBJECT' }); // not loaded yet
    obj.load();
    assert.throws(() => obj.setRodata('cfg_verdict', u32(1)), { code: 'ERR_BPF_OBJECT' });
    assert.throws(() => obj.program('no_such_prog'), { code: 'ERR_BPF_OBJECT' });
    assert.throws(() => obj.map('no_such_map'), { code: 'ERR_BPF_OBJECT' });
  } finally {
    obj.close();
  }
  assert.throws(() => obj.program('xdp_test'), { code: 'ERR_BPF_OBJECT' }); // closed
});

test('open of a missing file is a SystemError ENOENT with the path', () => {
  assert.throws(
    () => BpfObject.open('/nonexistent/x.bpf.o'),
    (err: unknown) => {
      assert.ok(err instanceof SystemError);
      assert.equal(err.code, 'ENOENT');
      assert.equal(err.syscall, 'bpf_object__open_file');
      assert.match(err.attempt, /\/nonexistent\/x\.bpf\.o/);
      return true;
    },
  );
});

test('a program the verifier rejects fails to load with the verifier log in the error', () => {
  const obj = BpfObject.open(REJECT_OBJECT);
  try {
    assert.throws(
      () => obj.load(),
      (err: unknown) => {
        assert.ok(err instanceof SystemError);
        assert.equal(err.code, 'EACCES');
        assert.equal(err.syscall, 'bpf_object__load');
        assert.match(err.message, /invalid access to packet/);
        return true;
      },
    );
  } finally {
    obj.close();
  }
});

test('testRun validates its options', () => {
  withObject(
    () => {},
    (obj) => {
      assert.throws(() => obj.program('xdp_test').testRun({ data: packet(1), repeat: 0 }), {
        code: 'ERR_INVALID_ARGUMENT',
      });
      assert.throws(() => obj.program('xdp_test').testRun({ data: packet(1), dataSizeOut: 0 }), {
        code: 'ERR_INVALID_ARGUMENT',
      });
    },
  );
});
