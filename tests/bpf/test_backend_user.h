/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_backend_user.h - the userspace backend of test_mxwall_bpf.c: the
 * verdict code of bpf/mxw_verdict.h compiled as plain C (as the DPDK
 * dataplane will compile it) over deliberately simple tables (linear scan,
 * longest-prefix by scan).  The same cases as in the kernel must give the
 * same actions and counters: this proves the headers are the single
 * definition of the semantics.  Each frame is copied into a buffer of its
 * exact size so that ASan sees any read past data_end.  No root needed.
 */
#include <errno.h>

static const char backend_name[] = "userspace";

enum { UT_ARRAY, UT_HASH, UT_LPM };

struct utbl {
	int kind;
	uint32_t ksize, vsize, max;
	uint8_t *used, *keys, *vals;
};

static struct utbl ut[TBL_MAX];

/* The coarse clock, as the BPF program's (mxw_clock.bpf.h): SYNs within
 * one tick see one time, so prefix credits work here too. */
static uint64_t ut_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int ut_prefix_match(const uint8_t *a, const uint8_t *b, uint32_t bits)
{
	uint32_t full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full))
		return 0;
	if (!rest)
		return 1;
	return ((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static int ut_find(struct utbl *t, const void *key)
{
	uint32_t i;

	for (i = 0; i < t->max; i++)
		if (t->used[i] && !memcmp(t->keys + (size_t)i * t->ksize, key, t->ksize))
			return (int)i;
	return -1;
}

static void *ut_lookup(struct utbl *t, const void *key)
{
	struct mxw_lpm_key k, e;
	uint32_t i, idx;
	int best = -1;

	if (t->kind == UT_ARRAY) {
		memcpy(&idx, key, 4);
		return idx < t->max ? t->vals + (size_t)idx * t->vsize : NULL;
	}
	if (t->kind == UT_HASH) {
		int at = ut_find(t, key);

		return at < 0 ? NULL : t->vals + (size_t)at * t->vsize;
	}
	memcpy(&k, key, sizeof(k));
	for (i = 0; i < t->max; i++) {
		if (!t->used[i])
			continue;
		memcpy(&e, t->keys + (size_t)i * t->ksize, sizeof(e));
		if (e.prefixlen <= k.prefixlen && ut_prefix_match(e.a, k.a, e.prefixlen) &&
		    (best < 0 || e.prefixlen > ((struct mxw_lpm_key *)(void *)
				(t->keys + (size_t)best * t->ksize))->prefixlen))
			best = (int)i;
	}
	return best < 0 ? NULL : t->vals + (size_t)best * t->vsize;
}

static int ut_update(struct utbl *t, const void *key, const void *val, uint64_t flags)
{
	uint32_t idx, i;
	int at;

	if (t->kind == UT_ARRAY) {
		memcpy(&idx, key, 4);
		if (idx >= t->max)
			return -E2BIG;
		memcpy(t->vals + (size_t)idx * t->vsize, val, t->vsize);
		return 0;
	}
	at = ut_find(t, key);
	if (at >= 0) {
		if (flags == BPF_NOEXIST)
			return -EEXIST;
		memcpy(t->vals + (size_t)at * t->vsize, val, t->vsize);
		return 0;
	}
	for (i = 0; i < t->max; i++) {
		if (!t->used[i]) {
			t->used[i] = 1;
			memcpy(t->keys + (size_t)i * t->ksize, key, t->ksize);
			memcpy(t->vals + (size_t)i * t->vsize, val, t->vsize);
			return 0;
		}
	}
	return -E2BIG;
}

static int ut_delete(struct utbl *t, const void *key)
{
	int at;

	if (t->kind == UT_ARRAY)
		return -EINVAL;
	at = ut_find(t, key);
	if (at < 0)
		return -ENOENT;
	t->used[at] = 0;
	return 0;
}

#define MXW_TBL_LOOKUP(t, k)            ut_lookup(&ut[TBL_##t], k)
#define MXW_DATA()                      ((struct mxw_data *)ut[TBL_mxw_data].vals)
#define MXW_NOW_NS()                    ut_now()
#define MXW_ATOMIC_ADD32(p, v)          __atomic_fetch_add(p, v, __ATOMIC_RELAXED)
#include "mxw_verdict.h"

/* A "socket" here is any value in mxw_xsks: the entry is what counts. */
static bool xsk_bind(int slot, bool on)
{
	uint32_t key = mxw_xsk_key((uint32_t)slot, 0), fd = 100 + (uint32_t)slot;

	if (on)
		return ut_update(&ut[TBL_mxw_xsks], &key, &fd, BPF_ANY) == 0;
	ut_delete(&ut[TBL_mxw_xsks], &key);
	return true;
}

static int tbl_update(enum tbl t, const void *key, const void *val, uint64_t flags)
{
	int err = ut_update(&ut[t], key, val, flags);

	errno = -err;
	return err ? -1 : 0;
}

static int tbl_lookup(enum tbl t, const void *key, void *val)
{
	void *v = ut_lookup(&ut[t], key);

	if (!v) {
		errno = ENOENT;
		return -1;
	}
	memcpy(val, v, ut[t].vsize);
	return 0;
}

static int tbl_delete(enum tbl t, const void *key)
{
	int err = ut_delete(&ut[t], key);

	errno = -err;
	return err ? -1 : 0;
}

static void *tbl_mem(enum tbl t, uint32_t *n)
{
	*n = ut[t].max;
	return ut[t].vals;
}

static struct mxw_data *data(void)
{
	return MXW_DATA();
}

static void tbl_clear(enum tbl t)
{
	if (ut[t].kind != UT_ARRAY)
		memset(ut[t].used, 0, ut[t].max);
}

static void ut_count(uint32_t reason, uint32_t bytes)
{
	struct mxw_counter *c = ut_lookup(&ut[TBL_mxw_stats], &reason);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

/* What mxw_xdp_in() (port P_OUT) and mxw_xdp_out() (P_IN) do, with the
 * userspace tables. */
static int run_frame(const uint8_t *frame, size_t len, enum port port)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum mxw_dir dir = port == P_OUT ? MXW_DIR_IN : MXW_DIR_OUT;
	uint32_t slot = dir == MXW_DIR_IN ? MXW_SLOT_INSIDE : MXW_SLOT_OUTSIDE;
	struct mxw_vctx v;
	enum mxw_reason r;
	int act;

	if (!copy)
		exit(1);
	memcpy(copy, frame, len);
	memset(&v, 0, sizeof(v));
	v.cfg = &MXW_DATA()->cfg;
	r = mxw_verdict(&v, copy, copy + len, dir);
	if (v.shadow)
		ut_count(MXW_R_SHADOW_BLOCK, (uint32_t)len);
	if (r == MXW_R_TO_INSPECT) {
		uint32_t key = mxw_xsk_key(slot ^ 1, rx_queue);

		if (rx_queue < MXW_XSK_QUEUES_MAX &&
		    ut_lookup(&ut[TBL_mxw_xsks], &key)) {
			ut_count(r, (uint32_t)len);
			free(copy);
			return XDP_REDIRECT;
		}
		ut_count(MXW_R_ERR_XSK, (uint32_t)len);
		r = mxw_uninspected(v.cfg);
	}
	ut_count(r, (uint32_t)len);
	if (!mxw_reason_passes(r)) {
		act = XDP_DROP;
	} else if (ut_lookup(&ut[TBL_mxw_tx_ports], &slot)) {
		act = XDP_REDIRECT;
	} else {
		ut_count(MXW_R_ERR_REDIRECT, (uint32_t)len);
		act = XDP_ABORTED;
	}
	free(copy);
	return act;
}

static void ut_make(enum tbl t, int kind, uint32_t ksize, uint32_t vsize, uint32_t max)
{
	ut[t].kind = kind;
	ut[t].ksize = ksize;
	ut[t].vsize = vsize;
	ut[t].max = max;
	ut[t].used = calloc(max, 1);
	ut[t].keys = calloc(max, ksize);
	ut[t].vals = calloc(max, vsize);
	if (!ut[t].used || !ut[t].keys || !ut[t].vals)
		exit(1);
}

static int backend_init(void)
{
	ncpus = 1;
	if_out = 2;
	if_in = 3;
	ut_make(TBL_mxw_data, UT_ARRAY, 4, sizeof(struct mxw_data), 1);
	ut_make(TBL_mxw_protected, UT_LPM, sizeof(struct mxw_lpm_key), 1, 64);
	ut_make(TBL_mxw_allow_exact, UT_ARRAY, 4, sizeof(struct mxw_list_bucket), 64);
	ut_make(TBL_mxw_allow_exact_occ, UT_ARRAY, 4, 8, MXW_LIST_OCC_WORDS(64));
	ut_make(TBL_mxw_allow_lpm, UT_LPM, sizeof(struct mxw_lpm_key), sizeof(struct mxw_list_entry), 64);
	ut_make(TBL_mxw_block_exact, UT_ARRAY, 4, sizeof(struct mxw_list_bucket), 1024);
	ut_make(TBL_mxw_block_exact_occ, UT_ARRAY, 4, 8, MXW_LIST_OCC_WORDS(1024));
	ut_make(TBL_mxw_block_lpm, UT_LPM, sizeof(struct mxw_lpm_key), sizeof(struct mxw_list_entry), 64);
	ut_make(TBL_mxw_src_bucket, UT_ARRAY, 4, sizeof(struct mxw_src_set), 4096);
	ut_make(TBL_mxw_pfx_bucket, UT_ARRAY, 4, sizeof(struct mxw_src_set), 1024);
	ut_make(TBL_mxw_ct, UT_ARRAY, 4, sizeof(struct mxw_flow_set), 1024);
	ut_make(TBL_mxw_conn, UT_ARRAY, 4, sizeof(struct mxw_flow_set), 1024);
	ut_make(TBL_mxw_stats, UT_ARRAY, 4, sizeof(struct mxw_counter), MXW_R_MAX);
	ut_make(TBL_mxw_tx_ports, UT_HASH, 4, 4, MXW_SLOT_MAX);
	ut_make(TBL_mxw_xsks, UT_HASH, 4, 4, MXW_XSK_KEYS);
	ut_make(TBL_mxw_insp, UT_ARRAY, 4, sizeof(struct mxw_insp_state), 1);
	ut_make(TBL_mxw_bypass, UT_ARRAY, 4, sizeof(struct mxw_flow_set), 64);
	return 0;
}

static void backend_fini(void)
{
	int t;

	for (t = 0; t < TBL_MAX; t++) {
		free(ut[t].used);
		free(ut[t].keys);
		free(ut[t].vals);
	}
}
