/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mxi_mem.h - the engine's one memory budget.  Every byte the engine keeps
 * beyond the fixed per-flow struct (out-of-order segments, partial lines)
 * is charged here, so "per-flow memory + buffered bytes <= limit" holds by
 * construction: an allocation over the limit fails and the caller applies
 * the documented limit behaviour instead of growing.
 */
#ifndef MXI_MEM_H
#define MXI_MEM_H

#include <stddef.h>
#include <stdlib.h>

/*
 * Freed blocks of 1, 2, 4 and 8 KiB (the reassembly rings, which come and
 * go with every acknowledgement) are kept on small per-size free lists
 * instead of going back to malloc: bounded (MXI_MEM_CACHE_MAX per size),
 * not charged to `used`, released by mxi_mem_drain().
 */
#define MXI_MEM_CACHE_CLASSES   4
#define MXI_MEM_CACHE_MAX       32

struct mxi_mem {
	size_t used;            /* bytes charged right now */
	size_t limit;           /* 0 = unlimited */
	size_t peak;            /* high-water mark, for stats */
	unsigned long failures; /* allocations refused by the limit */
	void *cache[MXI_MEM_CACHE_CLASSES][MXI_MEM_CACHE_MAX];
	unsigned ncache[MXI_MEM_CACHE_CLASSES];
};

/* Cache class of a block size, or -1. */
static inline int mxi_mem_class(size_t n)
{
	switch (n) {
	case 1024: return 0;
	case 2048: return 1;
	case 4096: return 2;
	case 8192: return 3;
	default: return -1;
	}
}

/* malloc charged against the budget; NULL when over the limit. */
static inline void *mxi_mem_alloc(struct mxi_mem *m, size_t n)
{
	void *p;

	if (m && m->limit && (n > m->limit || m->used > m->limit - n)) {
		m->failures++;
		return NULL;
	}
	if (m) {
		int c = mxi_mem_class(n);

		if (c >= 0 && m->ncache[c]) {
			p = m->cache[c][--m->ncache[c]];
			goto charged;
		}
	}
	p = malloc(n);
	if (!p) {
		if (m)
			m->failures++;
		return NULL;
	}
charged:
	if (m) {
		m->used += n;
		if (m->used > m->peak)
			m->peak = m->used;
	}
	return p;
}

static inline void mxi_mem_free(struct mxi_mem *m, void *p, size_t n)
{
	int c = mxi_mem_class(n);

	if (!p)
		return;
	if (m)
		m->used -= n;
	if (m && c >= 0 && m->ncache[c] < MXI_MEM_CACHE_MAX) {
		m->cache[c][m->ncache[c]++] = p;
		return;
	}
	free(p);
}

/* Give the cached blocks back to malloc. */
static inline void mxi_mem_drain(struct mxi_mem *m)
{
	unsigned c;

	for (c = 0; c < MXI_MEM_CACHE_CLASSES; c++)
		while (m->ncache[c])
			free(m->cache[c][--m->ncache[c]]);
}

#endif /* MXI_MEM_H */
