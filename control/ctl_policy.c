// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctl_policy.c - per-source scores, cross-session counters, block TTLs and
 * prefix escalation (ctl_policy.h, docs/policy.md).
 *
 * Decisions:
 *  - Two bounded tables of one kind (struct ptab): sources (max_sources)
 *    and escalation prefixes (max_sources / 4, at least 64).  Chained hash
 *    with a seeded hash (a peer must not aim many keys at one chain) and an
 *    LRU list: when full, the least recently seen entry is evicted.  An
 *    evicted source forgets its score and its repeat history; that is the
 *    price of a memory bound.
 *  - Score: a double decayed by 2^(-dt / half_life) when touched; exact
 *    enough and cheaper to reason about than fixed-point steps.
 *  - Counters: the last CTL_PC_RING_MAX event times (seconds) per counter,
 *    so "limit events within window" is exact for any limit up to the
 *    ring.  The rings live in a block allocated on a source's first
 *    counted event: most sources only ever score.
 *  - After a block the source's score and counters start from zero: the
 *    fast path drops it, and a new block needs new offences once it is
 *    back.  Events that still arrive before the TTL ran out (shadow mode,
 *    sessions already in flight) are counted but not scored, so shadow
 *    mode does not produce a stream of ever longer blocks.
 *  - Repeat offences: "n blocks within repeat_window" is kept as a chain:
 *    a block within repeat_window of the previous one raises n, a later
 *    one starts again at 1.
 *  - Allowlisted sources never reach the tables, so they can neither be
 *    blocked nor count towards a prefix escalation.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_policy.h"
#include "mxi_hash.h"

#define NS_PER_SEC 1000000000ull
#define CTL_PFX_MIN 64          /* prefix table floor */

/* ---- bounded hash table with LRU eviction ------------------------------ */

struct pkey {
	uint8_t a[16];          /* masked, mapped form */
	uint8_t plen;           /* 0..128 */
	uint8_t pad[7];
};

struct pnode {
	struct pnode *hnext;
	struct pnode *lprev, *lnext;    /* LRU: head = most recent */
	struct pkey key;
};

struct ptab {
	struct pnode **bucket;
	uint32_t mask;          /* buckets - 1 */
	uint32_t n, max;
	struct pnode lru;       /* sentinel */
	size_t node_size;
	uint64_t seed;
	uint64_t evicted;
	void (*release)(struct pnode *n);       /* frees extra memory */
};

static uint64_t ptab_hash(const struct ptab *t, const struct pkey *k)
{
	return mxi_hash(t->seed, k, sizeof(*k));
}

static uint32_t ptab_buckets_for(uint32_t max)
{
	uint32_t b = 16;

	while (b < max && b < (1u << 24))
		b <<= 1;
	return b;
}

static int ptab_init(struct ptab *t, uint32_t max, size_t node_size,
		     uint64_t seed, void (*release)(struct pnode *))
{
	uint32_t nb = ptab_buckets_for(max);

	memset(t, 0, sizeof(*t));
	t->bucket = calloc(nb, sizeof(*t->bucket));
	if (!t->bucket)
		return -ENOMEM;
	t->mask = nb - 1;
	t->max = max;
	t->node_size = node_size;
	t->seed = seed;
	t->release = release;
	t->lru.lprev = t->lru.lnext = &t->lru;
	return 0;
}

static void ptab_lru_unlink(struct pnode *n)
{
	n->lprev->lnext = n->lnext;
	n->lnext->lprev = n->lprev;
}

static void ptab_lru_front(struct ptab *t, struct pnode *n)
{
	n->lnext = t->lru.lnext;
	n->lprev = &t->lru;
	t->lru.lnext->lprev = n;
	t->lru.lnext = n;
}

static void ptab_del(struct ptab *t, struct pnode *n)
{
	struct pnode **pp = &t->bucket[ptab_hash(t, &n->key) & t->mask];

	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	ptab_lru_unlink(n);
	if (t->release)
		t->release(n);
	free(n);
	t->n--;
}

