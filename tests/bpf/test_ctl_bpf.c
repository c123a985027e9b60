// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_ctl_bpf.c - mxwalld's loader side of the inspection path
 * (control/ctl_bpf.c): which maps are pinned, the MXW_CF_INSPECT switch,
 * ctl_bpf_bypass_add() and ctl_bpf_insp_alive() seen by the real program
 * through BPF_PROG_TEST_RUN, and bypass entries surviving a restart; the
 * mxw_data.hints the list writes keep (cleared before an insert, set after the
 * last delete, recomputed at a restart).
 *
 * How: private network and mount namespaces (the kernel tears both down
 * with the process), a veth pair for the two ports, and a private bpffs
 * mounted on a temporary directory for the pins, so nothing touches the
 * host's /sys/fs/bpf.  The to_inspection verdict itself, with a bound
 * AF_XDP socket, is test_mxwall_bpf.c's business.
 *
 * Needs root and BPF: exits 77 (meson: skipped) with a message otherwise.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "ctl_bpf.h"
#include "ctl_config.h"
#include "ctl_reconcile.h"
#include "mxwall.skel.h"
#include "mxw_netns_pair.h"
#include "mxw_pktbuild.h"
#include "../mxw_check.h"

#define SKIP 77
static unsigned int if_out, if_in;


static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The client -> server key of 192.0.2.10:40000 -> 10.0.0.25:25. */
static void flow_key(struct mxw_flow_key *k)
{
	static const uint8_t c[4] = { 192, 0, 2, 10 }, s[4] = { 10, 0, 0, 25 };

	memset(k, 0, sizeof(*k));
	k->src.a[10] = k->src.a[11] = 0xff;
	memcpy(&k->src.a[12], c, 4);
	k->dst.a[10] = k->dst.a[11] = 0xff;
	memcpy(&k->dst.a[12], s, 4);
	k->sport = htons(40000);
	k->dport = htons(25);
	k->proto = PB_TCP;
}

/* Frame s from the outside port; returns the reason counters that moved
 * (bit per reason) and the action. */
static uint64_t run_spec(struct ctl_bpf *b, const struct pspec *sp, int *action)
{
	struct mxw_counter before[MXW_R_MAX], after[MXW_R_MAX];
	uint8_t frame[PB_MAX_FRAME];
	size_t len = pb_build(sp, frame);
	struct xdp_md ctx = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame,
		    .data_size_in = (uint32_t)len, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	uint64_t moved = 0;

	ctx.data_end = (uint32_t)len;
	ctx.ingress_ifindex = if_out;
	if (ctl_bpf_stats(b, before) ||
	    bpf_prog_test_run_opts(bpf_program__fd(b->skel->progs.mxw_xdp_in), &o) ||
	    ctl_bpf_stats(b, after)) {
		fprintf(stderr, "test run: %s\n", strerror(errno));
		exit(1);
	}
	for (int r = 0; r < MXW_R_MAX; r++)
		if (after[r].packets != before[r].packets)
			moved |= 1ull << r;
	*action = (int)o.retval;
	return moved;
}

/* One client payload segment of that flow. */
static uint64_t run_payload(struct ctl_bpf *b, int *action)
{
	struct pspec s = { .family = 4, .src = "192.0.2.10", .dst = "10.0.0.25",
			   .proto = PB_TCP, .sport = 40000, .dport = 25,
			   .flags = F_ACK | F_PSH, .payload = 20 };

	return run_spec(b, &s, action);
}

#define BIT(r) (1ull << (r))

static bool pinned(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static uint32_t config_flags(struct ctl_bpf *b)
{
	return b->data->cfg.flags;
}

static struct ctl_config *make_config(const char *pin_dir, const char *tmp)
{
	char json[1024], err[CTL_ERR_MAX];
	struct ctl_config *cfg;

	snprintf(json, sizeof(json),
		 "{\"interfaces\": {\"outside\": \"mxwc-out\", \"inside\": \"mxwc-in\"},"
		 " \"bpf\": {\"pin_dir\": \"%s\"}, \"state_dir\": \"%s/state\","
		 " \"control\": {\"socket\": \"%s/sock\"}}", pin_dir, tmp, tmp);
	cfg = ctl_config_parse(json, strlen(json), err, sizeof(err));
	if (!cfg) {
		fprintf(stderr, "config: %s\n", err);
		exit(1);
	}
	return cfg;
}

static void test_loader(const char *pin_dir, const char *tmp)
{
	struct ctl_config *cfg = make_config(pin_dir, tmp);
	struct mxw_flow_key k, kl;
	struct mxw_flow_slot *v;
	struct mxw_insp_state st;
	struct bpf_map_info info;
	__u32 info_len = sizeof(info);
	struct ctl_bpf b;
	uint64_t now, moved;
	char path[PATH_MAX];
	__u32 zero = 0;
	int act, fd;

	/* A pin left by a build whose mxw_bypass was an LRU hash: replaced
	 * (its entries are disposable), not a reason to refuse the start. */
	mkdir(pin_dir, 0700);
	snprintf(path, sizeof(path), "%s/mxw_bypass", pin_dir);
	fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "mxw_bypass",
			    sizeof(struct mxw_flow_key), 16, 1024, NULL);
	CHECK(fd >= 0 && bpf_obj_pin(fd, path) == 0, "legacy mxw_bypass pin: %s",
	      strerror(errno));
	if (fd >= 0)
		close(fd);

	cfg->insp.enabled = true;
	if (ctl_bpf_open(&b, cfg) || ctl_bpf_apply(&b, cfg)) {
		fprintf(stderr, "ctl_bpf_open/apply failed\n");
		exit(1);
	}
	CHECK(!b.pins_reused, "fresh pin dir reported as reused");
	fd = bpf_obj_get(path);
	memset(&info, 0, sizeof(info));
	CHECK(fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &info_len) == 0 &&
	      info.type == BPF_MAP_TYPE_ARRAY,
	      "legacy mxw_bypass pin not replaced (type %u)", info.type);
	if (fd >= 0)
		close(fd);
	CHECK(config_flags(&b) & MXW_CF_INSPECT, "insp.enabled did not set MXW_CF_INSPECT");
	CHECK(pinned(pin_dir, "mxw_insp"), "mxw_insp not pinned");
	CHECK(pinned(pin_dir, "mxw_bypass"), "mxw_bypass not pinned");
	CHECK(!pinned(pin_dir, "mxw_xsks"), "mxw_xsks pinned (sockets belong to one daemon)");

	/* Heartbeat absent: fail-open, no socket tried. */
	moved = run_payload(&b, &act);
	CHECK(moved == BIT(MXW_R_PASS_UNINSPECTED) && act == XDP_REDIRECT,
	      "no heartbeat: counters %#llx action %d", (unsigned long long)moved, act);

	/* Alive: the program tries the (empty) socket slot. */
	now = mono_ns();
	CHECK(ctl_bpf_insp_alive(&b, now + 60ull * 1000000000ull, 0) == 0, "insp_alive");
	CHECK(bpf_map_lookup_elem(b.fd_insp, &zero, &st) == 0 &&
	      st.alive_until_ns == now + 60ull * 1000000000ull && st.flags == 0,
	      "heartbeat not in mxw_insp");
	moved = run_payload(&b, &act);
	CHECK(moved == (BIT(MXW_R_PASS_UNINSPECTED) | BIT(MXW_R_ERR_XSK)) &&
	      act == XDP_REDIRECT, "alive, no socket: counters %#llx action %d",
	      (unsigned long long)moved, act);

	/* Overloaded: fail mode without trying a socket. */
	CHECK(ctl_bpf_insp_alive(&b, now + 60ull * 1000000000ull, MXW_IF_OVERLOAD) == 0,
	      "insp_alive overload");
	moved = run_payload(&b, &act);
	CHECK(moved == BIT(MXW_R_PASS_UNINSPECTED), "overload: counters %#llx",
	      (unsigned long long)moved);

	/* Bypass: junk in the key's padding must not matter. */
	flow_key(&k);
	memset(k._pad, 0xa5, sizeof(k._pad));
	CHECK(ctl_bpf_bypass_add(&b, &k, now + 60ull * 1000000000ull) == 0, "bypass_add");
	flow_key(&kl);
	v = mxw_flow_tab_get(b.m_bypass.p, b.mask[CTL_T_BYPASS], b.seed, &kl);
	CHECK(v && v->expires_ns == now + 60ull * 1000000000ull,
	      "bypass entry not found");
	/* Added again (mxwalld re-trusts a flow): the one entry moves on. */
	CHECK(ctl_bpf_bypass_add(&b, &k, now + 90ull * 1000000000ull) == 0,
	      "bypass_add again");
	CHECK(mxw_flow_tab_get(b.m_bypass.p, b.mask[CTL_T_BYPASS], b.seed, &kl) == v &&
	      v->expires_ns == now + 90ull * 1000000000ull,
	      "bypass entry not updated in place");
	moved = run_payload(&b, &act);
	CHECK(moved == BIT(MXW_R_PASS_BYPASS) && act == XDP_REDIRECT,
	      "bypassed: counters %#llx action %d", (unsigned long long)moved, act);
	k.proto = PB_UDP;
	CHECK(ctl_bpf_bypass_add(&b, &k, now) == -EINVAL, "bypass_add accepted UDP");

	/* Inspection switched off: back to pass_mail, bypass or not. */
	cfg->insp.enabled = false;
	CHECK(ctl_bpf_apply(&b, cfg) == 0, "apply without inspection");
	CHECK(!(config_flags(&b) & MXW_CF_INSPECT), "MXW_CF_INSPECT left set");
	moved = run_payload(&b, &act);
	CHECK(moved == BIT(MXW_R_PASS_MAIL), "inspection off: counters %#llx",
	      (unsigned long long)moved);
	ctl_bpf_close(&b, false);

	/* Restart: the bypass entry and heartbeat maps come back from the
	 * pins, with a new, empty socket map. */
	cfg->insp.enabled = true;
	if (ctl_bpf_open(&b, cfg) || ctl_bpf_apply(&b, cfg)) {
		fprintf(stderr, "reopen failed\n");
		exit(1);
	}
	CHECK(b.pins_reused, "restart did not reuse the pins");
	CHECK(mxw_flow_tab_get(b.m_bypass.p, b.mask[CTL_T_BYPASS], b.seed, &kl),
	      "bypass lost at restart");
	CHECK(bpf_map_lookup_elem(b.fd_insp, &zero, &st) == 0 &&
	      (st.flags & MXW_IF_OVERLOAD), "heartbeat state lost at restart");
	moved = run_payload(&b, &act);
	CHECK(moved == BIT(MXW_R_PASS_BYPASS), "bypass after restart: counters %#llx",
	      (unsigned long long)moved);
	ctl_bpf_close(&b, false);

	/* fastpath.table_sizes.bypass changed: the pin of the old size is
	 * replaced at start (its entries are disposable), the mask follows */
	cfg->table_size[CTL_T_BYPASS] = 4096;
	if (ctl_bpf_open(&b, cfg) || ctl_bpf_apply(&b, cfg)) {
		fprintf(stderr, "reopen with another bypass size failed\n");
		exit(1);
	}
	{
		CHECK(b.m_bypass.n == 4096 / MXW_FLOW_WAYS &&
		      b.mask[CTL_T_BYPASS] == 4096 / MXW_FLOW_WAYS - 1 &&
		      b.data->cfg.mask_bypass == 4096 / MXW_FLOW_WAYS - 1,
		      "bypass resized: %u sets, mask %u", b.m_bypass.n,
		      b.mask[CTL_T_BYPASS]);
	}
	CHECK(!mxw_flow_tab_get(b.m_bypass.p, b.mask[CTL_T_BYPASS], b.seed, &kl),
	      "an entry survived the resize");
	CHECK(ctl_bpf_bypass_add(&b, &kl, mono_ns() + 60ull * 1000000000ull) == 0 &&
	      run_payload(&b, &act) == BIT(MXW_R_PASS_BYPASS),
	      "bypass of the new size not used by the fast path");
	ctl_bpf_close(&b, false);
	ctl_config_free(cfg);
}

