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
#include "mxw_map_mmap.h"
#include "mxw_test_xsk.h"

static const char backend_name[] = "bpf";
static struct mxwall_bpf *skel;
/* mxw_xdp_in (outside port), mxw_xdp_out (inside port) */
static int prog_fd_in, prog_fd_out;

/* An AF_XDP socket per appliance port (mxw_test_xsk.h), so that the
 * to_inspection fixtures can get XDP_REDIRECT. */
static struct mxw_test_xsk tb_xsk[MXW_SLOT_MAX];
static const char *const tb_ifname[MXW_SLOT_MAX] = { "mxwt-out", "mxwt-in" };

static void tb_xsk_close(void)
{
	for (int i = 0; i < MXW_SLOT_MAX; i++)
		mxw_test_xsk_close(&tb_xsk[i]);
}

/* Put (or with on == false, remove) the socket of slot at the key the
 * program computes for a frame of that port under test_run (rx queue 0).
 * Returns false when no socket could be bound. */
static bool xsk_bind(int slot, bool on)
{
	__u32 key = mxw_xsk_key((__u32)slot, 0);
	int fd;

	if (!on) {
		bpf_map_delete_elem(bpf_map__fd(skel->maps.mxw_xsks), &key);
		return true;
	}
	if (!tb_xsk[slot].xsk)
		return false;
	fd = xsk_socket__fd(tb_xsk[slot].xsk);
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.mxw_xsks), &key, &fd,
				BPF_ANY)) {
		fprintf(stderr, "mxw_xsks[%u] = socket: %s\n", key, strerror(errno));
		return false;
	}
	return true;
}

static struct bpf_map *bmap(enum tbl t)
{
	switch (t) {
	case TBL_mxw_data:
		return skel->maps.data_mxw;
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

/* Mappings of the ARRAY-backed hash tables, made on first use. */
static void *tb_mem[TBL_MAX];

static void *tbl_mem(enum tbl t, uint32_t *n)
{
	*n = bpf_map__max_entries(bmap(t));
	if (!tb_mem[t])
		tb_mem[t] = mxw_map_mmap(bmap(t));
	return tb_mem[t];
}

/* The skeleton maps the data section at load. */
static struct mxw_data *data(void)
{
	return &skel->data_mxw->mxw_data;
}

static void tb_unmap(void)
{
	for (int t = 0; t < TBL_MAX; t++) {
		mxw_map_munmap(bmap((enum tbl)t), tb_mem[t]);
		tb_mem[t] = NULL;
	}
}

static void tbl_clear(enum tbl t)
{
	uint8_t key[64];
	int fd = bpf_map__fd(bmap(t));

	/* Array-like maps always have a next key: empty them key by key. */
	if (t == TBL_mxw_xsks) {
		for (__u32 k = 0; k < MXW_XSK_KEYS; k++)
			bpf_map_delete_elem(fd, &k);
		return;
	}

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
	ctx.ingress_ifindex = port == P_OUT ? if_out : if_in;
	ctx.rx_queue_index = rx_queue;
	if (bpf_prog_test_run_opts(port == P_OUT ? prog_fd_in : prog_fd_out, &opts)) {
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
	/* Tables much smaller than production's: reset() clears them. */
	skel = mxwall_bpf__open();
	if (skel &&
	    (bpf_map__set_max_entries(skel->maps.mxw_allow_exact, 256) ||
	     bpf_map__set_max_entries(skel->maps.mxw_block_exact, 1024) ||
	     bpf_map__set_max_entries(skel->maps.mxw_src_bucket, 4096) ||
	     bpf_map__set_max_entries(skel->maps.mxw_pfx_bucket, 1024) ||
	     bpf_map__set_max_entries(skel->maps.mxw_ct, 1024) ||
	     bpf_map__set_max_entries(skel->maps.mxw_conn, 1024) ||
	     mxwall_bpf__load(skel))) {
		mxwall_bpf__destroy(skel);
		skel = NULL;
	}
	if (!skel) {
		fprintf(stderr, "SKIP: loading mxwall.bpf.o failed (%s): BPF unavailable?\n",
			strerror(errno));
		return SKIP;
	}
	prog_fd_in = bpf_program__fd(skel->progs.mxw_xdp_in);
	prog_fd_out = bpf_program__fd(skel->progs.mxw_xdp_out);
	for (int i = 0; i < MXW_SLOT_MAX; i++) {
		err = mxw_test_xsk_open(&tb_xsk[i], tb_ifname[i]);
		if (err) {
			fprintf(stderr, "\n*** WARNING: cannot bind an AF_XDP socket to %s "
				"queue 0 (%s): the to_inspection cases cannot get "
				"XDP_REDIRECT and are reported as NOT RUN ***\n\n",
				tb_ifname[i], strerror(-err));
			tb_xsk_close();
			break;
		}
	}
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		fprintf(stderr, "cannot count CPUs\n");
		return 1;
	}
	return 0;
}

static void backend_fini(void)
{
	tb_xsk_close();
	tb_unmap();
	mxwall_bpf__destroy(skel);
}
