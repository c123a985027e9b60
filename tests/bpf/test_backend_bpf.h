/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_backend_bpf.h - the kernel backend of test_mxwall_bpf.c: the real
 * mxwall.bpf.o, loaded (never attached) from its skeleton, its maps, and
 * BPF_PROG_TEST_RUN.  Included once, by test_mxwall_bpf.c.
 */
#include <net/if.h>
#include <sched.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "mxwall.skel.h"
#include "mxw_netns_pair.h"

static const char backend_name[] = "bpf";
static struct mxwall_bpf *skel;
static int prog_fd;

static struct bpf_map *bmap(enum tbl t)
{
	switch (t) {
#define X(n) case TBL_##n: return skel->maps.n;
	MXW_TEST_TABLES(X)
#undef X
	default:
		abort();
	}
}

static int tbl_update(enum tbl t, const void *key, const void *val, uint64_t flags)
{
	return bpf_map_update_elem(bpf_map__fd(bmap(t)), key, val, flags);
}

static int tbl_lookup(enum tbl t, const void *key, void *val)
{
	return bpf_map_lookup_elem(bpf_map__fd(bmap(t)), key, val);
}

static int tbl_delete(enum tbl t, const void *key)
{
	return bpf_map_delete_elem(bpf_map__fd(bmap(t)), key);
}

static void tbl_clear(enum tbl t)
{
	uint8_t key[64];
	int fd = bpf_map__fd(bmap(t));

	while (bpf_map_get_next_key(fd, NULL, key) == 0)
		if (bpf_map_delete_elem(fd, key))
			break;
}

/* One frame through the program; returns the XDP action. */
static int run_frame(const uint8_t *frame, size_t len, enum port port)
{
	struct xdp_md ctx = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = frame,
		.data_size_in = (uint32_t)len,
		.ctx_in = &ctx,
		.ctx_size_in = sizeof(ctx),
		.repeat = 1);

	ctx.data_end = (uint32_t)len;
	ctx.ingress_ifindex = port == P_OUT ? if_out : port == P_IN ? if_in : 1;
	if (bpf_prog_test_run_opts(prog_fd, &opts)) {
		fprintf(stderr, "test_run (len %zu): %s\n", len, strerror(errno));
		exit(1);
	}
	return (int)opts.retval;
}

static int backend_init(void)
{
	cpu_set_t one_cpu;
	int err;

	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: the BPF fixture test needs root (BPF_PROG_TEST_RUN, netns)\n");
		return SKIP;
	}
	err = mxw_netns_pair("mxwt-out", "mxwt-in", &if_out, &if_in);
	if (err)
		return err;
	/* One CPU: per-CPU LRU lists and counters behave deterministically. */
	CPU_ZERO(&one_cpu);
	CPU_SET(0, &one_cpu);
	sched_setaffinity(0, sizeof(one_cpu), &one_cpu);
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	skel = mxwall_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "SKIP: loading mxwall.bpf.o failed (%s): BPF unavailable?\n",
			strerror(errno));
		return SKIP;
	}
	prog_fd = bpf_program__fd(skel->progs.mxw_xdp);
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		fprintf(stderr, "cannot count CPUs\n");
		return 1;
	}
	return 0;
}

static void backend_fini(void)
{
	mxwall_bpf__destroy(skel);
}