static uint32_t hints_map(struct ctl_bpf *b);

/* Two writers (the main thread and the inspection worker, in mxwalld)
 * each adding and removing their own blocked address on one list. */
struct hint_writer {
	struct ctl_bpf *b;
	const char *addr;
	int rounds;
	int errors;             /* a put or del that failed */
	int broken;             /* own entry present, bit still set */
};

#define HINT_ROUNDS 3000

static void *hint_writer_run(void *arg)
{
	struct hint_writer *w = arg;
	struct mxw_list_entry e = { .reason = MXW_LR_POLICY };
	struct ctl_prefix p;
	char err[64];
	bool created;

	ctl_prefix_parse(w->addr, &p, err, sizeof(err));
	for (int i = 0; i < w->rounds; i++) {
		if (ctl_bpf_list_put(w->b, CTL_LIST_BLOCK, &p, &e, false, &created)) {
			w->errors++;
			continue;
		}
		/* Only this thread removes its entry: until it does, the map
		 * is not empty, so the bit must be clear, whatever the other
		 * writer's delete just did. */
		if (hints_map(w->b) & MXW_HE_BLOCK_EXACT)
			w->broken++;
		if (ctl_bpf_list_del(w->b, CTL_LIST_BLOCK, &p))
			w->errors++;
	}
	return NULL;
}

#define HE_ALL (MXW_HE_ALLOW_EXACT | MXW_HE_ALLOW_LPM | MXW_HE_BLOCK_EXACT | \
		MXW_HE_BLOCK_LPM)

static uint32_t hints_map(struct ctl_bpf *b)
{
	return b->data->hints.empty;
}

static struct ctl_prefix pfx(const char *text)
{
	struct ctl_prefix p;
	char err[128];

	if (ctl_prefix_parse(text, &p, err, sizeof(err))) {
		fprintf(stderr, "prefix %s: %s\n", text, err);
		exit(1);
	}
	return p;
}

/* Reason of a SYN to port dport from src through the real program. */
static uint64_t syn_from(struct ctl_bpf *b, const char *src, uint16_t dport)
{
	struct pspec s = { .family = 4, .dst = "10.0.0.25", .proto = PB_TCP,
			   .sport = 40001, .dport = dport, .flags = F_SYN };
	int act;

	s.src = src;
	return run_spec(b, &s, &act);
}

/*
 * mxw_data.hints kept by the list writes: cleared before the first entry of a
 * map, set once the last one is gone (not while one is left), never
 * changed by a failed delete, recomputed from the maps at a restart with
 * reused pins even when the pinned value lies.
 */
