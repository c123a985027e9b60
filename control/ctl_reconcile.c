// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctl_reconcile.c - per-source connection count repair, decisions only.
 *
 * Why: the fast path counts a source's open mail connections in
 * the source's mxw_src_bucket slot and decrements on FIN/RST.  A flow that ends without a
 * FIN the box sees (client vanished, RST lost, flow idle past its timeout,
 * LRU eviction) keeps its slot forever, and a busy legitimate sender would
 * slowly hit max_conns_per_source: a false positive.
 *
 * How: every interval mxwalld deletes expired flow entries, counts the live
 * counted flows per source key, and compares with the stored counts.  A
 * count is rewritten only when it disagreed with the flows by the same
 * amount in two consecutive passes: any SYN or FIN of that source in
 * between changes one side, so a stable difference is a leak.  Userspace
 * cannot add atomically to a map value; the write can still race with a
 * SYN or FIN in the same instant, which leaves the count off by one until
 * the next passes repair it the same way.
 *
 * Tables: open addressing keyed by the 16-byte source key, grown by
 * doubling; memory is proportional to the sources with live flows plus
 * those with a pending difference.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_reconcile.h"

struct rc_slot {
	struct mxw_addr key;
	uint32_t live;          /* live counted flows this pass */
	uint32_t stored;        /* pending: stored count last pass */
	uint8_t used;
	uint8_t pending;        /* stored != live last pass */
};

struct rc_table {
	struct rc_slot *s;
	size_t cap, n;          /* cap a power of two */
};

struct ctl_rc {
	struct rc_table cur;    /* this pass: live flows, new pendings */
	struct rc_table prev;   /* last pass: pendings */
};

static uint64_t rc_hash(const struct mxw_addr *k)
{
	uint64_t h = 1469598103934665603ull;    /* FNV-1a */

	for (int i = 0; i < 16; i++) {
		h ^= k->a[i];
		h *= 1099511628211ull;
	}
	return h;
}

static struct rc_slot *rc_find(struct rc_table *t, const struct mxw_addr *k,
			       bool insert)
{
	size_t i;

	if (insert && (t->n + 1) * 4 > t->cap * 3) {
		struct rc_table g = {.cap = t->cap ? t->cap * 2 : 256};

		g.s = calloc(g.cap, sizeof(*g.s));
		if (!g.s)
			return NULL;
		for (size_t j = 0; j < t->cap; j++) {
			if (!t->s[j].used)
				continue;
			i = rc_hash(&t->s[j].key) & (g.cap - 1);
			while (g.s[i].used)
				i = (i + 1) & (g.cap - 1);
			g.s[i] = t->s[j];
			g.n++;
		}
		free(t->s);
		*t = g;
	}
	if (!t->cap)
		return NULL;
	i = rc_hash(k) & (t->cap - 1);
	while (t->s[i].used) {
		if (memcmp(&t->s[i].key, k, sizeof(*k)) == 0)
			return &t->s[i];
		i = (i + 1) & (t->cap - 1);
	}
	if (!insert)
		return NULL;
	memset(&t->s[i], 0, sizeof(t->s[i]));
	t->s[i].key = *k;
	t->s[i].used = 1;
	t->n++;
	return &t->s[i];
}

static void rc_clear(struct rc_table *t)
{
	free(t->s);
	memset(t, 0, sizeof(*t));
}

struct ctl_rc *ctl_rc_new(void)
{
	return calloc(1, sizeof(struct ctl_rc));
}

void ctl_rc_free(struct ctl_rc *rc)
{
	if (!rc)
		return;
	rc_clear(&rc->cur);
	rc_clear(&rc->prev);
	free(rc);
}

void ctl_rc_source_key(struct mxw_addr *k, const struct mxw_addr *client,
		       unsigned src6_len)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					   0xff, 0xff};
	__u64 m[2];

	*k = *client;
	if (memcmp(client->a, mapped, 12) == 0)
		return;
	/* the mask the config gives the fast path (mxw_config_key_masks) */
	mxw_addr_mask_words(m, src6_len > 128 ? 128 : src6_len);
	k->w[0] &= m[0];
	k->w[1] &= m[1];
}

int ctl_rc_begin(struct ctl_rc *rc)
{
	rc_clear(&rc->cur);
	return 0;
}

int ctl_rc_flow(struct ctl_rc *rc, const struct mxw_addr *sk)
{
	struct rc_slot *s = rc_find(&rc->cur, sk, true);

	if (!s)
		return -ENOMEM;
	s->live++;
	return 0;
}

bool ctl_rc_count(struct ctl_rc *rc, const struct mxw_addr *sk,
		  uint32_t stored, uint32_t *fix)
{
	struct rc_slot *s = rc_find(&rc->cur, sk, false);
	struct rc_slot *p = rc_find(&rc->prev, sk, false);
	uint32_t live = s ? s->live : 0;

	if (stored == live)
		return false;
	if (p && p->pending && p->stored == stored && p->live == live) {
		*fix = live;
		return true;
	}
	/* Remember the difference for the next pass. */
	s = rc_find(&rc->cur, sk, true);
	if (s) {
		s->pending = 1;
		s->stored = stored;
	}
	return false;
}

void ctl_rc_end(struct ctl_rc *rc)
{
	rc_clear(&rc->prev);
	rc->prev = rc->cur;
	memset(&rc->cur, 0, sizeof(rc->cur));
}
