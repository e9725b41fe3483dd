/* SPDX-License-Identifier: Apache-2.0 */
/*
 * non_vip.h — the early answer for a frame to an address that is no VIP (RFC 791 / RFC 8200 headers read
 * in place): most of what a host receives (its own traffic, BGP, health checks) is such a frame, and it
 * should cost little more than a bare XDP_PASS. An untagged IPv4 or IPv6 frame whose IP header the full
 * parse would accept and that is not a tunnel to this host is judged by its destination's vip_filter bit
 * here, before any struct pkt is built on the stack: a clear bit ends its path (the same verdict and
 * counter as the full path would give), a set bit sends it on with the filter already read. Anything else
 * (VLAN tags, a header the parse refuses, an IPv6 fragment header, a tunnel to this host) takes the full
 * path and its own filter test.
 */
#ifndef ANYCASTD_NON_VIP_H
#define ANYCASTD_NON_VIP_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "consts.h"
#include "hash.h"
#include "maps.h"

#define ADDR_NOT_VIP 0   /* the destination's filter bit is clear: surely no VIP */
#define ADDR_MAYBE_VIP 1 /* its bit is set (a VIP address or a false positive): on to the probes */
#define ADDR_UNKNOWN 2   /* not judged here: the full parse decides, and tests the filter itself */

/* The vip_filter bit of a hash_vip_addr() value (one inlined array load). */
static __always_inline int vip_filter_bit(__u32 h)
{
	__u32 bit = h >> (32 - VIP_FILTER_LOG), word = bit >> 6;
	__u64 *w = bpf_map_lookup_elem(&vip_filter, &word);

	return w && ((*w >> (bit & 63)) & 1);
}

static __always_inline int addr_class4(void *data, void *data_end)
{
	struct iphdr *iph = data + ETH_HLEN;
	__u32 vihl, tot;

	if ((void *)(iph + 1) > data_end)
		return ADDR_UNKNOWN;
	vihl = *(__u8 *)iph;
	tot = bpf_ntohs(iph->tot_len);
	/* parse_ipv4's checks: version 4, ihl ≥ 5, ihl * 4 ≤ total length ≤ the frame */
	if ((vihl >> 4) != 4 || (vihl & 0xf) < IPV4_HLEN / 4 || tot < (vihl & 0xf) * 4 ||
	    (void *)iph + tot > data_end)
		return ADDR_UNKNOWN;
	if (iph->protocol == IPPROTO_IPIP_ && iph->daddr == host4)
		return ADDR_UNKNOWN;
	return vip_filter_bit(hash_vip_addr4(iph->daddr)) ? ADDR_MAYBE_VIP : ADDR_NOT_VIP;
}

static __always_inline int addr_class6(void *data, void *data_end)
{
	struct ipv6hdr *ip6h = data + ETH_HLEN;
	const __u32 *dst;

	if ((void *)(ip6h + 1) > data_end)
		return ADDR_UNKNOWN;
	if ((*(__u8 *)ip6h >> 4) != 6 || (void *)(ip6h + 1) + bpf_ntohs(ip6h->payload_len) > data_end ||
	    ip6h->nexthdr == IPV6_NEXTHDR_FRAG)
		return ADDR_UNKNOWN;
	dst = (const __u32 *)&ip6h->daddr;
	if (ip6h->nexthdr == IPPROTO_IPV6_ && dst[0] == host6[0] && dst[1] == host6[1] && dst[2] == host6[2] &&
	    dst[3] == host6[3])
		return ADDR_UNKNOWN;
	return vip_filter_bit(hash_vip_addr(dst)) ? ADDR_MAYBE_VIP : ADDR_NOT_VIP;
}

/* ADDR_NOT_VIP, ADDR_MAYBE_VIP or ADDR_UNKNOWN for the frame (untagged Ethernet only). */
static __always_inline int addr_class(void *data, void *data_end)
{
	__u16 *proto = data + ETH_HLEN - 2;

	if ((void *)(proto + 1) > data_end)
		return ADDR_UNKNOWN;
	if (*proto == bpf_htons(ETH_P_IP))
		return addr_class4(data, data_end);
	if (*proto == bpf_htons(ETH_P_IPV6))
		return addr_class6(data, data_end);
	return ADDR_UNKNOWN;
}

#endif
