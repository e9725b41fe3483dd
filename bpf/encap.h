/* SPDX-License-Identifier: Apache-2.0 */
/*
 * encap.h — packet rewrites, each ending in an XDP action: IPv4-in-IPv4 (RFC 2003) and IPv6-in-IPv6
 * (RFC 2473) encapsulation toward another host, decapsulation of packets tunnelled to this host, and
 * ICMP "fragmentation needed" (RFC 792, RFC 1191) / ICMPv6 "packet too big" (RFC 4443, RFC 8201)
 * answers. Every rewrite keeps the frame's VLAN tags; the replies and the encapsulated packets go back
 * to the ToR the frame came from, so the Ethernet addresses are swapped.
 */
#ifndef ANYCASTD_ENCAP_H
#define ANYCASTD_ENCAP_H

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "consts.h"
#include "csum.h"
#include "maps.h"
#include "parse.h"

#define L2_SWAP 1 /* l2_restore: swap source and destination MAC */

/* A copy of the Ethernet header and VLAN tags, kept across bpf_xdp_adjust_head. */
struct l2_copy {
	__u8 b[L2_MAX_LEN];
};

/* Every IP frame is longer than L2_MAX_LEN, so the copy is always a fixed-size read. */
static __always_inline int l2_save(struct xdp_md *ctx, struct l2_copy *c)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;

	if (data + L2_MAX_LEN > data_end)
		return -1;
	__builtin_memcpy(c->b, data, L2_MAX_LEN);
	return 0;
}

/* Writes the saved l2 header (l2_len bytes) at the start of the frame, MACs swapped when asked. */
static __always_inline int l2_restore(struct xdp_md *ctx, const struct l2_copy *c, __u32 l2_len, int swap)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	__u8 *d = data;

	if (data + L2_MAX_LEN > data_end)
		return -1;
	if (swap) {
		__builtin_memcpy(d, c->b + ETH_ALEN, ETH_ALEN);
		__builtin_memcpy(d + ETH_ALEN, c->b, ETH_ALEN);
	} else {
		__builtin_memcpy(d, c->b, 2 * ETH_ALEN);
	}
	if (l2_len == ETH_HLEN)
		__builtin_memcpy(d + 2 * ETH_ALEN, c->b + 2 * ETH_ALEN, ETH_HLEN - 2 * ETH_ALEN);
	else if (l2_len == ETH_HLEN + VLAN_HLEN)
		__builtin_memcpy(d + 2 * ETH_ALEN, c->b + 2 * ETH_ALEN, ETH_HLEN + VLAN_HLEN - 2 * ETH_ALEN);
	else
		__builtin_memcpy(d + 2 * ETH_ALEN, c->b + 2 * ETH_ALEN, L2_MAX_LEN - 2 * ETH_ALEN);
	return 0;
}

/* Grows (delta < 0) or shrinks the front of the frame by delta and puts the l2 header back. */
static __always_inline int move_front(struct xdp_md *ctx, const struct pkt *p, int delta, int swap)
{
	struct l2_copy c;

	if (l2_save(ctx, &c) || bpf_xdp_adjust_head(ctx, delta))
		return -1;
	return l2_restore(ctx, &c, p->l2_len, swap);
}

/* An IPv4 header built on the stack, checksummed, then written at `off`. */
static __always_inline int write_ipv4(struct xdp_md *ctx, __u32 off, __u8 tos, __u16 tot_len, __u16 id,
				      __u16 frag, __u8 proto, __be32 saddr, __be32 daddr)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct iphdr h = {
		.version = 4,
		.ihl = IPV4_HLEN / 4,
		.tos = tos,
		.tot_len = bpf_htons(tot_len),
		.id = bpf_htons(id),
		.frag_off = bpf_htons(frag),
		.ttl = ENCAP_TTL,
		.protocol = proto,
		.saddr = saddr,
		.daddr = daddr,
	};
	struct iphdr *o = data + off;

	if (off > L2_MAX_LEN || (void *)(o + 1) > data_end)
		return -1;
	h.check = csum_fold(csum_words(&h, IPV4_HLEN / 2));
	__builtin_memcpy(o, &h, sizeof(h));
	return 0;
}

/* An IPv6 header written at `off`. */
static __always_inline int write_ipv6(struct xdp_md *ctx, __u32 off, __u8 tc, __u32 label, __u16 payload_len,
				      __u8 nexthdr, const void *saddr, const void *daddr)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ipv6hdr *o = data + off;

	if (off > L2_MAX_LEN || (void *)(o + 1) > data_end)
		return -1;
	o->version = 6;
	o->priority = tc >> 4;
	o->flow_lbl[0] = ((tc & 0xf) << 4) | ((label >> 16) & 0xf);
	o->flow_lbl[1] = label >> 8;
	o->flow_lbl[2] = label;
	o->payload_len = bpf_htons(payload_len);
	o->nexthdr = nexthdr;
	o->hop_limit = ENCAP_TTL;
	__builtin_memcpy(&o->saddr, saddr, 16);
	__builtin_memcpy(&o->daddr, daddr, 16);
	return 0;
}

/* IPIP toward inst: outer src = this host, outer dst = the instance's host; id 0, or the
 * second-chance mark when p has PKT_F_MARK. */
static __always_inline int encap4(struct xdp_md *ctx, const struct pkt *p, const struct instance *inst)
{
	__u16 id = (p->flags & PKT_F_MARK) ? SECOND_CHANCE_ID4 : 0;

	if (move_front(ctx, p, -IPV4_HLEN, L2_SWAP))
		return XDP_ABORTED;
	if (write_ipv4(ctx, p->l2_len, p->tos, p->l3_len + IPV4_HLEN, id, IPV4_DF, IPPROTO_IPIP_, host4,
		       inst->host4))
		return XDP_ABORTED;
	return XDP_TX;
}

