// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctl_cmd.c - what each control command does.  Requests arrive parsed and
 * validated (ctl_proto.c); handlers read or change the fast path's maps
 * through ctl_bpf.c and build a JSON result.  Every list change marks the
 * state file dirty; the loop writes it (coalesced, at most once a second).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_audit.h"
#include "ctl_events.h"
#include "ctl_insp.h"
#include "ctl_log.h"
#include "ctl_proto.h"
#include "ctl_state.h"
#include "mxwalld.h"

#define NS_PER_SEC 1000000000ull

static const char *const ctl_check_names[SMTP_R__COUNT] = {
#define CTL_CHECK_NAME(id, name, kw, kind, act) [id] = name,
	SMTP_REASONS(CTL_CHECK_NAME)
#undef CTL_CHECK_NAME
};

/* Inspection counters, all zero (running false) when it is disabled. */
static void ctl_insp_snapshot(struct mxwd *d, struct ctl_insp_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (d->insp)
		ctl_insp_stats(d->insp, st);
}

/* A latency percentile the worker computed (exactly, over its last 4096
 * samples) in microseconds; -1 when nothing was measured. */
static double ctl_lat_us(uint64_t samples, uint64_t ns)
{
	return samples ? (double)ns / 1000.0 : -1;
}

#ifndef MXW_VERSION
#define MXW_VERSION "unknown"
#endif

static const char *ctl_list_name(enum ctl_list l)
{
	return l == CTL_LIST_ALLOW ? "allow" : "block";
}

/* Remaining TTL in whole seconds (rounded up), 0 for permanent. */
static json_int_t ctl_ttl_left(const struct mxw_list_entry *v, uint64_t now)
{
	if (!v->expires_ns)
		return 0;
	if (v->expires_ns <= now)
		return 0;
	return (json_int_t)((v->expires_ns - now + NS_PER_SEC - 1) /
			    NS_PER_SEC);
}

static json_t *ctl_entry_json(const struct ctl_prefix *p,
			      const struct mxw_list_entry *v, uint64_t now,
			      int64_t wall)
{
	char text[CTL_ADDR_TEXT_MAX];

	ctl_prefix_format(p, text, sizeof(text));
	return json_pack("{s:s,s:I,s:I,s:I,s:s,s:b}",
		"addr", text,
		"ttl", ctl_ttl_left(v, now),
		"expires", (json_int_t)(v->expires_ns ?
			ctl_mono_to_wall(v->expires_ns, now, wall) : 0),
		"created", (json_int_t)ctl_mono_to_wall(v->created_ns, now,
							wall),
		"reason", ctl_list_reason_name(v->reason),
		"shadow", (v->flags & MXW_LF_SHADOW) != 0);
}

static char *cmd_status(struct mxwd *d, struct ctl_request *r, size_t *len)
{
	uint64_t now = mxwd_mono_ns();
	json_t *res = json_pack(
		"{s:s,s:i,s:I,s:s,s:I,"
		"s:{s:{s:s,s:i},s:{s:s,s:i},s:s},"
		"s:{s:s,s:b},"
		"s:{s:I,s:I,s:I,s:I},"
		"s:{s:I,s:I,s:I},"
		"s:{s:I,s:I,s:s?},"
		"s:{s:s,s:I,s:s?},"
		"s:{s:I,s:I,s:I}}",
		"version", MXW_VERSION,
		"pid", (int)getpid(),
		"uptime", (json_int_t)((now - d->start_mono_ns) / NS_PER_SEC),
		"config", d->config_path,
		"generation", (json_int_t)d->bpf.generation,
		"interfaces",
		"outside", "name", d->cfg->outside,
		"ifindex", d->bpf.ifindex[MXW_SLOT_OUTSIDE],
		"inside", "name", d->cfg->inside,
		"ifindex", d->bpf.ifindex[MXW_SLOT_INSIDE],
		"xdp_mode",
		d->cfg->xdp_mode == CTL_XDP_GENERIC ? "generic" : "native",
		"bpf", "pin_dir", d->cfg->pin_dir,
		"pins_reused", d->bpf.pins_reused,
		"entries",
		"block_exact", (json_int_t)d->bpf.n_exact[CTL_LIST_BLOCK],
		"block_prefix", (json_int_t)d->bpf.n_lpm[CTL_LIST_BLOCK],
		"allow_exact", (json_int_t)d->bpf.n_exact[CTL_LIST_ALLOW],
		"allow_prefix", (json_int_t)d->bpf.n_lpm[CTL_LIST_ALLOW],
		"control", "clients", (json_int_t)d->srv.n_clients,
		"requests", (json_int_t)d->srv.requests,
		"refused", (json_int_t)d->srv.refused,
		"reloads", "ok", (json_int_t)d->reloads_ok,
		"failed", (json_int_t)d->reloads_failed,
		"last_error", d->last_reload_error[0] ?
		d->last_reload_error : NULL,
		"state", "dir", d->cfg->state_dir,
		"written", (json_int_t)d->state_written_wall,
		"last_error", d->state_last_err ?
		strerror(-d->state_last_err) : NULL,
		"conn_reconcile", "passes", (json_int_t)d->rc_tot.passes,
		"flows_expired", (json_int_t)d->rc_tot.flows_expired,
		"counts_fixed", (json_int_t)d->rc_tot.counts_fixed);

	if (res) {
		json_object_set_new(res, "inspection",
				    json_string(d->insp ? "running" :
						"disabled"));
		json_object_set_new(json_object_get(res, "control"),
				    "subscribers",
				    json_integer(d->srv.n_subscribers));
	}
	return ctl_reply_ok(r->id, res, len);
}