static void test_hints(const char *pin_dir, const char *tmp)
{
	struct ctl_config *cfg = make_config(pin_dir, tmp);
	struct mxw_list_entry e = { .reason = MXW_LR_MANUAL };
	struct ctl_prefix b9 = pfx("203.0.113.9"), b10 = pfx("203.0.113.10");
	struct ctl_prefix bp = pfx("198.18.7.0/24"), ax = pfx("198.51.100.7");
	struct mxw_hints lie = { .empty = HE_ALL };
	struct ctl_bpf b;
	bool created;

	if (ctl_bpf_open(&b, cfg) || ctl_bpf_apply(&b, cfg)) {
		fprintf(stderr, "ctl_bpf_open/apply failed\n");
		exit(1);
	}
	CHECK(hints_map(&b) == 0, "fresh map promises %#x before the count",
	      hints_map(&b));
	/* Before the start count, no delete may promise anything. */
	CHECK(ctl_bpf_list_put(&b, CTL_LIST_BLOCK, &b9, &e, false, &created) == 0 &&
	      ctl_bpf_list_del(&b, CTL_LIST_BLOCK, &b9) == 0 && hints_map(&b) == 0,
	      "uncounted map promised empty: %#x", hints_map(&b));
	CHECK(ctl_bpf_list_count(&b) == 0 && hints_map(&b) == HE_ALL,
	      "no entries: hints %#x, want all four", hints_map(&b));

	CHECK(ctl_bpf_list_put(&b, CTL_LIST_BLOCK, &b9, &e, false, &created) == 0 &&
	      created, "put block exact");
	CHECK(hints_map(&b) == (HE_ALL & ~MXW_HE_BLOCK_EXACT),
	      "after the first exact block: hints %#x", hints_map(&b));
	CHECK(syn_from(&b, "203.0.113.9", 25) == BIT(MXW_R_DROP_BLOCK),
	      "exact block not enforced");
	CHECK(ctl_bpf_list_put(&b, CTL_LIST_BLOCK, &bp, &e, false, &created) == 0,
	      "put block prefix");
	CHECK(hints_map(&b) == (MXW_HE_ALLOW_EXACT | MXW_HE_ALLOW_LPM),
	      "after the first prefix block: hints %#x", hints_map(&b));
	CHECK(syn_from(&b, "198.18.7.9", 25) == BIT(MXW_R_DROP_BLOCK),
	      "prefix block not enforced");
	CHECK(ctl_bpf_list_put(&b, CTL_LIST_BLOCK, &b9, &e, true, &created) == 0 &&
	      !created && hints_map(&b) == (MXW_HE_ALLOW_EXACT | MXW_HE_ALLOW_LPM),
	      "replace changed the hints");

	CHECK(ctl_bpf_list_put(&b, CTL_LIST_BLOCK, &b10, &e, false, &created) == 0,
	      "put second exact block");
	CHECK(ctl_bpf_list_del(&b, CTL_LIST_BLOCK, &b9) == 0, "del first");
	CHECK(!(hints_map(&b) & MXW_HE_BLOCK_EXACT),
	      "exact block promised empty with one entry left");
	CHECK(syn_from(&b, "203.0.113.10", 25) == BIT(MXW_R_DROP_BLOCK),
	      "remaining block not enforced");
	CHECK(ctl_bpf_list_del(&b, CTL_LIST_BLOCK, &b9) == -ENOENT &&
	      !(hints_map(&b) & MXW_HE_BLOCK_EXACT), "failed delete set the hint");
	CHECK(ctl_bpf_list_del(&b, CTL_LIST_BLOCK, &b10) == 0 &&
	      (hints_map(&b) & MXW_HE_BLOCK_EXACT), "last exact block gone, hint not set");
	CHECK(syn_from(&b, "203.0.113.10", 25) == BIT(MXW_R_PASS_MAIL_SYN),
	      "unblocked source still dropped");
	CHECK(ctl_bpf_list_del(&b, CTL_LIST_BLOCK, &bp) == 0 && hints_map(&b) == HE_ALL,
	      "last prefix gone: hints %#x", hints_map(&b));

	/* Two threads blocking and unblocking at once: a delete emptying
	 * the map between the other's clear and insert must not promise
	 * "empty" over the entry that then arrives. */
	{
		struct hint_writer w[2] = {
			{ .b = &b, .addr = "203.0.113.21", .rounds = HINT_ROUNDS },
			{ .b = &b, .addr = "203.0.113.22", .rounds = HINT_ROUNDS },
		};
		pthread_t t[2];

		for (int i = 0; i < 2; i++)
			pthread_create(&t[i], NULL, hint_writer_run, &w[i]);
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		CHECK(w[0].errors + w[1].errors == 0, "concurrent writers: %d failed writes",
		      w[0].errors + w[1].errors);
		CHECK(w[0].broken + w[1].broken == 0,
		      "concurrent writers: %d times an entry sat behind a set bit",
		      w[0].broken + w[1].broken);
		CHECK(b.n_exact[CTL_LIST_BLOCK] == 0 && hints_map(&b) == HE_ALL,
		      "after the writers: %llu entries counted, hints %#x",
		      (unsigned long long)b.n_exact[CTL_LIST_BLOCK], hints_map(&b));
	}

	/* An allow entry, then a lying pinned value (a crash, an old tool):
	 * the restart must not trust it. */
	CHECK(ctl_bpf_list_put(&b, CTL_LIST_ALLOW, &ax, &e, false, &created) == 0 &&
	      hints_map(&b) == (HE_ALL & ~MXW_HE_ALLOW_EXACT), "put allow exact");
	ctl_bpf_close(&b, false);
	if (ctl_bpf_open(&b, cfg)) {
		fprintf(stderr, "reopen failed\n");
		exit(1);
	}
	CHECK(b.pins_reused && b.hints == (HE_ALL & ~MXW_HE_ALLOW_EXACT),
	      "restart: mirror %#x not read from the pinned map", b.hints);
	b.data->hints = lie;
	CHECK(ctl_bpf_apply(&b, cfg) == 0 && ctl_bpf_list_count(&b) == 0,
	      "apply/count after restart");
	CHECK(hints_map(&b) == (HE_ALL & ~MXW_HE_ALLOW_EXACT),
	      "restart: hints %#x not recomputed from the maps", hints_map(&b));
	CHECK(syn_from(&b, "198.51.100.7", 80) == BIT(MXW_R_PASS_ALLOW),
	      "allow entry lost behind the hints");
	ctl_bpf_close(&b, false);
	ctl_config_free(cfg);
}

/* Reason of a SYN to port 25 from IPv6 src (to a protected-side host). */
static uint64_t syn6_from(struct ctl_bpf *b, const char *src)
{
	struct pspec s = { .family = 6, .dst = "2001:db8:ffff::25", .proto = PB_TCP,
			   .sport = 40001, .dport = 25, .flags = F_SYN };
	int act;

	s.src = src;
	return run_spec(b, &s, &act);
}

static struct mxw_config config_map(struct ctl_bpf *b)
{
	return b->data->cfg;
}

static void open_apply(struct ctl_bpf *b, struct ctl_config *cfg)
{
	if (ctl_bpf_open(b, cfg) || ctl_bpf_apply(b, cfg) || ctl_bpf_list_count(b)) {
		fprintf(stderr, "ctl_bpf_open/apply/count failed\n");
		exit(1);
	}
}

/* Slots of list l's table not in one of their two buckets for seed. */
static unsigned misplaced(struct ctl_bpf *b, enum ctl_list l, uint64_t seed)
{
	const struct mxw_list_tab *t = &b->tab[l];
	unsigned n = 0;

	for (uint32_t bi = 0; bi <= t->mask; bi++)
		for (int i = 0; i < MXW_LIST_WAYS; i++) {
			uint64_t h;

			if (t->b[bi].tag[i] <= MXW_TAG_BUSY)
				continue;
			h = mxw_hash_addr(&t->b[bi].slot[i].key, seed);
			if (t->b[bi].tag[i] != mxw_hash_tag(h) ||
			    (bi != mxw_hash_idx1(h, t->mask) &&
			     bi != mxw_hash_idx2(h, t->mask)))
				n++;
		}
	return n;
}

struct walk_seen {
	int hosts, prefixes, v6_hosts;
};

static int walk_cb(const struct ctl_prefix *p, const struct mxw_list_entry *v,
		   void *arg)
{
	struct walk_seen *w = arg;

	(void)v;
	if (p->plen == 128) {
		w->hosts++;
		if (!(p->a[10] == 0xff && p->a[11] == 0xff))
			w->v6_hosts++;
	} else {
		w->prefixes++;
	}
	return 0;
}

static struct mxw_addr addr_of(const char *text)
{
	struct ctl_prefix p = pfx(text);
	struct mxw_addr a;

	memcpy(a.a, p.a, 16);
	return a;
}

