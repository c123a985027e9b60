// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_policy.c - the policy module (control/ctl_policy.c), table-driven
 * over time: each scenario is a list of {time, source, check} events with
 * the decisions expected after each one, on a fresh policy with the
 * defaults (docs/policy.md) plus the scenario's changes.  Then the
 * properties that are not one table: bounded memory under a flood of
 * sources, expiry, and legitimate-looking traffic never blocked.
 */
#include <stdlib.h>
#include <string.h>

#include "ctl_policy.h"
#include "ctltest.h"

#define NS 1000000000ull

struct step {
	uint32_t t;             /* s since the start of the scenario */
	const char *src;
	enum smtp_reason r;
	uint8_t act;            /* enum smtp_action of the event */
	size_t n;               /* decisions expected */
	const char *target;     /* first decision, when n >= 1 */
	uint32_t ttl;
	const char *why;        /* substring of its why */
	uint32_t offence;       /* 0: not checked */
	const char *pfx;        /* second decision (escalation) */
	uint32_t pfx_ttl;
};

#define SC SMTP_A_SCORE
#define KL SMTP_A_KILL
/* An event that decides nothing. */
#define EV(t, s, r, a) {t, s, r, a, 0, NULL, 0, NULL, 0, NULL, 0}
/* An event that blocks its source. */
#define BL(t, s, r, a, tgt, ttl, why, off) \
	{t, s, r, a, 1, tgt, ttl, why, off, NULL, 0}
/* ... and escalates to its prefix. */
#define ES(t, s, r, a, tgt, ttl, pfx, pttl) \
	{t, s, r, a, 2, tgt, ttl, NULL, 0, pfx, pttl}

#define A1 "198.51.100.1"
#define A2 "198.51.100.2"
#define A3 "198.51.100.3"

static const struct step threshold[] = {
	EV(0, A1, SMTP_R_VRFY, SC),
	EV(0, A1, SMTP_R_VRFY, SC),
	EV(0, A1, SMTP_R_VRFY, SC),     /* 9 */
	BL(0, A1, SMTP_R_UNKNOWN_CMD, SC, A1, 600,
	   "score 10 >= 10 (vrfy 3, unknown_command 1)", 1),
	/* blocked: nothing more until the TTL runs out */
	EV(10, A1, SMTP_R_CMD_TOO_LONG, KL),
	EV(599, A1, SMTP_R_CMD_TOO_LONG, KL),
	/* back, and starting from zero */
	EV(600, A1, SMTP_R_VRFY, SC),
	EV(600, A1, SMTP_R_VRFY, SC),
	EV(600, A1, SMTP_R_VRFY, SC),
	BL(600, A1, SMTP_R_VRFY, SC, A1, 2400, "score 12 >= 10", 2),
	/* a different address is a different source */
	BL(601, A2, SMTP_R_CMD_TOO_LONG, KL, A2, 600,
	   "command_too_long 1", 1),
};

static const struct step decay[] = {
	EV(0, A1, SMTP_R_VRFY, SC),
	EV(0, A1, SMTP_R_VRFY, SC),
	EV(0, A1, SMTP_R_VRFY, SC),     /* 9 */
	EV(600, A1, SMTP_R_VRFY, SC),   /* 4.5 + 3 */
	BL(601, A1, SMTP_R_VRFY, SC, A1, 600, "score 10 >= 10", 1),
	EV(1000, A2, SMTP_R_VRFY, SC),
	EV(1000, A2, SMTP_R_VRFY, SC),
	EV(1000, A2, SMTP_R_VRFY, SC),
	EV(2200, A2, SMTP_R_VRFY, SC),  /* 2.25 + 3 */
	EV(2200, A2, SMTP_R_VRFY, SC),  /* 8.25 */
};

static const struct step auth_in[] = {
	EV(0, A1, SMTP_R_AUTH_FAILED, SC),
	EV(100, A1, SMTP_R_LOGIN_FAILED, SC),
	EV(200, A1, SMTP_R_AUTH_FAILED, SC),
	EV(300, A1, SMTP_R_AUTH_FAILED, SC),
	BL(599, A1, SMTP_R_AUTH_FAILED, SC, A1, 600, "auth_failed 5 in 600 s",
	   1),
};

