/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mxi_hash.h - the seeded hash of the engine's flow table and the
 * policy's source tables.  Keys are fixed-size structs with their padding
 * zeroed; the seed is random per process, so a peer cannot aim many keys
 * at one chain.  (64-bit multiply-xorshift rounds per word, then a
 * splitmix64-style finaliser.)
 */
#ifndef MXI_HASH_H
#define MXI_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Hash the first n & ~7 bytes of key (callers size keys in 8s). */
static inline uint64_t mxi_hash(uint64_t seed, const void *key, size_t n)
{
	const uint8_t *p = key;
	uint64_t h = seed, w;

	for (size_t i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		h ^= w;
		h *= 0x9e3779b97f4a7c15ull;
		h ^= h >> 31;
	}
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 29);
}

#endif /* MXI_HASH_H */
