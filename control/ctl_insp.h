/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctl_insp.h - mxwalld's inspection path (DESIGN.md 2.2, docs/inspection.md):
 * a worker thread that owns the AF_XDP sockets (ctl_xsk), the engine's
 * flow table (mxi_), nDPI (ctl_ndpi) and the policy (ctl_policy).  Per
 * frame: parse and checksum (ctl_pkt), engine verdict, forward / drop /
 * kill (two RSTs), bypass entries for opaque flows, and blocks written
 * straight into the fast path's maps, so a block takes effect
 * microseconds after the offending packet.
 *
 * The main thread talks to it only through these calls.  Events (engine
 * violations, audit findings, blocks) come back through a bounded queue
 * whose eventfd the main loop polls; ctl_insp_drain() hands them over.
 */
#ifndef CTL_INSP_H
#define CTL_INSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ctl_bpf.h"
#include "ctl_config.h"
#include "ctl_policy.h"
#include "insp.h"

struct ctl_insp;

/* Counters for stats / metrics / status (a consistent-enough snapshot). */
struct ctl_insp_stats {
	bool running;
	uint64_t frames, forwarded, dropped, killed, rsts_sent;
	uint64_t sessions_ended;        /* other sessions of a source just
					 * blocked, ended (and reset) */
	uint64_t bad_csum, malformed, not_tcp, wrong_side, urgent;
	uint64_t bypass_added;
	uint64_t overload_periods, table_resets;
	uint64_t events, events_lost;
	uint64_t blocks, blocks_failed;
	/* offending frame's arrival (rx) to its block entry being in the
	 * map, in ns: count, last, max, and exact percentiles over the
	 * last 4096 blocks */
	uint64_t block_lat_n, block_lat_last_ns, block_lat_max_ns;
	uint64_t block_lat_p50_ns, block_lat_p99_ns, block_lat_samples;
	/* each frame's arrival in XDP to its verdict, last 4096 frames */
	uint64_t frame_lat_p50_ns, frame_lat_p99_ns, frame_lat_samples;
	struct mxi_stats engine;
	struct ctl_policy_stats policy;
	/* struct ctl_xsk_stats is in ctl_xsk.h; flattened for callers */
	uint64_t xsk_rx, xsk_tx, xsk_tx_full, k_rx_dropped, k_rx_ring_full;
	uint32_t sockets;
	bool zerocopy;
};

/* Start the worker when cfg->insp.enabled; otherwise returns NULL with
 * err empty.  NULL with a message in err on failure (the fast path then
 * keeps bridging mail uninspected or, fail-closed, drops it). */
struct ctl_insp *ctl_insp_start(struct ctl_bpf *b, const struct ctl_config *cfg,
				char *err, size_t errlen);
/* Stop the worker and close the sockets. */
void ctl_insp_stop(struct ctl_insp *in);

/* Apply a reloaded config (engine actions, limits, domains, policy). */
void ctl_insp_reconfigure(struct ctl_insp *in, const struct ctl_config *cfg);

/* The eventfd the main loop polls (readable when events wait). */
int ctl_insp_event_fd(const struct ctl_insp *in);

/* Take queued events, oldest first: each a JSON object in the shape of
 * docs/control-protocol.md "events" ("type": "violation" | "audit" |
 * "block" | ...), passed to cb, which takes ownership.  The expiry of
 * every block the worker wrote lowers *next_expiry_ns (0 = none), so the
 * main loop's sweep comes in time.  Returns count. */
typedef void (*ctl_insp_event_cb)(void *ctx, json_t *ev);
size_t ctl_insp_drain(struct ctl_insp *in, ctl_insp_event_cb cb, void *ctx,
		      uint64_t *next_expiry_ns);

/* Live sessions as JSON objects appended to arr (at most max). */
size_t ctl_insp_sessions(struct ctl_insp *in, json_t *arr, size_t max);

void ctl_insp_stats(struct ctl_insp *in, struct ctl_insp_stats *out);

/* A block written outside the worker (block.add): the target's active
 * sessions end, reset both ways, as for the worker's own blocks
 * (allowlisted clients excepted). */
void ctl_insp_blocked(struct ctl_insp *in, const struct ctl_prefix *target);

/* The operator removed a block: the policy judges that source again. */
void ctl_insp_unblocked(struct ctl_insp *in, const struct ctl_prefix *target);

#endif /* CTL_INSP_H */
