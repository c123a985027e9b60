/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctl_reconcile.h - repair of the fast path's per-source connection counts
 * (conns of the mxw_src_bucket slots) from the flows it tracks (mxw_conn), the reconciliation
 * docs/fastpath.md leaves to mxwalld.  The decisions are pure (this file);
 * the map walks live in ctl_bpf.c.
 */
#ifndef CTL_RECONCILE_H
#define CTL_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mxwall_shared.h"

struct ctl_rc;

struct ctl_rc *ctl_rc_new(void);
void ctl_rc_free(struct ctl_rc *rc);

/* The count key of a flow's client address: IPv4 as is, IPv6 masked to
 * src6_len bits (as mxw_source_key() in bpf/mxw_verdict.h). */
void ctl_rc_source_key(struct mxw_addr *k, const struct mxw_addr *client,
		       unsigned src6_len);

/* One pass: begin, every live counted flow's source key, then every
 * stored count; end.  ctl_rc_count() returns true with the value to write
 * when a count has disagreed with the flows, identically, in this pass and
 * the previous one: a difference that stays put for a whole interval is a
 * leak (a flow evicted or expired without FIN), not a connection being
 * opened or closed while we looked. */
int ctl_rc_begin(struct ctl_rc *rc);
int ctl_rc_flow(struct ctl_rc *rc, const struct mxw_addr *source_key);
bool ctl_rc_count(struct ctl_rc *rc, const struct mxw_addr *source_key,
		  uint32_t stored, uint32_t *fix);
void ctl_rc_end(struct ctl_rc *rc);

#endif /* CTL_RECONCILE_H */
