// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_xdp.c - ns/packet of the XDP fast path per packet class, measured
 * with BPF_PROG_TEST_RUN (repeat N, the kernel's average per run), each as
 * a ratio against two baselines measured in the same run and interleaved
 * with it:
 *   - a bare XDP_DROP program (the floor of an XDP program run);
 *   - xdp-filter (Debian xdp-tools), object xdpfilt_alw_all.o loaded from
 *     its installed file, set up as the nearest equivalent of mxwall: policy
 *     "allow" with every non-mail TCP destination port denied and the
 *     blocked source denied.  It has no rate limiting, no return path and
 *     no state, so for the SYN-over-rate and return classes it is the cost
 *     of its nearest path (a pass), stated as such.
 * Then the blocklist lookup cost with 0, 1k, 100k and 1M exact /32s and
 * with 10k prefixes (mxwall only: xdp-filter's maps hold 10k entries),
 * and the cost of the inspection step on one established mail segment:
 * inspection off, on with the daemon absent, a bypassed flow, handed to
 * a bound AF_XDP socket (mxw_test_xsk.h), and no socket on the queue.
 *
 * Each figure is the median of RUNS runs.  test_run repeats one frame, so
 * map entries stay cache-hot: the scaling figures show the cost of the
 * lookup structure, not of cache misses a real flood would add.
 *
 * Needs root; runs in a private network namespace with its own veth pair
 * (deleted by the kernel on exit).  Nothing is attached, nothing pinned.
 * Exit 77 when root, BPF or the veth pair is unavailable.
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "mxwall_shared.h"
#include "mxwall.skel.h"
#include "bench_ops.skel.h"
#include "mxw_pktbuild.h"
#include "mxw_netns_pair.h"
#include "mxw_map_mmap.h"
#include "mxw_test_xsk.h"
#include "mxw_table.h"

#define SKIP 77
/* MXW_BENCH_QUICK=1: 3 runs of 200k, no scaling part (for development);
 * MXW_BENCH_CLASSES_ONLY=1: the first table only (for A/B runs). */
static int RUNS = 7;
static uint32_t REPEAT = 1000000u;
#define RUNS_MAX 7

/* xdp-filter's map flags (xdp-tools xdp-filter/common_kern_user.h) */
#define XF_FLAG_SRC (1u << 0)
#define XF_FLAG_DST (1u << 1)
#define XF_FLAG_TCP (1u << 2)

static const char *const xf_paths[] = {
	"/usr/lib/x86_64-linux-gnu/bpf/xdpfilt_alw_all.o",
	"/usr/lib/bpf/xdpfilt_alw_all.o",
	"/usr/share/xdp-tools/xdpfilt_alw_all.o",
	"/usr/local/lib/bpf/xdpfilt_alw_all.o",
};

static unsigned int if_out, if_in;
static int ncpus;
static struct mxwall_bpf *skel;
/* mxw_fd: mxw_xdp_in, the outside port's program, which every class runs;
 * mxw_out_fd: mxw_xdp_out, the inside port's (the return path's query) */
static int mxw_fd, mxw_out_fd, bare_fd = -1, xf_fd = -1;
static struct bpf_object *xf_obj;
static uint32_t cfg_flags;      /* MXW_CF_* for mxw_config() */
static uint32_t cfg_max_conns = 64;     /* ... and its connection cap */

static int run_once(int fd, const uint8_t *frame, size_t len, unsigned int ifindex,
		    uint32_t repeat, uint32_t *retval)
{
	struct xdp_md ctx = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = frame,
		.data_size_in = (uint32_t)len,
		.ctx_in = &ctx,
		.ctx_size_in = sizeof(ctx),
		.repeat = repeat);

	ctx.data_end = (uint32_t)len;
	ctx.ingress_ifindex = ifindex;
	if (bpf_prog_test_run_opts(fd, &opts)) {
		fprintf(stderr, "test_run: %s\n", strerror(errno));
		exit(1);
	}
	if (retval)
		*retval = opts.retval;
	return (int)opts.duration;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static int median(int *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_int);
	return v[n / 2];
}

/* ---- mxwall setup ------------------------------------------------------ */
/* The blocklist's exact table as mxwalld writes it: a mapping of the
 * ARRAY, bpf/mxw_table.h's writer, a fixed seed. */
static struct mxw_list_tab blk;

static void blk_map(void)
{
	struct bpf_map *m = skel->maps.mxw_block_exact;

	blk.b = mxw_map_mmap(m);
	blk.mask = bpf_map__max_entries(m) - 1;
	blk.seed = 0x5eed5eed12345678ull;
	blk.occ = mxw_map_mmap(skel->maps.mxw_block_exact_occ);
}

static int blk_put(const struct mxw_addr *a)
{
	struct mxw_list_entry e = { 0 };

	if (mxw_list_tab_get(&blk, a))
		return -EEXIST;
	return mxw_list_tab_insert(&blk, a, &e);
}
/* MXW_BENCH_OFF=pfx,conn,global switches those SYN checks off in
 * the bench's config, to see what each costs (docs/benchmarks.md: "what
 * an allowed SYN spends").  Unset in the recorded runs. */
static void mxw_config_ablate(struct mxw_config *c)
{
	const char *off = getenv("MXW_BENCH_OFF");

	if (!off)
		return;
	if (strstr(off, "pfx"))
		c->pfx_rate = 0;
	if (strstr(off, "conn"))
		c->max_conns_per_src = 0;
	if (strstr(off, "global"))
		c->global_rate = 0;
}

static void mxw_config(uint32_t src_rate, uint32_t src_burst)
{
	struct mxw_config c = { 0 };

	c.outside_ifindex = if_out;
	c.inside_ifindex = if_in;
	c.src_rate = src_rate;
	c.src_burst = src_burst;
	c.pfx_rate = MXW_RATE_MAX;
	c.pfx_burst = UINT32_MAX;
	c.global_rate = MXW_RATE_MAX;
	c.global_burst = UINT32_MAX;
	c.max_conns_per_src = cfg_max_conns;
	c.icmp_rate = 100;
	c.icmp_burst = 100;
	c.flags = cfg_flags;
	mxw_config_ablate(&c);
	c.src6_len = 64;
	c.pfx4_len = 24;
	c.pfx6_len = 48;
	mxw_config_key_masks(&c);
	/* as mxwalld writes them (ctl_bpf.c) */
	c.hash_seed = blk.seed;
	c.mask_allow = bpf_map__max_entries(skel->maps.mxw_allow_exact) - 1;
	c.mask_block = blk.mask;
	c.mask_src = bpf_map__max_entries(skel->maps.mxw_src_bucket) - 1;
	c.mask_pfx = bpf_map__max_entries(skel->maps.mxw_pfx_bucket) - 1;
	c.mask_ct = bpf_map__max_entries(skel->maps.mxw_ct) - 1;
	c.mask_conn = bpf_map__max_entries(skel->maps.mxw_conn) - 1;
	c.mask_bypass = bpf_map__max_entries(skel->maps.mxw_bypass) - 1;
	skel->data_mxw->mxw_data.cfg = c;
}

static void addr4(struct mxw_addr *a, uint32_t host_order)
{
	uint32_t be = htonl(host_order);

	memset(a, 0, sizeof(*a));
	a->a[10] = a->a[11] = 0xff;
	memcpy(&a->a[12], &be, 4);
}

/* mxw_data.hints as mxwalld keeps them (mxwall_shared.h): the bits of
 * the lists that hold nothing. */
static void mxw_hints(uint32_t empty)
{
	skel->data_mxw->mxw_data.hints.empty = empty;
}

static void mxw_port(uint32_t port, uint8_t flags)
{
	skel->data_mxw->mxw_data.ports[port % MXW_MAX_PORTS] = flags;
}

static void mxw_setup(void)
{
	static const uint32_t mail[] = { 25, 587, 110, 143, 465, 995, 993 };
	struct mxw_addr a;
	uint32_t i, slot;

	for (i = 0; i < sizeof(mail) / sizeof(mail[0]); i++)
		mxw_port(mail[i], MXW_PORT_MAIL);
	slot = MXW_SLOT_OUTSIDE;
	bpf_map_update_elem(bpf_map__fd(skel->maps.mxw_tx_ports), &slot, &if_out, BPF_ANY);
	slot = MXW_SLOT_INSIDE;
	bpf_map_update_elem(bpf_map__fd(skel->maps.mxw_tx_ports), &slot, &if_in, BPF_ANY);
	blk_map();
	addr4(&a, 0xcb007109);          /* 203.0.113.9 */
	blk_put(&a);
	/* no allowlist, no prefix blocks: the production default */
	mxw_hints(MXW_HE_ALLOW_EXACT | MXW_HE_ALLOW_LPM | MXW_HE_BLOCK_LPM);
	mxw_config(MXW_RATE_MAX, UINT32_MAX);
}

/* ---- baselines ---------------------------------------------------------- */
static int load_bare_drop(void)
{
	struct bpf_insn insns[2];
	/* as libbpf loads SEC("xdp"): a tail call needs the same type */
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_XDP);

	memset(insns, 0, sizeof(insns));
	insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;   /* r0 = XDP_DROP */
	insns[0].dst_reg = BPF_REG_0;
	insns[0].imm = XDP_DROP;
	insns[1].code = BPF_JMP | BPF_EXIT;
	return bpf_prog_load(BPF_PROG_TYPE_XDP, "bare_drop", "GPL", insns, 2, &o);
}

