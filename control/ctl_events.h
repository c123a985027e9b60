/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctl_events.h - the event stream of the control socket (events.subscribe,
 * docs/control-protocol.md "Events"): constructors for every event object,
 * so the inspection worker and the main thread build the same shapes, and
 * the main thread's publisher that feeds the audit table and hands each
 * event, encoded once, to the subscribed clients (ctl_server.c).
 *
 * Every event is one JSON object on one line with "type" and "time"
 * (RFC 3339 UTC with milliseconds, "2026-11-23T15:48:40.123Z").
 */
#ifndef CTL_EVENTS_H
#define CTL_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "ctl_addr.h"
#include "ctl_proto.h"
#include "smtp.h"

/* Wall clock now, seconds since the epoch with sub-second part. */
double ctl_wall_now(void);
/* "2026-11-23T15:48:40.123Z"; buf of at least CTL_TIME_TEXT_MAX. */
#define CTL_TIME_TEXT_MAX 32
void ctl_time_format(double wall, char *buf, size_t len);

/* {"type": ..., "time": ...}: the start of every event. */
json_t *ctl_event_new(enum ctl_event_type t, double wall);

/*
 * An engine event (struct smtp_event) as a "violation" object, or an
 * "audit" object when its kind is SMTP_K_AUDIT.  Fields:
 * session, client, client_port, server, server_port, proto, check, kind,
 * action, dir, command, arg, reply (code or null), value, counters
 * {commands, errors, junk, rcpts, messages}.
 */
json_t *ctl_event_violation(const struct smtp_event *ev, double wall);

/* Where a list change came from ("source" of block / unblock). */
enum ctl_block_source {
	CTL_BS_MANUAL = 0,      /* block.add / block.del / allow.* */
	CTL_BS_POLICY,          /* inspection path: score over threshold */
	CTL_BS_ESCALATION,      /* inspection path: prefix escalation */
	CTL_BS_EXPIRY,          /* TTL sweep (unblock only) */
	CTL_BS_CONFIG,          /* static entries of a reloaded config */
};

struct ctl_block_info {
	bool unblock;                   /* "unblock" instead of "block" */
	bool allow;                     /* the allowlist ("list": "allow") */
	const struct ctl_prefix *addr;
	uint32_t ttl;                   /* seconds, 0 = permanent */
	uint32_t reason;                /* enum mxw_list_reason */
	const char *why;                /* free text (check name...), or NULL */
	bool shadow;                    /* MXW_LF_SHADOW */
	enum ctl_block_source source;
	int64_t latency_us;             /* offending frame -> map, < 0: none */
};

/* A "block" or "unblock" object: addr, list, ttl, reason, why, shadow,
 * source, latency_us (only when measured). */
json_t *ctl_event_block(const struct ctl_block_info *bi, double wall);

/*
 * One tracked session of sessions.list (mxi_foreach() gives s; now_ns is
 * the same clock as the engine's times, wall the wall clock at now_ns):
 * session, client, client_port, server, server_port, proto, state,
 * flags [names], commands, errors, junk, rcpts, messages, bytes
 * {client, server}, started, last_seen (RFC 3339), idle_s.
 */
struct mxi_session_info;
json_t *ctl_session_json(const struct mxi_session_info *s, uint64_t now_ns,
			 double wall);

struct ctl_server;
struct ctl_audit;

struct ctl_events {
	struct ctl_server *srv;         /* subscribers live in its clients */
	struct ctl_audit *audit;        /* findings from "audit" events */
	uint64_t published[CTL_EV_MAX]; /* per type, subscribers or not */
	uint64_t delivered;             /* lines queued to subscribers */
	uint64_t dropped;               /* lines a full subscriber missed */
};

/* NULL on allocation failure. */
struct ctl_events *ctl_events_new(struct ctl_server *srv);
void ctl_events_free(struct ctl_events *e);

/*
 * Publish one event (the reference is stolen): an "audit" event is
 * recorded in the audit table, then the event goes to every subscriber
 * whose filter takes its type.  Safe to call with e == NULL (dropped).
 */
void ctl_events_publish(struct ctl_events *e, json_t *ev);
/* The same as a ctl_insp_event_cb (ctx = struct ctl_events). */
void ctl_events_drain_cb(void *ctx, json_t *ev);

#endif /* CTL_EVENTS_H */