/* {check name: count} for every engine check (0 when disabled). */
static json_t *ctl_checks_json(struct mxwd *d)
{
	struct ctl_insp_stats st;
	json_t *o = json_object();

	ctl_insp_snapshot(d, &st);
	for (int i = 0; o && i < SMTP_R__COUNT; i++)
		json_object_set_new(o, ctl_check_names[i],
			json_integer((json_int_t)st.engine.reason[i]));
	return o;
}

static json_t *ctl_lat_json(double us)
{
	return us < 0 ? json_null() : json_real(us);
}

static json_t *ctl_insp_json(struct mxwd *d)
{
	struct ctl_insp_stats st;
	json_t *o;

	ctl_insp_snapshot(d, &st);
	o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
		      "s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:b}",
		"state", d->insp ? "running" : "disabled",
		"frames", (json_int_t)st.frames,
		"forwarded", (json_int_t)st.forwarded,
		"dropped", (json_int_t)st.dropped,
		"killed", (json_int_t)st.killed,
		"rsts_sent", (json_int_t)st.rsts_sent,
		"sessions_ended", (json_int_t)st.sessions_ended,
		"bad_csum", (json_int_t)st.bad_csum,
		"malformed", (json_int_t)st.malformed,
		"not_tcp", (json_int_t)st.not_tcp,
		"wrong_side", (json_int_t)st.wrong_side,
		"urgent", (json_int_t)st.urgent,
		"bypass_added", (json_int_t)st.bypass_added,
		"overload_periods", (json_int_t)st.overload_periods,
		"table_resets", (json_int_t)st.table_resets,
		"events", (json_int_t)st.events,
		"events_lost", (json_int_t)st.events_lost,
		"blocks", (json_int_t)st.blocks,
		"blocks_failed", (json_int_t)st.blocks_failed,
		"xsk_rx", (json_int_t)st.xsk_rx,
		"xsk_tx", (json_int_t)st.xsk_tx,
		"sockets", (int)st.sockets,
		"zerocopy", st.zerocopy);
	if (!o)
		return NULL;
	json_object_set_new(o, "sessions", json_pack(
		"{s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
		"tracked", (json_int_t)st.engine.flows,
		"created", (json_int_t)st.engine.flows_created,
		"expired", (json_int_t)st.engine.flows_expired,
		"closed", (json_int_t)st.engine.flows_closed,
		"table_full", (json_int_t)st.engine.table_full,
		"uninspected", (json_int_t)st.engine.uninspected,
		"mem_used", (json_int_t)st.engine.mem_used));
	json_object_set_new(o, "block_latency_us", json_pack(
		"{s:I,s:o,s:o,s:o,s:o}",
		"count", (json_int_t)st.block_lat_n,
		"last", st.block_lat_n ?
			json_real((double)st.block_lat_last_ns / 1000.0) :
			json_null(),
		"max", st.block_lat_n ?
			json_real((double)st.block_lat_max_ns / 1000.0) :
			json_null(),
		"p50", ctl_lat_json(ctl_lat_us(st.block_lat_samples,
					       st.block_lat_p50_ns)),
		"p99", ctl_lat_json(ctl_lat_us(st.block_lat_samples,
					       st.block_lat_p99_ns))));
	json_object_set_new(o, "verdict_latency_us", json_pack(
		"{s:I,s:o,s:o}",
		"samples", (json_int_t)st.frame_lat_samples,
		"p50", ctl_lat_json(ctl_lat_us(st.frame_lat_samples,
					       st.frame_lat_p50_ns)),
		"p99", ctl_lat_json(ctl_lat_us(st.frame_lat_samples,
					       st.frame_lat_p99_ns))));
	return o;
}

