/* SPDX-License-Identifier: Apache-2.0 */
/*
 * steer_core.h — the steering decision for one frame: parse → VIP → flow table or Maglev ring → pass
 * locally, or encapsulate to the owner's host; decapsulate what other hosts send here. The rules are
 * DESIGN.md "Data plane"; model/steer.ts is the same decision in TypeScript. Helper calls per
 * path (array lookups are inlined by the JIT and not counted): non-VIP 0; local flow hit 0 when this
 * CPU's flow_cache has the flow, else 1 (flows lookup); forward adds 1 (adjust_head); a miss adds 2
 * (flows lookup and update); decap 1 (adjust_head). Two-ring services (rings.h) add a socket check
 * (bpf_skc_lookup_tcp, + bpf_sk_release when found) to a non-SYN TCP miss passed here and to a
 * decapsulated non-SYN TCP packet; a flow-table hit pays nothing more (a compare and a store of the
 * sequence number), except one whose sequence number is far (> 4 MiB) from its entry's last one (an entry
 * left by an older connection on the same ports, or a flow back after a long while): a local one gets
 * the socket check too, a remote one takes the miss path.
 * The flow hash (10 murmur rounds) is computed only on a miss and for the IPv6 flow label.
 */
#ifndef ANYCASTD_STEER_CORE_H
#define ANYCASTD_STEER_CORE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "consts.h"
#include "encap.h"
#include "hash.h"
#include "maps.h"
#include "non_vip.h"
#include "parse.h"
#include "rings.h"
#include "steer.h"

static __always_inline int vip_key_eq(const struct vip_key *a, const struct vip_key *b)
{
	const __u32 *x = (const void *)a, *y = (const void *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3] && x[4] == y[4];
}

/* Might dst (4 words) be a VIP address? Its bit in vip_filter (one inlined array load): a clear bit is
 * a sure no, and ends a non-VIP packet's path before its transport header is read. */
static __always_inline int vip_addr_maybe(const __u32 *dst)
{
	return vip_filter_bit(hash_vip_addr(dst));
}

/* Up to VIP_PROBES slots from hash_vip_key(k), ending at an empty one (removed entries are
 * tombstones, so an entry is never behind an empty slot); entries with a flag in `reject` do not match.
 * *spill: whether the first slot says keys starting there were spilled to vip_spill. */
static __always_inline struct vip_entry *vip_probe(const struct vip_key *k, __u32 reject, __u32 *spill)
{
	__u32 h = hash_vip_key((const __u32 *)k);

#pragma unroll
	for (__u32 i = 0; i < VIP_PROBES; i++) {
		__u32 idx = (h + i) & (VIP_SLOTS - 1);
		struct vip_entry *e = bpf_map_lookup_elem(&vip_table, &idx);
		if (!e)
			return NULL;
		if (i == 0)
			*spill = e->flags & VIP_F_SPILL;
		if (!e->flags)
			return NULL;
		if ((e->flags & VIP_F_USED) && !(e->flags & reject) && vip_key_eq(&e->key, k))
			return e;
	}
	return NULL;
}

/* The VIP of a flow from vip_spill: the (address, protocol, port) key if `port_spilled`, then the
 * any-port one if `any_spilled` (fragments: the port-0 key). A subprogram of its own, called only behind
 * a VIP_F_SPILL slot: inlined, its helper call cost the probes around it their registers on every VIP
 * packet (≈ 10 ns measured). */
static __attribute__((noinline)) struct vip_entry *vip_spilled(const struct pkt *p, __u32 port_spilled,
								__u32 any_spilled)
{
	struct vip_key k = {.proto = p->key.proto, .family = p->key.family};
	struct vip_entry *e;
	__u32 reject = (p->flags & PKT_F_FRAG) ? 0 : VIP_F_FRAG;

	__builtin_memcpy(k.addr, p->key.dst, 16);
	if (port_spilled) {
		k.port = p->key.dport;
		e = bpf_map_lookup_elem(&vip_spill, &k);
		if (e && (e->flags & VIP_F_USED) && !(e->flags & reject))
			return e;
	}
	if (!any_spilled)
		return NULL;
	k.port = 0;
	e = bpf_map_lookup_elem(&vip_spill, &k);
	return e && (e->flags & VIP_F_USED) && !(e->flags & reject) ? e : NULL;
}

/* VIP of a flow: (address, protocol, port), then (address, protocol, any port); vip_spill only where
 * a first slot says so. Fragments carry no port: they match the port-0 entry, which is an any-port VIP
 * or a fragment-only entry. */
