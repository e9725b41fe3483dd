/* SPDX-License-Identifier: Apache-2.0 */
/*
 * steer_bench.bpf.c — benchmark harness, not part of the data plane. BPF_PROG_TEST_RUN with repeat > 1
 * does not restore the frame between repeats, so a rewriting path (encapsulation, decapsulation) would
 * see its own output from the second repeat on. steer_undo runs the real decision, then puts the frame
 * back as it was — bench_undo_delta bytes off the front (the loader sets it to what the timed path adds:
 * +20 for IPIP, -20 for decapsulation, 0 otherwise) and the first BENCH_SAVE bytes restored — so every
 * repeat takes the same path. Its own cost (one bpf_xdp_adjust_head, two 128-byte copies through a
 * per-CPU array) is measured on the non-VIP path with delta 0 and subtracted by bench/steer.bench.ts.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "steer_core.h"

char LICENSE[] SEC("license") = "GPL";

#define BENCH_SAVE 128 /* bytes restored: every benchmark frame is longer, its headers fit */

struct bench_save {
	__u8 b[BENCH_SAVE];
};

/* Bytes the timed path adds at the front (removed again after each run). */
const volatile __s32 bench_undo_delta = 0;

/* When non-zero: the offset of a 32-bit word (e.g. the IPv4 source address) bumped in the restored
 * frame, so every repeat is a new flow (a flow-table miss and insert) instead of a hit. */
const volatile __u32 bench_bump_off = 0;

/* The saved frame start (the stack has no room for it beside steer_frame's). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_save);
} bench_saved SEC(".maps");

SEC("xdp")
int steer_undo(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct bench_save *saved;
	__u32 zero = 0;
	int rc;

	saved = bpf_map_lookup_elem(&bench_saved, &zero);
	if (!saved || data + BENCH_SAVE > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(saved->b, data, BENCH_SAVE);
	rc = steer_frame(ctx);
	if (bpf_xdp_adjust_head(ctx, bench_undo_delta))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + BENCH_SAVE > data_end)
		return XDP_ABORTED;
	if (bench_bump_off && bench_bump_off <= BENCH_SAVE - sizeof(__u32))
		(*(__u32 *)&saved->b[bench_bump_off])++;
	__builtin_memcpy(data, saved->b, BENCH_SAVE);
	return rc;
}