static int xf_update(struct bpf_map *m, const void *key, uint64_t flags)
{
	uint64_t *v = calloc((size_t)ncpus, sizeof(*v));
	int i, err;

	if (!v)
		exit(1);
	for (i = 0; i < ncpus; i++)
		v[i] = flags;
	err = bpf_map_update_elem(bpf_map__fd(m), key, v, BPF_ANY);
	free(v);
	return err;
}

/* xdp-filter as the nearest equivalent: allow by default, deny every
 * non-mail TCP destination port and the blocked source. */
static int load_xdp_filter(void)
{
	struct bpf_program *prog;
	struct bpf_map *m, *ports, *ipv4;
	const char *path = getenv("MXW_XDP_FILTER_OBJ");
	uint32_t p, key;
	size_t i;

	for (i = 0; !path && i < sizeof(xf_paths) / sizeof(xf_paths[0]); i++)
		if (access(xf_paths[i], R_OK) == 0)
			path = xf_paths[i];
	if (!path) {
		fprintf(stderr, "WARNING: xdp-filter object (xdpfilt_alw_all.o) not found; "
			"install xdp-tools or set MXW_XDP_FILTER_OBJ - no xdp-filter ratios\n");
		return -1;
	}
	xf_obj = bpf_object__open_file(path, NULL);
	if (!xf_obj) {
		fprintf(stderr, "WARNING: cannot open %s\n", path);
		return -1;
	}
	/* Its maps are pinned by name by default: keep them private. */
	bpf_object__for_each_map(m, xf_obj)
		bpf_map__set_pin_path(m, NULL);
	if (bpf_object__load(xf_obj)) {
		fprintf(stderr, "WARNING: cannot load %s\n", path);
		return -1;
	}
	prog = bpf_object__next_program(xf_obj, NULL);
	ports = bpf_object__find_map_by_name(xf_obj, "filter_ports");
	ipv4 = bpf_object__find_map_by_name(xf_obj, "filter_ipv4");
	if (!prog || !ports || !ipv4) {
		fprintf(stderr, "WARNING: unexpected xdp-filter object layout\n");
		return -1;
	}
	for (p = 0; p < 65536; p++) {
		if (p == 25 || p == 587 || p == 110 || p == 143 || p == 465 ||
		    p == 995 || p == 993)
			continue;
		key = htons((uint16_t)p);       /* its keys are network-order ports */
		if (xf_update(ports, &key, XF_FLAG_DST | XF_FLAG_TCP)) {
			perror("xdp-filter ports");
			return -1;
		}
	}
	key = htonl(0xcb007109);
	if (xf_update(ipv4, &key, XF_FLAG_SRC)) {
		perror("xdp-filter ipv4");
		return -1;
	}
	printf("xdp-filter: %s (policy allow, %u TCP dst ports denied, 1 source denied)\n",
	       path, 65536 - 7);
	return bpf_program__fd(prog);
}