/* Table geometry: entries to buckets, a power of two, at least 1. */
static void test_geometry(void)
{
	static const struct { enum ctl_table t; uint32_t n, want; } rows[] = {
		{ CTL_T_BLOCK_EXACT, 1024, 256 },
		{ CTL_T_BLOCK_EXACT, 1000, 256 },       /* 250 -> 256 */
		{ CTL_T_ALLOW_EXACT, 3, 1 },
		{ CTL_T_ALLOW_EXACT, MXW_ALLOW_EXACT_MAX, 2 * MXW_ALLOW_EXACT_MAX / MXW_LIST_WAYS },
		{ CTL_T_SRC_BUCKET, 1024, 256 },
		{ CTL_T_SRC_BUCKET, 1200, 512 },        /* 300 -> 512 */
		{ CTL_T_PFX_BUCKET, 3, 1 },
		{ CTL_T_CONN, 6000, 2048 },             /* 1500 -> 2048 */
		{ CTL_T_CT, 1, 1 },
		{ CTL_T_BLOCK_PREFIX, 100, 100 },       /* tries count entries */
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint32_t got = ctl_bpf_table_buckets(rows[i].t, rows[i].n);

		CHECK(got == rows[i].want, "table %d, %u entries: %u buckets, want %u",
		      rows[i].t, rows[i].n, got, rows[i].want);
	}
}

/*
 * Exact lists on the array tables: put/get/del/walk/expire, IPv4 and
 * IPv6, replace in place, the capacity check, the seed and masks in
 * mxw_data, a restart with reused pins (lists and seed kept), then a
 * restart whose mxw_data pin was removed (new seed: the tables are
 * rebuilt and every entry still works in the fast path).
 */
