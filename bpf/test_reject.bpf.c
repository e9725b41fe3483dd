// SPDX-License-Identifier: GPL-2.0
// Test program the verifier must reject: it reads the packet without a bounds check.
// Used by test/native/bpf.root.test.ts to check that a failed load carries the verifier log.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_unchecked(struct xdp_md *ctx)
{
	__u8 *data = (__u8 *)(long)ctx->data;

	return data[0] ? XDP_PASS : XDP_DROP; // no `data + 1 > data_end` check: rejected
}

char LICENSE[] SEC("license") = "GPL";