/* ---- classes ------------------------------------------------------------ */
struct klass {
	const char *name;
	bool drop;              /* a drop class: target <= 2x bare XDP_DROP */
	struct pspec pkt;
	uint32_t src_rate, src_burst;
	uint32_t mxw_expect;    /* XDP action mxwall must return */
	const char *xf_note;
};

#define IN4 .family = 4, .dst = "10.0.0.25"

static const struct klass classes[] = {
	{ "non-mail port drop", true,
	  { IN4, .src = "192.0.2.10", .sport = 40000, .dport = 80, .flags = F_SYN },
	  MXW_RATE_MAX, UINT32_MAX, XDP_DROP, "port denied" },
	{ "blocked source", true,
	  { IN4, .src = "203.0.113.9", .sport = 40000, .dport = 25, .flags = F_SYN },
	  MXW_RATE_MAX, UINT32_MAX, XDP_DROP, "source denied" },
	{ "SYN over rate", true,
	  { IN4, .src = "192.0.2.11", .sport = 40000, .dport = 25, .flags = F_SYN },
	  1, 1, XDP_DROP, "no rate limit: passes" },
	{ "allowed SYN", false,
	  { IN4, .src = "192.0.2.12", .sport = 40000, .dport = 25, .flags = F_SYN },
	  MXW_RATE_MAX, UINT32_MAX, XDP_REDIRECT, "passes" },
	{ "established mail segment", false,
	  { IN4, .src = "192.0.2.12", .sport = 40000, .dport = 25, .flags = F_ACK | F_PSH, .payload = 100 },
	  MXW_RATE_MAX, UINT32_MAX, XDP_REDIRECT, "passes" },
	{ "return traffic (DNS answer)", false,
	  { IN4, .src = "198.51.100.53", .proto = PB_UDP, .sport = 53, .dport = 5353, .payload = 100 },
	  MXW_RATE_MAX, UINT32_MAX, XDP_REDIRECT, "no state: UDP passes" },
	/* not a target class: mxwall's fixed cost (parse, count, redirect) */
	{ "ARP (fixed cost, for reference)", false,
	  { .ethertype = 0x0806 },
	  MXW_RATE_MAX, UINT32_MAX, XDP_REDIRECT, "ARP sender lookup, passes" },
};
#define NCLASS (sizeof(classes) / sizeof(classes[0]))

static void open_return_path(void)
{
	uint8_t frame[PB_MAX_FRAME];
	struct pspec q = { .family = 4, .src = "10.0.0.25", .dst = "198.51.100.53",
			   .proto = PB_UDP, .sport = 5353, .dport = 53 };
	size_t len = pb_build(&q, frame);

	run_once(mxw_out_fd, frame, len, if_in, 1, NULL);
}

/* One timed run of class k: mxwall (its verdict checked), the bare floor
 * and, when xf is given and xdp-filter is loaded, xdp-filter. */
static void time_class(const struct klass *k, const char *what, int *mxw,
		       int *bare, int *xf)
{
	uint8_t frame[PB_MAX_FRAME];
	size_t len = pb_build(&k->pkt, frame);
	uint32_t ret;

	mxw_config(k->src_rate, k->src_burst);
	open_return_path();
	/* settle state (bucket empty, flow known) before timing */
	run_once(mxw_fd, frame, len, if_out, 16, NULL);
	*mxw = run_once(mxw_fd, frame, len, if_out, REPEAT, &ret);
	if (ret != k->mxw_expect) {
		fprintf(stderr, "class %s%s: mxwall returned %u, expected %u\n",
			k->name, what, ret, k->mxw_expect);
		exit(1);
	}
	*bare = run_once(bare_fd, frame, len, if_out, REPEAT, NULL);
	if (xf)
		*xf = xf_fd >= 0 ?
			run_once(xf_fd, frame, len, if_out, REPEAT, NULL) : 0;
}