static const struct step auth_out[] = {
	EV(0, A1, SMTP_R_AUTH_FAILED, SC),
	EV(100, A1, SMTP_R_LOGIN_FAILED, SC),
	EV(200, A1, SMTP_R_AUTH_FAILED, SC),
	EV(300, A1, SMTP_R_AUTH_FAILED, SC),
	EV(600, A1, SMTP_R_AUTH_FAILED, SC),    /* the one at 0 left */
	BL(601, A1, SMTP_R_AUTH_FAILED, SC, A1, 600, "auth_failed 5 in 600 s",
	   1),
};

#define R9(s0, step, src) \
	EV(s0, src, SMTP_R_INVALID_RCPT, SC), \
	EV(s0 + step, src, SMTP_R_INVALID_RCPT, SC), \
	EV(s0 + 2 * step, src, SMTP_R_INVALID_RCPT, SC), \
	EV(s0 + 3 * step, src, SMTP_R_INVALID_RCPT, SC), \
	EV(s0 + 4 * step, src, SMTP_R_INVALID_RCPT, SC), \
	EV(s0 + 5 * step, src, SMTP_R_INVALID_RCPT, SC), \
	EV(s0 + 6 * step, src, SMTP_R_INVALID_RCPT, SC), \
	EV(s0 + 7 * step, src, SMTP_R_INVALID_RCPT, SC), \
	EV(s0 + 8 * step, src, SMTP_R_INVALID_RCPT, SC)

static const struct step rcpt[] = {
	R9(0, 60, A1),
	BL(540, A1, SMTP_R_INVALID_RCPT, SC, A1, 600,
	   "invalid_recipient 10 in 600 s", 1),
	R9(0, 67, A2),
	EV(603, A2, SMTP_R_INVALID_RCPT, SC),   /* 9 in the window */
};

static const struct step killed[] = {
	EV(0, A1, SMTP_R_RESOURCE_LIMIT, KL),
	EV(300, A1, SMTP_R_RESOURCE_LIMIT, KL),
	BL(599, A1, SMTP_R_RESOURCE_LIMIT, KL, A1, 600,
	   "killed_sessions 3 in 600 s", 1),
	EV(0, A2, SMTP_R_RESOURCE_LIMIT, KL),
	EV(300, A2, SMTP_R_RESOURCE_LIMIT, KL),
	EV(600, A2, SMTP_R_RESOURCE_LIMIT, KL),
	/* scored, not killed: no count */
	EV(0, A3, SMTP_R_TCP_OOO_LIMIT, SC),
	EV(1, A3, SMTP_R_TCP_OOO_LIMIT, SC),
	EV(2, A3, SMTP_R_TCP_OOO_LIMIT, SC),
};

/* 600, 2400, 9600, 38400, then the 86400 cap. */
static const struct step ttl_growth[] = {
	BL(0, A1, SMTP_R_CMD_TOO_LONG, KL, A1, 600, NULL, 1),
	BL(700, A1, SMTP_R_CMD_TOO_LONG, KL, A1, 2400, NULL, 2),
	EV(3099, A1, SMTP_R_CMD_TOO_LONG, KL),
	BL(3100, A1, SMTP_R_CMD_TOO_LONG, KL, A1, 9600, NULL, 3),
	BL(12700, A1, SMTP_R_CMD_TOO_LONG, KL, A1, 38400, NULL, 4),
	BL(51100, A1, SMTP_R_CMD_TOO_LONG, KL, A1, 86400, NULL, 5),
	BL(137500, A1, SMTP_R_CMD_TOO_LONG, KL, A1, 86400, NULL, 6),
};

static void cfg_repeat_1000(struct ctl_policy_cfg *c)
{
	c->repeat_window = 1000;
}

static const struct step repeat[] = {
	BL(0, A1, SMTP_R_CMD_TOO_LONG, KL, A1, 600, NULL, 1),
	BL(1000, A1, SMTP_R_CMD_TOO_LONG, KL, A1, 2400, NULL, 2),
	/* 2401 s after the last block: forgotten */
	BL(3401, A1, SMTP_R_CMD_TOO_LONG, KL, A1, 600, NULL, 1),
};