/* Event stream counters: per type published, delivered, dropped. */
static json_t *ctl_ev_json(struct mxwd *d)
{
	json_t *pub = json_object();

	for (int t = 0; pub && t < CTL_EV_MAX; t++)
		json_object_set_new(pub, ctl_event_type_name(t),
			json_integer(d->ev ? (json_int_t)d->ev->published[t] :
				     0));
	return json_pack("{s:o,s:I,s:I,s:i}", "published", pub,
		"delivered", (json_int_t)(d->ev ? d->ev->delivered : 0),
		"dropped", (json_int_t)(d->ev ? d->ev->dropped : 0),
		"subscribers", (int)d->srv.n_subscribers);
}

static char *cmd_stats(struct mxwd *d, struct ctl_request *r, size_t *len)
{
	struct mxw_counter c[MXW_R_MAX];
	json_t *reasons;
	int err = ctl_bpf_stats(&d->bpf, c);

	if (err)
		return ctl_reply_error(r->id, CTL_E_INTERNAL, strerror(-err),
				       len);
	reasons = json_object();
	for (int i = 0; i < MXW_R_MAX; i++)
		json_object_set_new(reasons, ctl_stat_names[i],
			json_pack("{s:I,s:I}",
				  "packets", (json_int_t)c[i].packets,
				  "bytes", (json_int_t)c[i].bytes));
	return ctl_reply_ok(r->id, json_pack("{s:o,s:o,s:o,s:o}",
		"reasons", reasons, "checks", ctl_checks_json(d),
		"inspection", ctl_insp_json(d), "events", ctl_ev_json(d)),
		len);
}

static char *ctl_errno_reply(struct ctl_request *r, int err, const char *what,
			     size_t *len)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "%s: %s", what, strerror(-err));
	if (err == -ENOENT)
		return ctl_reply_error(r->id, CTL_E_NOT_FOUND,
				       "no such entry", len);
	if (err == -E2BIG || err == -ENOSPC || err == -ENOMEM)
		return ctl_reply_error(r->id, CTL_E_TABLE_FULL, msg, len);
	return ctl_reply_error(r->id, CTL_E_INTERNAL, msg, len);
}

static char *cmd_list_add(struct mxwd *d, struct ctl_request *r,
			  enum ctl_list l, size_t *len)
{
	uint64_t now = mxwd_mono_ns();
	struct mxw_list_entry v = {
		.created_ns = now,
		.expires_ns = r->ttl ? now + (uint64_t)r->ttl * NS_PER_SEC : 0,
		.reason = r->reason,
		.flags = r->shadow ? MXW_LF_SHADOW : 0,
	};
	bool created;
	int err = ctl_bpf_list_put(&d->bpf, l, &r->addr, &v, true, &created);
	json_t *res;

	if (err)
		return ctl_errno_reply(r, err, ctl_list_name(l), len);
	/* the block is in the map: the source's open sessions go too */
	if (l == CTL_LIST_BLOCK && !r->shadow && d->insp)
		ctl_insp_blocked(d->insp, &r->addr);
	d->state_dirty = true;
	if (v.expires_ns && (!d->next_expiry_ns ||
			     v.expires_ns < d->next_expiry_ns))
		d->next_expiry_ns = v.expires_ns;
	ctl_events_publish(d->ev, ctl_event_block(&(struct ctl_block_info){
		.allow = l == CTL_LIST_ALLOW, .addr = &r->addr, .ttl = r->ttl,
		.reason = r->reason, .shadow = r->shadow,
		.source = CTL_BS_MANUAL, .latency_us = -1,
	}, ctl_wall_now()));
	res = ctl_entry_json(&r->addr, &v, now, mxwd_wall_s());
	json_object_set_new(res, "list", json_string(ctl_list_name(l)));
	json_object_set_new(res, "created", json_boolean(created));
	{
		char text[CTL_ADDR_TEXT_MAX];

		ctl_prefix_format(&r->addr, text, sizeof(text));
		log_info("%s ADD %s ttl=%u reason=%s%s", l == CTL_LIST_ALLOW ?
			 "ALLOW" : "BLOCK", text, r->ttl,
			 ctl_list_reason_name(r->reason),
			 r->shadow ? " shadow" : "");
	}
	return ctl_reply_ok(r->id, res, len);
}

