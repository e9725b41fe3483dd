/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rings.h — the two rings of a service (issue 8) and the second chance. A flow-table miss of a TCP
 * packet without SYN looks up the `established` ring, every other miss the `new` ring; a service whose
 * established ring was never written (services.active[1] outside its slot pair 2..3) has one ring, and
 * then nothing here changes the program's behaviour. The socket check (bpf_skc_lookup_tcp, one helper
 * call + bpf_sk_release when found) runs only where a non-SYN TCP packet would go to this host's kernel
 * after a flow-table miss of the established ring, or after decapsulation — never on a flow-table hit.
 */
#ifndef ANYCASTD_RINGS_H
#define ANYCASTD_RINGS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "maps.h"
#include "parse.h"
#include "steer.h"

/* Whether the service has its established ring: its active slot is one of that kind's pair. */
static __always_inline int has_established(const struct service *svc)
{
	return (svc->active[RING_KIND_ESTABLISHED] & (RING_SLOTS - 1)) >> 1 == RING_KIND_ESTABLISHED;
}

/* The ring kind a flow-table miss of p looks up. Fragments carry no TCP flags: `new`, as before. */
static __always_inline int miss_kind(const struct pkt *p, const struct service *svc)
{
	if (p->key.proto != IPPROTO_TCP || (p->flags & (PKT_F_SYN | PKT_F_FRAG)) || !has_established(svc))
		return RING_KIND_NEW;
	return RING_KIND_ESTABLISHED;
}

/* Is p a candidate for a socket check: non-SYN TCP, a whole packet, not an ICMP error, two rings. */
static __always_inline int sc_candidate(const struct pkt *p, const struct service *svc)
{
	return p->key.proto == IPPROTO_TCP && !(p->flags & (PKT_F_SYN | PKT_F_FRAG | PKT_F_ICMP_ERR)) &&
	       has_established(svc);
}

/* The instance slot at ring index idx of the live ring of `kind` (INSTANCE_NONE if there is none). */
static __always_inline __u32 ring_entry(__u32 svc_id, const struct service *svc, int kind, __u32 idx)
{
	__u32 ring_key = svc_id * RING_SLOTS + (svc->active[kind & 1] & (RING_SLOTS - 1));
	struct ring *ring = bpf_map_lookup_elem(&rings, &ring_key);
	__u64 i = idx;

	asm volatile("" : "+r"(i)); /* one register for the bound check and the access (verifier) */
	/* ring_size is rodata, a constant to the verifier: the map's value is 4 × ring_size bytes */
	if (!ring || i >= ring_size)
		return INSTANCE_NONE;
	return ring->inst[i];
}

/* The valid instance in slot `slot`, or NULL. */
static __always_inline struct instance *valid_instance(__u32 slot)
{
	struct instance *inst = bpf_map_lookup_elem(&instances, &slot);

	return inst && (inst->flags & INSTANCE_F_VALID) ? inst : NULL;
}

/* The valid instance of ring `kind` at idx if it runs on another host (a second-chance target), else NULL. */
static __always_inline struct instance *remote_owner(__u32 svc_id, const struct service *svc, int kind,
						     __u32 idx, __u32 *slot)
{
	struct instance *inst;

	*slot = ring_entry(svc_id, svc, kind, idx);
	inst = valid_instance(*slot);
	return inst && !(inst->flags & INSTANCE_F_LOCAL) ? inst : NULL;
}

/* The last resorts of a second chance: the valid instance at idx of the PREVIOUS ring of `kind` (the
 * kind's other slot, which holds what the live ring replaced at its last write; the agent fills a slot
 * never written with INSTANCE_NONE) if it runs on another host. When the live rings name this host — an
 * instance left and Maglev moved this entry between survivors, or one joined both rings, or left while
 * it was still held out of `established` — the flow's owner is the one the rings named before. */
static __always_inline struct instance *prev_owner(__u32 svc_id, const struct service *svc, int kind,
						   __u32 idx, __u32 *slot)
{
	struct service prev = *svc;

	prev.active[kind & 1] ^= 1;
	return remote_owner(svc_id, &prev, kind, idx, slot);
}

/* Where a non-SYN TCP packet without a socket here goes instead (after `first`, the caller's choice):
 * the previous established ring's owner, else the previous new ring's. */
static __always_inline struct instance *prev_owners(__u32 svc_id, const struct service *svc, __u32 idx,
						    __u32 *slot)
{
	struct instance *alt = prev_owner(svc_id, svc, RING_KIND_ESTABLISHED, idx, slot);

	return alt ? alt : prev_owner(svc_id, svc, RING_KIND_NEW, idx, slot);
}

/* Do the live and the previous rings of both kinds all name `slot` at idx (a previous slot never
 * written, INSTANCE_NONE, agrees)? Then no ring change so far has moved idx, and the next one leaves
 * the flow's owner in a previous slot, where the second chance finds it. */
static __always_inline int rings_agree(__u32 svc_id, const struct service *svc, __u32 idx, __u32 slot)
{
	struct service prev = *svc;
	__u32 p;

	if (ring_entry(svc_id, svc, RING_KIND_NEW, idx) != slot ||
	    ring_entry(svc_id, svc, RING_KIND_ESTABLISHED, idx) != slot)
		return 0;
	prev.active[RING_KIND_NEW] ^= 1;
	prev.active[RING_KIND_ESTABLISHED] ^= 1;
	p = ring_entry(svc_id, &prev, RING_KIND_ESTABLISHED, idx);
	if (p != slot && p != INSTANCE_NONE)
		return 0;
	p = ring_entry(svc_id, &prev, RING_KIND_NEW, idx);
	return p == slot || p == INSTANCE_NONE;
}