static __always_inline struct vip_entry *vip_match(const struct pkt *p)
{
	struct vip_key k = {.proto = p->key.proto, .family = p->key.family};
	__u32 port_spilled = 0, any_spilled = 0;
	struct vip_entry *e;

	__builtin_memcpy(k.addr, p->key.dst, 16);
	if (!(p->flags & PKT_F_FRAG)) {
		k.port = p->key.dport;
		e = vip_probe(&k, VIP_F_FRAG, &port_spilled);
		if (e)
			return e;
		k.port = 0;
	}
	e = vip_probe(&k, (p->flags & PKT_F_FRAG) ? 0 : VIP_F_FRAG, &any_spilled);
	if (e || !(port_spilled | any_spilled))
		return e;
	return vip_spilled(p, port_spilled, any_spilled);
}

/* Does the outer header at p->l3_off carry the second-chance mark (steer.h)? */
static __always_inline int outer_marked(void *data, void *data_end, const struct pkt *p)
{
	if (p->key.family == STEER_FAMILY_V4) {
		struct iphdr *o = data + p->l3_off;
		if ((void *)(o + 1) > data_end)
			return 0;
		return o->id == bpf_htons(SECOND_CHANCE_ID4);
	}
	__u8 *o = data + p->l3_off;
	if ((void *)(o + 4) > data_end)
		return 0;
	return (o[1] & (SECOND_CHANCE_LABEL6 >> 16)) != 0;
}

/* An outer header addressed to this host that carries IPIP / IP6-in-IP6: step inside it. */
static __always_inline int enter_tunnel(void *data, void *data_end, struct pkt *p)
{
	const __u32 *dst = (const void *)p->key.dst;

	if (p->flags & PKT_F_FRAG)
		return PARSE_OK;
	if (p->key.family == STEER_FAMILY_V4) {
		if (p->key.proto != IPPROTO_IPIP_ || dst[0] != host4)
			return PARSE_OK;
	} else if (p->key.proto != IPPROTO_IPV6_ || dst[0] != host6[0] || dst[1] != host6[1] ||
		   dst[2] != host6[2] || dst[3] != host6[3]) {
		return PARSE_OK;
	}
	if (outer_marked(data, data_end, p))
		p->flags |= PKT_F_MARKED;
	p->outer_len = p->ip_hlen;
	p->l3_off += p->ip_hlen;
	return parse_ip(data, data_end, p);
}

static __always_inline int drop(struct vip_stats *st, int reason)
{
	if (reason >= 0 && reason < DROP_REASONS)
		st->drops[reason]++;
	return XDP_DROP;
}

/* A remote owner: encapsulate to it, or answer "too big" when the result would exceed the MTU. */
static __always_inline int forward(struct xdp_md *ctx, const struct pkt *p, const struct instance *inst,
				   struct vip_stats *st)
{
	int v4 = p->key.family == STEER_FAMILY_V4, rc;
	__u32 overhead = v4 ? IPV4_HLEN : IPV6_HLEN;

	if (v4 ? (!host4 || !inst->host4)
	       : (!(host6[0] | host6[1] | host6[2] | host6[3]) ||
		  !(*(__u32 *)&inst->host6[0] | *(__u32 *)&inst->host6[4] | *(__u32 *)&inst->host6[8] |
		    *(__u32 *)&inst->host6[12])))
		return drop(st, DROP_NO_ADDRESS);
	if (p->l3_len + overhead > mtu) {
		if (p->flags & PKT_F_ICMP_ERR)
			return drop(st, DROP_ICMP_TOO_BIG);
		rc = v4 ? icmp_too_big4(ctx, p) : icmp_too_big6(ctx, p);
		if (rc != XDP_TX)
			return drop(st, DROP_ADJUST);
		st->too_big++;
		return XDP_TX;
	}
	rc = v4 ? encap4(ctx, p, inst)
		: encap6(ctx, p, inst, hash_words((const __u32 *)&p->key, sizeof(p->key) / 4, hash_seed));
	if (rc != XDP_TX)
		return drop(st, DROP_ADJUST);
	st->forwarded++;
	return XDP_TX;
}

static __always_inline int flow_key_eq(const struct flow_key *a, const struct flow_key *b)
{
	const __u64 *x = (const void *)a, *y = (const void *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3] && x[4] == y[4];
}