/* IP6-in-IP6 toward inst; the flow label carries the flow hash (RFC 6438) for the fabric's ECMP, and
 * its top bit the second-chance mark when p has PKT_F_MARK. */
static __always_inline int encap6(struct xdp_md *ctx, const struct pkt *p, const struct instance *inst,
				  __u32 hash)
{
	__u32 src[4] = {host6[0], host6[1], host6[2], host6[3]};
	__u32 label = (hash & FLOW_LABEL_HASH_MASK) | ((p->flags & PKT_F_MARK) ? SECOND_CHANCE_LABEL6 : 0);

	if (move_front(ctx, p, -IPV6_HLEN, L2_SWAP))
		return XDP_ABORTED;
	if (write_ipv6(ctx, p->l2_len, p->tos, label, p->l3_len, IPPROTO_IPV6_, src, inst->host6))
		return XDP_ABORTED;
	return XDP_TX;
}

/* Strip the outer header of a packet tunnelled to this host. */
static __always_inline int decap(struct xdp_md *ctx, const struct pkt *p)
{
	if (p->outer_len > IPV4_HLEN_MAX || move_front(ctx, p, (int)p->outer_len, 0))
		return XDP_ABORTED;
	return XDP_PASS;
}

/* Cuts the frame to l2 + quote_len bytes of the IP packet, then makes room for `hdr` bytes of headers. */
static __always_inline int icmp_frame(struct xdp_md *ctx, const struct pkt *p, __u32 quote_len, int hdr)
{
	int len = bpf_xdp_get_buff_len(ctx); /* pointer difference on pkt_end is not allowed */

	if (bpf_xdp_adjust_tail(ctx, (int)(p->l2_len + quote_len) - len))
		return -1;
	return move_front(ctx, p, -hdr, L2_SWAP);
}

/* Writes the 8-byte ICMP header `icmp` (check field zero) at `off`, its checksum covering `sum` (a
 * pseudo-header, or 0), the header and the quote_len bytes that follow it in the frame. */
static __always_inline int icmp_write(struct xdp_md *ctx, __u32 off, void *icmp, __u32 sum, __u32 quote_len)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	__u16 *check = icmp + 2;

	if (off > L2_MAX_LEN + IPV6_HLEN || data + off + ICMP_HLEN > data_end)
		return XDP_ABORTED;
	*check = csum_fold(sum + csum_words(icmp, ICMP_HLEN / 2) +
			   csum_packet(data + off + ICMP_HLEN, quote_len, data_end));
	__builtin_memcpy(data + off, icmp, ICMP_HLEN);
	return XDP_TX;
}

/* ICMP fragmentation needed back to the client, from the VIP, quoting the IP header + 64 bits. */
static __always_inline int icmp_too_big4(struct xdp_md *ctx, const struct pkt *p)
{
	__u32 quote_len = p->ip_hlen + 8;
	__u32 saddr, daddr;
	struct {
		__u8 type, code;
		__u16 check;
		__be16 unused, mtu;
	} icmp = {.type = ICMP_DEST_UNREACH_, .code = ICMP_FRAG_NEEDED_, .mtu = bpf_htons(mtu - IPV4_HLEN)};

	if (quote_len > ICMP4_QUOTE_MAX)
		return XDP_ABORTED;
	__builtin_memcpy(&saddr, p->key.dst, 4);
	__builtin_memcpy(&daddr, p->key.src, 4);
	if (icmp_frame(ctx, p, quote_len, IPV4_HLEN + ICMP_HLEN))
		return XDP_ABORTED;
	if (write_ipv4(ctx, p->l2_len, 0, IPV4_HLEN + ICMP_HLEN + quote_len, 0, 0, IPPROTO_ICMP, saddr, daddr))
		return XDP_ABORTED;
	return icmp_write(ctx, p->l2_len + IPV4_HLEN, &icmp, 0, quote_len);
}

/* ICMPv6 packet too big back to the client, from the VIP, quoting the start of the packet. */
static __always_inline int icmp_too_big6(struct xdp_md *ctx, const struct pkt *p)
{
	__u32 quote_len = (p->l3_len < ICMP6_QUOTE_MAX ? p->l3_len : ICMP6_QUOTE_MAX) & ~1u;
	struct {
		__u8 src[16], dst[16];
		__be32 len;
		__u8 zero[3], nexthdr;
	} pseudo = {.len = bpf_htonl(ICMP_HLEN + quote_len), .nexthdr = IPPROTO_ICMPV6_};
	struct {
		__u8 type, code;
		__u16 check;
		__be32 mtu;
	} icmp = {.type = ICMP6_PACKET_TOO_BIG_, .mtu = bpf_htonl(mtu - IPV6_HLEN)};

	__builtin_memcpy(pseudo.src, p->key.dst, 16);
	__builtin_memcpy(pseudo.dst, p->key.src, 16);
	if (icmp_frame(ctx, p, quote_len, IPV6_HLEN + ICMP_HLEN))
		return XDP_ABORTED;
	if (write_ipv6(ctx, p->l2_len, 0, 0, ICMP_HLEN + quote_len, IPPROTO_ICMPV6_, pseudo.src, pseudo.dst))
		return XDP_ABORTED;
	return icmp_write(ctx, p->l2_len + IPV6_HLEN, &icmp, csum_words(&pseudo, sizeof(pseudo) / 2), quote_len);
}

#endif