static void test_lists(const char *pin_dir, const char *tmp)
{
	struct ctl_config *cfg = make_config(pin_dir, tmp);
	struct ctl_prefix h4 = pfx("203.0.113.50"), h6 = pfx("2001:db8:5::7");
	struct ctl_prefix a6 = pfx("2001:db8:6::8"), old = pfx("203.0.113.51");
	struct ctl_prefix p6 = pfx("2001:db8:7::/48");
	struct mxw_list_entry e = { .reason = MXW_LR_MANUAL }, got;
	struct mxw_list_bucket *bk1 = NULL, *bk2 = NULL;
	struct walk_seen ws = { 0 };
	struct mxw_config mc;
	struct ctl_bpf b;
	uint64_t seed, now, next = 0;
	bool created;
	int i1, i2;
	char path[600];

	open_apply(&b, cfg);
	mc = config_map(&b);
	seed = b.seed;
	CHECK(seed != 0 && mc.hash_seed == seed, "seed %#llx, in mxw_data %#llx",
	      (unsigned long long)seed, (unsigned long long)mc.hash_seed);
	CHECK(mc.mask_block + 1 == ctl_bpf_table_buckets(CTL_T_BLOCK_EXACT, MXW_BLOCK_EXACT_MAX) &&
	      mc.mask_block + 1 == b.m_exact[CTL_LIST_BLOCK].n &&
	      mc.mask_allow + 1 == 2 * MXW_ALLOW_EXACT_MAX / MXW_LIST_WAYS &&
	      mc.mask_src + 1 == MXW_BUCKET_MAX / MXW_SRC_WAYS &&
	      mc.mask_pfx + 1 == MXW_PFX_BUCKET_MAX / MXW_SRC_WAYS &&
	      mc.mask_ct + 1 == MXW_CT_MAX / MXW_FLOW_WAYS &&
	      mc.mask_conn + 1 == MXW_CONN_MAX / MXW_FLOW_WAYS,
	      "masks in mxw_data: block %u allow %u src %u pfx %u ct %u conn %u",
	      mc.mask_block, mc.mask_allow, mc.mask_src, mc.mask_pfx, mc.mask_ct,
	      mc.mask_conn);
	CHECK(!pinned(pin_dir, "mxw_clock"), "mxw_clock pinned (a per-CPU cache)");

	CHECK(ctl_bpf_list_put(&b, CTL_LIST_BLOCK, &h4, &e, false, &created) == 0 &&
	      created, "put IPv4 host");
	CHECK(ctl_bpf_list_put(&b, CTL_LIST_BLOCK, &h6, &e, false, &created) == 0 &&
	      created, "put IPv6 host");
	CHECK(ctl_bpf_list_put(&b, CTL_LIST_BLOCK, &p6, &e, false, &created) == 0 &&
	      created, "put IPv6 prefix");
	CHECK(ctl_bpf_list_put(&b, CTL_LIST_ALLOW, &a6, &e, false, &created) == 0 &&
	      created, "put IPv6 allow");
	CHECK(b.n_exact[CTL_LIST_BLOCK] == 2 && b.n_lpm[CTL_LIST_BLOCK] == 1 &&
	      b.n_exact[CTL_LIST_ALLOW] == 1, "counts %llu/%llu/%llu",
	      (unsigned long long)b.n_exact[CTL_LIST_BLOCK],
	      (unsigned long long)b.n_lpm[CTL_LIST_BLOCK],
	      (unsigned long long)b.n_exact[CTL_LIST_ALLOW]);
	CHECK(syn_from(&b, "203.0.113.50", 25) == BIT(MXW_R_DROP_BLOCK), "IPv4 block not enforced");
	CHECK(syn6_from(&b, "2001:db8:5::7") == BIT(MXW_R_DROP_BLOCK), "IPv6 block not enforced");
	CHECK(syn6_from(&b, "2001:db8:5::8") == BIT(MXW_R_PASS_MAIL_SYN), "IPv6 neighbour blocked");
	CHECK(syn6_from(&b, "2001:db8:6::8") == BIT(MXW_R_PASS_ALLOW), "IPv6 allow not enforced");

	/* Replace in place: same slot, new value; without replace: EEXIST. */
	i1 = mxw_list_tab_locate(&b.tab[CTL_LIST_BLOCK],
				 (const struct mxw_addr *)h6.a, &bk1);
	e.reason = MXW_LR_POLICY;
	e.flags = MXW_LF_SHADOW;
	CHECK(ctl_bpf_list_put(&b, CTL_LIST_BLOCK, &h6, &e, false, &created) == -EEXIST &&
	      !created, "put without replace over an entry");
	CHECK(ctl_bpf_list_put(&b, CTL_LIST_BLOCK, &h6, &e, true, &created) == 0 &&
	      !created, "replace");
	i2 = mxw_list_tab_locate(&b.tab[CTL_LIST_BLOCK],
				 (const struct mxw_addr *)h6.a, &bk2);
	CHECK(i1 >= 0 && i1 == i2 && bk1 == bk2, "replace moved the entry");
	CHECK(ctl_bpf_list_get(&b, CTL_LIST_BLOCK, &h6, &got) == 0 &&
	      got.reason == MXW_LR_POLICY && got.flags == MXW_LF_SHADOW, "replaced value");
	CHECK(b.n_exact[CTL_LIST_BLOCK] == 2, "replace counted");
	CHECK(syn6_from(&b, "2001:db8:5::7") == (BIT(MXW_R_SHADOW_BLOCK) | BIT(MXW_R_PASS_MAIL_SYN)),
	      "shadow replace not seen by the fast path");
	e.flags = 0;
	{
		struct mxw_addr x6 = addr_of("2001:db8:6::8"), y6 = addr_of("2001:db8:7::1");
		struct mxw_addr s6 = addr_of("2001:db8:5::7"), n6 = addr_of("2001:db8:6::9");

		CHECK(ctl_bpf_list_match(&b, CTL_LIST_ALLOW, &x6, mono_ns()) &&
		      !ctl_bpf_list_match(&b, CTL_LIST_ALLOW, &n6, mono_ns()) &&
		      ctl_bpf_list_match(&b, CTL_LIST_BLOCK, &y6, mono_ns()) &&
		      !ctl_bpf_list_match(&b, CTL_LIST_BLOCK, &s6, mono_ns()),
		      "list_match: exact, absent, prefix, shadow");
	}
	{
		/* a shadow address inside an enforced prefix: still blocked,
		 * for the policy's view and for the fast path */
		struct ctl_prefix in6 = pfx("2001:db8:7::2");
		struct mxw_addr i6 = addr_of("2001:db8:7::2");

		e.flags = MXW_LF_SHADOW;
		CHECK(ctl_bpf_list_put(&b, CTL_LIST_BLOCK, &in6, &e, false, &created) == 0,
		      "put shadow inside a prefix");
		CHECK(ctl_bpf_list_match(&b, CTL_LIST_BLOCK, &i6, mono_ns()),
		      "list_match: shadow address inside a blocked prefix not blocked");
		CHECK(syn6_from(&b, "2001:db8:7::2") == BIT(MXW_R_DROP_BLOCK),
		      "fast path: shadow address inside a blocked prefix not blocked");
		CHECK(ctl_bpf_list_del(&b, CTL_LIST_BLOCK, &in6) == 0, "del shadow");
		e.flags = 0;
	}
	{
		/* A shadow prefix inside an enforced one (a shadow-mode
		 * escalation inside a manual block): the trie's longest
		 * match is the shadow /64, and the walk finds the /48
		 * behind it by the length recorded in the entry, which
		 * mxwalld never shows. */
		struct ctl_prefix sp = pfx("2001:db8:7:1::/64");
		struct mxw_addr i6 = addr_of("2001:db8:7:1::5");
		struct mxw_lpm_key k = {.prefixlen = 64};
		struct mxw_list_entry raw;

		memcpy(k.a, sp.a, 16);
		e.flags = MXW_LF_SHADOW;
		CHECK(ctl_bpf_list_put(&b, CTL_LIST_BLOCK, &sp, &e, false, &created) == 0,
		      "put shadow prefix inside a prefix");
		e.flags = 0;
		CHECK(bpf_map_lookup_elem(b.fd_lpm[CTL_LIST_BLOCK], &k, &raw) == 0 &&
		      raw.flags == mxw_list_trie_flags(MXW_LF_SHADOW, 64),
		      "prefix length not recorded (flags %#x)", raw.flags);
		CHECK(ctl_bpf_list_get(&b, CTL_LIST_BLOCK, &sp, &got) == 0 &&
		      got.flags == MXW_LF_SHADOW, "list_get shows the recorded length (%#x)",
		      got.flags);
		CHECK(ctl_bpf_list_match(&b, CTL_LIST_BLOCK, &i6, mono_ns()),
		      "list_match: shadow prefix inside a blocked prefix not blocked");
		CHECK(syn6_from(&b, "2001:db8:7:1::5") == BIT(MXW_R_DROP_BLOCK),
		      "fast path: shadow prefix inside a blocked prefix not blocked");

		/* The same entry as an mxwalld that did not record lengths
		 * left it: the walk stops there, until a start records it. */
		raw.flags = MXW_LF_SHADOW;
		CHECK(bpf_map_update_elem(b.fd_lpm[CTL_LIST_BLOCK], &k, &raw, BPF_EXIST) == 0,
		      "write a legacy entry");
		CHECK(syn6_from(&b, "2001:db8:7:1::5") ==
		      (BIT(MXW_R_SHADOW_BLOCK) | BIT(MXW_R_PASS_MAIL_SYN)),
		      "legacy entry: the walk went past an unknown length");
		ctl_bpf_close(&b, false);
		open_apply(&b, cfg);
		CHECK(bpf_map_lookup_elem(b.fd_lpm[CTL_LIST_BLOCK], &k, &raw) == 0 &&
		      raw.flags == mxw_list_trie_flags(MXW_LF_SHADOW, 64),
		      "start did not record the length of a legacy entry (flags %#x)",
		      raw.flags);
		CHECK(syn6_from(&b, "2001:db8:7:1::5") == BIT(MXW_R_DROP_BLOCK),
		      "fast path after the start: shadow prefix inside a blocked prefix");
		CHECK(ctl_bpf_list_del(&b, CTL_LIST_BLOCK, &sp) == 0, "del shadow prefix");
	}

	ctl_bpf_list_walk(&b, CTL_LIST_BLOCK, walk_cb, &ws);
	CHECK(ws.hosts == 2 && ws.v6_hosts == 1 && ws.prefixes == 1,
	      "walk: %d hosts (%d IPv6), %d prefixes", ws.hosts, ws.v6_hosts, ws.prefixes);

	/* Expire: an entry past its time goes, one ahead stays and sets next. */
	now = mono_ns();
	e.expires_ns = now - 1;
	CHECK(ctl_bpf_list_put(&b, CTL_LIST_BLOCK, &old, &e, false, &created) == 0, "put expired");
	e.expires_ns = now + 3600ull * 1000000000ull;
	CHECK(ctl_bpf_list_put(&b, CTL_LIST_BLOCK, &h4, &e, true, &created) == 0, "set TTL");
	CHECK(ctl_bpf_list_expire(&b, CTL_LIST_BLOCK, now, &next) == 1 &&
	      next == e.expires_ns, "expire: next %llu", (unsigned long long)next);
	CHECK(ctl_bpf_list_get(&b, CTL_LIST_BLOCK, &old, &got) == -ENOENT &&
	      ctl_bpf_list_get(&b, CTL_LIST_BLOCK, &h4, &got) == 0 &&
	      b.n_exact[CTL_LIST_BLOCK] == 2, "expire removed the wrong entries");
	CHECK(ctl_bpf_list_del(&b, CTL_LIST_BLOCK, &old) == -ENOENT, "del of an absent host");
	e.expires_ns = 0;

	/* Capacity: max_exact entries, then table_full (E2BIG). */
	b.max_exact[CTL_LIST_BLOCK] = 2;
	CHECK(ctl_bpf_list_put(&b, CTL_LIST_BLOCK, &old, &e, false, &created) == -E2BIG,
	      "put past max_exact");
	CHECK(ctl_bpf_list_put(&b, CTL_LIST_BLOCK, &h4, &e, true, &created) == 0,
	      "replace at capacity");
	ctl_bpf_close(&b, false);

	/* Restart with the pins: same seed, same entries, same counts. */
	open_apply(&b, cfg);
	CHECK(b.pins_reused && b.seed == seed && config_map(&b).hash_seed == seed,
	      "restart changed the seed");
	CHECK(b.n_exact[CTL_LIST_BLOCK] == 2 && b.n_lpm[CTL_LIST_BLOCK] == 1 &&
	      b.n_exact[CTL_LIST_ALLOW] == 1 && b.n_spill[CTL_LIST_BLOCK] == 0,
	      "restart: counts %llu/%llu/%llu",
	      (unsigned long long)b.n_exact[CTL_LIST_BLOCK],
	      (unsigned long long)b.n_lpm[CTL_LIST_BLOCK],
	      (unsigned long long)b.n_exact[CTL_LIST_ALLOW]);
	CHECK(ctl_bpf_list_get(&b, CTL_LIST_BLOCK, &h6, &got) == 0 &&
	      got.reason == MXW_LR_POLICY, "restart lost the IPv6 entry");
	CHECK(syn_from(&b, "203.0.113.50", 25) == BIT(MXW_R_DROP_BLOCK), "block lost at restart");
	ctl_bpf_close(&b, false);

	/* The config pin gone: a new seed, the list tables rebuilt. */
	snprintf(path, sizeof(path), "%s/mxw_data", pin_dir);
	CHECK(unlink(path) == 0, "unlink %s", path);
	open_apply(&b, cfg);
	CHECK(b.seed != seed && config_map(&b).hash_seed == b.seed, "no new seed");
	CHECK(misplaced(&b, CTL_LIST_BLOCK, b.seed) == 0 &&
	      misplaced(&b, CTL_LIST_ALLOW, b.seed) == 0, "tables not rebuilt for the new seed");
	CHECK(b.n_exact[CTL_LIST_BLOCK] == 2 && b.n_exact[CTL_LIST_ALLOW] == 1,
	      "rebuild lost entries");
	CHECK(syn_from(&b, "203.0.113.50", 25) == BIT(MXW_R_DROP_BLOCK) &&
	      syn6_from(&b, "2001:db8:6::8") == BIT(MXW_R_PASS_ALLOW),
	      "rebuilt entries not enforced");
	CHECK(ctl_bpf_list_del(&b, CTL_LIST_BLOCK, &h4) == 0 &&
	      ctl_bpf_list_del(&b, CTL_LIST_BLOCK, &h6) == 0 &&
	      (hints_map(&b) & MXW_HE_BLOCK_EXACT), "del after rebuild");
	ctl_bpf_close(&b, false);
	ctl_config_free(cfg);
}

