/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_backend_bpf.h - the kernel backend of test_mxwall_bpf.c: the real
 * mxwall.bpf.o, loaded (never attached) from its skeleton, its maps, and
 * BPF_PROG_TEST_RUN.  Included once, by test_mxwall_bpf.c.
 */
#include <net/if.h>
#include <sched.h>
#include <sys/mman.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#include "mxwall.skel.h"
#include "mxw_netns_pair.h"

static const char backend_name[] = "bpf";
static struct mxwall_bpf *skel;
static int prog_fd;

/*
 * A real AF_XDP socket per appliance port (copy mode, queue 0), so that
 * bpf_redirect_map() on mxw_xsks can answer XDP_REDIRECT under test_run
 * (an XSKMAP accepts only a bound socket).  libxdp is told not to load its
 * own XDP program: only the map entry matters, test_run does not deliver.
 */
struct tb_xsk {
	struct xsk_socket *xsk;
	struct xsk_umem *umem;
	struct xsk_ring_prod fill, tx;
	struct xsk_ring_cons comp, rx;
	void *area;
};
#define TB_XSK_FRAMES   64
static struct tb_xsk tb_xsk[MXW_SLOT_MAX];
static const char *const tb_ifname[MXW_SLOT_MAX] = { "mxwt-out", "mxwt-in" };

/* Bind the socket of slot; 0 or -errno (reported by the caller). */
static int tb_xsk_open(int slot)
{
	struct xsk_socket_config xc = {
		.rx_size = XSK_RING_CONS__DEFAULT_NUM_DESCS,
		.tx_size = XSK_RING_PROD__DEFAULT_NUM_DESCS,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY,
	};
	struct tb_xsk *x = &tb_xsk[slot];
	size_t size = (size_t)TB_XSK_FRAMES * XSK_UMEM__DEFAULT_FRAME_SIZE;
	int err;

	x->area = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (x->area == MAP_FAILED) {
		x->area = NULL;
		return -errno;
	}
	err = xsk_umem__create(&x->umem, x->area, size, &x->fill, &x->comp, NULL);
	if (err)
		return err;
	return xsk_socket__create(&x->xsk, tb_ifname[slot], 0, x->umem,
				  &x->rx, &x->tx, &xc);
}

static void tb_xsk_close(void)
{
	for (int i = 0; i < MXW_SLOT_MAX; i++) {
		struct tb_xsk *x = &tb_xsk[i];

		if (x->xsk)
			xsk_socket__delete(x->xsk);
		if (x->umem)
			xsk_umem__delete(x->umem);
		if (x->area)
			munmap(x->area, (size_t)TB_XSK_FRAMES *
			       XSK_UMEM__DEFAULT_FRAME_SIZE);
		memset(x, 0, sizeof(*x));
	}
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
	ctx.ingress_ifindex = port == P_OUT ? if_out : port == P_IN ? if_in : 1;
	ctx.rx_queue_index = rx_queue;
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
	for (int i = 0; i < MXW_SLOT_MAX; i++) {
		err = tb_xsk_open(i);
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
	mxwall_bpf__destroy(skel);
}
