/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parse.h — bounds-checked parsing of Ethernet (+ up to two VLAN tags, IEEE 802.1Q/802.1ad), IPv4
 * (RFC 791, options allowed), IPv6 (RFC 8200, fixed header + fragment header), TCP/UDP ports, and the
 * quoted header of ICMP (RFC 792) / ICMPv6 (RFC 4443) errors. Every function returns PARSE_OK,
 * PARSE_SKIP (not ours: pass untouched) or PARSE_FAIL (malformed: counted, passed untouched).
 */
#ifndef ANYCASTD_PARSE_H
#define ANYCASTD_PARSE_H

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include "consts.h"
#include "steer.h"

#define PARSE_OK 0
#define PARSE_SKIP 1
#define PARSE_FAIL 2

#define L4_OFF_MAX (L2_MAX_LEN + 2 * IPV4_HLEN_MAX) /* the deepest transport header: under two IP headers */

#define PKT_F_FRAG 0x1     /* an IP fragment: steer on addresses only */
#define PKT_F_RST 0x2      /* TCP RST: never recorded in the flow table */
#define PKT_F_ICMP_ERR 0x4 /* an ICMP error: key is the quoted flow, reversed */
#define PKT_F_SYN 0x8      /* TCP SYN: a miss looks up the `new` ring */
#define PKT_F_MARKED 0x10  /* arrived tunnelled with the second-chance mark (steer.h) */
#define PKT_F_MARK 0x20    /* forward: put the second-chance mark on the outer header */

/* What the parser learned about a frame. */
struct pkt {
	struct flow_key key; /* the flow as the VIP sees it */
	__u32 l2_len;        /* Ethernet + VLAN tags */
	__u32 l3_off;        /* offset of the steered IP header (the inner one when decapsulating) */
	__u32 l3_len;        /* total length of that IP packet */
	__u32 ip_hlen;       /* its header length (IPv4 ihl * 4; IPv6 40, + 8 with a fragment header) */
	__u32 outer_len;     /* decapsulation: length of the outer IP header, else 0 */
	__u32 seq;           /* TCP sequence number, host order (the socket check's window test) */
	__u16 eth_proto;     /* ETH_P_IP / ETH_P_IPV6 (network order) */
	__u8 tos;            /* traffic class of the steered packet */
	__u8 flags;          /* PKT_F_* */
};

/* Ethernet and VLAN tags: sets l2_len and eth_proto; anything but IPv4/IPv6 is skipped. */
static __always_inline int parse_l2(void *data, void *data_end, struct pkt *p)
{
	struct ethhdr *eth = data;
	__u32 off = ETH_HLEN;
	__u16 proto;

	if ((void *)(eth + 1) > data_end)
		return PARSE_FAIL;
	proto = eth->h_proto;
#pragma unroll
	for (int i = 0; i < VLAN_MAX_DEPTH; i++) {
		if (proto != bpf_htons(ETH_P_8021Q_) && proto != bpf_htons(ETH_P_8021AD_))
			break;
		__u16 *inner = data + off + 2; /* TCI, then the encapsulated ethertype */
		if ((void *)(inner + 1) > data_end)
			return PARSE_FAIL;
		proto = *inner;
		off += VLAN_HLEN;
	}
	if (proto != bpf_htons(ETH_P_IP) && proto != bpf_htons(ETH_P_IPV6))
		return PARSE_SKIP;
	p->l2_len = off;
	p->l3_off = off;
	p->eth_proto = proto;
	return PARSE_OK;
}

/* IPv4 header at p->l3_off: addresses, protocol, lengths, fragment state. */
static __always_inline int parse_ipv4(void *data, void *data_end, struct pkt *p)
{
	struct iphdr *iph = data + p->l3_off;
	__u32 hlen, tot;

	if ((void *)(iph + 1) > data_end)
		return PARSE_FAIL;
	if (iph->version != 4 || iph->ihl < 5)
		return PARSE_FAIL;
	hlen = iph->ihl * 4;
	tot = bpf_ntohs(iph->tot_len);
	if (tot < hlen || data + p->l3_off + tot > data_end)
		return PARSE_FAIL;
	__builtin_memset(&p->key, 0, sizeof(p->key));
	__builtin_memcpy(p->key.src, &iph->saddr, 4);
	__builtin_memcpy(p->key.dst, &iph->daddr, 4);
	p->key.proto = iph->protocol;
	p->key.family = STEER_FAMILY_V4;
	p->l3_len = tot;
	p->ip_hlen = hlen;
	p->tos = iph->tos;
	if (iph->frag_off & bpf_htons(IPV4_MF | IPV4_OFFSET))
		p->flags |= PKT_F_FRAG;
	return PARSE_OK;
}

/* IPv6 fixed header at p->l3_off, and a fragment header right after it. */
static __always_inline int parse_ipv6(void *data, void *data_end, struct pkt *p)
{
	struct ipv6hdr *ip6h = data + p->l3_off;
	__u32 tot;

	if ((void *)(ip6h + 1) > data_end)
		return PARSE_FAIL;
	if (ip6h->version != 6)
		return PARSE_FAIL;
	tot = IPV6_HLEN + bpf_ntohs(ip6h->payload_len);
	if (data + p->l3_off + tot > data_end)
		return PARSE_FAIL;
	__builtin_memset(&p->key, 0, sizeof(p->key));
	__builtin_memcpy(p->key.src, &ip6h->saddr, 16);
	__builtin_memcpy(p->key.dst, &ip6h->daddr, 16);
	p->key.proto = ip6h->nexthdr;
	p->key.family = STEER_FAMILY_V6;
	p->l3_len = tot;
	p->ip_hlen = IPV6_HLEN;
	p->tos = (ip6h->priority << 4) | (ip6h->flow_lbl[0] >> 4);
	if (ip6h->nexthdr == IPV6_NEXTHDR_FRAG) {
		__u8 *frag = (void *)(ip6h + 1); /* next header, reserved, offset + M, identification */
		if ((void *)(frag + IPV6_FRAG_HLEN) > data_end)
			return PARSE_FAIL;
		p->key.proto = frag[0];
		p->ip_hlen += IPV6_FRAG_HLEN;
		p->flags |= PKT_F_FRAG;
	}
	return PARSE_OK;
}

