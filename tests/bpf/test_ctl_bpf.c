// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_ctl_bpf.c - mxwalld's loader side of the inspection path
 * (control/ctl_bpf.c): which maps are pinned, the MXW_CF_INSPECT switch,
 * ctl_bpf_bypass_add() and ctl_bpf_insp_alive() seen by the real program
 * through BPF_PROG_TEST_RUN, and bypass entries surviving a restart; the
 * mxw_hints the list writes keep (cleared before an insert, set after the
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
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "ctl_bpf.h"
#include "ctl_config.h"
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
	    bpf_prog_test_run_opts(bpf_program__fd(b->skel->progs.mxw_xdp), &o) ||
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
	struct mxw_config mc;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(b->fd_config, &zero, &mc))
		return 0;
	return mc.flags;
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
	struct mxw_flow_val v;
	struct mxw_insp_state st;
	struct ctl_bpf b;
	uint64_t now, moved;
	__u32 zero = 0;
	int act;

	cfg->insp.enabled = true;
	if (ctl_bpf_open(&b, cfg) || ctl_bpf_apply(&b, cfg)) {
		fprintf(stderr, "ctl_bpf_open/apply failed\n");
		exit(1);
	}
	CHECK(!b.pins_reused, "fresh pin dir reported as reused");
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
	CHECK(bpf_map_lookup_elem(b.fd_bypass, &kl, &v) == 0 &&
	      v.expires_ns == now + 60ull * 1000000000ull, "bypass entry not found");
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
	CHECK(bpf_map_lookup_elem(b.fd_bypass, &kl, &v) == 0, "bypass lost at restart");
	CHECK(bpf_map_lookup_elem(b.fd_insp, &zero, &st) == 0 &&
	      (st.flags & MXW_IF_OVERLOAD), "heartbeat state lost at restart");
	moved = run_payload(&b, &act);
	CHECK(moved == BIT(MXW_R_PASS_BYPASS), "bypass after restart: counters %#llx",
	      (unsigned long long)moved);
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
	struct mxw_hints h = { .empty = 0xdead };
	__u32 zero = 0;

	bpf_map_lookup_elem(b->fd_hints, &zero, &h);
	return h.empty;
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
 * mxw_hints kept by the list writes: cleared before the first entry of a
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
	__u32 zero = 0;

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
	bpf_map_update_elem(b.fd_hints, &zero, &lie, BPF_ANY);
	CHECK(ctl_bpf_apply(&b, cfg) == 0 && ctl_bpf_list_count(&b) == 0,
	      "apply/count after restart");
	CHECK(hints_map(&b) == (HE_ALL & ~MXW_HE_ALLOW_EXACT),
	      "restart: hints %#x not recomputed from the maps", hints_map(&b));
	CHECK(syn_from(&b, "198.51.100.7", 80) == BIT(MXW_R_PASS_ALLOW),
	      "allow entry lost behind the hints");
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

	/* The private bpffs and its pins go with the unmount. */
	umount2(tmp, MNT_DETACH);
	rmdir(tmp);
	printf("ctl_bpf: %d checks, %d failures\n", mxw_checks, mxw_failures);
	return mxw_failures ? 1 : 0;
}