/* Evict least recently seen entries until at most max remain. */
static void ptab_shrink(struct ptab *t, uint32_t max)
{
	while (t->n > max && t->lru.lprev != &t->lru) {
		ptab_del(t, t->lru.lprev);
		t->evicted++;
	}
}

/* New bound; a bigger table gets more buckets when memory allows (if
 * not, chains are just longer). */
static void ptab_resize(struct ptab *t, uint32_t max)
{
	uint32_t nb = ptab_buckets_for(max);
	struct pnode **b;

	t->max = max;
	ptab_shrink(t, max);
	if (nb <= t->mask + 1)
		return;
	b = calloc(nb, sizeof(*b));
	if (!b)
		return;
	for (uint32_t i = 0; i <= t->mask; i++) {
		struct pnode *n = t->bucket[i], *next;

		for (; n; n = next) {
			uint64_t h;

			next = n->hnext;
			h = ptab_hash(t, &n->key) & (nb - 1);
			n->hnext = b[h];
			b[h] = n;
		}
	}
	free(t->bucket);
	t->bucket = b;
	t->mask = nb - 1;
}

static void ptab_destroy(struct ptab *t)
{
	while (t->lru.lnext != &t->lru)
		ptab_del(t, t->lru.lnext);
	free(t->bucket);
	t->bucket = NULL;
}

/* Find key, or create it (zeroed past the header, evicting the least
 * recently seen entry when full); the entry becomes the most recent.
 * NULL only when memory is short. */
static struct pnode *ptab_get(struct ptab *t, const struct pkey *k)
{
	uint64_t h = ptab_hash(t, k) & t->mask;
	struct pnode *n;

	for (n = t->bucket[h]; n; n = n->hnext)
		if (memcmp(&n->key, k, sizeof(*k)) == 0) {
			ptab_lru_unlink(n);
			ptab_lru_front(t, n);
			return n;
		}
	ptab_shrink(t, t->max - 1);
	n = calloc(1, t->node_size);
	if (!n)
		return NULL;
	n->key = *k;
	n->hnext = t->bucket[h];
	t->bucket[h] = n;
	ptab_lru_front(t, n);
	t->n++;
	return n;
}

/* Find key without creating it or touching the LRU order. */
static struct pnode *ptab_find(const struct ptab *t, const struct pkey *k)
{
	struct pnode *n = t->bucket[ptab_hash(t, k) & t->mask];

	while (n && memcmp(&n->key, k, sizeof(*k)) != 0)
		n = n->hnext;
	return n;
}

/* ---- policy state ------------------------------------------------------ */

#define CTL_PC_RING_MAX CTL_PC_LIMIT_MAX
#define CTL_WHY_REASONS 4       /* reasons named in a score block's why */
#define CTL_ESC_MAX CTL_ESC_COUNT_MAX

struct pc_rings {
	uint32_t t[CTL_PC_MAX][CTL_PC_RING_MAX];   /* s since the epoch */
	uint8_t head[CTL_PC_MAX];       /* next slot */
	uint8_t n[CTL_PC_MAX];          /* valid slots */
};

struct psrc {
	struct pnode node;
	double score;
	uint64_t score_ns;              /* time score is valid for */
	struct pc_rings *rings;         /* NULL until a counted event */
	struct {
		uint16_t reason;
		uint16_t count;
	} top[CTL_WHY_REASONS];         /* first reasons scored, for why */
	uint32_t other;                 /* scored events not in top[] */
	uint64_t blocked_until_ns;
	uint64_t last_block_ns;
	uint32_t offences;              /* chain within repeat_window */
};

struct ppfx {
	struct pnode node;
	struct {
		struct pkey src;
		uint64_t t_ns;
	} recent[CTL_ESC_MAX];          /* distinct blocked sources */
	uint32_t n_recent;
	uint64_t blocked_until_ns;
	uint64_t last_block_ns;
	uint32_t offences;
};