static const struct step esc4[] = {
	BL(0, A1, SMTP_R_CMD_TOO_LONG, KL, A1, 600, NULL, 1),
	BL(10, "198.51.101.2", SMTP_R_CMD_TOO_LONG, KL, "198.51.101.2", 600,
	   NULL, 1),                    /* another /24 */
	BL(20, A2, SMTP_R_CMD_TOO_LONG, KL, A2, 600, NULL, 1),
	ES(30, A3, SMTP_R_CMD_TOO_LONG, KL, A3, 600, "198.51.100.0/24", 3600),
	/* once per prefix while it is blocked */
	BL(40, "198.51.100.4", SMTP_R_CMD_TOO_LONG, KL, "198.51.100.4", 600,
	   NULL, 1),
	BL(50, "198.51.100.5", SMTP_R_CMD_TOO_LONG, KL, "198.51.100.5", 600,
	   NULL, 1),
	BL(60, "198.51.100.6", SMTP_R_CMD_TOO_LONG, KL, "198.51.100.6", 600,
	   NULL, 1),
	/* after the prefix block: escalated again, longer */
	BL(3700, "198.51.100.7", SMTP_R_CMD_TOO_LONG, KL, "198.51.100.7", 600,
	   NULL, 1),
	BL(3710, "198.51.100.8", SMTP_R_CMD_TOO_LONG, KL, "198.51.100.8", 600,
	   NULL, 1),
	ES(3720, "198.51.100.9", SMTP_R_CMD_TOO_LONG, KL, "198.51.100.9", 600,
	   "198.51.100.0/24", 14400),
};

static const struct step esc_window[] = {
	BL(0, A1, SMTP_R_CMD_TOO_LONG, KL, A1, 600, NULL, 1),
	BL(300, A2, SMTP_R_CMD_TOO_LONG, KL, A2, 600, NULL, 1),
	BL(601, A3, SMTP_R_CMD_TOO_LONG, KL, A3, 600, NULL, 1),
	ES(650, "198.51.100.4", SMTP_R_CMD_TOO_LONG, KL, "198.51.100.4", 600,
	   "198.51.100.0/24", 3600),
};

/* IPv6: sources are /64s, escalation is to the /48. */
static const struct step esc6[] = {
	EV(0, "2001:db8:1:a::1", SMTP_R_VRFY, SC),
	EV(0, "2001:db8:1:a::2", SMTP_R_VRFY, SC),
	EV(0, "2001:db8:1:a:ffff::3", SMTP_R_VRFY, SC),
	BL(0, "2001:db8:1:a::4", SMTP_R_VRFY, SC, "2001:db8:1:a::/64", 600,
	   "score 12 >= 10 (vrfy 4)", 1),
	/* the same /64 again (after its TTL): still one source */
	BL(700, "2001:db8:1:a::5", SMTP_R_CMD_TOO_LONG, KL,
	   "2001:db8:1:a::/64", 2400, NULL, 2),
	BL(710, "2001:db8:2:b::1", SMTP_R_CMD_TOO_LONG, KL,
	   "2001:db8:2:b::/64", 600, NULL, 1),  /* another /48 */
	BL(720, "2001:db8:1:b::1", SMTP_R_CMD_TOO_LONG, KL,
	   "2001:db8:1:b::/64", 600, NULL, 1),
	ES(730, "2001:db8:1:ffff::1", SMTP_R_CMD_TOO_LONG, KL,
	   "2001:db8:1:ffff::/64", 600, "2001:db8:1::/48", 3600),
};

static bool allow_a1_a2(void *ctx, const struct mxw_addr *a)
{
	(void)ctx;
	return a->a[10] == 0xff && a->a[12] == 198 && a->a[13] == 51 &&
	       a->a[14] == 100 && (a->a[15] == 1 || a->a[15] == 2);
}

static void cfg_allow(struct ctl_policy_cfg *c)
{
	c->allowed = allow_a1_a2;
}