static void bench_classes(void)
{
	int t_mxw[NCLASS][RUNS_MAX], t_xf[NCLASS][RUNS_MAX], t_bare[NCLASS][RUNS_MAX];
	size_t c;
	int r;

	for (r = 0; r < RUNS; r++)
		for (c = 0; c < NCLASS; c++)
			time_class(&classes[c], "", &t_mxw[c][r], &t_bare[c][r],
				   &t_xf[c][r]);
	printf("\nns/packet, median of %d runs of %u repeats (BPF_PROG_TEST_RUN)\n",
	       RUNS, REPEAT);
	printf("| class | mxwall | bare XDP_DROP | xdp-filter | mxwall / bare | mxwall / xdp-filter | xdp-filter path |\n");
	printf("|---|---|---|---|---|---|---|\n");
	for (c = 0; c < NCLASS; c++) {
		int m = median(t_mxw[c], RUNS), b = median(t_bare[c], RUNS);
		int x = median(t_xf[c], RUNS);

		printf("| %s | %d | %d | ", classes[c].name, m, b);
		if (xf_fd >= 0)
			printf("%d | %.2f | %.2f | %s |\n", x, (double)m / b,
			       x ? (double)m / x : 0.0, classes[c].xf_note);
		else
			printf("n/a | %.2f | n/a | n/a |\n", (double)m / b);
	}
}

/* The class whose source is the blocked /32 of mxw_setup(). */
static bool blocked_class(const struct klass *k)
{
	return k->pkt.src && strcmp(k->pkt.src, "203.0.113.9") == 0;
}

/* The same classes with nothing blocked at all (the usual case between
 * attacks): the blocked /32 removed and all four hints set, as mxwalld
 * leaves them; mxwall only, against the bare floor.  The blocked-source
 * class has no meaning here and is skipped. */
static void bench_classes_unblocked(void)
{
	int t_mxw[NCLASS][RUNS_MAX], t_bare[NCLASS][RUNS_MAX];
	struct mxw_addr a;
	size_t c;
	int r;

	addr4(&a, 0xcb007109);          /* 203.0.113.9 */
	mxw_list_tab_delete(&blk, &a);
	mxw_hints(MXW_HE_ALLOW_EXACT | MXW_HE_ALLOW_LPM | MXW_HE_BLOCK_EXACT |
		  MXW_HE_BLOCK_LPM);
	for (r = 0; r < RUNS; r++)
		for (c = 0; c < NCLASS; c++)
			if (!blocked_class(&classes[c]))
				time_class(&classes[c], " (unblocked)",
					   &t_mxw[c][r], &t_bare[c][r], NULL);
	printf("\nthe same classes with an empty blocklist (all four hints set), median of %d runs\n",
	       RUNS);
	printf("| class | mxwall | bare XDP_DROP | mxwall / bare |\n|---|---|---|---|\n");
	for (c = 0; c < NCLASS; c++) {
		const struct klass *k = &classes[c];
		int m, b;

		if (blocked_class(k))
			continue;
		m = median(t_mxw[c], RUNS);
		b = median(t_bare[c], RUNS);
		printf("| %s | %d | %d | %.2f |\n", k->name, m, b, (double)m / b);
	}
	/* back to the classes' setup */
	blk_put(&a);
	mxw_hints(MXW_HE_ALLOW_EXACT | MXW_HE_ALLOW_LPM | MXW_HE_BLOCK_LPM);
}

/* ---- blocklist scaling ---------------------------------------------------- */
static uint32_t rng_state = 0x12345678u;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* Fill block_exact up to n random /32s from 100.64.0.0/10 (never one of
 * the addresses the frames use). */
static void fill_exact(uint32_t *have, uint32_t n)
{
	struct mxw_addr a;
	int err;

	while (*have < n) {
		addr4(&a, 0x64400000u | (rnd() & 0x003fffffu));
		err = blk_put(&a);
		if (err == 0)
			(*have)++;
		else if (err != -EEXIST) {
			fprintf(stderr, "blocklist table full at %u entries\n", *have);
			exit(1);
		}
	}
}

static int time_med(const uint8_t *frame, size_t len, uint32_t expect)
{
	int t[RUNS_MAX], r;
	uint32_t ret;

	for (r = 0; r < RUNS; r++) {
		t[r] = run_once(mxw_fd, frame, len, if_out, REPEAT, &ret);
		if (ret != expect) {
			fprintf(stderr, "scaling: returned %u, expected %u\n", ret, expect);
			exit(1);
		}
	}
	return median(t, RUNS);
}