struct ctl_policy {
	struct ctl_policy_cfg cfg;
	struct ptab src, pfx;
	struct ctl_policy_stats st;
};

static void psrc_release(struct pnode *n)
{
	free(((struct psrc *)n)->rings);
}

void ctl_policy_cfg_default(struct ctl_policy_cfg *cfg)
{
	/* Points per check: 10 (= the threshold) for what no mail client
	 * ever does, a few for spambot habits, 1 for what a buggy client
	 * may do now and then, 0 for what is not the client's fault or
	 * is counted by a counter instead.  docs/policy.md explains each. */
	static const struct {
		enum smtp_reason r;
		uint32_t w;
	} def[] = {
		{SMTP_R_PREGREET, 5},
		{SMTP_R_CMD_TOO_LONG, 10},
		{SMTP_R_UNKNOWN_CMD, 1},
		{SMTP_R_BAD_SYNTAX, 1},
		{SMTP_R_ERROR_LIMIT, 5},
		{SMTP_R_JUNK_LIMIT, 5},
		{SMTP_R_VRFY, 3},
		{SMTP_R_EXPN, 3},
		{SMTP_R_RELAY_ATTEMPT, 10},
		{SMTP_R_AUTH_FAILED, 1},
		{SMTP_R_INVALID_RCPT, 1},
		{SMTP_R_UNADV_PIPELINING, 3},
		{SMTP_R_PIPELINING_GROUP, 3},
		{SMTP_R_STARTTLS_INJECTION, 10},
		{SMTP_R_DATA_DESYNC, 10},
		{SMTP_R_BARE_LF, 1},
		{SMTP_R_BARE_CR, 1},
		{SMTP_R_SMUGGLE_LF, 10},
		{SMTP_R_SMUGGLE_CR, 10},
		{SMTP_R_NON_SMTP_HTTP, 10},
		{SMTP_R_NON_SMTP_TLS, 5},
		{SMTP_R_NON_SMTP_BINARY, 10},
		{SMTP_R_TOO_MANY_RCPT, 2},
		{SMTP_R_OUT_OF_SEQUENCE, 1},
		{SMTP_R_LOGIN_FAILED, 1},
		{SMTP_R_TCP_MISMATCH, 10},
		{SMTP_R_NOT_MAIL_PROTO, 5},
	};

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < sizeof(def) / sizeof(def[0]); i++)
		cfg->weight[def[i].r] = def[i].w;
	cfg->threshold = 10;
	cfg->score_half_life = 600;
	cfg->counter[CTL_PC_AUTH_FAILED].limit = 5;
	cfg->counter[CTL_PC_AUTH_FAILED].window = 600;
	cfg->counter[CTL_PC_INVALID_RCPT].limit = 10;
	cfg->counter[CTL_PC_INVALID_RCPT].window = 600;
	cfg->counter[CTL_PC_KILLED].limit = 3;
	cfg->counter[CTL_PC_KILLED].window = 600;
	cfg->block_ttl = 600;
	cfg->ttl_factor = 4;
	cfg->ttl_max = 86400;
	cfg->repeat_window = 86400;
	cfg->escalate_count = 3;
	cfg->escalate_window = 600;
	cfg->escalate_ttl = 3600;
	cfg->prefix4_len = 24;
	cfg->prefix6_len = 48;
	cfg->source6_len = 64;
	cfg->max_sources = 65536;
	cfg->hash_seed = 0x706f6c6963792121ull;
}

const char *ctl_policy_counter_name(enum ctl_pcounter c)
{
	static const char *const names[CTL_PC_MAX] = {
		[CTL_PC_AUTH_FAILED] = "auth_failed",
		[CTL_PC_INVALID_RCPT] = "invalid_recipient",
		[CTL_PC_KILLED] = "killed_sessions",
	};

	return (unsigned)c < CTL_PC_MAX ? names[c] : "?";
}

