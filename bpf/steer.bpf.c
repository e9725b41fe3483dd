/* SPDX-License-Identifier: Apache-2.0 */
/*
 * steer.bpf.c — the XDP program every host runs on its uplinks (thin entry; the decision is in
 * steer_core.h, the map layouts in steer.h).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "steer_core.h"

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int steer(struct xdp_md *ctx)
{
	return steer_frame(ctx);
}
