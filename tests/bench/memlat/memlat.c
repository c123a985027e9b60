// SPDX-License-Identifier: GPL-2.0-only
/*
 * memlat.c - the latency of one random, dependent 8-byte load from a
 * buffer of a given size on 4 KiB pages, as the fast path's tables are
 * laid out (BPF ARRAY maps are vmalloc'ed in 4 KiB pages).  A pointer
 * chase over a random cyclic permutation of the buffer's cache lines, so
 * each load waits for the previous one and misses whatever the buffer
 * does not fit in (caches, TLB).  docs/benchmarks.md, "New SYNs".
 *
 *   memlat [MiB ...]        default: 1 8 15 30 45 90
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#define LOADS 2000000L

static volatile size_t sink;    /* keeps the chase */

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int one(size_t mib)
{
	size_t sz = mib << 20, n = sz / 64, *perm, p;
	uint64_t *b, seed = 0x9e3779b97f4a7c15ull;
	double t0, t1;

	b = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	perm = malloc(n * sizeof(*perm));
	if (b == MAP_FAILED || !perm || n < 2) {
		fprintf(stderr, "memlat: %zu MiB: no memory\n", mib);
		return 1;
	}
	madvise(b, sz, MADV_NOHUGEPAGE);
	for (size_t i = 0; i < n; i++)
		perm[i] = i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)(rnd(&seed) % (i + 1)), t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
	for (size_t i = 0; i < n; i++)
		b[perm[i] * 8] = (uint64_t)perm[(i + 1) % n] * 8;
	p = perm[0] * 8;
	for (long i = 0; i < LOADS / 10; i++)      /* warm the TLB/caches */
		p = b[p];
	t0 = now_ns();
	for (long i = 0; i < LOADS; i++)
		p = b[p];
	t1 = now_ns();
	sink = p;
	printf("| %zu | %.1f |\n", mib, (t1 - t0) / LOADS);
	munmap(b, sz);
	free(perm);
	return 0;
}

int main(int argc, char **argv)
{
	static const size_t def[] = { 1, 8, 15, 30, 45, 90 };
	int err = 0;

	printf("| buffer (MiB) | ns per random dependent load |\n|---|---|\n");
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			err |= one((size_t)strtoul(argv[i], NULL, 10));
	} else {
		for (size_t i = 0; i < sizeof(def) / sizeof(def[0]); i++)
			err |= one(def[i]);
	}
	return err;
}