/* Copy cfg, forcing values the tables rely on into range (the config
 * parser already refuses them; this keeps a direct caller safe). */
static void policy_take_cfg(struct ctl_policy *p,
			    const struct ctl_policy_cfg *cfg)
{
	struct ctl_policy_cfg *c = &p->cfg;

	*c = *cfg;
	if (!c->max_sources)
		c->max_sources = 1;
	if (c->max_sources > CTL_POLICY_SOURCES_MAX)
		c->max_sources = CTL_POLICY_SOURCES_MAX;
	for (int i = 0; i < CTL_PC_MAX; i++)
		if (c->counter[i].limit > CTL_PC_RING_MAX)
			c->counter[i].limit = CTL_PC_RING_MAX;
	if (c->escalate_count > CTL_ESC_MAX)
		c->escalate_count = CTL_ESC_MAX;
	if (c->escalate_count < 1)
		c->escalate_count = 1;
	if (!c->ttl_factor)
		c->ttl_factor = 1;
	/* A TTL of 0 could read as "permanent" to a map writer; a zero
	 * half-life would divide by zero. */
	if (!c->ttl_max)
		c->ttl_max = 1;
	if (!c->block_ttl)
		c->block_ttl = 1;
	if (!c->escalate_ttl)
		c->escalate_ttl = 1;
	if (!c->score_half_life)
		c->score_half_life = 1;
	if (c->prefix4_len > 32)
		c->prefix4_len = 32;
	if (c->prefix6_len > 128)
		c->prefix6_len = 128;
	if (c->source6_len > 128)
		c->source6_len = 128;
}

static uint32_t policy_pfx_max(uint32_t max_sources)
{
	uint32_t m = max_sources / 4;

	return m < CTL_PFX_MIN ? CTL_PFX_MIN : m;
}

struct ctl_policy *ctl_policy_new(const struct ctl_policy_cfg *cfg)
{
	struct ctl_policy *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	policy_take_cfg(p, cfg);
	if (ptab_init(&p->src, p->cfg.max_sources, sizeof(struct psrc),
		      p->cfg.hash_seed, psrc_release))
		goto err_free;
	if (ptab_init(&p->pfx, policy_pfx_max(p->cfg.max_sources),
		      sizeof(struct ppfx), p->cfg.hash_seed ^ 0x5bd1e995ull,
		      NULL))
		goto err_src;
	return p;

err_src:
	ptab_destroy(&p->src);
err_free:
	free(p);
	return NULL;
}

void ctl_policy_free(struct ctl_policy *p)
{
	if (!p)
		return;
	ptab_destroy(&p->pfx);
	ptab_destroy(&p->src);
	free(p);
}

void ctl_policy_set_cfg(struct ctl_policy *p, const struct ctl_policy_cfg *cfg)
{
	uint8_t s6 = p->cfg.source6_len, p4 = p->cfg.prefix4_len;
	uint8_t p6 = p->cfg.prefix6_len;
	uint64_t seed = p->cfg.hash_seed;

	policy_take_cfg(p, cfg);
	/* The seed is fixed for the life of the tables. */
	p->cfg.hash_seed = seed;
	/* Keys depend on the lengths: under new lengths the old entries
	 * would never match again, so they are dropped at once rather
	 * than left to age out. */
	if (s6 != p->cfg.source6_len)
		ptab_shrink(&p->src, 0);
	if (p4 != p->cfg.prefix4_len || p6 != p->cfg.prefix6_len)
		ptab_shrink(&p->pfx, 0);
	ptab_resize(&p->src, p->cfg.max_sources);
	ptab_resize(&p->pfx, policy_pfx_max(p->cfg.max_sources));
}

/* ---- keys, time, formatting -------------------------------------------- */

static bool addr_is_v4(const struct mxw_addr *a)
{
	static const uint8_t pre[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					0xff, 0xff};

	return memcmp(a->a, pre, sizeof(pre)) == 0;
}