static void bench_scaling(void)
{
	static const uint32_t sizes[] = { 0, 1000, 100000, 1000000 };
	struct pspec hit = { IN4, .src = "203.0.113.9", .sport = 1, .dport = 25, .flags = F_SYN };
	/* an ACK (not fresh) to port 80: both lists and the return path are
	 * consulted and miss before the drop */
	struct pspec miss = { IN4, .src = "192.0.2.10", .sport = 1, .dport = 80, .flags = F_ACK };
	struct pspec pfx_hit = { IN4, .src = "198.18.7.9", .sport = 1, .dport = 25, .flags = F_SYN };
	uint8_t fh[PB_MAX_FRAME], fm[PB_MAX_FRAME], fp[PB_MAX_FRAME];
	size_t lh = pb_build(&hit, fh), lm = pb_build(&miss, fm), lp;
	struct mxw_list_entry e = { 0 };
	struct mxw_lpm_key k;
	uint32_t have = 1, i, n_pfx = 0, bare;
	int fd;

	mxw_config(MXW_RATE_MAX, UINT32_MAX);
	bare = (uint32_t)run_once(bare_fd, fh, lh, if_out, REPEAT, NULL);
	printf("\nblocklist lookup cost, ns/packet, median of %d runs (bare XDP_DROP %u ns)\n",
	       RUNS, bare);
	printf("| exact /32 entries | prefixes | blocked source (exact hit) | unlisted source, ACK to port 80 (all lists miss) |\n");
	printf("|---|---|---|---|\n");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		fill_exact(&have, sizes[i] ? sizes[i] : 1);
		printf("| %u | 0 | %d | %d |\n", have, time_med(fh, lh, XDP_DROP),
		       time_med(fm, lm, XDP_DROP));
	}

	/* 10k random /24s (and the one our prefix frame hits); the trie is
	 * no longer empty, so its hint goes first, as in mxwalld */
	mxw_hints(MXW_HE_ALLOW_EXACT | MXW_HE_ALLOW_LPM);
	fd = bpf_map__fd(skel->maps.mxw_block_lpm);
	while (n_pfx < 10000) {
		struct mxw_addr a;

		addr4(&a, 0x0b000000u | ((rnd() & 0x00ffff00u)));     /* 11.x.y.0/24 */
		memcpy(k.a, a.a, 16);
		k.prefixlen = 96 + 24;
		if (bpf_map_update_elem(fd, &k, &e, BPF_NOEXIST) == 0)
			n_pfx++;
	}
	{
		struct mxw_addr a;

		addr4(&a, 0xc6120700u);         /* 198.18.7.0/24 */
		memcpy(k.a, a.a, 16);
		k.prefixlen = 96 + 24;
		bpf_map_update_elem(fd, &k, &e, BPF_ANY);
		n_pfx++;
	}
	lp = pb_build(&pfx_hit, fp);
	printf("| %u | %u | %d (prefix hit: %d) | %d |\n", have, n_pfx,
	       time_med(fh, lh, XDP_DROP), time_med(fp, lp, XDP_DROP),
	       time_med(fm, lm, XDP_DROP));
}

/* ---- per-operation floors ---------------------------------------------------- */
/* Put the all-zero address and flow into bench_ops' own tables (seed 0),
 * which op_ltab_* and op_ftab_* look up. */
static void ops_own_tables(struct bench_ops_bpf *ops)
{
	struct bpf_map *ml = ops->maps.op_ltab, *mf = ops->maps.op_ftab;
	struct mxw_list_entry e = { 0 };
	struct mxw_flow_set *fs, *set;
	struct mxw_flow_key fk;
	struct mxw_list_tab lt = { 0 };
	struct mxw_addr a;
	uint64_t h;

	lt.b = mxw_map_mmap(ml);
	fs = mxw_map_mmap(mf);
	lt.mask = bpf_map__max_entries(ml) - 1;
	lt.seed = 0;
	memset(&a, 0, sizeof(a));
	mxw_list_tab_insert(&lt, &a, &e);
	memset(&fk, 0, sizeof(fk));
	h = mxw_hash_flow(&fk, 0);
	set = &fs[mxw_hash_idx1(h, bpf_map__max_entries(mf) - 1)];
	set->slot[0].key = fk;
	set->tag[0] = mxw_hash_tag(h);
	mxw_map_munmap(ml, lt.b);
	mxw_map_munmap(mf, fs);
}

/* Each bench_ops.bpf.c program does one step once; its cost is its time
 * minus the bare XDP_DROP measured on the same frame in the same run. */
