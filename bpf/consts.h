/* SPDX-License-Identifier: Apache-2.0 */
/* consts.h — protocol numbers, header sizes and the program's internal return codes. */
#ifndef ANYCASTD_CONSTS_H
#define ANYCASTD_CONSTS_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>

#define STEER_CONTINUE -1 /* a helper's "go on" (every other return value is an XDP action) */

#define ETH_P_8021Q_ 0x8100  /* 802.1Q VLAN tag */
#define ETH_P_8021AD_ 0x88a8 /* 802.1ad service tag (QinQ) */
#define VLAN_HLEN 4          /* one VLAN tag */
#define VLAN_MAX_DEPTH 2     /* tags parsed (QinQ) */
#define L2_MAX_LEN (ETH_HLEN + VLAN_MAX_DEPTH * VLAN_HLEN)

#define IPV4_HLEN 20        /* IPv4 header without options */
#define IPV4_HLEN_MAX 60    /* IPv4 header with the most options */
#define IPV6_HLEN 40        /* IPv6 fixed header */
#define IPV6_FRAG_HLEN 8    /* IPv6 fragment extension header */
#define IPV6_NEXTHDR_FRAG 44 /* RFC 8200 fragment header */
#define IPV4_MF 0x2000      /* more fragments */
#define IPV4_OFFSET 0x1fff  /* fragment offset */
#define IPV4_DF 0x4000      /* don't fragment */
#define IPV6_FRAG_MASK 0xfff9 /* fragment offset + M flag (the rest are reserved bits) */
#define ENCAP_TTL 64        /* TTL / hop limit of outer and ICMP headers we build */
#define TCPF_RST_BYTE 0x04   /* in the 13th byte of the TCP header */
#define TCPF_SYN_BYTE 0x02   /* ... */
#define TCP_FLAGS_OFF 13
#define TCP_SEQ_OFF 4          /* sequence number in the TCP header */
#define SEQ_SLACK (1u << 20)       /* the socket check's margin around a receive window (bytes) */
#define SEQ_WINDOW_MAX (1u << 28)  /* receive windows are taken as at most this (no overflow) */
#define HIT_SEQ_NEAR (1u << 14)    /* a local hit within this many 256-byte units (4 MiB) of the entry's
				    * last sequence number is the same connection: no socket check */
#define PORTS_LEN 4          /* source + destination port, the start of TCP and UDP headers */
#define ICMP_HLEN 8          /* ICMP / ICMPv6 header incl. the 4-byte rest of header */

#define ICMP_DEST_UNREACH_ 3  /* RFC 792 */
#define ICMP_FRAG_NEEDED_ 4   /* code of destination unreachable */
#define ICMP_TIME_EXCEEDED_ 11
#define ICMP_PARAMPROB_ 12
#define ICMP6_DST_UNREACH_ 1  /* RFC 4443 */
#define ICMP6_PACKET_TOO_BIG_ 2
#define ICMP6_TIME_EXCEED_ 3
#define ICMP6_PARAM_PROB_ 4
#define ICMP6_QUOTE_MAX 256   /* bytes of the invoking packet quoted in packet-too-big */
#define ICMP4_QUOTE_MAX 68    /* IPv4 header with options + 64 bits (RFC 792) */
#define CSUM_MAX_WORDS ((ICMP_HLEN + ICMP6_QUOTE_MAX) / 2)

#define IPPROTO_IPIP_ 4   /* IPv4-in-IPv4 (RFC 2003) */
#define IPPROTO_IPV6_ 41  /* IPv6-in-IPv6 (RFC 2473) */
#define IPPROTO_ICMPV6_ 58

#endif
