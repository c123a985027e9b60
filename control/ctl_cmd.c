// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctl_cmd.c - what each control command does.  Requests arrive parsed and
 * validated (ctl_proto.c); handlers read or change the fast path's maps
 * through ctl_bpf.c and build a JSON result.  Every list change marks the
 * state file dirty; the loop writes it (coalesced, at most once a second).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_log.h"
#include "ctl_proto.h"
#include "ctl_state.h"
#include "mxwalld.h"

#define NS_PER_SEC 1000000000ull

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

	return ctl_reply_ok(r->id, res, len);
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
	return ctl_reply_ok(r->id, json_pack("{s:o}", "reasons", reasons),
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
	d->state_dirty = true;
	if (v.expires_ns && (!d->next_expiry_ns ||
			     v.expires_ns < d->next_expiry_ns))
		d->next_expiry_ns = v.expires_ns;
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
	int err = ctl_bpf_list_del(&d->bpf, l, &r->addr);

	if (err)
		return ctl_errno_reply(r, err, ctl_list_name(l), len);
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
	default:
		out = ctl_reply_error(r.id, CTL_E_UNKNOWN_COMMAND,
				      "unknown command", reply_len);
		break;
	}
	ctl_request_free(&r);
	return out;
}
