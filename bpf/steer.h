/* SPDX-License-Identifier: Apache-2.0 */
/*
 * steer.h — THE kernel/user contract of the steering program: every map key and value, fixed-width,
 * with explicit padding and static size checks. src/steer/layout.ts mirrors it byte for byte and
 * test/steer/layout.root.test.ts checks that mirror against this file's BTF.
 *
 * Rings are laid out for two ring kinds per service (issue 8: `new` and `established`) and a spare
 * slot per kind, so adding the second kind changes no map layout: ring key = service * RING_SLOTS + slot,
 * and a service's `active[kind]` names the live slot of each kind.
 */
#ifndef ANYCASTD_STEER_H
#define ANYCASTD_STEER_H

#include <linux/types.h>

/*
 * The layout of the pinned maps — each one's type, key, value and capacity, and which maps there are —
 * has a version, kept in the object (rodata layout_version, layout_compat) and with the pins (the pinned
 * pin_layout map). Raise STEER_LAYOUT_VERSION with any change to a pinned map. A starting agent adopts
 * pins of its own version, migrates pins of versions from STEER_LAYOUT_COMPAT up (each map adopted, copied
 * into its wider form, or made anew: src/steer/pin-plan.ts) and refuses any other, leaving the running
 * program and its pins alone. A migration can only append fields to a value (a copied entry gets zeros
 * there), grow a capacity and add maps; any other change (a field moved or narrowed, a key or type
 * changed) must raise STEER_LAYOUT_COMPAT to the new version too.
 * STEER_LAYOUT_NEXT builds the layout after this one (a field appended to flow_val, a new map), never
 * shipped: test/steer/upgrade.root.test.ts upgrades to it under traffic.
 */
#ifndef STEER_LAYOUT_NEXT
#define STEER_LAYOUT_VERSION 2
#else
#define STEER_LAYOUT_VERSION 3
#endif
#define STEER_LAYOUT_COMPAT 1 /* the oldest pinned layout this object migrates from */

#define STEER_FAMILY_V4 4 /* flow_key.family / vip_key.family of an IPv4 flow */
#define STEER_FAMILY_V6 6 /* ... of an IPv6 flow */

#define MAX_VIPS 16384               /* VIP/port entries (vip_stats entries; vip_entry.vip_id < MAX_VIPS) */
#define VIP_SLOTS 65536              /* vip_table: open-addressed, a power of two; MAX_VIPS port entries and
					as many fragment entries fill it at most half */
#define VIP_PROBES 16                /* slots probed from hash_vip_key(), up to the first empty one */
#define VIP_SPILL_MAX (2 * MAX_VIPS) /* vip_spill: every entry could be there, so placing never fails */
#define VIP_FILTER_LOG 20            /* vip_filter: 2^20 bits, one per hash_vip_addr() >> (32 - 20) */
#define VIP_FILTER_WORDS (1u << (VIP_FILTER_LOG - 6)) /* ... as u64 words (128 KiB) */
#define MAX_SERVICES 4096            /* services entries (16 B each); vip_entry.service_id < MAX_SERVICES */
#define RING_SERVICES 16             /* services the rings map holds as declared; the loader sets its
					capacity from the configured services (RING_SLOTS entries each) */
#define RING_KINDS 4                 /* service.active[]: 0 = new, 1 = established (issue 8), 2..3 spare */
#define RING_KIND_NEW 0              /* TCP SYN, UDP and other flow-table misses (and a one-ring service) */
#define RING_KIND_ESTABLISHED 1      /* non-SYN TCP flow-table misses; only when its slot is 2 or 3 */
#define RING_SLOTS 4                 /* ring slots per service: (active + spare) × 2 kinds */
#define RING_SIZE_MAX 65537          /* entries per ring value; rodata ring_size <= this */
#define MAX_INSTANCES 4096           /* instances entries */
#define MAX_FLOWS 131072             /* flows (LRU) entries */
#define INSTANCE_NONE 0xffffffffu    /* ring entry of an empty ring */
#define FLOW_CACHE_SLOTS 4096        /* flow_cache entries per CPU, a power of two */

/* vip_entry.flags */
#define VIP_F_USED 0x1      /* the slot holds a VIP */
#define VIP_F_ANY_PORT 0x2  /* port 0 entry that matches any port */
#define VIP_F_FRAG 0x4      /* port 0 entry used only for IP fragments (steer on addresses only) */
#define VIP_F_TOMB 0x8      /* a removed entry: probing goes on past it (an all-zero slot ends it) */
#define VIP_F_SPILL 0x10    /* on a key's first probe slot: keys starting here may be in vip_spill */

/* instance.flags */
#define INSTANCE_F_VALID 0x1 /* the slot describes a live instance */
#define INSTANCE_F_LOCAL 0x2 /* the instance runs on this host: XDP_PASS */