/* The flow's instance slot from this CPU's flow_cache, else from `flows` (then cached); -1 if unknown.
 * *flags points at the copy of its flags to update (the cache's when there is one). */
static __always_inline long flow_lookup(const struct flow_key *k, struct flow_cache_entry *ce, __u32 gen,
					__u32 **flags)
{
	struct flow_val *fv;

	if (ce && ce->gen == gen && flow_key_eq(&ce->key, k)) {
		*flags = &ce->flags;
		return ce->instance;
	}
	fv = bpf_map_lookup_elem(&flows, k);
	if (!fv)
		return -1;
	*flags = &fv->flags;
	if (ce) {
		ce->key = *k;
		ce->instance = fv->instance;
		ce->gen = gen;
		ce->flags = fv->flags;
		*flags = &ce->flags;
	}
	return fv->instance;
}

/* Is seq within HIT_SEQ_NEAR of the sequence number packed in an entry's flags? */
static __always_inline int seq_near(__u32 seq, __u32 flags)
{
	__u32 d = ((seq >> FLOW_SEQ_SHIFT) - (flags >> FLOW_SEQ_SHIFT)) & (0xffffffffu >> FLOW_SEQ_SHIFT);

	return d <= HIT_SEQ_NEAR || d >= (0xffffffffu >> FLOW_SEQ_SHIFT) + 1 - HIT_SEQ_NEAR;
}

static __always_inline __u32 with_seq(__u32 flags, __u32 seq)
{
	return (flags & FLOW_F_MASK) | (seq & ~FLOW_F_MASK);
}

/* A flow-table hit for a candidate packet (rings.h sc_candidate): is it this connection's entry? Near
 * the entry's last sequence number it is (nothing more is done). Far from it, the entry may be an older
 * connection's on the same ports (the client reused them; the new one was opened elsewhere): a local
 * entry holds only if a socket here fits the segment; a remote one is not trusted (its host may have no
 * socket for it, and its second chance would pick by its own rings, not by this entry) — either way the
 * packet then takes the miss path (rings, second chance) and is recorded anew. */
static __always_inline int hit_holds(struct xdp_md *ctx, const struct pkt *p, const struct instance *inst,
				     __u32 *flags, struct global_stats *gs)
{
	if (!seq_near(p->seq, *flags) &&
	    (!(inst->flags & INSTANCE_F_LOCAL) || has_socket(ctx, p, gs) != SOCK_OURS)) {
		gs->stale_flow++;
		return 0;
	}
	*flags = with_seq(*flags, p->seq);
	return 1;
}

/* The flood guard: may this CPU record one more flow in the current second? Past flood_new_flows, a
 * new flow is steered by the ring as any other but not recorded (as Katran bypasses its LRU under a
 * flood): a SYN flood cannot evict the flow table's live entries nor pay an LRU insert per packet. Its
 * later packets miss again and take the rings (the established ring for non-SYN TCP), which name the same
 * owner until a ring change; the second chance covers one change. Counted in flood_bypass. */
static __always_inline int flood_allows(struct global_stats *gs)
{
	__u32 zero = 0;
	struct flood_window *w;
	__u64 now;

	if (!flood_new_flows)
		return 1;
	w = bpf_map_lookup_elem(&flood_window, &zero);
	if (!w)
		return 1;
	now = bpf_ktime_get_ns();
	if (now - w->start_ns >= flood_window_ns) {
		w->start_ns = now;
		w->count = 0;
	}
	if (w->count >= flood_new_flows) {
		gs->flood_bypass++;
		return 0;
	}
	w->count++;
	return 1;
}

/* A settled flow (record_settled 0): TCP of a two-ring service, placed by the rings themselves (not a
 * second chance), whose four ring slots name one owner (rings.h rings_agree). It needs no flow-table
 * entry: its later packets find the same owner by the rings, and after one ring change by the previous
 * slots and the second chance. It is only cached on this CPU. */
static __always_inline int settled(const struct pkt *p, const struct service *svc, __u32 svc_id, __u32 idx,
				   const struct flow_val *v)
{
	return !record_settled && p->key.proto == IPPROTO_TCP && !(p->flags & (PKT_F_FRAG | PKT_F_ICMP_ERR)) &&
	       !(v->flags & FLOW_F_SECOND) && has_established(svc) && rings_agree(svc_id, svc, idx, v->instance);
}

/* Writes a flow entry unless `cache_only` (and this CPU's cached copy of it), with the packet's sequence
 * number. */
