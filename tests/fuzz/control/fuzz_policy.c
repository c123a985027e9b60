// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_policy.c - libFuzzer target for the policy module
 * (control/ctl_policy.c): the input is a small config followed by a
 * sequence of operations (engine events from a few dozen IPv4 and IPv6
 * sources over time, expiry, reloads with another max_sources).
 * Properties besides "no crash, no leak":
 *   - never more decisions than room given;
 *   - a source block names the event's own source (/32 or /source6_len),
 *     never an allowlisted address; a prefix block contains the source;
 *   - every TTL is 1..ttl_max (0 could read as "permanent");
 *   - the source table never holds more than max_sources;
 *   - audit and info events never decide anything.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CFG_BYTES 6
#define OP_BYTES 6

/* 198.51.x.y and 2001:db8:x:y::z from one byte; IPv4 .7 is allowed. */
static void fz_addr(uint8_t sel, struct mxw_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (sel & 0x80) {
		a->a[0] = 0x20;
		a->a[1] = 0x01;
		a->a[2] = 0x0d;
		a->a[3] = 0xb8;
		a->a[5] = (sel >> 4) & 7;
		a->a[7] = sel & 3;
		a->a[15] = (sel >> 2) & 3;
	} else {
		a->a[10] = 0xff;
		a->a[11] = 0xff;
		a->a[12] = 198;
		a->a[13] = 51;
		a->a[14] = (sel >> 4) & 7;
		a->a[15] = sel & 15;
	}
}

static bool fz_allowed(void *ctx, const struct mxw_addr *a)
{
	(void)ctx;
	return a->a[10] == 0xff && a->a[15] == 7;
}

/* Does prefix p contain address a? */
static bool fz_contains(const struct ctl_prefix *p, const struct mxw_addr *a)
{
	struct ctl_prefix q;

	memcpy(q.a, a->a, 16);
	q.plen = p->plen;
	ctl_prefix_mask(&q);
	return memcmp(q.a, p->a, 16) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_policy_cfg cfg;
	struct ctl_policy_stats st;
	struct ctl_policy *p;
	uint64_t now = 1000000000000ull;

	if (size < CFG_BYTES)
		return 0;
	ctl_policy_cfg_default(&cfg);
	cfg.max_sources = 1 + data[0] % 32;
	for (int i = 0; i < CTL_PC_MAX; i++) {
		cfg.counter[i].limit = (data[1] >> (2 * i)) & 3 ?
				       1u << ((data[1] >> (2 * i)) & 3) : 0;
		cfg.counter[i].window = 1 + (data[2] & 0x7f) * 10;
	}
	cfg.score_half_life = 1 + (data[2] >> 7) * 600;
	cfg.ttl_factor = data[3] % 8;
	cfg.ttl_max = (data[3] >> 3) * 1000;    /* 0 included: forced to 1 */
	cfg.block_ttl = data[3] & 1 ? 600 : 0;
	cfg.shadow = data[4] & 1;
	cfg.escalate_window = data[4] & 2 ? 600 : 0;
	cfg.repeat_window = data[4] & 4 ? 86400 : 0;
	cfg.source6_len = 48 + (data[4] >> 3) % 64;
	cfg.prefix6_len = 32 + (data[4] >> 3) % 16;
	cfg.threshold = data[5] % 16;           /* 0: score never blocks */
	cfg.escalate_count = data[5] >> 4;      /* 0 and 1 included */
	cfg.allowed = fz_allowed;
	p = ctl_policy_new(&cfg);
	if (!p)
		abort();
	for (size_t off = CFG_BYTES; off + OP_BYTES <= size; off += OP_BYTES) {
		const uint8_t *o = data + off;
		unsigned op = o[0] >> 5;
		uint32_t ttl_max = cfg.ttl_max ? cfg.ttl_max : 1;

		now += (uint64_t)(((o[0] & 0x1f) << 8) | o[1]) * 1000000000ull;
		if (op == 5) {
			ctl_policy_expire(p, now, o[5]);
		} else if (op == 6) {
			cfg.max_sources = 1 + o[5] % 64;
			ctl_policy_set_cfg(p, &cfg);
		} else {
			struct ctl_policy_decision d[3];
			struct smtp_event ev;
			size_t max = o[5] % 4, n;

			memset(&ev, 0, sizeof(ev));
			fz_addr(o[2], &ev.client);
			ev.reason = o[3] < 250 ? o[3] % SMTP_R__COUNT : o[3];
			ev.kind = ev.reason < SMTP_R__COUNT ?
				  smtp_reason_kind(ev.reason) : o[4] >> 4;
			ev.action = o[4] & 3;
			ev.time_ns = now;
			n = ctl_policy_event(p, &ev, now, d, max);
			if (n > max || n > 2)
				abort();
			if (n && (ev.kind == SMTP_K_AUDIT ||
				  ev.kind == SMTP_K_INFO ||
				  ev.reason >= SMTP_R__COUNT ||
				  fz_allowed(NULL, &ev.client)))
				abort();
			for (size_t i = 0; i < n; i++) {
				if (d[i].ttl < 1 || d[i].ttl > ttl_max ||
				    !fz_contains(&d[i].target, &ev.client) ||
				    d[i].shadow != cfg.shadow ||
				    !memchr(d[i].why, 0, sizeof(d[i].why)))
					abort();
				if (d[i].kind == CTL_PD_BLOCK &&
				    (i != 0 || d[i].target.plen !=
				     (ev.client.a[10] == 0xff ? 128u :
				      cfg.source6_len)))
					abort();
			}
		}
		ctl_policy_stats(p, &st);
		if (st.sources > cfg.max_sources)
			abort();
	}
	ctl_policy_free(p);
	return 0;
}