static const struct step allowed[] = {
	EV(0, A1, SMTP_R_CMD_TOO_LONG, KL),
	EV(1, A2, SMTP_R_CMD_TOO_LONG, KL),
	EV(2, A1, SMTP_R_AUTH_FAILED, SC),
	EV(2, A1, SMTP_R_AUTH_FAILED, SC),
	EV(2, A1, SMTP_R_AUTH_FAILED, SC),
	EV(2, A1, SMTP_R_AUTH_FAILED, SC),
	EV(2, A1, SMTP_R_AUTH_FAILED, SC),
	EV(2, A1, SMTP_R_AUTH_FAILED, SC),
	/* two other sources of the /24: no escalation with the allowed */
	BL(3, A3, SMTP_R_CMD_TOO_LONG, KL, A3, 600, NULL, 1),
	BL(4, "198.51.100.4", SMTP_R_CMD_TOO_LONG, KL, "198.51.100.4", 600,
	   NULL, 1),
	ES(5, "198.51.100.5", SMTP_R_CMD_TOO_LONG, KL, "198.51.100.5", 600,
	   "198.51.100.0/24", 3600),
};

static void cfg_shadow(struct ctl_policy_cfg *c)
{
	c->shadow = true;
}

static const struct step shadow[] = {
	BL(0, A1, SMTP_R_CMD_TOO_LONG, KL, A1, 600, NULL, 1),
	/* a shadow-blocked source keeps talking: no second decision */
	EV(1, A1, SMTP_R_CMD_TOO_LONG, KL),
	EV(2, A1, SMTP_R_CMD_TOO_LONG, KL),
	BL(1, A2, SMTP_R_CMD_TOO_LONG, KL, A2, 600, NULL, 1),
	ES(2, A3, SMTP_R_CMD_TOO_LONG, KL, A3, 600, "198.51.100.0/24", 3600),
};

/* Audit and info events are about the server or the engine. */
static const struct step ignored[] = {
	EV(0, A1, SMTP_R_AUDIT_BANNER, SC),
	EV(0, A1, SMTP_R_AUDIT_RELAY, KL),
	EV(0, A1, SMTP_R_MIDSTREAM, KL),
	EV(0, A1, SMTP_R_TABLE_FULL, KL),
	EV(0, A1, SMTP_R_AUDIT_VRFY, KL),
	EV(0, A1, SMTP_R_OPAQUE, KL),
	EV(0, A1, SMTP_R_CLEARTEXT_AUTH, SC),   /* weight 0 */
};

static void cfg_counters_off(struct ctl_policy_cfg *c)
{
	for (int i = 0; i < CTL_PC_MAX; i++)
		c->counter[i].limit = 0;
	c->weight[SMTP_R_AUTH_FAILED] = 0;
	c->escalate_window = 0;
}

static const struct step counters_off[] = {
	EV(0, A1, SMTP_R_AUTH_FAILED, SC),
	EV(1, A1, SMTP_R_AUTH_FAILED, SC),
	EV(2, A1, SMTP_R_AUTH_FAILED, SC),
	EV(3, A1, SMTP_R_AUTH_FAILED, SC),
	EV(4, A1, SMTP_R_AUTH_FAILED, SC),
	EV(5, A1, SMTP_R_AUTH_FAILED, SC),
	EV(5, A1, SMTP_R_RESOURCE_LIMIT, KL),
	EV(5, A1, SMTP_R_RESOURCE_LIMIT, KL),
	EV(5, A1, SMTP_R_RESOURCE_LIMIT, KL),
	BL(6, A1, SMTP_R_CMD_TOO_LONG, KL, A1, 600, NULL, 1),
	BL(7, A2, SMTP_R_CMD_TOO_LONG, KL, A2, 600, NULL, 1),
	BL(8, A3, SMTP_R_CMD_TOO_LONG, KL, A3, 600, NULL, 1), /* no esc. */
};

struct scenario {
	const char *label;
	void (*tweak)(struct ctl_policy_cfg *c);
	const struct step *steps;
	size_t n;
};

#define SCN(label, tweak, steps) \
	{label, tweak, steps, sizeof(steps) / sizeof(steps[0])}