static __always_inline void record(const struct pkt *p, struct flow_val *v, struct flow_cache_entry *ce,
				   __u32 gen, int cache_only)
{
	v->flags = with_seq(v->flags, p->seq);
	if (!cache_only)
		bpf_map_update_elem(&flows, &p->key, v, BPF_ANY);
	if (ce) {
		ce->key = p->key;
		ce->instance = v->instance;
		ce->gen = gen;
		ce->flags = v->flags;
	}
}

/* The owner of a flow: the flow table, else the ring of the miss's kind (recorded unless RST), where a
 * non-SYN TCP miss owned here without a socket here is given to the `new` ring's owner, else the previous
 * established ring's, else the previous new ring's (second chance). */
static __always_inline int steer_flow(struct xdp_md *ctx, struct pkt *p, const struct vip_entry *vip,
				      struct vip_stats *st, struct global_stats *gs)
{
	__u32 zero = 0, cache_slot = hash_flow_slot((const __u32 *)&p->key) & (FLOW_CACHE_SLOTS - 1);
	struct flow_cache_entry *ce = bpf_map_lookup_elem(&flow_cache, &cache_slot);
	struct ctl *cw = bpf_map_lookup_elem(&ctl, &zero);
	__u32 gen = cw ? cw->flow_gen + 1 : 0;
	struct instance *inst = NULL;
	/* A SYN opens a connection: it follows the `new` ring, never a flow entry an earlier connection on
	 * the same addresses and ports left behind (else the new connection lands on the old owner while the
	 * hosts that never saw that entry send its later packets by the rings). It records its owner. */
	__u32 *flags = NULL;
	long known = (p->flags & PKT_F_SYN) ? -1 : flow_lookup(&p->key, cw ? ce : NULL, gen, &flags);
	__u32 slot;

	if (known >= 0)
		inst = valid_instance(known);
	/* An entry naming an instance marked failed is re-steered but kept: the instance may only be away
	 * for a moment (its agent restarting, its host's sessions down) with its connections alive, and
	 * recording the detour would send them elsewhere once it is back. */
	int keep_entry = known >= 0 && !inst;
	if (inst && flags && p->key.proto == IPPROTO_TCP && !(p->flags & (PKT_F_FRAG | PKT_F_ICMP_ERR))) {
		__u32 svc_id = vip->service_id;
		struct service *svc = bpf_map_lookup_elem(&services, &svc_id);

		if (svc && sc_candidate(p, svc) && !hit_holds(ctx, p, inst, flags, gs))
			inst = NULL;
	}
	if (inst) {
		gs->flow_hit++;
	} else {
		__u32 svc_id = vip->service_id, idx, alt_slot;
		struct service *svc;
		struct flow_val v = {};
		int kind, unservable = 0;

		__u32 hash = hash_words((const __u32 *)&p->key, sizeof(p->key) / 4, hash_seed);

		gs->flow_miss++;
		svc = bpf_map_lookup_elem(&services, &svc_id);
		if (!svc)
			return drop(st, DROP_NO_INSTANCE);
		idx = hash % ring_size;
		kind = miss_kind(p, svc);
		slot = ring_entry(svc_id, svc, kind, idx);
		inst = valid_instance(slot);
		if (!inst)
			return drop(st, DROP_NO_INSTANCE);
		v.instance = slot;
		v.flags = kind == RING_KIND_ESTABLISHED ? FLOW_F_ESTABLISHED : 0;
		if (kind == RING_KIND_ESTABLISHED && (inst->flags & INSTANCE_F_LOCAL) && sc_candidate(p, svc)) {
			struct instance *alt = remote_owner(svc_id, svc, RING_KIND_NEW, idx, &alt_slot);
			if (!alt)
				alt = prev_owners(svc_id, svc, idx, &alt_slot);
			int sc = second_chance(ctx, p, alt, st, gs);

			if (sc == SC_FORWARD && alt) {
				inst = alt;
				v.instance = alt_slot;
				v.flags = FLOW_F_SECOND;
				p->flags |= PKT_F_MARK;
			} else if (sc == SC_NONE) {
				/* No socket here and no other owner: the kernel resets it. Recording this host
				 * would leave an entry a later connection on the same 5-tuple (the client reuses
				 * ports after a reset) hits when ECMP brings it here — it would never reach its
				 * owner. So a flow nobody can serve is not recorded. */
				unservable = 1;
			}
		}
		if (!unservable && !keep_entry && !(p->flags & (PKT_F_RST | PKT_F_ICMP_ERR))) {
			if (settled(p, svc, svc_id, idx, &v))
				record(p, &v, cw ? ce : NULL, gen, 1);
			else if (flood_allows(gs))
				record(p, &v, cw ? ce : NULL, gen, 0);
		}
	}
	if (p->flags & PKT_F_ICMP_ERR)
		st->icmp_err++;
	if (inst->flags & INSTANCE_F_LOCAL) {
		st->local++;
		return XDP_PASS;
	}
	return forward(ctx, p, inst, st);
}