/* Drop reasons: index into vip_stats.drops[]. */
#define DROP_NO_INSTANCE 0 /* the ring (or the instance it names) is empty */
#define DROP_NO_ADDRESS 1  /* this host or the instance has no address of the flow's family */
#define DROP_ADJUST 2      /* bpf_xdp_adjust_head/tail failed */
#define DROP_ICMP_TOO_BIG 3 /* an ICMP error too big to encapsulate (never answered with ICMP) */
#define DROP_REASONS 4

/* Key of a VIP: destination address (IPv4 in the first 4 bytes, the rest zero), port (network order,
 * 0 = the any-port / fragment entry), IP protocol, family. Read as 5 little-endian u32 words by hash_vip_key. */
struct vip_key {
	__u8 addr[16];
	__be16 port;
	__u8 proto;
	__u8 family;
};

/* vip_table value (ARRAY, VIP_SLOTS): a VIP lives at one of the VIP_PROBES slots from its hash, or, when
 * all of them held live entries as it was placed, in vip_spill (same value, keyed by vip_key) with
 * VIP_F_SPILL set on its first slot. vip_filter has the bit of every VIP address set. */
struct vip_entry {
	struct vip_key key;
	__u32 vip_id;     /* index into vip_stats */
	__u32 service_id; /* index into services */
	__u32 flags;      /* VIP_F_* */
};

/* services value (ARRAY, MAX_SERVICES): the live ring slot of each ring kind. Flipping active[k] is
 * the one write that moves a service to a new ring. */
struct service {
	__u32 active[RING_KINDS];
};

/* rings value (ARRAY, key = service * RING_SLOTS + slot): instance slots. The loader sizes the map:
 * value 4 × ring_size bytes (only inst[0 .. ring_size) exists; the program never reads past it) and
 * capacity services × RING_SLOTS, so its memory follows the config (a service whose key lies past the
 * capacity finds no ring: no instance). Declared at RING_SIZE_MAX and RING_SERVICES. */
struct ring {
	__u32 inst[RING_SIZE_MAX];
};

/* instances value (ARRAY, MAX_INSTANCES): where an instance lives. */
struct instance {
	__be32 host4;    /* the instance host's IPv4 address (outer destination of IPIP) */
	__u32 flags;     /* INSTANCE_F_* */
	__u8 host6[16];  /* the instance host's IPv6 address (outer destination of IP6-in-IP6) */
};

/* instance_ids value (ARRAY, MAX_INSTANCES): the stable id of each instance slot, NUL-padded. Only the
 * control side reads it: a restarted agent maps ids back to the slots its flows point at. */
#define INSTANCE_ID_LEN 64
struct instance_id {
	char id[INSTANCE_ID_LEN];
};

/* flows key (LRU_HASH, MAX_FLOWS): the 5-tuple as the VIP sees it (ports 0 for fragments). */
struct flow_key {
	__u8 src[16];
	__u8 dst[16];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};

/* flow_val.flags */
#define FLOW_F_ESTABLISHED 0x1 /* recorded from the established ring (a non-SYN TCP miss) */
#define FLOW_F_SECOND 0x2      /* recorded by a second chance: the instance is the other ring's owner */

/* flow_val.flags (and flow_cache_entry.flags): FLOW_F_* in the low byte; above it the last TCP
 * sequence number the entry saw, >> 8 (a local hit far from it is checked against the socket: the entry
 * may be an older connection's on the same ports). Packed, so the pinned flow table keeps its shape. */
#define FLOW_F_MASK 0xffu
#define FLOW_SEQ_SHIFT 8

/* flows value. */
struct flow_val {
	__u32 instance; /* instance slot */
	__u32 flags;    /* FLOW_F_* | last sequence number >> 8 << FLOW_SEQ_SHIFT */
#ifdef STEER_LAYOUT_NEXT
	__u64 next_born_ns; /* the next layout's appended field (zero in migrated entries) */
#endif
};

/*
 * Second chance (issue 8). A non-SYN TCP packet that this host would pass to its kernel — steered here
 * by a flow-table miss of the established ring, or decapsulated here — while no socket matches it
 * (bpf_skc_lookup_tcp; a listener does not count) is sent once to the flow's owner in the other ring,
 * encapsulated with a mark that the receiving host reads from the OUTER header and never forwards again:
 *  - IPv4: outer IP identification = SECOND_CHANCE_ID4 (our IPIP headers are atomic — DF set, never
 *    fragmented — so the id carries no reassembly meaning, RFC 6864; unmarked ones have id 0);
 *  - IPv6: outer flow-label bit SECOND_CHANCE_LABEL6 (the label of every IP6-in-IP6 packet we build is
 *    the flow hash & FLOW_LABEL_HASH_MASK, so the bit is free; routers do not change it, RFC 6437).
 * Only services whose established ring is written take part: a one-ring service behaves as before.
 */
#define SECOND_CHANCE_ID4 0x5343      /* "SC" */
#define SECOND_CHANCE_LABEL6 0x80000u /* the top bit of the 20-bit flow label */
#define FLOW_LABEL_HASH_MASK 0x7ffffu /* the flow hash bits of an outer IPv6 flow label */