static const struct scenario scenarios[] = {
	SCN("threshold", NULL, threshold),
	SCN("decay", NULL, decay),
	SCN("auth inside window", NULL, auth_in),
	SCN("auth outside window", NULL, auth_out),
	SCN("invalid recipients", NULL, rcpt),
	SCN("killed sessions", NULL, killed),
	SCN("ttl growth and cap", NULL, ttl_growth),
	SCN("repeat window", cfg_repeat_1000, repeat),
	SCN("escalation ipv4", NULL, esc4),
	SCN("escalation window", NULL, esc_window),
	SCN("escalation ipv6", NULL, esc6),
	SCN("allowlisted", cfg_allow, allowed),
	SCN("shadow", cfg_shadow, shadow),
	SCN("audit and info ignored", NULL, ignored),
	SCN("counters and escalation off", cfg_counters_off, counters_off),
};

static struct smtp_event make_event(const char *src, enum smtp_reason r,
				    uint8_t act, uint64_t now)
{
	struct smtp_event ev;
	struct ctl_prefix pf;
	char err[128];

	memset(&ev, 0, sizeof(ev));
	if (ctl_prefix_parse(src, &pf, err, sizeof(err)) < 0) {
		fprintf(stderr, "bad address in test: %s: %s\n", src, err);
		exit(2);
	}
	memcpy(ev.client.a, pf.a, 16);
	ev.reason = (uint16_t)r;
	ev.kind = (uint8_t)smtp_reason_kind(r);
	ev.action = act;
	ev.time_ns = now;
	ev.client_port = 40000;
	ev.server_port = 25;
	return ev;
}

static bool target_is(const struct ctl_prefix *t, const char *text)
{
	struct ctl_prefix want;
	char err[128];

	if (ctl_prefix_parse(text, &want, err, sizeof(err)) < 0)
		return false;
	return want.plen == t->plen && memcmp(want.a, t->a, 16) == 0;
}

/* Start the clock far from 0, as a monotonic clock would be. */
#define T0 (1000000ull * NS)

static void run_scenario(const struct scenario *sc)
{
	struct ctl_policy_cfg cfg;
	struct ctl_policy *p;
	struct ctl_policy_stats st;
	uint64_t blocks = 0, prefixes = 0;

	ctl_policy_cfg_default(&cfg);
	if (sc->tweak)
		sc->tweak(&cfg);
	p = ctl_policy_new(&cfg);
	CHECK(p != NULL, sc->label);
	if (!p)
		return;
	for (size_t i = 0; i < sc->n; i++) {
		const struct step *s = &sc->steps[i];
		uint64_t now = T0 + (uint64_t)s->t * NS;
		struct smtp_event ev = make_event(s->src, s->r, s->act, now);
		struct ctl_policy_decision d[3];
		char label[160];
		size_t n;

		memset(d, 0xa5, sizeof(d));
		n = ctl_policy_event(p, &ev, now, d, 3);
		snprintf(label, sizeof(label), "%s step %zu (t=%u %s %s)",
			 sc->label, i, s->t, s->src, smtp_reason_name(s->r));
		CHECK(n == s->n, label);
		if (n != s->n) {
			fprintf(stderr, "  got %zu decisions: %s\n", n,
				n ? d[0].why : "");
			continue;
		}
		if (n >= 1) {
			blocks++;
			CHECK(d[0].kind == CTL_PD_BLOCK, label);
			CHECK(target_is(&d[0].target, s->target), label);
			CHECK(d[0].ttl == s->ttl, label);
			CHECK(d[0].reason == MXW_LR_POLICY, label);
			CHECK(d[0].shadow == cfg.shadow, label);
			CHECK(d[0].trigger_ns == now, label);
			CHECK(memchr(d[0].why, '\0', sizeof(d[0].why)) != NULL,
			      label);
			CHECK(!s->why || strstr(d[0].why, s->why), label);
			CHECK(!s->offence || d[0].offence == s->offence, label);
			if (d[0].ttl != s->ttl || (s->why &&
						   !strstr(d[0].why, s->why)))
				fprintf(stderr, "  ttl %u offence %u why \"%s\"\n",
					d[0].ttl, d[0].offence, d[0].why);
		}
		if (n >= 2) {
			prefixes++;
			CHECK(d[1].kind == CTL_PD_BLOCK_PREFIX, label);
			CHECK(target_is(&d[1].target, s->pfx), label);
			CHECK(d[1].ttl == s->pfx_ttl, label);
			CHECK(d[1].reason == MXW_LR_ESCALATED, label);
			CHECK(d[1].shadow == cfg.shadow, label);
			CHECK(strstr(d[1].why, "sources of") != NULL, label);
		}
	}
	ctl_policy_stats(p, &st);
	CHECK(st.events == sc->n, sc->label);
	CHECK(st.blocks == blocks, sc->label);
	CHECK(st.prefix_blocks == prefixes, sc->label);
	CHECK(st.shadow_blocks == (cfg.shadow ? blocks + prefixes : 0),
	      sc->label);
	/* blocks that were due and not made: A1 and A2 at once, A1 again
	 * at its 5th AUTH failure (its slate was wiped at the first) */
	if (sc->tweak == cfg_allow)
		CHECK(st.ignored_allowed == 3, sc->label);
	ctl_policy_free(p);
}

