/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mxw_map_mmap.h - the whole of a BPF_F_MMAPABLE ARRAY map (the fast
 * path's own tables, bpf/mxw_table.h) mapped shared and writable, as
 * mxwalld maps it, for the tests and benchmarks.  Exits on failure: a
 * test that cannot see its tables has nothing to check.
 */
#ifndef MXW_MAP_MMAP_H
#define MXW_MAP_MMAP_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/libbpf.h>

/* Bytes of the mapping: the elements, rounded up to whole pages. */
static inline size_t mxw_map_mmap_len(const struct bpf_map *m)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t sz = (size_t)bpf_map__value_size(m) * bpf_map__max_entries(m);

	return (sz + pg - 1) & ~(pg - 1);
}

static inline void *mxw_map_mmap(const struct bpf_map *m)
{
	void *p = mmap(NULL, mxw_map_mmap_len(m), PROT_READ | PROT_WRITE,
		       MAP_SHARED, bpf_map__fd(m), 0);

	if (p == MAP_FAILED) {
		fprintf(stderr, "mmap %s: ", bpf_map__name(m));
		perror(NULL);
		exit(1);
	}
	return p;
}

static inline void mxw_map_munmap(const struct bpf_map *m, void *p)
{
	if (p)
		munmap(p, mxw_map_mmap_len(m));
}

#endif /* MXW_MAP_MMAP_H */