/*
 * Both buckets full: a one-bucket table (block_exact 4, below the
 * parser's minimum: the struct is the test's way in) with the capacity
 * raised past its 8 slots.  Addresses 9 and 10 go to the trie as /128,
 * are found, walked, enforced, counted again at a restart, and deleted;
 * the hints follow.
 */
static void test_spill(const char *pin_dir, const char *tmp)
{
	struct ctl_config *cfg = make_config(pin_dir, tmp);
	struct mxw_list_entry e = { .reason = MXW_LR_MANUAL }, got;
	struct walk_seen ws = { 0 };
	struct ctl_prefix p[10];
	struct ctl_bpf b;
	bool created;
	char text[64];

	cfg->table_size[CTL_T_BLOCK_EXACT] = 4;
	open_apply(&b, cfg);
	CHECK(b.m_exact[CTL_LIST_BLOCK].n == 1, "one bucket: %u", b.m_exact[CTL_LIST_BLOCK].n);
	b.max_exact[CTL_LIST_BLOCK] = 64;
	for (int i = 0; i < 10; i++) {
		snprintf(text, sizeof(text), "198.51.100.%d", i + 1);
		p[i] = pfx(text);
		CHECK(ctl_bpf_list_put(&b, CTL_LIST_BLOCK, &p[i], &e, false, &created) == 0 &&
		      created, "put %s", text);
	}
	CHECK(b.n_exact[CTL_LIST_BLOCK] == 10 && b.n_spill[CTL_LIST_BLOCK] == 2 &&
	      b.n_lpm[CTL_LIST_BLOCK] == 0, "spill counts: %llu exact, %llu spilled",
	      (unsigned long long)b.n_exact[CTL_LIST_BLOCK],
	      (unsigned long long)b.n_spill[CTL_LIST_BLOCK]);
	CHECK(!(hints_map(&b) & (MXW_HE_BLOCK_EXACT | MXW_HE_BLOCK_LPM)),
	      "hints %#x promise a map holding entries", hints_map(&b));
	CHECK(ctl_bpf_list_get(&b, CTL_LIST_BLOCK, &p[9], &got) == 0 &&
	      got.reason == MXW_LR_MANUAL, "spilled entry not found");
	CHECK(ctl_bpf_list_put(&b, CTL_LIST_BLOCK, &p[9], &e, false, &created) == -EEXIST,
	      "spilled entry added twice");
	e.reason = MXW_LR_POLICY;
	CHECK(ctl_bpf_list_put(&b, CTL_LIST_BLOCK, &p[9], &e, true, &created) == 0 && !created &&
	      ctl_bpf_list_get(&b, CTL_LIST_BLOCK, &p[9], &got) == 0 &&
	      got.reason == MXW_LR_POLICY && b.n_spill[CTL_LIST_BLOCK] == 2,
	      "spilled entry not replaced in place");
	ctl_bpf_list_walk(&b, CTL_LIST_BLOCK, walk_cb, &ws);
	CHECK(ws.hosts == 10 && ws.prefixes == 0, "walk: %d hosts, %d prefixes",
	      ws.hosts, ws.prefixes);
	CHECK(syn_from(&b, "198.51.100.10", 25) == BIT(MXW_R_DROP_BLOCK) &&
	      syn_from(&b, "198.51.100.1", 25) == BIT(MXW_R_DROP_BLOCK),
	      "spilled / table entries not enforced");
	ctl_bpf_close(&b, false);

	open_apply(&b, cfg);
	CHECK(b.n_exact[CTL_LIST_BLOCK] == 10 && b.n_spill[CTL_LIST_BLOCK] == 2 &&
	      b.n_lpm[CTL_LIST_BLOCK] == 0, "restart recount: %llu exact, %llu spilled",
	      (unsigned long long)b.n_exact[CTL_LIST_BLOCK],
	      (unsigned long long)b.n_spill[CTL_LIST_BLOCK]);
	CHECK(ctl_bpf_list_del(&b, CTL_LIST_BLOCK, &p[9]) == 0 &&
	      b.n_spill[CTL_LIST_BLOCK] == 1, "del of a spilled entry");
	CHECK(syn_from(&b, "198.51.100.10", 25) == BIT(MXW_R_PASS_MAIL_SYN),
	      "deleted spilled entry still enforced");
	for (int i = 0; i < 9; i++)
		CHECK(ctl_bpf_list_del(&b, CTL_LIST_BLOCK, &p[i]) == 0, "del %d", i);
	CHECK(b.n_exact[CTL_LIST_BLOCK] == 0 && b.n_spill[CTL_LIST_BLOCK] == 0 &&
	      (hints_map(&b) & (MXW_HE_BLOCK_EXACT | MXW_HE_BLOCK_LPM)) ==
	      (MXW_HE_BLOCK_EXACT | MXW_HE_BLOCK_LPM), "all gone: hints %#x", hints_map(&b));
	ctl_bpf_close(&b, false);
	ctl_config_free(cfg);
}

/* Keys of list l's table sitting in their second bucket, counted by
 * first bucket into n[] (mask + 1 entries); returns the total. */
static unsigned second_recount(struct ctl_bpf *b, enum ctl_list l, uint32_t *n)
{
	const struct mxw_list_tab *t = &b->tab[l];
	unsigned total = 0;

	memset(n, 0, ((size_t)t->mask + 1) * sizeof(*n));
	for (uint32_t bi = 0; bi <= t->mask; bi++)
		for (int i = 0; i < MXW_LIST_WAYS; i++) {
			uint32_t first;

			if (t->b[bi].tag[i] <= MXW_TAG_BUSY)
				continue;
			first = mxw_hash_idx1(mxw_hash_addr(&t->b[bi].slot[i].key,
							    t->seed), t->mask);
			if (first != bi) {
				n[first]++;
				total++;
			}
		}
	return total;
}

static bool second_counts_ok(struct ctl_bpf *b, enum ctl_list l)
{
	const struct mxw_list_tab *t = &b->tab[l];
	uint32_t n[4];

	second_recount(b, l, n);
	for (uint32_t bi = 0; bi <= t->mask; bi++)
		if (t->b[bi].n_second != n[bi])
			return false;
	return true;
}

/*
 * A miss reads one bucket unless the first bucket's n_second says some of
 * its keys live in their second (mxw_list_tab_insert, MXW_LIST_EXACT).
 * In a four-bucket table (block_exact 16), ten addresses whose first
 * bucket is 0 and second is not: six fill bucket 0 to MXW_LIST_FIRST_FILL,
 * the other four go to their second.  Each is enforced, the counts match
 * a recount after every put and del, and a restart recounts counts left
 * wrong (too low hides entries from the fast path, shown here).
 */
#define SECOND_KEYS     10