static char *cmd_list_del(struct mxwd *d, struct ctl_request *r,
			  enum ctl_list l, size_t *len)
{
	char text[CTL_ADDR_TEXT_MAX];
	struct mxw_list_entry old = {0};
	int err;

	/* the entry as it was, for the unblock event; a failed lookup only
	 * leaves the event without reason and shadow flag */
	ctl_bpf_list_get(&d->bpf, l, &r->addr, &old);
	err = ctl_bpf_list_del(&d->bpf, l, &r->addr);
	if (err)
		return ctl_errno_reply(r, err, ctl_list_name(l), len);
	if (l == CTL_LIST_BLOCK && d->insp)
		ctl_insp_unblocked(d->insp, &r->addr);
	ctl_events_publish(d->ev, ctl_event_block(&(struct ctl_block_info){
		.unblock = true, .allow = l == CTL_LIST_ALLOW,
		.addr = &r->addr, .reason = old.reason,
		.shadow = (old.flags & MXW_LF_SHADOW) != 0,
		.source = CTL_BS_MANUAL, .latency_us = -1,
	}, ctl_wall_now()));
	d->state_dirty = true;
	ctl_prefix_format(&r->addr, text, sizeof(text));
	log_info("%s DEL %s", l == CTL_LIST_ALLOW ? "ALLOW" : "BLOCK", text);
	return ctl_reply_ok(r->id, json_pack("{s:s,s:s}", "addr", text,
					     "list", ctl_list_name(l)), len);
}

struct ctl_page {
	uint64_t now;
	int64_t wall;
	uint32_t skip, want;
	uint32_t seen;
	bool more;
	json_t *arr;
};

static int ctl_page_cb(const struct ctl_prefix *p,
		       const struct mxw_list_entry *v, void *arg)
{
	struct ctl_page *pg = arg;

	/* Expired but not yet swept: the fast path ignores it already. */
	if (v->expires_ns && v->expires_ns <= pg->now)
		return 0;
	if (pg->seen++ < pg->skip)
		return 0;
	if (json_array_size(pg->arr) == pg->want) {
		pg->more = true;
		return 1;
	}
	json_array_append_new(pg->arr, ctl_entry_json(p, v, pg->now,
						      pg->wall));
	return 0;
}

static char *cmd_list(struct mxwd *d, struct ctl_request *r,
		      enum ctl_list l, size_t *len)
{
	struct ctl_page pg = {
		.now = mxwd_mono_ns(),
		.wall = mxwd_wall_s(),
		.skip = r->offset,
		.want = r->limit,
		.arr = json_array(),
	};

	ctl_bpf_list_walk(&d->bpf, l, ctl_page_cb, &pg);
	return ctl_reply_ok(r->id, json_pack("{s:s,s:o,s:I,s:I,s:b}",
		"list", ctl_list_name(l), "entries", pg.arr,
		"offset", (json_int_t)r->offset,
		"total", (json_int_t)(d->bpf.n_exact[l] + d->bpf.n_lpm[l]),
		"more", pg.more), len);
}

static char *cmd_config_get(struct mxwd *d, struct ctl_request *r,
			    size_t *len)
{
	return ctl_reply_ok(r->id, json_pack("{s:s,s:o}", "path",
		d->config_path, "config", ctl_config_to_json(d->cfg)), len);
}

static char *cmd_config_reload(struct mxwd *d, struct ctl_request *r,
			       size_t *len)
{
	char err[CTL_ERR_MAX];

	if (mxwd_reload(d, err, sizeof(err)) < 0)
		return ctl_reply_error(r->id, CTL_E_CONFIG, err, len);
	return ctl_reply_ok(r->id, json_pack("{s:I}", "generation",
		(json_int_t)d->bpf.generation), len);
}