/* A packet tunnelled here: decapsulate and pass; a non-SYN TCP one without a socket here gets its
 * second chance instead — to the new ring's owner if it runs on another host, else the established
 * ring's, else the previous established ring's, else the previous new ring's — re-encapsulated with the
 * mark. The new ring first: a front host sends non-SYN misses by the
 * established ring, so the other ring is `new`; and when the hosts' established rings differ for a
 * while (each admits a joiner after its own grace timer), the new rings, which change at once, agree. */
static __always_inline int steer_decap(struct xdp_md *ctx, struct pkt *p, const struct vip_entry *vip,
				       struct vip_stats *st, struct global_stats *gs)
{
	__u32 svc_id = vip->service_id, alt_slot;
	struct service *svc = bpf_map_lookup_elem(&services, &svc_id);
	struct instance *alt = NULL;
	int rc;

	st->decap++;
	if (svc && sc_candidate(p, svc)) {
		__u32 idx = hash_words((const __u32 *)&p->key, sizeof(p->key) / 4, hash_seed) % ring_size;

		alt = remote_owner(svc_id, svc, RING_KIND_NEW, idx, &alt_slot);
		if (!alt)
			alt = remote_owner(svc_id, svc, RING_KIND_ESTABLISHED, idx, &alt_slot);
		if (!alt)
			alt = prev_owners(svc_id, svc, idx, &alt_slot);
		if (second_chance(ctx, p, alt, st, gs) != SC_FORWARD)
			alt = NULL;
	}
	rc = decap(ctx, p);
	if (rc != XDP_PASS)
		return drop(st, DROP_ADJUST);
	if (!alt)
		return XDP_PASS;
	p->flags |= PKT_F_MARK;
	return forward(ctx, p, alt, st);
}

/* The full path: parse (VLAN tags, tunnels to this host), the filter where addr_class could not judge,
 * the transport header, the VIP probes. */
static __always_inline int steer_parsed(struct xdp_md *ctx, struct global_stats *gs, int addr)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct vip_entry *vip;
	struct vip_stats *st;
	struct pkt p = {};
	int rc;

	rc = parse_l2(data, data_end, &p);
	if (rc == PARSE_OK)
		rc = parse_ip(data, data_end, &p);
	if (rc == PARSE_OK)
		rc = enter_tunnel(data, data_end, &p);
	if (rc == PARSE_OK && addr == ADDR_UNKNOWN && !vip_addr_maybe((const __u32 *)p.key.dst)) {
		gs->non_vip++; /* not a VIP address: no transport header read, no probe */
		return XDP_PASS;
	}
	if (rc == PARSE_OK)
		rc = parse_l4(data, data_end, &p);
	if (rc == PARSE_FAIL)
		gs->parse_fail++;
	if (rc != PARSE_OK)
		return XDP_PASS; /* ARP, ND, other protocols, malformed: untouched */
	vip = vip_match(&p);
	if (!vip) {
		gs->non_vip++;
		return XDP_PASS;
	}
	__u32 vip_id = vip->vip_id;
	st = bpf_map_lookup_elem(&vip_stats, &vip_id);
	if (!st)
		return XDP_PASS;
	st->packets++;
	st->bytes += (long)data_end - (long)data - p.outer_len;
	if (p.outer_len)
		return steer_decap(ctx, &p, vip, st, gs);
	return steer_flow(ctx, &p, vip, st, gs);
}

/* The whole decision for one frame: an XDP action. A frame to an address that is surely no VIP is
 * answered in place (non_vip.h); the rest takes the full path. */
static __always_inline int steer_frame(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct global_stats *gs;
	__u32 zero = 0;
	int addr;

	gs = bpf_map_lookup_elem(&global_stats, &zero);
	if (!gs)
		return XDP_PASS;
	addr = addr_class(data, data_end);
	if (addr == ADDR_NOT_VIP) {
		gs->non_vip++;
		return XDP_PASS;
	}
	return steer_parsed(ctx, gs, addr);
}

#endif