/* The address masked to plen bits of its family (v4: of 32, v6: of 128). */
static void key_make(struct pkey *k, const struct mxw_addr *a,
		     unsigned v4_len, unsigned v6_len)
{
	struct ctl_prefix pf;

	memcpy(pf.a, a->a, 16);
	pf.plen = addr_is_v4(a) ? 96 + v4_len : v6_len;
	ctl_prefix_mask(&pf);
	memset(k, 0, sizeof(*k));
	memcpy(k->a, pf.a, 16);
	k->plen = (uint8_t)pf.plen;
}

static void key_prefix(const struct pkey *k, struct ctl_prefix *out)
{
	memcpy(out->a, k->a, 16);
	out->plen = k->plen;
}

static uint32_t ns_to_s(uint64_t ns)
{
	return (uint32_t)(ns / NS_PER_SEC);
}

/* base * factor^(n-1), capped; n counts from 1. */
static uint32_t policy_ttl(const struct ctl_policy_cfg *c, uint32_t base,
			   uint32_t n)
{
	uint64_t ttl = base;

	for (uint32_t i = 1; i < n && ttl < c->ttl_max; i++)
		ttl *= c->ttl_factor;
	if (ttl > c->ttl_max)
		ttl = c->ttl_max;
	return (uint32_t)ttl;
}

/* Offence number of a new block given the previous one. */
static uint32_t policy_offence(const struct ctl_policy_cfg *c,
			       uint64_t last_ns, uint32_t prev, uint64_t now)
{
	if (prev && now - last_ns <= (uint64_t)c->repeat_window * NS_PER_SEC)
		return prev < UINT32_MAX ? prev + 1 : prev;
	return 1;
}