static char *cmd_sessions_list(struct mxwd *d, struct ctl_request *r,
			       size_t *len)
{
	json_t *arr = json_array();
	size_t n = 0;

	if (d->insp)
		n = ctl_insp_sessions(d->insp, arr, r->limit);
	return ctl_reply_ok(r->id, json_pack("{s:s,s:o,s:I,s:I}",
		"inspection", d->insp ? "running" : "disabled",
		"sessions", arr, "count", (json_int_t)n,
		"limit", (json_int_t)r->limit), len);
}

static char *cmd_events_subscribe(struct mxwd *d, struct ctl_request *r,
				  size_t *len)
{
	json_t *types;
	int err = ctl_server_subscribe(&d->srv, r->ev_mask);

	if (err == -EBUSY)
		return ctl_reply_error(r->id, CTL_E_BUSY,
				       "too many event subscribers", len);
	if (err)
		return ctl_reply_error(r->id, CTL_E_INTERNAL,
				       "not a client request", len);
	types = json_array();
	for (int t = 0; types && t < CTL_EV_MAX; t++)
		if (r->ev_mask & (1u << t))
			json_array_append_new(types,
				json_string(ctl_event_type_name(t)));
	return ctl_reply_ok(r->id, json_pack("{s:o,s:i}", "types", types,
		"subscribers", (int)d->srv.n_subscribers), len);
}

static char *cmd_audit(struct mxwd *d, struct ctl_request *r, size_t *len)
{
	return ctl_reply_ok(r->id, ctl_audit_json(d->ev ? d->ev->audit : NULL),
			    len);
}

/* Inspection and event-stream series of the metrics exposition. */
static void ctl_metrics_insp(struct mxwd *d, FILE *f)
{
	struct ctl_insp_stats st;
	static const struct {
		const char *name, *help;
		size_t off;
	} ctr[] = {
#define C(n, h) { #n, h, offsetof(struct ctl_insp_stats, n) }
		C(frames, "Frames handed to the inspection path."),
		C(forwarded, "Frames the inspection path forwarded."),
		C(dropped, "Frames the inspection path dropped."),
		C(killed, "Sessions killed with RSTs."),
		C(rsts_sent, "RST segments sent."),
		C(sessions_ended, "Other sessions of a source the inspection path blocked, ended."),
		C(bad_csum, "Frames with a bad checksum."),
		C(malformed, "Frames the inspection path could not parse."),
		C(wrong_side, "Frames whose direction did not match their port."),
		C(urgent, "Segments with urgent data (dropped)."),
		C(bypass_added, "Opaque flows handed to the fast path bypass."),
		C(overload_periods, "Periods the inspection path was overloaded."),
		C(blocks, "Blocks written by the inspection path."),
		C(blocks_failed, "Blocks the inspection path failed to write."),
		C(events_lost, "Engine events lost in the worker queue."),
#undef C
	};

	ctl_insp_snapshot(d, &st);
	fprintf(f, "# HELP mxwall_inspection_running 1 when the inspection "
		"path runs.\n# TYPE mxwall_inspection_running gauge\n"
		"mxwall_inspection_running %d\n", d->insp ? 1 : 0);
	fprintf(f, "# HELP mxwall_check_total Engine checks raised, by "
		"check.\n# TYPE mxwall_check_total counter\n");
	for (int i = 0; i < SMTP_R__COUNT; i++)
		fprintf(f, "mxwall_check_total{check=\"%s\"} %llu\n",
			ctl_check_names[i],
			(unsigned long long)st.engine.reason[i]);
	for (size_t i = 0; i < sizeof(ctr) / sizeof(ctr[0]); i++)
		fprintf(f, "# HELP mxwall_inspection_%s_total %s\n"
			"# TYPE mxwall_inspection_%s_total counter\n"
			"mxwall_inspection_%s_total %llu\n", ctr[i].name,
			ctr[i].help, ctr[i].name, ctr[i].name,
			(unsigned long long)*(const uint64_t *)
			((const char *)&st + ctr[i].off));
	fprintf(f, "# HELP mxwall_inspection_sessions Sessions tracked by "
		"the inspection path.\n"
		"# TYPE mxwall_inspection_sessions gauge\n"
		"mxwall_inspection_sessions %llu\n",
		(unsigned long long)st.engine.flows);
	/* a summary without _sum / _count: the worker keeps the last 4096
	 * samples, not a running sum */
	fprintf(f, "# HELP mxwall_block_latency_microseconds Offending "
		"frame to block entry in the map, over the last 4096 blocks.\n"
		"# TYPE mxwall_block_latency_microseconds gauge\n");
	for (int q = 0; q < 2; q++) {
		double v = ctl_lat_us(st.block_lat_samples,
				      q ? st.block_lat_p99_ns :
					  st.block_lat_p50_ns);

		fprintf(f, "mxwall_block_latency_microseconds{quantile=\"%s\"} "
			"%.3f\n", q ? "0.99" : "0.5", v < 0 ? 0.0 : v);
	}
	fprintf(f, "# HELP mxwall_block_latency_measured_total Blocks whose "
		"latency was measured.\n"
		"# TYPE mxwall_block_latency_measured_total counter\n"
		"mxwall_block_latency_measured_total %llu\n",
		(unsigned long long)st.block_lat_n);
	fprintf(f, "# HELP mxwall_events_total Control socket events "
		"published, by type.\n# TYPE mxwall_events_total counter\n");
	for (int t = 0; t < CTL_EV_MAX; t++)
		fprintf(f, "mxwall_events_total{type=\"%s\"} %llu\n",
			ctl_event_type_name(t), (unsigned long long)
			(d->ev ? d->ev->published[t] : 0));
	fprintf(f, "# HELP mxwall_events_dropped_total Event lines "
		"subscribers missed (output full).\n"
		"# TYPE mxwall_events_dropped_total counter\n"
		"mxwall_events_dropped_total %llu\n"
		"# HELP mxwall_event_subscribers Connected event subscribers.\n"
		"# TYPE mxwall_event_subscribers gauge\n"
		"mxwall_event_subscribers %u\n",
		(unsigned long long)(d->ev ? d->ev->dropped : 0),
		d->srv.n_subscribers);
}