static void bench_ops(void)
{
	struct pspec syn = { IN4, .src = "203.0.113.9", .sport = 40000, .dport = 25, .flags = F_SYN };
	struct mxw_list_entry le = { 0 };
	struct mxw_flow_val fv = { 0 };
	struct mxw_flow_key fk = { 0 };
	struct mxw_addr a = { 0 };
	uint8_t frame[PB_MAX_FRAME];
	size_t len = pb_build(&syn, frame);
	struct bench_ops_bpf *ops = bench_ops_bpf__open_and_load();
	uint32_t slot = MXW_SLOT_INSIDE;
	struct {
		const char *name;
		struct bpf_program *prog;
		int t[RUNS_MAX];
	} op[10];
	int t_bare[RUNS_MAX], n = 0, i, r;

	if (!ops) {
		printf("\nper-operation floors: NOT RUN, cannot load bench_ops.bpf.o\n");
		return;
	}
	bpf_map_update_elem(bpf_map__fd(ops->maps.op_exact), &a, &le, BPF_ANY);
	bpf_map_update_elem(bpf_map__fd(ops->maps.op_flow), &fk, &fv, BPF_ANY);
	bpf_map_update_elem(bpf_map__fd(ops->maps.op_tx), &slot, &if_in, BPF_ANY);
	ops_own_tables(ops);
#define OP(p, text) do { op[n].name = text; op[n].prog = ops->progs.p; n++; } while (0)
	OP(op_parse, "parse (Ethernet, IPv4, TCP into struct mxw_pkt)");
	OP(op_count, "per-CPU reason counter update");
	OP(op_coarse_clock, "bpf_ktime_get_coarse_ns()");
	OP(op_exact_hit, "hash lookup, 16-byte key (list, bucket), hit");
	OP(op_flow_hit, "LRU hash lookup, 40-byte flow key, hit");
	OP(op_redirect, "devmap redirect to the other port");
	OP(op_jiffy_clock, "coarse clock cached per CPU and jiffy (`mxw_clock`)");
	OP(op_ltab_hit, "own list table (`mxw_table.h`), 16-byte key, hit");
	OP(op_ltab_miss, "own list table, miss (first bucket; the second only if it holds keys from the first)");
	OP(op_ftab_hit, "own flow table, 40-byte key, hit");
#undef OP
	for (r = 0; r < RUNS; r++) {
		for (i = 0; i < n; i++)
			op[i].t[r] = run_once(bpf_program__fd(op[i].prog), frame, len,
					      if_out, REPEAT, NULL);
		t_bare[r] = run_once(bare_fd, frame, len, if_out, REPEAT, NULL);
	}
	printf("\nper-operation floors, ns/packet, median of %d runs (bare XDP_DROP %d ns)\n",
	       RUNS, median(t_bare, RUNS));
	printf("| operation | program | minus bare |\n|---|---|---|\n");
	for (i = 0; i < n; i++) {
		int m = median(op[i].t, RUNS);

		printf("| %s | %d | %d |\n", op[i].name, m, m - median(t_bare, RUNS));
	}
	bench_ops_bpf__destroy(ops);
}

/* ---- main ------------------------------------------------------------------ */
/* ---- inspection step ------------------------------------------------------ */
enum insp_case { IC_OFF, IC_ABSENT, IC_BYPASS, IC_SOCKET, IC_NOSOCK, IC_MAX };

