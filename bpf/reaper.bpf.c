/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reaper.bpf.c — the flow reaper: when a TCP socket of this network namespace enters CLOSE (a FIN or RST
 * ending, an abort, and the full socket of a connection going into TIME_WAIT), the flow entry of its
 * connection is removed from the steering program's flow table, with any CPU's flow_cache copy of it —
 * if it names a local instance (one naming another host was written since, by the second chance).
 * Why: an LRU entry outlives its connection, and a later connection on the same addresses and ports
 * (clients reuse a port at once after a reset) that ECMP brings here would hit it (bpf/README.md "Reused
 * ports"). A raw tracepoint with BTF (tp_btf/inet_sock_set_state, RFC 9293 states), attached through a
 * link the agent pins beside the maps (src/steer/flow-reaper-kernel.ts).
 *
 * The key is the flow as the XDP program keys it: client address and port → VIP address and port, which
 * is the socket's remote → local. A dual-stack (AF_INET6) socket of an IPv4 peer holds v4-mapped
 * addresses: its flow is an IPv4 one. Only connections terminated here have a socket here: the program
 * records an entry on the host where the packet arrived, so a flow forwarded elsewhere (entry naming a
 * remote instance) is never seen closing here, and a flow decapsulated here has no entry here.
 * Cost per event: state other than CLOSE returns at once; a CLOSE in this namespace reads the socket's
 * addresses (CO-RE loads), its local port (one bpf_probe_read_kernel), one flows lookup; a local entry adds the instance lookup (array,
 * inlined), a delete, and one bpf_map_lookup_percpu_elem per CPU for the cache.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "hash.h"
#include "steer.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET_ 2         /* sock_common.skc_family of an IPv4 socket */
#define AF_INET6_ 10       /* ... of an IPv6 (or dual-stack) socket */
#define IPPROTO_TCP_ 6     /* sock.sk_protocol of TCP */
#define TCP_CLOSE_ 7       /* enum tcp state CLOSE (include/net/tcp_states.h) */
#define REAP_MAX_CPUS 8192 /* the cache loop's bound for the verifier; nr_cpus ends it */

/* The maps are the steering program's own (the loader reuses their fds): declared here with the same
 * key and value types and no more (the loader takes each map's kind and size from the fd). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_FLOWS);
	__type(key, struct flow_key);
	__type(value, struct flow_val);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_INSTANCES);
	__type(key, __u32);
	__type(value, struct instance);
} instances SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLOW_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct flow_cache_entry);
} flow_cache SEC(".maps");

/* reaper_stats value (user space: src/steer/flow-reaper-kernel.ts). */
struct reaper_stats {
	__u64 closed;    /* connections of this namespace that ended (a TCP socket with a peer entered CLOSE) */
	__u64 forgotten; /* flow entries removed (they named a local instance) */
	__u64 failed;    /* entries the kernel refused to delete (the map busy on this CPU) */
};

/* This program's counters (per CPU, one entry, never pinned: a program instance's own). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct reaper_stats);
} reaper_stats SEC(".maps");

const volatile __u32 netns_ino = 0; /* the agent's network namespace (its nsfs inode number) */
const volatile __u32 nr_cpus = 1;   /* possible CPUs: the flow_cache copies to look at */

/* The kernel fields read (CO-RE: offsets from the running kernel's BTF). */
struct in6_addr___reap {
	union {
		__u8 u6_addr8[16];
	} in6_u;
} __attribute__((preserve_access_index));

struct ns_common___reap {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct net___reap {
	struct ns_common___reap ns;
} __attribute__((preserve_access_index));

struct possible_net___reap {
	struct net___reap *net;
} __attribute__((preserve_access_index));

struct sock_common___reap {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	__u16 skc_num;
	unsigned short skc_family;
	struct possible_net___reap skc_net;
	struct in6_addr___reap skc_v6_daddr;
	struct in6_addr___reap skc_v6_rcv_saddr;
} __attribute__((preserve_access_index));

struct sock___reap {
	struct sock_common___reap __sk_common;
	__u16 sk_protocol;
} __attribute__((preserve_access_index));

/* The local port as the tracepoint sees it: by the change to CLOSE the kernel has released the port's
 * bind bucket, which zeroes skc_num; inet_sport keeps it (network order). It lies past struct sock, so it
 * is read with bpf_probe_read_kernel (the verifier bounds direct loads by the argument's type). */
struct inet_sock___reap {
	__be16 inet_sport;
} __attribute__((preserve_access_index));

static __always_inline int v4_mapped(const __u32 *a)
{
	return a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0xffff);
}

/* The flow key of a socket's connection as the XDP program saw it arrive; 0 when it has none. */
static __always_inline int sock_flow_key(const struct sock___reap *sk, struct flow_key *k)
{
	unsigned short family = sk->__sk_common.skc_family;

	k->sport = sk->__sk_common.skc_dport;
	k->dport = BPF_CORE_READ((const struct inet_sock___reap *)sk, inet_sport);
	k->proto = IPPROTO_TCP_;
	if (family == AF_INET6_) {
		__u32 src[4], dst[4];

		__builtin_memcpy(src, sk->__sk_common.skc_v6_daddr.in6_u.u6_addr8, 16);
		__builtin_memcpy(dst, sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8, 16);
		if (!v4_mapped(src)) {
			k->family = STEER_FAMILY_V6;
			__builtin_memcpy(k->src, src, 16);
			__builtin_memcpy(k->dst, dst, 16);
			return 1;
		}
		k->family = STEER_FAMILY_V4;
		*(__u32 *)k->src = src[3];
		*(__u32 *)k->dst = dst[3];
		return 1;
	}
	if (family != AF_INET_)
		return 0;
	k->family = STEER_FAMILY_V4;
	*(__u32 *)k->src = sk->__sk_common.skc_daddr;
	*(__u32 *)k->dst = sk->__sk_common.skc_rcv_saddr;
	return 1;
}

static __always_inline int flow_key_same(const struct flow_key *a, const struct flow_key *b)
{
	const __u64 *x = (const void *)a, *y = (const void *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3] && x[4] == y[4];
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(flow_reaper, const struct sock___reap *sk, int oldstate, int newstate)
{
	struct flow_key k = {};
	struct reaper_stats *st;
	struct instance *inst;
	struct flow_val *fv;
	__u32 zero = 0, slot;

	if (newstate != TCP_CLOSE_ || sk->sk_protocol != IPPROTO_TCP_ || !sk->__sk_common.skc_dport)
		return 0; /* not an end, not TCP, or a listener (no peer) */
	if (sk->__sk_common.skc_net.net->ns.inum != netns_ino)
		return 0; /* another namespace's socket: another agent's flows */
	if (!sock_flow_key(sk, &k))
		return 0;
	st = bpf_map_lookup_elem(&reaper_stats, &zero);
	if (st)
		st->closed++;
	fv = bpf_map_lookup_elem(&flows, &k);
	if (!fv)
		return 0;
	slot = fv->instance;
	inst = bpf_map_lookup_elem(&instances, &slot);
	if (!inst || !(inst->flags & INSTANCE_F_LOCAL))
		return 0;
	if (bpf_map_delete_elem(&flows, &k) == 0) {
		if (st)
			st->forgotten++;
	} else if (st) {
		st->failed++;
	}
	/* The copies the XDP program cached on each CPU, in the slot it would use for this flow. */
	slot = hash_flow_slot((const __u32 *)&k) & (FLOW_CACHE_SLOTS - 1);
	for (__u32 cpu = 0; cpu < REAP_MAX_CPUS && cpu < nr_cpus; cpu++) {
		struct flow_cache_entry *ce = bpf_map_lookup_percpu_elem(&flow_cache, &slot, cpu);

		if (ce && flow_key_same(&ce->key, &k))
			__builtin_memset(ce, 0, sizeof(*ce));
	}
	return 0;
}