/* Prometheus text exposition format 0.0.4. */
static char *cmd_metrics(struct mxwd *d, struct ctl_request *r, size_t *len)
{
	struct mxw_counter c[MXW_R_MAX];
	char *buf = NULL;
	size_t size = 0;
	FILE *f;
	int err = ctl_bpf_stats(&d->bpf, c);
	json_t *res;

	if (err)
		return ctl_reply_error(r->id, CTL_E_INTERNAL, strerror(-err),
				       len);
	f = open_memstream(&buf, &size);
	if (!f)
		return ctl_reply_error(r->id, CTL_E_INTERNAL, "out of memory",
				       len);
	fprintf(f, "# HELP mxwall_packets_total Packets by fast path "
		"verdict reason.\n# TYPE mxwall_packets_total counter\n");
	for (int i = 0; i < MXW_R_MAX; i++)
		fprintf(f, "mxwall_packets_total{reason=\"%s\"} %llu\n",
			ctl_stat_names[i], (unsigned long long)c[i].packets);
	fprintf(f, "# HELP mxwall_bytes_total Bytes by fast path verdict "
		"reason.\n# TYPE mxwall_bytes_total counter\n");
	for (int i = 0; i < MXW_R_MAX; i++)
		fprintf(f, "mxwall_bytes_total{reason=\"%s\"} %llu\n",
			ctl_stat_names[i], (unsigned long long)c[i].bytes);
	fprintf(f, "# HELP mxwall_list_entries Entries in the allow and "
		"block lists.\n# TYPE mxwall_list_entries gauge\n");
	for (int l = 0; l < 2; l++) {
		fprintf(f, "mxwall_list_entries{list=\"%s\",kind=\"exact\"} "
			"%llu\n", ctl_list_name((enum ctl_list)l),
			(unsigned long long)d->bpf.n_exact[l]);
		fprintf(f, "mxwall_list_entries{list=\"%s\",kind=\"prefix\"} "
			"%llu\n", ctl_list_name((enum ctl_list)l),
			(unsigned long long)d->bpf.n_lpm[l]);
	}
	fprintf(f, "# HELP mxwall_list_expired_total Entries removed by TTL "
		"expiry.\n# TYPE mxwall_list_expired_total counter\n"
		"mxwall_list_expired_total %llu\n",
		(unsigned long long)d->expired);
	fprintf(f, "# HELP mxwall_conn_flows_expired_total Flow entries "
		"removed after their idle timeout.\n"
		"# TYPE mxwall_conn_flows_expired_total counter\n"
		"mxwall_conn_flows_expired_total %llu\n"
		"# HELP mxwall_conn_counts_fixed_total Per-source connection "
		"counts repaired.\n"
		"# TYPE mxwall_conn_counts_fixed_total counter\n"
		"mxwall_conn_counts_fixed_total %llu\n",
		(unsigned long long)d->rc_tot.flows_expired,
		(unsigned long long)d->rc_tot.counts_fixed);
	fprintf(f, "# HELP mxwall_config_generation Configuration "
		"generation in the fast path.\n"
		"# TYPE mxwall_config_generation gauge\n"
		"mxwall_config_generation %u\n", d->bpf.generation);
	fprintf(f, "# HELP mxwall_config_reloads_total Configuration "
		"reloads.\n# TYPE mxwall_config_reloads_total counter\n"
		"mxwall_config_reloads_total{result=\"ok\"} %llu\n"
		"mxwall_config_reloads_total{result=\"failed\"} %llu\n",
		(unsigned long long)d->reloads_ok,
		(unsigned long long)d->reloads_failed);
	fprintf(f, "# HELP mxwall_control_clients Connected control "
		"clients.\n# TYPE mxwall_control_clients gauge\n"
		"mxwall_control_clients %u\n", d->srv.n_clients);
	fprintf(f, "# HELP mxwall_uptime_seconds Seconds since mxwalld "
		"started.\n# TYPE mxwall_uptime_seconds gauge\n"
		"mxwall_uptime_seconds %llu\n",
		(unsigned long long)((mxwd_mono_ns() - d->start_mono_ns) /
				     NS_PER_SEC));
	ctl_metrics_insp(d, f);
	if (fclose(f) != 0 || !buf) {
		free(buf);
		return ctl_reply_error(r->id, CTL_E_INTERNAL, "out of memory",
				       len);
	}
	res = json_stringn(buf, size);
	free(buf);
	return ctl_reply_ok(r->id, res, len);
}

