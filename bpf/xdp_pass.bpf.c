/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xdp_pass.bpf.c — a bare XDP_PASS program: the baseline of the steering benchmark, and the program
 * on the far end of a veth that lets XDP_TX frames of the near end be received (veth needs one there).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
