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

struct mxi_mem {
	size_t used;            /* bytes charged right now */
	size_t limit;           /* 0 = unlimited */
	size_t peak;            /* high-water mark, for stats */
	unsigned long failures; /* allocations refused by the limit */
};

/* malloc charged against the budget; NULL when over the limit. */
static inline void *mxi_mem_alloc(struct mxi_mem *m, size_t n)
{
	void *p;

	if (m && m->limit && (n > m->limit || m->used > m->limit - n)) {
		m->failures++;
		return NULL;
	}
	p = malloc(n);
	if (!p) {
		if (m)
			m->failures++;
		return NULL;
	}
	if (m) {
		m->used += n;
		if (m->used > m->peak)
			m->peak = m->used;
	}
	return p;
}

static inline void mxi_mem_free(struct mxi_mem *m, void *p, size_t n)
{
	if (!p)
		return;
	free(p);
	if (m)
		m->used -= n;
}

#endif /* MXI_MEM_H */
