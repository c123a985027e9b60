/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctl_policy.h - what mxwalld does about a source from the engine's
 * events (DESIGN.md 2.3, docs/policy.md): per-source scores with weights
 * and a threshold, cross-session counters over time windows (AUTH
 * failures, invalid recipients, killed sessions), block TTLs that grow for
 * repeat offenders, escalation from addresses to their prefix, allowlisted
 * sources never blocked, and a shadow mode that decides without enforcing.
 *
 * Pure: no I/O, no clock (times come in), bounded memory (max_sources,
 * least recently seen evicted).  The caller turns decisions into entries
 * of the fast path's block maps (with MXW_LF_SHADOW in shadow mode).
 * A "source" is an IPv4 address or an IPv6 /source6_len (default /64), as
 * for the fast path's SYN buckets.
 */
#ifndef CTL_POLICY_H
#define CTL_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl_addr.h"
#include "mxwall_shared.h"
#include "smtp.h"

enum ctl_pcounter {
	CTL_PC_AUTH_FAILED = 0,         /* SMTP_R_AUTH_FAILED, SMTP_R_LOGIN_FAILED */
	CTL_PC_INVALID_RCPT = 1,        /* SMTP_R_INVALID_RCPT */
	CTL_PC_KILLED = 2,              /* any event with action kill */
	CTL_PC_MAX = 3,
};

#define CTL_PC_LIMIT_MAX        32      /* counter limit: events kept */
#define CTL_ESC_COUNT_MAX       16      /* escalate_count */
#define CTL_POLICY_SOURCES_MAX  (1u << 24)  /* max_sources */

struct ctl_policy_cfg {
	bool shadow;                    /* decide and count, enforce nothing */
	uint32_t weight[SMTP_R__COUNT]; /* points per event; 0 = unscored */
	uint32_t threshold;             /* score >= threshold: block */
	uint32_t score_half_life;       /* s: a score halves in this time */
	struct {
		uint32_t limit;         /* events within window: block; 0 = off */
		uint32_t window;        /* s */
	} counter[CTL_PC_MAX];
	uint32_t block_ttl;             /* s, first block of a source */
	uint32_t ttl_factor;            /* each repeat multiplies the TTL */
	uint32_t ttl_max;               /* s, cap */
	uint32_t repeat_window;         /* s a past block is remembered */
	uint32_t escalate_count;        /* blocked sources in one prefix ... */
	uint32_t escalate_window;       /* ... within this many s; 0 = off */
	uint32_t escalate_ttl;          /* s */
	uint8_t prefix4_len;            /* escalation prefix, default 24 */
	uint8_t prefix6_len;            /* default 48 */
	uint8_t source6_len;            /* default 64 */
	uint32_t max_sources;           /* tracked sources, default 65536 */
	/* Allowlist test (the fast path's allow maps); NULL = none. */
	bool (*allowed)(void *ctx, const struct mxw_addr *a);
	void *allowed_ctx;
	/* Added: bucket hash seed, random per process (hash flooding);
	 * fixed for the life of a ctl_policy (set_cfg keeps the first). */
	uint64_t hash_seed;
};

/* Defaults documented in docs/config.md (policy section). */
void ctl_policy_cfg_default(struct ctl_policy_cfg *cfg);

enum ctl_pdec_kind {
	CTL_PD_BLOCK = 0,               /* the source (/32 or /source6_len) */
	CTL_PD_BLOCK_PREFIX = 1,        /* escalation */
};

struct ctl_policy_decision {
	enum ctl_pdec_kind kind;
	struct ctl_prefix target;
	uint32_t ttl;                   /* s */
	enum mxw_list_reason reason;    /* MXW_LR_POLICY or MXW_LR_ESCALATED */
	bool shadow;
	uint32_t offence;               /* nth block of this target in
					 * repeat_window, from 1 */
	uint64_t trigger_ns;            /* time of the triggering event */
	char why[160];                  /* "score 12 >= 10 (vrfy 2, ...)",
					 * "auth_failed 5 in 600 s", ... */
};

struct ctl_policy_stats {
	uint64_t events, scored, ignored_allowed;
	uint64_t blocks, prefix_blocks, shadow_blocks;
	uint64_t sources, evicted;
};

struct ctl_policy;

struct ctl_policy *ctl_policy_new(const struct ctl_policy_cfg *cfg);
void ctl_policy_free(struct ctl_policy *p);
/* New weights / limits; tracked sources and their history stay. */
void ctl_policy_set_cfg(struct ctl_policy *p, const struct ctl_policy_cfg *cfg);

/* One engine event at now_ns.  Audit and info events are ignored.
 * Writes up to max decisions (a block and the escalation it completes)
 * and returns how many. */
size_t ctl_policy_event(struct ctl_policy *p, const struct smtp_event *ev,
			uint64_t now_ns, struct ctl_policy_decision *out,
			size_t max);

/* Forget sources with nothing left to remember; at most budget. */
size_t ctl_policy_expire(struct ctl_policy *p, uint64_t now_ns,
			 size_t budget);

void ctl_policy_stats(const struct ctl_policy *p, struct ctl_policy_stats *out);

/* The operator removed the block of target (block.del): the source or
 * prefix it names is judged again from its next event, with its history
 * (offences, escalation memory) kept.  No-op when nothing matches. */
void ctl_policy_unblocked(struct ctl_policy *p, const struct ctl_prefix *target);

/* Added: "auth_failed", "invalid_recipient", "killed_sessions" (the
 * config keys under policy.counters). */
const char *ctl_policy_counter_name(enum ctl_pcounter c);

#endif /* CTL_POLICY_H */