static void test_second_bucket(const char *pin_dir, const char *tmp)
{
	struct ctl_config *cfg = make_config(pin_dir, tmp);
	struct mxw_list_entry e = { .reason = MXW_LR_MANUAL };
	struct ctl_prefix p[SECOND_KEYS];
	char text[SECOND_KEYS][64];
	const struct mxw_list_tab *t;
	struct ctl_bpf b;
	bool created, counts = true;
	uint32_t n[4];
	int have = 0, enforced;

	cfg->table_size[CTL_T_BLOCK_EXACT] = 16;
	open_apply(&b, cfg);
	t = &b.tab[CTL_LIST_BLOCK];
	CHECK(t->mask == 3, "four buckets: %u", t->mask + 1);
	for (int i = 0; i < 512 && have < SECOND_KEYS; i++) {
		struct mxw_addr a;
		uint64_t h;

		snprintf(text[have], sizeof(text[have]), "%s.%d",
			 i < 256 ? "198.51.100" : "203.0.113", i & 255);
		p[have] = pfx(text[have]);
		memcpy(a.a, p[have].a, 16);
		h = mxw_hash_addr(&a, t->seed);
		if (mxw_hash_idx1(h, t->mask) == 0 && mxw_hash_idx2(h, t->mask) != 0)
			have++;
	}
	CHECK(have == SECOND_KEYS, "only %d addresses with first bucket 0", have);
	for (int i = 0; i < have; i++) {
		CHECK(ctl_bpf_list_put(&b, CTL_LIST_BLOCK, &p[i], &e, false, &created) == 0 &&
		      created, "put %s", text[i]);
		counts &= second_counts_ok(&b, CTL_LIST_BLOCK);
	}
	CHECK(counts, "n_second differs from a recount after a put");
	CHECK(second_recount(&b, CTL_LIST_BLOCK, n) == SECOND_KEYS - MXW_LIST_FIRST_FILL &&
	      t->b[0].n_second == SECOND_KEYS - MXW_LIST_FIRST_FILL &&
	      mxw_list_used(&t->b[0]) == MXW_LIST_FIRST_FILL && b.n_spill[CTL_LIST_BLOCK] == 0,
	      "placement: bucket 0 holds %u, n_second %u", mxw_list_used(&t->b[0]),
	      t->b[0].n_second);
	enforced = 0;
	for (int i = 0; i < have; i++)
		enforced += syn_from(&b, text[i], 25) == BIT(MXW_R_DROP_BLOCK);
	CHECK(enforced == SECOND_KEYS, "%d of %d blocks enforced", enforced, SECOND_KEYS);

	/* The count lost: the four in their second bucket are missed (the
	 * fast path reads one bucket), until a restart recounts. */
	t->b[0].n_second = 0;
	enforced = 0;
	for (int i = 0; i < have; i++)
		enforced += syn_from(&b, text[i], 25) == BIT(MXW_R_DROP_BLOCK);
	CHECK(enforced == MXW_LIST_FIRST_FILL, "with no count, %d enforced", enforced);
	ctl_bpf_close(&b, false);
	open_apply(&b, cfg);
	t = &b.tab[CTL_LIST_BLOCK];
	CHECK(second_counts_ok(&b, CTL_LIST_BLOCK), "restart did not recount n_second");
	enforced = 0;
	for (int i = 0; i < have; i++)
		enforced += syn_from(&b, text[i], 25) == BIT(MXW_R_DROP_BLOCK);
	CHECK(enforced == SECOND_KEYS, "after the recount %d enforced", enforced);

	counts = true;
	for (int i = 0; i < have; i++) {
		CHECK(ctl_bpf_list_del(&b, CTL_LIST_BLOCK, &p[i]) == 0, "del %s", text[i]);
		counts &= second_counts_ok(&b, CTL_LIST_BLOCK);
	}
	CHECK(counts && t->b[0].n_second == 0, "n_second after the dels");
	ctl_bpf_close(&b, false);
	ctl_config_free(cfg);
}

/* Put flow client:sport -> 10.0.0.25:25 in mxw_conn where the fast path
 * would look for it. */
static uint32_t put_flow(struct ctl_bpf *b, const char *client, uint16_t sport,
			 uint64_t expires, uint32_t flags)
{
	struct mxw_flow_set *sets = b->m_conn.p, *set;
	struct mxw_flow_key k;
	uint64_t h;
	int i;

	memset(&k, 0, sizeof(k));
	k.src = addr_of(client);
	k.dst = addr_of(strchr(client, ':') ? "2001:db8:ffff::25" : "10.0.0.25");
	k.sport = htons(sport);
	k.dport = htons(25);
	k.proto = PB_TCP;
	h = mxw_hash_flow(&k, b->seed);
	set = &sets[mxw_hash_idx1(h, b->mask[CTL_T_CONN])];
	for (i = 0; i < MXW_FLOW_WAYS && set->tag[i] > MXW_TAG_BUSY; i++)
		;
	if (i == MXW_FLOW_WAYS) {
		fprintf(stderr, "put_flow: set full\n");
		exit(1);
	}
	set->slot[i].key = k;
	set->slot[i].expires_ns = expires;
	set->slot[i].flags = flags;
	set->tag[i] = mxw_hash_tag(h);
	return mxw_flow_fp(&k, b->seed);
}

/* The source slot of key text (set displaced by off: a slot the fast
 * path cannot find), with conns. */
static struct mxw_src_slot *put_src(struct ctl_bpf *b, const char *text,
				    uint32_t conns, uint32_t off)
{
	struct mxw_src_set *sets = b->m_src.p, *set;
	struct mxw_addr a = addr_of(text);
	uint64_t h = mxw_hash_addr(&a, b->seed);
	int i;

	set = &sets[(mxw_hash_idx1(h, b->mask[CTL_T_SRC_BUCKET]) + off) &
		    b->mask[CTL_T_SRC_BUCKET]];
	for (i = 0; i < MXW_SRC_WAYS && set->tag[i] > MXW_TAG_BUSY; i++)
		;
	if (i == MXW_SRC_WAYS) {
		fprintf(stderr, "put_src: set full\n");
		exit(1);
	}
	set->slot[i].key = a;
	set->slot[i].conns = conns;
	set->tag[i] = mxw_hash_tag(h);
	return &set->slot[i];
}

/* Reconciliation over the arrays: an expired flow freed (and forgotten
 * by its source's slot, so the same 4-tuple is counted again), a leaked
 * count repaired after two identical passes, right counts and a stranded
 * slot left alone, IPv6 sources counted per /src6_len. */
static void test_reconcile(const char *pin_dir, const char *tmp)
{
	struct ctl_config *cfg = make_config(pin_dir, tmp);
	struct ctl_rc_totals tot = { 0 };
	struct ctl_rc *rc = ctl_rc_new();
	struct mxw_src_slot *leak, *right, *v6, *lost;
	struct ctl_bpf b;
	uint64_t now;
	uint32_t fp_gone, fp_live;

	open_apply(&b, cfg);
	now = mono_ns();
	fp_gone = put_flow(&b, "192.0.2.200", 40000, now - 5000000000ull, MXW_FF_COUNTED);
	fp_live = put_flow(&b, "192.0.2.201", 40001, now + 3600000000000ull, MXW_FF_COUNTED);
	put_flow(&b, "2001:db8:9::5", 40002, now + 3600000000000ull, MXW_FF_COUNTED);
	put_flow(&b, "2001:db8:9::6", 40003, now + 3600000000000ull, MXW_FF_COUNTED);
	put_flow(&b, "192.0.2.202", 40004, now + 3600000000000ull, 0);
	leak = put_src(&b, "192.0.2.200", 3, 0);
	right = put_src(&b, "192.0.2.201", 1, 0);
	v6 = put_src(&b, "2001:db8:9::", 0, 0);         /* /64 key */
	lost = put_src(&b, "192.0.2.203", 5, 1);        /* not findable */
	leak->syn_fp = fp_gone;         /* the slots' last counted flows */
	right->syn_fp = fp_live;

	CHECK(rc && ctl_bpf_reconcile(&b, rc, 64, now, &tot) == 0, "pass 1");
	CHECK(tot.flows_expired == 1 && tot.counts_fixed == 0 && leak->conns == 3,
	      "pass 1: %llu expired, %llu fixed, leak %u",
	      (unsigned long long)tot.flows_expired,
	      (unsigned long long)tot.counts_fixed, leak->conns);
	CHECK(leak->syn_fp == 0 && right->syn_fp == fp_live,
	      "pass 1: expired flow's memory %#x (want 0), live one's %#x (want %#x)",
	      leak->syn_fp, right->syn_fp, fp_live);
	CHECK(ctl_bpf_reconcile(&b, rc, 64, now + 1, &tot) == 0, "pass 2");
	CHECK(leak->conns == 0 && right->conns == 1 && v6->conns == 2 && lost->conns == 5 &&
	      tot.counts_fixed == 2 && tot.passes == 2,
	      "pass 2: leak %u right %u v6 %u stranded %u, %llu fixed", leak->conns,
	      right->conns, v6->conns, lost->conns, (unsigned long long)tot.counts_fixed);
	CHECK(ctl_bpf_reconcile(&b, rc, 64, now + 2, &tot) == 0 && tot.counts_fixed == 2 &&
	      tot.flows_expired == 1, "pass 3 changed something");
	ctl_rc_free(rc);
	ctl_bpf_close(&b, false);
	ctl_config_free(cfg);
}

