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

#define L2_SWAP 1 /* l2_store: swap source and destination MAC */

/* Whole-word access to frame bytes at any offset: the verifier allows unaligned packet access where
 * the architecture has it (x86-64, arm64; the parser already reads IPv4 addresses at offsets that are
 * not 4-aligned). A copy through u8 arrays compiles to a load, a shift and a store per byte. */
typedef __u16 __attribute__((may_alias)) pkt_u16; /* may_alias: the same bytes are read as headers too */
typedef __u32 __attribute__((may_alias)) pkt_u32;
#define PKT_U16(base, off) (*(pkt_u16 *)((__u8 *)(base) + (off)))
#define PKT_U32(base, off) (*(pkt_u32 *)((__u8 *)(base) + (off)))

/* The Ethernet header and up to two VLAN tags, as words: each MAC as 4 + 2 bytes (a swap is a swap of
 * words), the ethertype or first TPID, then TCI + next type per tag (meaningful only when present). */
struct l2_copy {
	__u32 dst4, src4, tag1, tag2;
	__u16 dst2, src2, proto;
};

/* Reads L2_MAX_LEN bytes at `l2`: every IP frame is longer, so the read is a fixed size (caller
 * bounds-checks l2 + L2_MAX_LEN). */
static __always_inline void l2_load(const void *l2, struct l2_copy *c)
{
	c->dst4 = PKT_U32(l2, 0);
	c->dst2 = PKT_U16(l2, 4);
	c->src4 = PKT_U32(l2, ETH_ALEN);
	c->src2 = PKT_U16(l2, ETH_ALEN + 4);
	c->proto = PKT_U16(l2, 2 * ETH_ALEN);
	c->tag1 = PKT_U32(l2, ETH_HLEN);
	c->tag2 = PKT_U32(l2, ETH_HLEN + VLAN_HLEN);
}

/* Writes the l2_len bytes of `c` at `d` (bounds-checked by the caller), MACs swapped when asked. */
static __always_inline void l2_store(void *d, const struct l2_copy *c, __u32 l2_len, int swap)
{
	PKT_U32(d, 0) = swap ? c->src4 : c->dst4;
	PKT_U16(d, 4) = swap ? c->src2 : c->dst2;
	PKT_U32(d, ETH_ALEN) = swap ? c->dst4 : c->src4;
	PKT_U16(d, ETH_ALEN + 4) = swap ? c->dst2 : c->src2;
	PKT_U16(d, 2 * ETH_ALEN) = c->proto;
	if (l2_len >= ETH_HLEN + VLAN_HLEN)
		PKT_U32(d, ETH_HLEN) = c->tag1;
	if (l2_len >= ETH_HLEN + 2 * VLAN_HLEN)
		PKT_U32(d, ETH_HLEN + VLAN_HLEN) = c->tag2;
}

/* Moves the front of the frame by delta (< 0 grows, > 0 shrinks) and puts the l2 header back, MACs
 * swapped when asked. It is read before bpf_xdp_adjust_head: a shrink drops those bytes. */
static __always_inline int move_front(struct xdp_md *ctx, const struct pkt *p, int delta, int swap)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct l2_copy c;

	if (data + L2_MAX_LEN > data_end)
		return -1;
	l2_load(data, &c);
	if (bpf_xdp_adjust_head(ctx, delta))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + L2_MAX_LEN > data_end)
		return -1;
	l2_store(data, &c, p->l2_len, swap);
	return 0;
}

/* Grows the front by `hdr` bytes for a new header after l2, MACs swapped. The old l2 header is still in
 * the frame `hdr` bytes in, so it is read from there after the adjustment (nothing kept across the
 * helper call); all of it is read before the first write (the two overlap when hdr < L2_MAX_LEN). */
static __always_inline int push_front(struct xdp_md *ctx, const struct pkt *p, __u32 hdr)
{
	void *data, *data_end;
	struct l2_copy c;

	if (bpf_xdp_adjust_head(ctx, -(int)hdr))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + hdr + L2_MAX_LEN > data_end)
		return -1;
	l2_load(data + hdr, &c);
	l2_store(data, &c, p->l2_len, L2_SWAP);
	return 0;
}

/* An IPv4 header written at `off` as five words; its checksum sums those words (RFC 1071: a sum of
 * 32-bit words folds to the same 16-bit one's-complement sum). */
static __always_inline int write_ipv4(struct xdp_md *ctx, __u32 off, __u8 tos, __u16 tot_len, __u16 id,
				      __u16 frag, __u8 proto, __be32 saddr, __be32 daddr)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct iphdr *o = data + off;
	__u32 w0 = bpf_htonl((4u << 28) | ((IPV4_HLEN / 4u) << 24) | ((__u32)tos << 16) | tot_len);
	__u32 w1 = bpf_htonl(((__u32)id << 16) | frag);
	__u32 w2 = bpf_htonl(((__u32)ENCAP_TTL << 24) | ((__u32)proto << 16)); /* check 0 */

	if (off > L2_MAX_LEN || (void *)(o + 1) > data_end)
		return -1;
	PKT_U32(o, 0) = w0;
	PKT_U32(o, 4) = w1;
	PKT_U32(o, 8) = w2;
	PKT_U32(o, 12) = saddr;
	PKT_U32(o, 16) = daddr;
	PKT_U16(o, 10) = csum_fold64((__u64)w0 + w1 + w2 + saddr + daddr); /* check */
	return 0;
}

/* An IPv6 header written at `off` as words (saddr, daddr: 4 words each, network order). */
static __always_inline int write_ipv6(struct xdp_md *ctx, __u32 off, __u8 tc, __u32 label, __u16 payload_len,
				      __u8 nexthdr, const __u32 *saddr, const __u32 *daddr)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ipv6hdr *o = data + off;

	if (off > L2_MAX_LEN || (void *)(o + 1) > data_end)
		return -1;
	PKT_U32(o, 0) = bpf_htonl((6u << 28) | ((__u32)tc << 20) | (label & 0xfffff));
	PKT_U32(o, 4) = bpf_htonl(((__u32)payload_len << 16) | ((__u32)nexthdr << 8) | ENCAP_TTL);
#pragma unroll
	for (int i = 0; i < 4; i++) {
		PKT_U32(o, 8 + 4 * i) = saddr[i];
		PKT_U32(o, 24 + 4 * i) = daddr[i];
	}
	return 0;
}

/* IPIP toward inst: outer src = this host, outer dst = the instance's host; id 0, or the
 * second-chance mark when p has PKT_F_MARK. */
static __always_inline int encap4(struct xdp_md *ctx, const struct pkt *p, const struct instance *inst)
{
	__u16 id = (p->flags & PKT_F_MARK) ? SECOND_CHANCE_ID4 : 0;

	if (push_front(ctx, p, IPV4_HLEN))
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

	if (push_front(ctx, p, IPV6_HLEN))
		return XDP_ABORTED;
	if (write_ipv6(ctx, p->l2_len, p->tos, label, p->l3_len, IPPROTO_IPV6_, src, (const __u32 *)inst->host6))
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
static __always_inline int icmp_frame(struct xdp_md *ctx, const struct pkt *p, __u32 quote_len, __u32 hdr)
{
	int len = bpf_xdp_get_buff_len(ctx); /* pointer difference on pkt_end is not allowed */

	if (bpf_xdp_adjust_tail(ctx, (int)(p->l2_len + quote_len) - len))
		return -1;
	return push_front(ctx, p, hdr);
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
		__u32 src[4], dst[4];
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
