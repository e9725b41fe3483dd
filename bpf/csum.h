/* SPDX-License-Identifier: Apache-2.0 */
/*
 * csum.h — the Internet checksum (RFC 1071) without helper calls: 16-bit words summed in host order
 * (the one's-complement sum is byte-order independent), folded, complemented.
 */
#ifndef ANYCASTD_CSUM_H
#define ANYCASTD_CSUM_H

#include <linux/types.h>
#include "consts.h"

static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* csum_fold of a sum of 32-bit words (at most 2^32 of them): the carries out of 32 bits folded back. */
static __always_inline __u16 csum_fold64(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	return csum_fold((__u32)sum);
}

/* Sum of `n` words of memory on the stack (n constant). */
static __always_inline __u32 csum_words(const void *p, const int n)
{
	const __u16 *w = p;
	__u32 sum = 0;
#pragma unroll
	for (int i = 0; i < n; i++)
		sum += w[i];
	return sum;
}

/* Sum of `len` bytes (even) of packet memory from `start`, at most CSUM_MAX_WORDS words. */
static __always_inline __u32 csum_packet(void *start, __u32 len, void *data_end)
{
	__u32 sum = 0;

	for (__u32 i = 0; i < CSUM_MAX_WORDS; i++) {
		__u16 *w = start + i * 2;
		if (i * 2 >= len || (void *)(w + 1) > data_end)
			break;
		sum += *w;
	}
	return sum;
}

#endif