static size_t feed_out(struct ctl_policy *p, const char *src,
		       enum smtp_reason r, uint8_t act, uint64_t t_s,
		       struct ctl_policy_decision d[2])
{
	uint64_t now = T0 + t_s * NS;
	struct smtp_event ev = make_event(src, r, act, now);

	return ctl_policy_event(p, &ev, now, d, 2);
}

static size_t feed(struct ctl_policy *p, const char *src, enum smtp_reason r,
		   uint8_t act, uint64_t t_s)
{
	struct ctl_policy_decision d[2];

	return feed_out(p, src, r, act, t_s, d);
}

/* A flood of distinct sources: the table stays at max_sources, and an
 * evicted source has lost its score. */
static void test_eviction(void)
{
	struct ctl_policy_cfg cfg;
	struct ctl_policy_stats st;
	struct ctl_policy *p;
	char addr[64];
	size_t n = 0;

	ctl_policy_cfg_default(&cfg);
	cfg.max_sources = 16;
	p = ctl_policy_new(&cfg);
	CHECK(p != NULL, "eviction");
	if (!p)
		return;
	for (int i = 0; i < 3; i++)
		n += feed(p, A1, SMTP_R_VRFY, SC, 0);
	for (int i = 0; i < 1000; i++) {
		snprintf(addr, sizeof(addr), "2001:db8:%x:%x::1", i / 256,
			 i % 256);
		n += feed(p, addr, SMTP_R_VRFY, SC, 1);
		ctl_policy_stats(p, &st);
		CHECK(st.sources <= 16, "eviction: bounded");
	}
	n += feed(p, A1, SMTP_R_VRFY, SC, 2);  /* 3, not 12 */
	CHECK(n == 0, "eviction: evicted source starts from zero");
	ctl_policy_stats(p, &st);
	CHECK(st.sources == 16, "eviction: full");
	CHECK(st.evicted == 1002 - 16, "eviction: count");

	/* a smaller bound on reload evicts at once */
	cfg.max_sources = 4;
	ctl_policy_set_cfg(p, &cfg);
	ctl_policy_stats(p, &st);
	CHECK(st.sources == 4, "eviction: set_cfg shrinks");
	/* and a larger one keeps what is there */
	cfg.max_sources = 100000;
	ctl_policy_set_cfg(p, &cfg);
	ctl_policy_stats(p, &st);
	CHECK(st.sources == 4, "eviction: set_cfg grows");
	for (int i = 0; i < 1000; i++) {
		snprintf(addr, sizeof(addr), "203.0.%d.%d", i / 256, i % 256);
		feed(p, addr, SMTP_R_VRFY, SC, 3);
	}
	ctl_policy_stats(p, &st);
	CHECK(st.sources == 1004, "eviction: grown table");
	ctl_policy_free(p);
}