/* Pin an ARRAY of one element of vsize bytes whose value opens with mc
 * (a map as an earlier release, or another layout, left it). */
static void pin_old_array(const char *pin_dir, const char *name, uint32_t vsize,
			  uint32_t max, const struct mxw_config *mc)
{
	char path[600];
	uint8_t *v = calloc(1, vsize);
	__u32 zero = 0;
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, name, 4, vsize, max, NULL);

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	if (!v || fd < 0 || (mc && (memcpy(v, mc, sizeof(*mc)),
				    bpf_map_update_elem(fd, &zero, v, BPF_ANY))) ||
	    bpf_obj_pin(fd, path)) {
		fprintf(stderr, "pin %s: %s\n", path, strerror(errno));
		exit(1);
	}
	free(v);
	close(fd);
}

/*
 * Pins left by an earlier release, whose config, port flags, hints and
 * global buckets were four maps: the seed (the pinned lists are laid out
 * by it) and the config generation carry over into mxw_data, the four
 * pins go, and the lists keep working without a rebuild.  Then an
 * mxw_data pin of another layout (a later change of struct mxw_data):
 * replaced, its seed kept.
 */
static void test_legacy_pins(const char *pin_dir, const char *tmp)
{
	static const char *const legacy[] = { "mxw_config", "mxw_ports", "mxw_hints",
					      "mxw_global" };
	struct ctl_config *cfg = make_config(pin_dir, tmp);
	struct mxw_list_entry e = { .reason = MXW_LR_MANUAL };
	struct ctl_prefix h4 = pfx("203.0.113.60");
	struct mxw_config old;
	struct ctl_bpf b;
	uint64_t seed;
	bool created;
	char path[600];

	open_apply(&b, cfg);
	CHECK(pinned(pin_dir, "mxw_data"), "mxw_data not pinned");
	CHECK(ctl_bpf_list_put(&b, CTL_LIST_BLOCK, &h4, &e, false, &created) == 0,
	      "put");
	seed = b.seed;
	ctl_bpf_close(&b, false);

	/* what an earlier release pinned instead of mxw_data */
	snprintf(path, sizeof(path), "%s/mxw_data", pin_dir);
	CHECK(unlink(path) == 0, "unlink %s", path);
	memset(&old, 0, sizeof(old));
	old.hash_seed = seed;
	old.generation = 41;
	pin_old_array(pin_dir, "mxw_config", sizeof(old), 1, &old);
	pin_old_array(pin_dir, "mxw_ports", 1, MXW_MAX_PORTS, NULL);
	pin_old_array(pin_dir, "mxw_hints", sizeof(struct mxw_hints), 1, NULL);
	pin_old_array(pin_dir, "mxw_global", sizeof(struct mxw_bucket), MXW_GB_MAX, NULL);
	open_apply(&b, cfg);
	CHECK(b.seed == seed && b.data->cfg.hash_seed == seed,
	      "seed %#llx not carried over from mxw_config (%#llx)",
	      (unsigned long long)b.data->cfg.hash_seed, (unsigned long long)seed);
	CHECK(b.data->cfg.generation == 42, "generation %u, want 41 + 1",
	      b.data->cfg.generation);
	for (size_t i = 0; i < sizeof(legacy) / sizeof(legacy[0]); i++)
		CHECK(!pinned(pin_dir, legacy[i]), "%s still pinned", legacy[i]);
	CHECK(pinned(pin_dir, "mxw_data"), "mxw_data not pinned after the upgrade");
	CHECK(misplaced(&b, CTL_LIST_BLOCK, seed) == 0 && b.n_exact[CTL_LIST_BLOCK] == 1,
	      "lists moved or lost over the upgrade");
	CHECK(syn_from(&b, "203.0.113.60", 25) == BIT(MXW_R_DROP_BLOCK) &&
	      syn_from(&b, "203.0.113.61", 25) == BIT(MXW_R_PASS_MAIL_SYN),
	      "block not enforced after the upgrade");
	ctl_bpf_close(&b, false);

	/* an mxw_data of another layout: its seed, at the kept offset */
	CHECK(unlink(path) == 0, "unlink %s", path);
	pin_old_array(pin_dir, "mxw_data", sizeof(struct mxw_data) + 64, 1, &old);
	open_apply(&b, cfg);
	CHECK(b.seed == seed, "seed not carried over from mxw_data of another layout");
	CHECK(syn_from(&b, "203.0.113.60", 25) == BIT(MXW_R_DROP_BLOCK),
	      "block not enforced after the layout change");
	b.data->global[MXW_GB_ICMP].tokens = 12345;     /* a marker */
	ctl_bpf_close(&b, false);
	/* and the replacement is reused as it is, contents and all */
	open_apply(&b, cfg);
	CHECK(b.seed == seed && b.data->global[MXW_GB_ICMP].tokens == 12345,
	      "replaced mxw_data not reused");
	ctl_bpf_close(&b, false);
	ctl_config_free(cfg);
}

int main(void)
{
	char tmp[] = "/tmp/mxw-test-ctlbpf-XXXXXX";
	char pin_dir[sizeof(tmp) + 8];
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: needs root (BPF, namespaces)\n");
		return SKIP;
	}
	if (unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		fprintf(stderr, "SKIP: private mount namespace: %s\n", strerror(errno));
		return SKIP;
	}
	err = mxw_netns_pair("mxwc-out", "mxwc-in", &if_out, &if_in);
	if (err)
		return err;
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	if (mount("bpf", tmp, "bpf", 0, NULL)) {
		fprintf(stderr, "SKIP: mount bpffs: %s\n", strerror(errno));
		rmdir(tmp);
		return SKIP;
	}
	snprintf(pin_dir, sizeof(pin_dir), "%s/pins", tmp);
	ctl_log_set_level(CTL_LOG_WARN);

	test_loader(pin_dir, tmp);
	snprintf(pin_dir, sizeof(pin_dir), "%s/pins2", tmp);
	test_hints(pin_dir, tmp);
	test_geometry();
	snprintf(pin_dir, sizeof(pin_dir), "%s/pins3", tmp);
	test_lists(pin_dir, tmp);
	snprintf(pin_dir, sizeof(pin_dir), "%s/pins4", tmp);
	test_spill(pin_dir, tmp);
	snprintf(pin_dir, sizeof(pin_dir), "%s/pins6", tmp);
	test_second_bucket(pin_dir, tmp);
	snprintf(pin_dir, sizeof(pin_dir), "%s/pins5", tmp);
	test_reconcile(pin_dir, tmp);
	snprintf(pin_dir, sizeof(pin_dir), "%s/pins7", tmp);
	test_legacy_pins(pin_dir, tmp);

	/* The private bpffs and its pins go with the unmount. */
	umount2(tmp, MNT_DETACH);
	rmdir(tmp);
	printf("ctl_bpf: %d checks, %d failures\n", mxw_checks, mxw_failures);
	return mxw_failures ? 1 : 0;
}
