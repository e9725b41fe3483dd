// SPDX-License-Identifier: GPL-2.0
// Test program for the native binding's tests (test/native/) and the XDP smoke demo.
// Not part of the data plane. It exercises what the binding must support:
//   - `const volatile` rodata set before load (cfg_verdict, cfg_mark),
//   - a hash map read by the program (verdicts: packet byte 1 -> verdict), for reuse/pin tests,
//   - a per-CPU array written by the program (stats), for per-CPU reads,
//   - a per-CPU hash with a 4-byte value (pcpu_small), for per-CPU value padding,
//   - packet rewrites visible in test-run output (byte 0 := cfg_mark; xdp_pop strips a header).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define VERDICT_KEY_OFFSET 1 // packet byte whose value keys the verdicts map
#define MIN_PACKET_LEN 2     // bytes xdp_test reads
#define POP_BYTES 4          // bytes xdp_pop strips from the front
#define TEST_MAP_ENTRIES 64

const volatile __u32 cfg_verdict = XDP_PASS; // verdict when the verdicts map has no entry
const volatile __u8 cfg_mark = 0xA5;          // written to packet byte 0

struct stats_value {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TEST_MAP_ENTRIES);
	__type(key, __u32);
	__type(value, __u32);
} verdicts SEC(".maps"); // packet byte 1 -> XDP verdict

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stats_value);
} stats SEC(".maps"); // packets and bytes seen by xdp_test, per CPU

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, TEST_MAP_ENTRIES);
	__type(key, __u32);
	__type(value, __u32);
} pcpu_small SEC(".maps"); // per-CPU values narrower than 8 bytes (padded per CPU)

SEC("xdp")
int xdp_test(struct xdp_md *ctx)
{
	__u8 *data = (__u8 *)(long)ctx->data;
	__u8 *end = (__u8 *)(long)ctx->data_end;
	__u32 zero = 0;

	if (data + MIN_PACKET_LEN > end)
		return XDP_ABORTED;

	struct stats_value *st = bpf_map_lookup_elem(&stats, &zero);
	if (st) {
		st->packets++;
		st->bytes += end - data;
	}

	__u32 key = data[VERDICT_KEY_OFFSET];
	__u32 *v = bpf_map_lookup_elem(&verdicts, &key);
	data[0] = cfg_mark;
	return v ? *v : cfg_verdict;
}

SEC("xdp")
int xdp_pop(struct xdp_md *ctx)
{
	if (bpf_xdp_adjust_head(ctx, POP_BYTES))
		return XDP_ABORTED;
	return XDP_PASS;
}

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