/* expire forgets idle sources, keeps blocked and repeat history. */
static void test_expire(void)
{
	struct ctl_policy_cfg cfg;
	struct ctl_policy_stats st;
	struct ctl_policy *p;
	size_t done;

	ctl_policy_cfg_default(&cfg);
	p = ctl_policy_new(&cfg);
	CHECK(p != NULL, "expire");
	if (!p)
		return;
	feed(p, A1, SMTP_R_VRFY, SC, 0);                 /* score 3 */
	feed(p, A2, SMTP_R_AUTH_FAILED, SC, 0);          /* counter */
	CHECK(feed(p, A3, SMTP_R_CMD_TOO_LONG, KL, 0) == 1, "expire: block");
	CHECK(ctl_policy_expire(p, T0 + 10 * NS, 100) == 0, "expire: early");
	/* At 700 s the counted event and the prefix's blocked source left
	 * their 600 s windows, A2's single point decayed; A1's 3 points are
	 * 1.33 and fall below 1 after 951 s; the blocked source stays for
	 * repeat_window. */
	done = ctl_policy_expire(p, T0 + 700 * NS, 100);
	CHECK(done == 2, "expire: counter and prefix gone, score left");
	done = ctl_policy_expire(p, T0 + 1300 * NS, 100);
	CHECK(done == 1, "expire: score decayed");
	ctl_policy_stats(p, &st);
	CHECK(st.sources == 1, "expire: blocked source kept");
	/* budget bounds the work */
	CHECK(ctl_policy_expire(p, T0 + 200000 * NS, 0) == 0,
	      "expire: zero budget");
	done = ctl_policy_expire(p, T0 + 200000 * NS, 100);
	CHECK(done == 1, "expire: blocked source after repeat_window");
	ctl_policy_stats(p, &st);
	CHECK(st.sources == 0, "expire: empty");
	ctl_policy_free(p);
}

/* What legitimate clients do, with the defaults: never blocked. */
static void test_legit(void)
{
	struct ctl_policy_cfg cfg;
	struct ctl_policy_stats st;
	struct ctl_policy *p;
	size_t n = 0;

	ctl_policy_cfg_default(&cfg);
	p = ctl_policy_new(&cfg);
	CHECK(p != NULL, "legit");
	if (!p)
		return;
	/* A mail client connecting every minute for a day: one wrong
	 * password once, one mistyped recipient, clear-text AUTH on
	 * every session (not the client's offence). */
	for (uint64_t t = 0; t < 86400; t += 60) {
		n += feed(p, A1, SMTP_R_CLEARTEXT_AUTH, SC, t);
		if (t == 3600)
			n += feed(p, A1, SMTP_R_AUTH_FAILED, SC, t);
		if (t == 7200)
			n += feed(p, A1, SMTP_R_INVALID_RCPT, SC, t);
	}
	/* A user mistyping a password three times in a minute, twice a
	 * day. */
	for (uint64_t t = 0; t < 3 * 20; t += 20) {
		n += feed(p, A2, SMTP_R_AUTH_FAILED, SC, t);
		n += feed(p, A2, SMTP_R_AUTH_FAILED, SC, 40000 + t);
	}
	/* A buggy client ending one line with a bare LF in each session,
	 * every ten minutes; a mailing list server sending to 9 unknown
	 * recipients in one go every hour. */
	for (uint64_t t = 0; t < 86400; t += 600)
		n += feed(p, A3, SMTP_R_BARE_LF, SC, t);
	for (uint64_t t = 0; t < 86400; t += 3600)
		for (int i = 0; i < 9; i++)
			n += feed(p, "2001:db8::25", SMTP_R_INVALID_RCPT, SC,
				  t);
	/* The protected server's own findings about itself. */
	for (uint64_t t = 0; t < 1000; t++)
		n += feed(p, "192.0.2.25", SMTP_R_AUDIT_BANNER, SC, t);
	CHECK(n == 0, "legit: nothing blocked");
	ctl_policy_stats(p, &st);
	CHECK(st.blocks == 0 && st.prefix_blocks == 0, "legit: stats");
	ctl_policy_free(p);
}

/* A decision array shorter than the decisions: bounded writes, the
 * state still moves on. */
static void test_short_out(void)
{
	struct ctl_policy_cfg cfg;
	struct ctl_policy_decision d[2];
	struct ctl_policy *p;
	uint64_t now = T0;
	struct smtp_event ev;

	ctl_policy_cfg_default(&cfg);
	p = ctl_policy_new(&cfg);
	CHECK(p != NULL, "short out");
	if (!p)
		return;
	feed(p, A1, SMTP_R_CMD_TOO_LONG, KL, 0);
	feed(p, A2, SMTP_R_CMD_TOO_LONG, KL, 0);
	ev = make_event(A3, SMTP_R_CMD_TOO_LONG, KL, now);
	memset(d, 0, sizeof(d));
	CHECK(ctl_policy_event(p, &ev, now, d, 1) == 1, "short out: one");
	CHECK(d[1].kind == 0 && d[1].ttl == 0, "short out: bounded");
	ev = make_event("198.51.100.9", SMTP_R_CMD_TOO_LONG, KL, now);
	CHECK(ctl_policy_event(p, &ev, now, d, 0) == 0, "short out: none");
	ctl_policy_free(p);
}