/* The fields of the kernel's socket structs the socket check reads (CO-RE: offsets from the running
 * kernel's BTF): a full socket's receive window, and a time-wait socket's (its rcv_nxt sits in
 * sock_common). */
struct tcp_sock___acd {
	__u32 rcv_nxt;
	__u32 rcv_wnd;
} __attribute__((preserve_access_index));

struct sock_common___acd {
	__u32 skc_tw_rcv_nxt;
} __attribute__((preserve_access_index));

struct inet_timewait_sock___acd {
	struct sock_common___acd __tw_common;
} __attribute__((preserve_access_index));

struct tcp_timewait_sock___acd {
	struct inet_timewait_sock___acd tw_sk;
	__u32 tw_rcv_wnd;
} __attribute__((preserve_access_index));

#define SOCK_NONE 0  /* no socket (or only a listener) */
#define SOCK_OURS 1  /* a socket whose receive window holds p's sequence number (or a request socket) */
#define SOCK_STALE 2 /* a socket of an older connection on the same addresses and ports */

/* Is seq within SEQ_SLACK of the receive window [rcv_nxt, rcv_nxt + wnd) (or that far behind it:
 * retransmissions)? A later connection on the same 4-tuple starts RFC 6528's clock-driven ISN ~16M a
 * second further on, so its segments land outside the older socket's window. */
static __always_inline int seq_fits(__u32 seq, __u32 rcv_nxt, __u32 wnd)
{
	if (wnd > SEQ_WINDOW_MAX)
		wnd = SEQ_WINDOW_MAX;
	return seq - rcv_nxt + wnd + SEQ_SLACK <= 2 * (wnd + SEQ_SLACK);
}

/* Does this host's stack hold a socket for p (SOCK_*)? A listener does not count: it would answer a
 * non-SYN segment with RST. A socket whose window p does not fit is an older connection's — an
 * established one left here when the connection ended elsewhere (its client reset by another host while
 * this one was unreachable), or a time-wait one (this side closed first: a killed service) — and p is a
 * new connection on the same ports: the kernel would answer p with a (challenge) ACK, so it counts as no
 * socket. One more helper call when a full socket is found, two for a time-wait or request socket. */
static __always_inline int has_socket(struct xdp_md *ctx, const struct pkt *p, struct global_stats *gs)
{
	struct bpf_sock_tuple t = {};
	struct tcp_timewait_sock___acd *tw;
	struct tcp_sock___acd *tp;
	struct bpf_sock *sk;
	__u32 size;
	int found;

	if (p->key.family == STEER_FAMILY_V4) {
		__builtin_memcpy(&t.ipv4.saddr, p->key.src, 4);
		__builtin_memcpy(&t.ipv4.daddr, p->key.dst, 4);
		t.ipv4.sport = p->key.sport;
		t.ipv4.dport = p->key.dport;
		size = sizeof(t.ipv4);
	} else {
		__builtin_memcpy(t.ipv6.saddr, p->key.src, 16);
		__builtin_memcpy(t.ipv6.daddr, p->key.dst, 16);
		t.ipv6.sport = p->key.sport;
		t.ipv6.dport = p->key.dport;
		size = sizeof(t.ipv6);
	}
	gs->sk_lookup++;
	sk = bpf_skc_lookup_tcp(ctx, &t, size, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	found = sk->state == BPF_TCP_LISTEN ? SOCK_NONE : SOCK_OURS;
	if (found == SOCK_OURS) {
		tp = (void *)bpf_skc_to_tcp_sock(sk); /* NULL for time-wait and request sockets */
		if (tp) {
			if (!seq_fits(p->seq, tp->rcv_nxt, tp->rcv_wnd))
				found = SOCK_STALE;
		} else {
			tw = (void *)bpf_skc_to_tcp_timewait_sock(sk); /* NULL for request sockets */
			if (tw && !seq_fits(p->seq, tw->tw_sk.__tw_common.skc_tw_rcv_nxt, tw->tw_rcv_wnd))
				found = SOCK_STALE;
		}
	}
	bpf_sk_release(sk);
	return found;
}

#define SC_PASS 0    /* pass to this host's kernel */
#define SC_FORWARD 1 /* forward, marked, to `alt` */
#define SC_NONE 2    /* pass to this host's kernel, which has no socket for it: nobody can serve it */

/* The second-chance verdict of a candidate about to be passed here, counted per VIP. */
static __always_inline int second_chance(struct xdp_md *ctx, const struct pkt *p, const struct instance *alt,
					 struct vip_stats *st, struct global_stats *gs)
{
	int sock = has_socket(ctx, p, gs);

	if (sock == SOCK_OURS) {
		st->sc_socket++;
		return SC_PASS;
	}
	if (sock == SOCK_STALE)
		st->sc_stale++; /* and on as if there were none */
	if (p->flags & PKT_F_MARKED) {
		st->sc_used++;
		return SC_PASS;
	}
	if (!alt) {
		st->sc_none++;
		return SC_NONE;
	}
	st->sc_forwarded++;
	return SC_FORWARD;
}

#endif