/* Append to a why buffer, keeping it NUL-ended when it overflows. */
__attribute__((format(printf, 3, 4)))
static void why_add(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strnlen(buf, len);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

/* ---- scoring and counting ---------------------------------------------- */

static double src_score_now(const struct ctl_policy *p, const struct psrc *s,
			    uint64_t now)
{
	double dt;

	if (s->score <= 0 || now <= s->score_ns)
		return s->score;
	dt = (double)(now - s->score_ns) / (double)NS_PER_SEC;
	return s->score * exp2(-dt / (double)p->cfg.score_half_life);
}

static void src_reset(struct psrc *s)
{
	s->score = 0;
	memset(s->top, 0, sizeof(s->top));
	s->other = 0;
	free(s->rings);
	s->rings = NULL;
}

static void src_note_reason(struct psrc *s, enum smtp_reason r)
{
	for (int i = 0; i < CTL_WHY_REASONS; i++) {
		if (s->top[i].count && s->top[i].reason == r) {
			if (s->top[i].count < UINT16_MAX)
				s->top[i].count++;
			return;
		}
		if (!s->top[i].count) {
			s->top[i].reason = (uint16_t)r;
			s->top[i].count = 1;
			return;
		}
	}
	s->other++;
}

/* Record one event in counter c; true when its limit is reached. */
static bool src_count(const struct ctl_policy *p, struct psrc *s,
		      enum ctl_pcounter c, uint32_t now_s, uint32_t *n_out)
{
	uint32_t limit = p->cfg.counter[c].limit;
	uint32_t window = p->cfg.counter[c].window;
	struct pc_rings *r = s->rings;
	uint32_t n = 0;

	r->t[c][r->head[c]] = now_s;
	r->head[c] = (uint8_t)((r->head[c] + 1) % CTL_PC_RING_MAX);
	if (r->n[c] < CTL_PC_RING_MAX)
		r->n[c]++;
	/* Events in (now - window, now], newest first. */
	for (uint32_t i = 0; i < r->n[c]; i++) {
		uint32_t slot = (r->head[c] + CTL_PC_RING_MAX - 1 - i) %
				CTL_PC_RING_MAX;

		if (now_s - r->t[c][slot] >= window)
			break;
		n++;
	}
	*n_out = n;
	return limit && n >= limit;
}

/* Which counters an event feeds. */
static unsigned event_counters(const struct smtp_event *ev)
{
	unsigned m = 0;

	if (ev->reason == SMTP_R_AUTH_FAILED || ev->reason == SMTP_R_LOGIN_FAILED)
		m |= 1u << CTL_PC_AUTH_FAILED;
	if (ev->reason == SMTP_R_INVALID_RCPT)
		m |= 1u << CTL_PC_INVALID_RCPT;
	if (ev->action == SMTP_A_KILL)
		m |= 1u << CTL_PC_KILLED;
	return m;
}

/* Fill a source block decision; the source starts over. */
static void src_block(struct ctl_policy *p, struct psrc *s, uint64_t now,
		      struct ctl_policy_decision *d)
{
	const struct ctl_policy_cfg *c = &p->cfg;

	s->offences = policy_offence(c, s->last_block_ns, s->offences, now);
	s->last_block_ns = now;
	d->kind = CTL_PD_BLOCK;
	key_prefix(&s->node.key, &d->target);
	d->ttl = policy_ttl(c, c->block_ttl, s->offences);
	d->reason = MXW_LR_POLICY;
	d->shadow = c->shadow;
	d->offence = s->offences;
	d->trigger_ns = now;
	s->blocked_until_ns = now + (uint64_t)d->ttl * NS_PER_SEC;
	src_reset(s);
}

/* A source was blocked: note it in its prefix, escalate when enough
 * distinct sources were blocked within escalate_window.  Returns 1 with
 * d filled on escalation. */
static int pfx_note_block(struct ctl_policy *p, const struct pkey *src_key,
			  const struct mxw_addr *addr, uint64_t now,
			  struct ctl_policy_decision *d)
{
	const struct ctl_policy_cfg *c = &p->cfg;
	uint64_t win = (uint64_t)c->escalate_window * NS_PER_SEC;
	char text[CTL_ADDR_TEXT_MAX];
	struct ppfx *x;
	struct pkey k;
	uint32_t keep = 0, oldest = 0;
	bool found = false;

	if (!c->escalate_window)
		return 0;
	key_make(&k, addr, c->prefix4_len, c->prefix6_len);
	/* A source as wide as the prefix cannot escalate to it. */
	if (k.plen >= src_key->plen)
		return 0;
	x = (struct ppfx *)ptab_get(&p->pfx, &k);
	if (!x)
		return 0;
	if (now < x->blocked_until_ns)
		return 0;       /* once per prefix while blocked */
	/* Drop what left the window, refresh or add this source. */
	for (uint32_t i = 0; i < x->n_recent; i++) {
		if (now - x->recent[i].t_ns > win)
			continue;
		x->recent[keep] = x->recent[i];
		if (memcmp(&x->recent[keep].src, src_key,
			   sizeof(*src_key)) == 0) {
			x->recent[keep].t_ns = now;
			found = true;
		}
		keep++;
	}
	x->n_recent = keep;
	if (!found) {
		if (x->n_recent == CTL_ESC_MAX) {
			for (uint32_t i = 1; i < x->n_recent; i++)
				if (x->recent[i].t_ns <
				    x->recent[oldest].t_ns)
					oldest = i;
		} else {
			oldest = x->n_recent++;
		}
		x->recent[oldest].src = *src_key;
		x->recent[oldest].t_ns = now;
	}
	if (x->n_recent < c->escalate_count)
		return 0;

	x->offences = policy_offence(c, x->last_block_ns, x->offences, now);
	x->last_block_ns = now;
	d->kind = CTL_PD_BLOCK_PREFIX;
	key_prefix(&k, &d->target);
	d->ttl = policy_ttl(c, c->escalate_ttl, x->offences);
	d->reason = MXW_LR_ESCALATED;
	d->shadow = c->shadow;
	d->offence = x->offences;
	d->trigger_ns = now;
	ctl_prefix_format(&d->target, text, sizeof(text));
	snprintf(d->why, sizeof(d->why), "%u sources of %s blocked in %u s",
		 x->n_recent, text, c->escalate_window);
	x->blocked_until_ns = now + (uint64_t)d->ttl * NS_PER_SEC;
	x->n_recent = 0;
	return 1;
}

static void why_score(const struct psrc *s, double score, uint32_t threshold,
		      char *why, size_t len)
{
	why[0] = '\0';
	why_add(why, len, "score %.0f >= %u (", floor(score), threshold);
	for (int i = 0; i < CTL_WHY_REASONS && s->top[i].count; i++)
		why_add(why, len, "%s%s %u", i ? ", " : "",
			smtp_reason_name((enum smtp_reason)s->top[i].reason),
			s->top[i].count);
	if (s->other)
		why_add(why, len, ", %u more", s->other);
	why_add(why, len, ")");
}

size_t ctl_policy_event(struct ctl_policy *p, const struct smtp_event *ev,
			uint64_t now_ns, struct ctl_policy_decision *out,
			size_t max)
{
	const struct ctl_policy_cfg *c = &p->cfg;
	struct ctl_policy_decision d;
	bool block = false;
	char why[sizeof(d.why)] = "";
	uint32_t w, now_s = ns_to_s(now_ns);
	unsigned cmask;
	struct psrc *s;
	struct pkey k;
	size_t n = 0;

	p->st.events++;
	if (ev->reason >= SMTP_R__COUNT || ev->kind == SMTP_K_AUDIT ||
	    ev->kind == SMTP_K_INFO)
		return 0;
	w = c->weight[ev->reason];
	cmask = event_counters(ev);
	for (int i = 0; i < CTL_PC_MAX; i++)
		if (!c->counter[i].limit)
			cmask &= ~(1u << i);
	if (!w && !cmask)
		return 0;
	key_make(&k, &ev->client, 32, c->source6_len);
	s = (struct psrc *)ptab_get(&p->src, &k);
	if (!s)
		return 0;       /* XXX: memory short: the event is lost */
	if (now_ns < s->blocked_until_ns)
		return 0;       /* already blocked (or shadow-blocked) */

	if (w) {
		p->st.scored++;
		s->score = src_score_now(p, s, now_ns) + w;
		s->score_ns = now_ns;
		src_note_reason(s, (enum smtp_reason)ev->reason);
		if (c->threshold && s->score >= c->threshold) {
			why_score(s, s->score, c->threshold, why, sizeof(why));
			block = true;
		}
	}
	if (cmask && !s->rings)
		s->rings = calloc(1, sizeof(*s->rings));
	for (int i = 0; i < CTL_PC_MAX && s->rings; i++) {
		uint32_t cnt;

		if (!(cmask & (1u << i)) || !src_count(p, s, i, now_s, &cnt))
			continue;
		if (!block)
			snprintf(why, sizeof(why), "%s %u in %u s",
				 ctl_policy_counter_name(i), cnt,
				 c->counter[i].window);
		block = true;
	}
	if (!block)
		return 0;
	/* Allowlisted sources are never blocked.  Asked only now that a
	 * block is due, not for every event: the allow maps are the
	 * kernel's and each look-up is a system call, measured at 5-15 us
	 * here, straight on the block latency.  (The fast path does not
	 * hand an allowlisted client's segments to inspection at all, so
	 * this catches entries added mid-session.)  Its score and counters
	 * start again, so it is not asked on every later event. */
	if (c->allowed && c->allowed(c->allowed_ctx, &ev->client)) {
		p->st.ignored_allowed++;
		s->score = 0;
		free(s->rings);
		s->rings = NULL;
		return 0;
	}

	memset(&d, 0, sizeof(d));
	src_block(p, s, now_ns, &d);
	memcpy(d.why, why, sizeof(d.why));
	p->st.blocks++;
	if (d.shadow)
		p->st.shadow_blocks++;
	if (n < max)
		out[n++] = d;
	memset(&d, 0, sizeof(d));
	if (pfx_note_block(p, &k, &ev->client, now_ns, &d)) {
		p->st.prefix_blocks++;
		if (d.shadow)
			p->st.shadow_blocks++;
		if (n < max)
			out[n++] = d;
	}
	return n;
}

/* Nothing left to remember: not blocked, no block to repeat, score
 * decayed below one point, no counted event inside its window. */
static bool src_idle(const struct ctl_policy *p, const struct pnode *n,
		     uint64_t now)
{
	const struct psrc *s = (const struct psrc *)n;
	const struct ctl_policy_cfg *c = &p->cfg;
	uint32_t now_s = ns_to_s(now);

	if (now < s->blocked_until_ns)
		return false;
	if (s->offences &&
	    now - s->last_block_ns <= (uint64_t)c->repeat_window * NS_PER_SEC)
		return false;
	if (src_score_now(p, s, now) >= 1.0)
		return false;
	for (int i = 0; s->rings && i < CTL_PC_MAX; i++) {
		uint32_t last = (s->rings->head[i] + CTL_PC_RING_MAX - 1) %
				CTL_PC_RING_MAX;

		if (s->rings->n[i] &&
		    now_s - s->rings->t[i][last] < c->counter[i].window)
			return false;
	}
	return true;
}

static bool pfx_idle(const struct ctl_policy *p, const struct pnode *n,
		     uint64_t now)
{
	const struct ppfx *x = (const struct ppfx *)n;
	const struct ctl_policy_cfg *c = &p->cfg;

	if (now < x->blocked_until_ns)
		return false;
	if (x->offences &&
	    now - x->last_block_ns <= (uint64_t)c->repeat_window * NS_PER_SEC)
		return false;
	for (uint32_t i = 0; i < x->n_recent; i++)
		if (now - x->recent[i].t_ns <=
		    (uint64_t)c->escalate_window * NS_PER_SEC)
			return false;
	return true;
}

/* Delete idle entries of t from its least recently seen end: those are
 * the likely idle ones.  *looked counts entries looked at against
 * budget, idle or not.
 * XXX: entries kept for their repeat history pile up at that end, and a
 * small budget may not get past them; the LRU bound still holds. */
static size_t ptab_expire(struct ctl_policy *p, struct ptab *t,
			  bool (*idle)(const struct ctl_policy *p,
				       const struct pnode *n, uint64_t now),
			  uint64_t now, size_t budget, size_t *looked)
{
	struct pnode *n, *prev;
	size_t done = 0;

	for (n = t->lru.lprev; n != &t->lru && *looked < budget;
	     n = prev, (*looked)++) {
		prev = n->lprev;
		if (idle(p, n, now)) {
			ptab_del(t, n);
			done++;
		}
	}
	return done;
}

size_t ctl_policy_expire(struct ctl_policy *p, uint64_t now_ns, size_t budget)
{
	size_t looked = 0, done;

	done = ptab_expire(p, &p->src, src_idle, now_ns, budget, &looked);
	done += ptab_expire(p, &p->pfx, pfx_idle, now_ns, budget, &looked);
	return done;
}

void ctl_policy_stats(const struct ctl_policy *p, struct ctl_policy_stats *out)
{
	*out = p->st;
	out->sources = p->src.n;
	out->evicted = p->src.evicted + p->pfx.evicted;
}

void ctl_policy_unblocked(struct ctl_policy *p, const struct ctl_prefix *target)
{
	struct pkey k = {0};
	struct pnode *n;

	if (target->plen > 128)
		return;
	memcpy(k.a, target->a, 16);
	k.plen = (uint8_t)target->plen;
	if ((n = ptab_find(&p->src, &k)))
		((struct psrc *)n)->blocked_until_ns = 0;
	if ((n = ptab_find(&p->pfx, &k)))
		((struct ppfx *)n)->blocked_until_ns = 0;
}