/*
 * docs/policy.md's weight table must be the code's: every row
 * "| `check` | N | why |" equals the default weight, and every check with
 * a non-zero default has a row.
 */
static void test_doc_table(const char *path)
{
	struct ctl_policy_cfg cfg;
	bool seen[SMTP_R__COUNT] = {false};
	char line[512];
	int rows = 0;
	FILE *f = fopen(path, "r");

	CHECK(f != NULL, path);
	if (!f)
		return;
	ctl_policy_cfg_default(&cfg);
	while (fgets(line, sizeof(line), f)) {
		char name[64];
		unsigned w;
		int r;

		if (sscanf(line, "| `%63[a-z0-9_]` | %u |", name, &w) != 2)
			continue;
		for (r = 0; r < SMTP_R__COUNT; r++)
			if (strcmp(name, smtp_reason_name(r)) == 0)
				break;
		CHECK(r < SMTP_R__COUNT, name);
		if (r == SMTP_R__COUNT)
			continue;
		CHECK(cfg.weight[r] == w, name);
		seen[r] = true;
		rows++;
	}
	fclose(f);
	for (int r = 0; r < SMTP_R__COUNT; r++)
		CHECK(!cfg.weight[r] || seen[r], smtp_reason_name(r));
	CHECK(rows > 0, "doc table rows");
}

/* block.del by the operator: the source is judged again at once (with
 * its history: the next block is its second offence), while a source
 * still blocked is not. */
static void test_unblocked(void)
{
	struct ctl_policy_cfg c;
	struct ctl_policy_decision d[2];
	struct ctl_prefix t;
	struct ctl_policy *p;
	char err[64];

	ctl_policy_cfg_default(&c);
	p = ctl_policy_new(&c);
	CHECK(feed_out(p, "198.51.100.7", SMTP_R_CMD_TOO_LONG, SMTP_A_KILL, 1, d) == 1,
	      "unblocked: first block");
	CHECK(feed_out(p, "198.51.100.7", SMTP_R_CMD_TOO_LONG, SMTP_A_KILL, 2, d) == 0,
	      "unblocked: no second decision while blocked");
	ctl_prefix_parse("198.51.100.7", &t, err, sizeof(err));
	ctl_policy_unblocked(p, &t);
	CHECK(feed_out(p, "198.51.100.7", SMTP_R_CMD_TOO_LONG, SMTP_A_KILL, 3, d) == 1 &&
	      d[0].offence == 2 && d[0].ttl == c.block_ttl * c.ttl_factor,
	      "unblocked: judged again, as a repeat offender");
	/* an IPv6 source is its /64 */
	CHECK(feed_out(p, "2001:db8:66::7", SMTP_R_CMD_TOO_LONG, SMTP_A_KILL, 4, d) == 1,
	      "unblocked: v6 block");
	ctl_prefix_parse("2001:db8:66::/64", &t, err, sizeof(err));
	ctl_policy_unblocked(p, &t);
	CHECK(feed_out(p, "2001:db8:66::9", SMTP_R_CMD_TOO_LONG, SMTP_A_KILL, 5, d) == 1,
	      "unblocked: the v6 /64 judged again");
	ctl_prefix_parse("203.0.113.1", &t, err, sizeof(err));
	ctl_policy_unblocked(p, &t);    /* unknown: no-op */
	ctl_policy_free(p);
}

int main(int argc, char **argv)
{
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		run_scenario(&scenarios[i]);
	test_eviction();
	test_expire();
	test_legit();
	test_short_out();
	test_unblocked();
	for (int i = 1; i < argc; i++)
		test_doc_table(argv[i]);
	return ctltest_done("test_policy");
}
