/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hash.h — MurmurHash3 (x86, 32-bit) over whole little-endian u32 words: the flow hash and the
 * cheap vip_table slot hash. No helper calls, ~8 instructions a word. src/steer/hash.ts is the same.
 */
#ifndef ANYCASTD_HASH_H
#define ANYCASTD_HASH_H

#include <linux/types.h>

#define MURMUR_C1 0xcc9e2d51u
#define MURMUR_C2 0x1b873593u
#define MURMUR_N 0xe6546b64u
#define MURMUR_F1 0x85ebca6bu
#define MURMUR_F2 0xc2b2ae35u

static __always_inline __u32 rotl32(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

static __always_inline __u32 murmur_word(__u32 h, __u32 k)
{
	k *= MURMUR_C1;
	k = rotl32(k, 15);
	k *= MURMUR_C2;
	h ^= k;
	h = rotl32(h, 13);
	return h * 5 + MURMUR_N;
}

static __always_inline __u32 murmur_final(__u32 h, __u32 len)
{
	h ^= len;
	h ^= h >> 16;
	h *= MURMUR_F1;
	h ^= h >> 13;
	h *= MURMUR_F2;
	h ^= h >> 16;
	return h;
}

/* murmur3_32 of `n` words (4n bytes) read as little-endian u32 (the host order of BPF on x86/arm64). */
static __always_inline __u32 hash_words(const __u32 *w, const int n, __u32 seed)
{
	__u32 h = seed;
#pragma unroll
	for (int i = 0; i < n; i++)
		h = murmur_word(h, w[i]);
	return murmur_final(h, n * 4);
}

#define GOLDEN32 0x9e3779b1u /* 2^32 / phi: Fibonacci hashing */

/* The vip_filter hash of a destination address (4 words, an IPv4 one in the first): Fibonacci hashing,
 * whose top bits are the good ones (the filter takes the top VIP_FILTER_LOG). */
static __always_inline __u32 hash_vip_addr(const __u32 *w)
{
	return (w[0] ^ rotl32(w[1], 8) ^ rotl32(w[2], 16) ^ rotl32(w[3], 24)) * GOLDEN32;
}

/* hash_vip_addr of an IPv4 address (its other three words zero), read straight from a header. */
static __always_inline __u32 hash_vip_addr4(__u32 addr)
{
	return addr * GOLDEN32;
}

/* The vip_table slot hash of the 5 words of a vip_key: a few multiplies, no loop (it runs on every
 * packet whose address passed vip_filter); its low bits pick the slot. */
static __always_inline __u32 hash_vip_key(const __u32 *w)
{
	__u32 h = hash_vip_addr(w);

	h ^= w[4] * MURMUR_F1;
	return h ^ (h >> 16);
}

/* The flow_cache slot of a flow_key (10 words): folds and two multiplies. Only the program uses it (the
 * cache is invisible to the decision), so it need not match anything in TypeScript. */
static __always_inline __u32 hash_flow_slot(const __u32 *w)
{
	__u32 h = (w[0] ^ w[1] ^ w[2] ^ w[3] ^ rotl32(w[4] ^ w[5] ^ w[6] ^ w[7], 16)) * GOLDEN32;

	h ^= (w[8] ^ rotl32(w[9], 8)) * MURMUR_F1;
	return h ^ (h >> 15);
}

#endif