static const struct {
	const char *name;
	uint32_t expect;
} insp_cases[IC_MAX] = {
	[IC_OFF] = { "inspection off (pass_mail)", XDP_REDIRECT },
	[IC_ABSENT] = { "on, daemon absent (pass_uninspected)", XDP_REDIRECT },
	[IC_BYPASS] = { "on, flow bypassed (pass_bypass)", XDP_REDIRECT },
	[IC_SOCKET] = { "on, to the AF_XDP socket (to_inspection)", XDP_REDIRECT },
	[IC_NOSOCK] = { "on, no socket on the queue (err_xsk_redirect + pass_uninspected)", XDP_REDIRECT },
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Maps and config for one case of the inspection step. */
static void insp_setup(enum insp_case ic, int xsk_fd)
{
	struct mxw_insp_state st = { 0 };
	struct mxw_flow_key k = { 0 };
	struct mxw_flow_set *bsets = mxw_map_mmap(skel->maps.mxw_bypass);
	struct mxw_flow_slot *bs;
	uint32_t bmask = bpf_map__max_entries(skel->maps.mxw_bypass) - 1;
	__u32 zero = 0, key = mxw_xsk_key(MXW_SLOT_OUTSIDE, 0);
	int fd_x = bpf_map__fd(skel->maps.mxw_xsks);

	cfg_flags = ic == IC_OFF ? 0 : MXW_CF_INSPECT;
	mxw_config(MXW_RATE_MAX, UINT32_MAX);
	if (ic == IC_SOCKET || ic == IC_NOSOCK || ic == IC_BYPASS)
		st.alive_until_ns = mono_ns() + 3600ull * 1000000000ull;
	bpf_map_update_elem(bpf_map__fd(skel->maps.mxw_insp), &zero, &st, BPF_ANY);
	addr4(&k.src, 0xc000020c);      /* 192.0.2.12 */
	addr4(&k.dst, 0x0a000019);      /* 10.0.0.25 */
	k.sport = htons(40000);
	k.dport = htons(25);
	k.proto = PB_TCP;
	/* as mxwalld writes it (ctl_bpf_bypass_add); otherwise expired */
	if (ic == IC_BYPASS &&
	    mxw_flow_tab_put(bsets, bmask, blk.seed, &k,
			     mono_ns() + 3600ull * 1000000000ull, mono_ns())) {
		fprintf(stderr, "bypass write: slot busy\n");
		exit(1);
	}
	if (ic != IC_BYPASS && (bs = mxw_flow_tab_get(bsets, bmask, blk.seed, &k)))
		bs->expires_ns = 0;
	mxw_map_munmap(skel->maps.mxw_bypass, bsets);
	if (ic == IC_SOCKET)
		bpf_map_update_elem(fd_x, &key, &xsk_fd, BPF_ANY);
	else
		bpf_map_delete_elem(fd_x, &key);
}

/* One row of an inspection-step table: a case of insp_setup, its name
 * and the XDP action mxwall must return. */
struct insp_row {
	enum insp_case ic;
	const char *name;
	uint32_t expect;
};

/* Time frame ps under each row's case, with the bare program in the same
 * runs, and print the table; rows[0] is the case the last column divides
 * by (inspection off). */
static void insp_table(const char *title, const struct pspec *ps,
		       const struct insp_row *rows, int n, int xsk_fd)
{
	int t[IC_MAX][RUNS_MAX], t_bare[RUNS_MAX];
	uint8_t frame[PB_MAX_FRAME];
	size_t len = pb_build(ps, frame);
	uint32_t ret;

	for (int r = 0; r < RUNS; r++) {
		for (int c = 0; c < n; c++) {
			insp_setup(rows[c].ic, xsk_fd);
			run_once(mxw_fd, frame, len, if_out, 16, NULL);
			t[c][r] = run_once(mxw_fd, frame, len, if_out, REPEAT, &ret);
			if (ret != rows[c].expect) {
				fprintf(stderr, "%s, %s: mxwall returned %u, expected %u\n",
					title, rows[c].name, ret, rows[c].expect);
				exit(1);
			}
		}
		t_bare[r] = run_once(bare_fd, frame, len, if_out, REPEAT, NULL);
	}
	printf("\n%s, ns/packet, median of %d runs\n", title, RUNS);
	printf("| case | mxwall | mxwall / bare XDP_DROP | mxwall / inspection off |\n");
	printf("|---|---|---|---|\n");
	for (int c = 0; c < n; c++) {
		int m = median(t[c], RUNS), off = median(t[0], RUNS);

		printf("| %s | %d | %.2f | %.2f |\n", rows[c].name, m,
		       (double)m / median(t_bare, RUNS), (double)m / off);
	}
}

static void bench_inspection(void)
{
	struct pspec seg = { IN4, .src = "192.0.2.12", .sport = 40000, .dport = 25,
			     .flags = F_ACK | F_PSH, .payload = 100 };
	struct pspec syn = { IN4, .src = "192.0.2.12", .sport = 40000, .dport = 25,
			     .flags = F_SYN };
	/* The allowed SYN with inspection on also forgets the bypass entry
	 * of its 4-tuple (none here: the lookup misses). */
	static const struct insp_row syn_rows[] = {
		{ IC_OFF, "inspection off", XDP_REDIRECT },
		{ IC_SOCKET, "inspection on (forgets the 4-tuple's bypass entry)", XDP_REDIRECT },
	};
	struct insp_row seg_rows[IC_MAX];
	uint8_t f = MXW_PORT_MAIL | MXW_PORT_INSPECT;
	struct mxw_test_xsk x;
	uint32_t port = 25;
	int err;

	err = mxw_test_xsk_open(&x, "mxwb-out");
	if (err) {
		printf("\ninspection step: NOT RUN, no AF_XDP socket on mxwb-out: %s\n",
		       strerror(-err));
		return;
	}
	for (int c = 0; c < IC_MAX; c++)
		seg_rows[c] = (struct insp_row){ (enum insp_case)c,
			insp_cases[c].name, insp_cases[c].expect };
	mxw_port(port, f);
	insp_table("inspection step, established mail segment to port 25", &seg,
		   seg_rows, IC_MAX, xsk_socket__fd(x.xsk));
	insp_table("allowed SYN to port 25", &syn, syn_rows, 2,
		   xsk_socket__fd(x.xsk));
	/* back to the classes' setup */
	insp_setup(IC_OFF, -1);
	mxw_port(port, MXW_PORT_MAIL);
	mxw_test_xsk_close(&x);
}

/*
 * New SYNs.  The classes repeat one frame, so their allowed SYN is a
 * retransmission: every table read hits.  bench_ops.bpf.c's wrappers give
 * each run a new 4-tuple and tail-call the program under test; each case
 * is timed through mxwall, xdp-filter and the bare program behind the
 * same wrapper, so "own work" is a program's time minus the bare one's
 * (the rewrite and the tail call cancel out).  The connection cap is
 * raised to 1M here: 4096 busy sources would otherwise reach 64 flows
 * each within a run, and the case would measure cap drops.  The tables
 * keep their state across runs, so after the first run they are full
 * and every new key evicts an old one, as in a long flood.  The last
 * case is the drop path of the same kind of flood from one host: its
 * source bucket (rate 1/s, burst 1) is empty after the first SYN.
 * MXW_BENCH_NEW_SYNS_ONLY=1 runs this table alone (for A/B runs).
 */
static void bench_new_syns(void)
{
	struct pspec syn = { IN4, .src = "192.0.2.12", .sport = 40000, .dport = 25,
			     .flags = F_SYN };
	static const struct {
		const char *name, *prog;
		uint32_t rate;          /* the source bucket's rate and burst */
		uint32_t verdict;       /* mxwall's, for every run */
	} cases[] = {
		{ "the same SYN again (the class: retransmission)", "op_same_syn",
		  MXW_RATE_MAX, XDP_REDIRECT },
		{ "a new port from one of 4096 recent sources", "op_new_port",
		  MXW_RATE_MAX, XDP_REDIRECT },
		{ "a new source every SYN (spoofed flood, 4M addresses)", "op_new_source",
		  MXW_RATE_MAX, XDP_REDIRECT },
		{ "a new port every SYN from one source over its rate (dropped)",
		  "op_one_source", 1, XDP_DROP },
	};
	enum { NCASE = sizeof(cases) / sizeof(cases[0]) };
	enum { T_MXW, T_XF, T_BARE, T_N };
	int t[NCASE][T_N][RUNS_MAX], target[T_N] = { mxw_fd, xf_fd, bare_fd };
	struct bench_ops_bpf *ops = bench_ops_bpf__open_and_load();
	uint8_t frame[PB_MAX_FRAME];
	size_t len = pb_build(&syn, frame);
	uint32_t zero = 0, ret;
	int next_fd;

	if (!ops) {
		fprintf(stderr, "bench_ops: %s\n", strerror(errno));
		exit(1);
	}
	next_fd = bpf_map__fd(ops->maps.op_next);
	cfg_max_conns = 1000000;
	for (int r = 0; r < RUNS; r++) {
		for (size_t c = 0; c < NCASE; c++) {
			struct bpf_program *p =
				bpf_object__find_program_by_name(ops->obj, cases[c].prog);
			int fd = p ? bpf_program__fd(p) : -1;

			mxw_config(cases[c].rate, cases[c].rate == MXW_RATE_MAX ?
						  UINT32_MAX : cases[c].rate);
			for (int k = 0; k < T_N; k++) {
				t[c][k][r] = 0;
				if (target[k] < 0 || fd < 0)
					continue;
				if (bpf_map_update_elem(next_fd, &zero, &target[k], BPF_ANY)) {
					fprintf(stderr, "%s: cannot be tail-called: %s\n",
						k == T_XF ? "WARNING: xdp-filter" : "op_next",
						strerror(errno));
					if (k != T_XF)
						exit(1);
					target[k] = -1;
					continue;
				}
				run_once(fd, frame, len, if_out, 16, NULL);
				t[c][k][r] = run_once(fd, frame, len, if_out, REPEAT, &ret);
				if (k == T_MXW && ret != cases[c].verdict) {
					fprintf(stderr, "new SYNs, %s: mxwall returned %u\n",
						cases[c].name, ret);
					exit(1);
				}
			}
		}
	}
	printf("\nSYNs to port 25 through a wrapper that gives each run a new 4-tuple, ns/packet, median of %d runs\n",
	       RUNS);
	printf("| case | mxwall | xdp-filter | bare | mxwall own work | xdp-filter own work | mxwall / xdp-filter, own work |\n");
	printf("|---|---|---|---|---|---|---|\n");
	for (size_t c = 0; c < NCASE; c++) {
		int m = median(t[c][T_MXW], RUNS), x = median(t[c][T_XF], RUNS);
		int b = median(t[c][T_BARE], RUNS);

		printf("| %s | %d | %d | %d | %d | %d | %.2f |\n", cases[c].name,
		       m, x, b, m - b, x - b,
		       x > b ? (double)(m - b) / (x - b) : 0.0);
	}
	cfg_max_conns = 64;
	mxw_config(MXW_RATE_MAX, UINT32_MAX);
	bench_ops_bpf__destroy(ops);
}

/*
 * MXW_BENCH_PROFILE=<class name prefix>: run only that class for about
 * ten seconds and print its ns/packet, for `perf record` (docs/benchmarks.md,
 * "Profiling").
 */
static int bench_profile(const char *name)
{
	int mxw, bare;
	size_t c;

	for (c = 0; c < NCLASS; c++)
		if (strncmp(classes[c].name, name, strlen(name)) == 0)
			break;
	if (c == NCLASS) {
		fprintf(stderr, "MXW_BENCH_PROFILE: no class named %s\n", name);
		return 1;
	}
	for (int r = 0; r < 50; r++) {
		time_class(&classes[c], "", &mxw, &bare, NULL);
		printf("%s: mxwall %d ns, bare %d ns\n", classes[c].name, mxw,
		       bare);
	}
	return 0;
}

int main(void)
{
	const char *profile = getenv("MXW_BENCH_PROFILE");
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getenv("MXW_BENCH_QUICK")) {
		RUNS = 3;
		REPEAT = 200000u;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: the XDP benchmark needs root\n");
		return SKIP;
	}
	err = mxw_netns_pair("mxwb-out", "mxwb-in", &if_out, &if_in);
	if (err)
		return err;
	ncpus = libbpf_num_possible_cpus();
	skel = mxwall_bpf__open_and_load();
	if (!skel || ncpus <= 0) {
		fprintf(stderr, "SKIP: cannot load mxwall.bpf.o: %s\n", strerror(errno));
		return SKIP;
	}
	mxw_fd = bpf_program__fd(skel->progs.mxw_xdp_in);
	mxw_out_fd = bpf_program__fd(skel->progs.mxw_xdp_out);
	bare_fd = load_bare_drop();
	if (bare_fd < 0) {
		fprintf(stderr, "cannot load the bare XDP_DROP program: %s\n", strerror(errno));
		return 1;
	}
	xf_fd = load_xdp_filter();
	mxw_setup();
	if (profile)
		return bench_profile(profile);

	if (getenv("MXW_BENCH_NEW_SYNS_ONLY")) {
		bench_new_syns();
		goto out;
	}
	bench_classes();
	if (!getenv("MXW_BENCH_CLASSES_ONLY")) {
		bench_classes_unblocked();
		bench_ops();
		bench_inspection();
		bench_new_syns();
		if (!getenv("MXW_BENCH_QUICK"))
			bench_scaling();
	}

out:
	if (xf_obj)
		bpf_object__close(xf_obj);
	close(bare_fd);
	mxwall_bpf__destroy(skel);
	return 0;
}