/* flow_cache value (PERCPU_ARRAY, FLOW_CACHE_SLOTS): a direct-mapped per-CPU copy of flow-table
 * entries, read without a helper call. It only ever holds what `flows` held (filled on a flow-table hit
 * or insert); an entry counts while gen == ctl.flow_gen + 1, so bumping flow_gen empties every cache. */
struct flow_cache_entry {
	struct flow_key key;
	__u32 instance;
	__u32 gen;
	__u32 flags; /* as flow_val.flags: this CPU's copy, its sequence number the newer */
	__u32 pad;
};

/* agent_beat value (ARRAY, 1 entry, pinned; never read by the program): CLOCK_MONOTONIC ns of the
 * agent's last heartbeat. A starting agent that adopts pins reads it to tell a restart (its instance
 * is still a member everywhere) from pins a long-gone agent left (the host rejoins as a newcomer). */
struct agent_beat {
	__u64 alive_ns;
};

/* pin_layout value (ARRAY, 1 entry, pinned; never read by the program): the layout version of the pins
 * beside it (STEER_LAYOUT_VERSION of the object that made or last migrated them). Its own shape never
 * changes. Pins without it are layout 1 (left before the layout had a version). */
struct pin_layout {
	__u32 version;
	__u32 reserved[3];
};

/* ctl value (ARRAY, 1 entry): control words the agent flips. */
struct ctl {
	__u32 flow_gen;    /* bumped whenever the flow table is cleared by the agent */
	__u32 reserved[3];
};

/* vip_stats value (PERCPU_ARRAY, MAX_VIPS). */
struct vip_stats {
	__u64 packets;   /* packets to the VIP (after decapsulation for decapsulated ones) */
	__u64 bytes;     /* their frame bytes */
	__u64 local;     /* passed to this host's kernel */
	__u64 forwarded; /* encapsulated to another host */
	__u64 decap;     /* decapsulated here */
	__u64 too_big;   /* answered with ICMP fragmentation-needed / packet-too-big */
	__u64 icmp_err;  /* ICMP errors about a VIP flow, steered to the flow's owner */
	__u64 sc_stale;  /* socket checks that found an older connection's socket (sequence outside its window) */
	__u64 drops[DROP_REASONS];
	/* second chance, one per outcome of a socket check (see SECOND_CHANCE_ID4 above) */
	__u64 sc_forwarded; /* no socket here: sent once to the other ring's owner, marked */
	__u64 sc_used;      /* no socket here and the mark says it had its chance: to the kernel (RST) */
	__u64 sc_socket;    /* a socket here: passed */
	__u64 sc_none;      /* no socket and no other owner (the other ring names this host or none) */
};

/* global_stats value (PERCPU_ARRAY, 1 entry). */
struct global_stats {
	__u64 parse_fail; /* IP frames too short or malformed */
	__u64 flow_hit;   /* flow-table hits */
	__u64 flow_miss;  /* flow-table misses (ring lookups) */
	__u64 non_vip;    /* parsed IP packets not for a VIP */
	__u64 sk_lookup;  /* bpf_skc_lookup_tcp calls (second-chance socket checks) */
	__u64 stale_flow; /* hits not trusted (sequence number far from the entry's; local: no socket fits): re-steered */
	__u64 flood_bypass; /* flows steered by the ring but not recorded: this CPU was past flood_new_flows this second */
	__u64 reserved;
};

/* flood_window value (PERCPU_ARRAY, 1 entry; never pinned): this CPU's flow inserts in the second that
 * began at start_ns (the flood guard, steer_core.h flood_allows). */
struct flood_window {
	__u64 start_ns;
	__u64 count;
};

_Static_assert(sizeof(struct vip_key) == 20, "vip_key");
_Static_assert(sizeof(struct vip_entry) == 32, "vip_entry");
_Static_assert(sizeof(struct service) == 16, "service");
_Static_assert(sizeof(struct ring) == 4 * RING_SIZE_MAX, "ring");
_Static_assert(sizeof(struct instance) == 24, "instance");
_Static_assert(sizeof(struct instance_id) == INSTANCE_ID_LEN, "instance_id");
_Static_assert(sizeof(struct flow_key) == 40, "flow_key");
#ifndef STEER_LAYOUT_NEXT
_Static_assert(sizeof(struct flow_val) == 8, "flow_val");
#endif
_Static_assert(sizeof(struct pin_layout) == 16, "pin_layout");
_Static_assert(sizeof(struct flow_cache_entry) == 56, "flow_cache_entry");
_Static_assert(sizeof(struct ctl) == 16, "ctl");
_Static_assert(sizeof(struct agent_beat) == 8, "agent_beat");
_Static_assert(sizeof(struct vip_stats) == 128, "vip_stats");
_Static_assert(sizeof(struct global_stats) == 64, "global_stats");
_Static_assert(sizeof(struct flood_window) == 16, "flood_window");

#endif