/* The IP header at p->l3_off, by ethertype. */
static __always_inline int parse_ip(void *data, void *data_end, struct pkt *p)
{
	if (p->eth_proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(data, data_end, p);
	return parse_ipv6(data, data_end, p);
}

/* Is this ICMP / ICMPv6 type an error that quotes the packet that caused it? */
static __always_inline int icmp_is_error(__u8 family, __u8 type)
{
	if (family == STEER_FAMILY_V4)
		return type == ICMP_DEST_UNREACH_ || type == ICMP_TIME_EXCEEDED_ || type == ICMP_PARAMPROB_;
	return type == ICMP6_DST_UNREACH_ || type == ICMP6_PACKET_TOO_BIG_ || type == ICMP6_TIME_EXCEED_ ||
	       type == ICMP6_PARAM_PROB_;
}

/* The header quoted by an ICMP error (a packet the VIP sent): the key becomes that flow, reversed. */
static __always_inline int parse_quoted(void *data, void *data_end, __u32 off, struct pkt *p)
{
	__u32 ports_off;
	__u8 proto, frag = 0;

	if (p->key.family == STEER_FAMILY_V4) {
		struct iphdr *q = data + off;
		if ((void *)(q + 1) > data_end)
			return PARSE_FAIL;
		if (q->version != 4 || q->ihl < 5)
			return PARSE_FAIL;
		__builtin_memset(&p->key, 0, sizeof(p->key));
		__builtin_memcpy(p->key.src, &q->daddr, 4);
		__builtin_memcpy(p->key.dst, &q->saddr, 4);
		p->key.family = STEER_FAMILY_V4;
		proto = q->protocol;
		frag = (q->frag_off & bpf_htons(IPV4_MF | IPV4_OFFSET)) != 0;
		ports_off = off + q->ihl * 4;
	} else {
		struct ipv6hdr *q = data + off;
		if ((void *)(q + 1) > data_end)
			return PARSE_FAIL;
		__builtin_memset(&p->key, 0, sizeof(p->key));
		__builtin_memcpy(p->key.src, &q->daddr, 16);
		__builtin_memcpy(p->key.dst, &q->saddr, 16);
		p->key.family = STEER_FAMILY_V6;
		proto = q->nexthdr;
		ports_off = off + IPV6_HLEN;
		if (proto == IPV6_NEXTHDR_FRAG) {
			__u8 *fh = (void *)(q + 1);
			if ((void *)(fh + IPV6_FRAG_HLEN) > data_end)
				return PARSE_FAIL;
			proto = fh[0];
			frag = 1;
		}
	}
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return PARSE_SKIP;
	p->key.proto = proto;
	p->flags |= PKT_F_ICMP_ERR;
	if (frag) {
		p->flags |= PKT_F_FRAG;
		return PARSE_OK;
	}
	__be16 *ports = data + ports_off;
	if ((void *)(ports + 2) > data_end)
		return PARSE_FAIL;
	p->key.sport = ports[1];
	p->key.dport = ports[0];
	return PARSE_OK;
}

/* Transport header: ports and RST for TCP/UDP, the quoted flow for ICMP errors; others skipped. */
static __always_inline int parse_l4(void *data, void *data_end, struct pkt *p)
{
	__u64 off = p->l3_off + p->ip_hlen;
	__u8 proto = p->key.proto;

	/* At most two VLAN tags, an outer IPv4 header with options and an inner one: the bound keeps the
	 * verifier's range on `data + off` (the fields come back from the stack without it). */
	asm volatile("" : "+r"(off));
	if (off > L4_OFF_MAX)
		return PARSE_FAIL;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		if (p->flags & PKT_F_FRAG)
			return PARSE_OK;
		__be16 *ports = data + off;
		if ((void *)(ports + 2) > data_end)
			return PARSE_FAIL;
		p->key.sport = ports[0];
		p->key.dport = ports[1];
		if (proto == IPPROTO_TCP) {
			__u8 *th = (void *)ports;
			if ((void *)(th + TCP_FLAGS_OFF + 1) > data_end)
				return PARSE_FAIL;
			if (th[TCP_FLAGS_OFF] & TCPF_RST_BYTE)
				p->flags |= PKT_F_RST;
			if (th[TCP_FLAGS_OFF] & TCPF_SYN_BYTE)
				p->flags |= PKT_F_SYN;
			p->seq = bpf_ntohl(*(__be32 *)(th + TCP_SEQ_OFF));
		}
		return PARSE_OK;
	}
	if ((proto == IPPROTO_ICMP && p->key.family == STEER_FAMILY_V4) ||
	    (proto == IPPROTO_ICMPV6_ && p->key.family == STEER_FAMILY_V6)) {
		__u8 *icmp = data + off;
		if (p->flags & PKT_F_FRAG)
			return PARSE_SKIP;
		if ((void *)(icmp + ICMP_HLEN) > data_end)
			return PARSE_FAIL;
		if (!icmp_is_error(p->key.family, icmp[0]))
			return PARSE_SKIP;
		return parse_quoted(data, data_end, off + ICMP_HLEN, p);
	}
	return PARSE_SKIP;
}

#endif