char *ctl_cmd_handle(void *ctx, const char *line, size_t len,
		     size_t *reply_len)
{
	struct mxwd *d = ctx;
	struct ctl_request r;
	struct ctl_error e;
	char *out;

	if (ctl_request_parse(line, len, &r, &e) < 0) {
		out = ctl_reply_error(r.id, e.code, e.msg, reply_len);
		ctl_request_free(&r);
		return out;
	}
	switch (r.cmd) {
	case CTL_CMD_STATUS:
		out = cmd_status(d, &r, reply_len);
		break;
	case CTL_CMD_STATS:
		out = cmd_stats(d, &r, reply_len);
		break;
	case CTL_CMD_BLOCK_ADD:
		out = cmd_list_add(d, &r, CTL_LIST_BLOCK, reply_len);
		break;
	case CTL_CMD_BLOCK_DEL:
		out = cmd_list_del(d, &r, CTL_LIST_BLOCK, reply_len);
		break;
	case CTL_CMD_BLOCK_LIST:
		out = cmd_list(d, &r, CTL_LIST_BLOCK, reply_len);
		break;
	case CTL_CMD_ALLOW_ADD:
		out = cmd_list_add(d, &r, CTL_LIST_ALLOW, reply_len);
		break;
	case CTL_CMD_ALLOW_DEL:
		out = cmd_list_del(d, &r, CTL_LIST_ALLOW, reply_len);
		break;
	case CTL_CMD_ALLOW_LIST:
		out = cmd_list(d, &r, CTL_LIST_ALLOW, reply_len);
		break;
	case CTL_CMD_CONFIG_GET:
		out = cmd_config_get(d, &r, reply_len);
		break;
	case CTL_CMD_CONFIG_RELOAD:
		out = cmd_config_reload(d, &r, reply_len);
		break;
	case CTL_CMD_METRICS:
		out = cmd_metrics(d, &r, reply_len);
		break;
	case CTL_CMD_SESSIONS_LIST:
		out = cmd_sessions_list(d, &r, reply_len);
		break;
	case CTL_CMD_EVENTS_SUBSCRIBE:
		out = cmd_events_subscribe(d, &r, reply_len);
		break;
	case CTL_CMD_AUDIT:
		out = cmd_audit(d, &r, reply_len);
		break;
	default:
		out = ctl_reply_error(r.id, CTL_E_UNKNOWN_COMMAND,
				      "unknown command", reply_len);
		break;
	}
	ctl_request_free(&r);
	return out;
}
