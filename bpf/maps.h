/* SPDX-License-Identifier: Apache-2.0 */
/* maps.h — the program's maps (layouts in steer.h) and its load-time tunables (rodata). */
#ifndef ANYCASTD_MAPS_H
#define ANYCASTD_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "steer.h"

/* VIPs, open-addressed by hash(vip_key): array lookups are inlined by the JIT (no helper call). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VIP_SLOTS);
	__type(key, __u32);
	__type(value, struct vip_entry);
} vip_table SEC(".maps");

/* VIPs whose probe window was full when they were placed (read only behind a VIP_F_SPILL first slot). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VIP_SPILL_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vip_key);
	__type(value, struct vip_entry);
} vip_spill SEC(".maps");

/* One bit per hash_vip_addr() of a VIP address: a clear bit ends a non-VIP packet's path (inlined). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VIP_FILTER_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} vip_filter SEC(".maps");

/* Per service: the active ring slot of each ring kind. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct service);
} services SEC(".maps");

/* Maglev rings, one whole ring per value; key = service * RING_SLOTS + slot. Sized by the loader (steer.h
 * `struct ring`): so its value is given by size, not by BTF type (the kernel refuses a BTF value type of
 * another size than the map's). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RING_SERVICES * RING_SLOTS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct ring));
} rings SEC(".maps");

/* Instance slots: the instance's host addresses, and whether it is local. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_INSTANCES);
	__type(key, __u32);
	__type(value, struct instance);
} instances SEC(".maps");

/* Instance slot → stable id (control side only; the program never reads it). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_INSTANCES);
	__type(key, __u32);
	__type(value, struct instance_id);
} instance_ids SEC(".maps");

/* Flow table: 5-tuple → instance slot (one table for all CPUs, so a flow never changes owner). The
 * common LRU list measured cheaper here for new flows than BPF_F_NO_COMMON_LRU (~0.7 vs ~1.1 µs). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_FLOWS);
	__type(key, struct flow_key);
	__type(value, struct flow_val);
} flows SEC(".maps");

/* Per-CPU direct-mapped cache in front of `flows` (an inlined array lookup instead of a hash lookup). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLOW_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct flow_cache_entry);
} flow_cache SEC(".maps");

/* The flood guard's per-CPU window (never pinned, like flow_cache: a fresh one per program load). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flood_window);
} flood_window SEC(".maps");

/* Control words (flow_cache generation). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ctl);
} ctl SEC(".maps");

/* The agent's heartbeat (pinned, user space only): how old adopted pins are. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct agent_beat);
} agent_beat SEC(".maps");

/* The layout version of the pins (pinned, user space only; steer.h STEER_LAYOUT_VERSION). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pin_layout);
} pin_layout SEC(".maps");

#ifdef STEER_LAYOUT_NEXT
/* The next layout's new map (the upgrade test: a map the pins do not have yet is made and pinned). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} next_extra SEC(".maps");
#endif

/* Per-CPU counters per VIP (key = vip_id). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_VIPS);
	__type(key, __u32);
	__type(value, struct vip_stats);
} vip_stats SEC(".maps");

/* Per-CPU global counters (one entry). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct global_stats);
} global_stats SEC(".maps");

/* Tunables, set by the loader between open and load (a restarted agent reloads and replaces). */
const volatile __u32 ring_size = 65537;      /* Maglev ring size, a prime <= RING_SIZE_MAX */
const volatile __u32 hash_seed = 0x5eed1e55; /* flow-hash seed, the same on every host */
const volatile __u32 mtu = 1500;             /* fabric MTU: encapsulated packets must fit */
const volatile __be32 host4 = 0;             /* this host's IPv4 address (outer source, decap target) */
const volatile __u32 host6[4] = {};          /* this host's IPv6 address (network byte order) */
/* The flood guard: flow inserts per CPU per second past which new flows are steered by the ring without
 * being recorded (0: no guard). */
const volatile __u32 flood_new_flows = 0;
/* ... and the length of its window (tests lengthen it so a burst falls in one window on a loaded box). */
const volatile __u64 flood_window_ns = 1000000000ull;
/* Which new flows get a flow-table entry (steer_core.h `settled`): 1 every one (the default), 0 only
 * those a ring change could have moved — a TCP flow of a two-ring service whose four ring slots (new,
 * established and both previous) name one owner is steered by this CPU's flow_cache copy alone. */
const volatile __u32 record_settled = 1;
/* The object's pinned-map layout, read by the loader before load, never set (steer.h). */
const volatile __u32 layout_version = STEER_LAYOUT_VERSION;
const volatile __u32 layout_compat = STEER_LAYOUT_COMPAT;

#endif
