// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctl_events.c - event objects and their publication (ctl_events.h).
 *
 * Decisions:
 *  - "time" is RFC 3339 UTC with milliseconds: readable in a terminal,
 *    sortable as text, and parsed by every log tool; the wall clock is
 *    taken when the event is built (for engine events: when the worker
 *    hands it over, ms after the packet), never from the peer.
 *  - An event is encoded once and the same line is copied to every
 *    subscriber; with no subscriber it is not encoded at all.
 *  - Back-pressure belongs to the server (ctl_server_publish): a
 *    subscriber that does not read loses events, never the daemon's time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_audit.h"
#include "ctl_events.h"
#include "ctl_proto.h"
#include "ctl_server.h"
#include "insp.h"
#include "mxwall_shared.h"

static const char *const ctl_bs_names[] = {
	[CTL_BS_MANUAL] = "manual",
	[CTL_BS_POLICY] = "policy",
	[CTL_BS_ESCALATION] = "escalation",
	[CTL_BS_EXPIRY] = "expiry",
	[CTL_BS_CONFIG] = "config",
};

double ctl_wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void ctl_time_format(double wall, char *buf, size_t len)
{
	/* truncated, not rounded: an event never claims a later ms */
	time_t sec = wall > 0 ? (time_t)wall : 0;
	long ms = wall > 0 ? (long)((wall - (double)sec) * 1000.0) : 0;
	struct tm tm;

	if (ms < 0 || ms > 999)
		ms = 0;
	if (!gmtime_r(&sec, &tm)) {
		snprintf(buf, len, "1970-01-01T00:00:00.000Z");
		return;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, ms);
}

json_t *ctl_event_new(enum ctl_event_type t, double wall)
{
	char ts[CTL_TIME_TEXT_MAX];

	ctl_time_format(wall, ts, sizeof(ts));
	return json_pack("{s:s,s:s}", "type", ctl_event_type_name(t),
			 "time", ts);
}

static void ctl_addr_text(const struct mxw_addr *a, char *buf, size_t len)
{
	struct ctl_prefix p = {.plen = 128};

	memcpy(p.a, a->a, sizeof(p.a));
	ctl_prefix_format(&p, buf, len);
}

static const char *ctl_proto_name(uint8_t proto)
{
	switch (proto) {
	case SMTP_P_SMTP:
		return "smtp";
	case SMTP_P_POP3:
		return "pop3";
	case SMTP_P_IMAP:
		return "imap";
	default:
		return "unknown";
	}
}

static const char *ctl_kind_name(uint8_t kind)
{
	switch (kind) {
	case SMTP_K_VIOLATION:
		return "violation";
	case SMTP_K_AUDIT:
		return "audit";
	case SMTP_K_EVASION:
		return "evasion";
	case SMTP_K_OBSERVATION:
		return "observation";
	default:
		return "info";
	}
}

json_t *ctl_event_violation(const struct smtp_event *ev, double wall)
{
	char client[CTL_ADDR_TEXT_MAX], server[CTL_ADDR_TEXT_MAX];
	json_t *o = ctl_event_new(ev->kind == SMTP_K_AUDIT ? CTL_EV_AUDIT :
				  CTL_EV_VIOLATION, wall);
	json_t *cmd, *arg;

	if (!o)
		return NULL;
	ctl_addr_text(&ev->client, client, sizeof(client));
	ctl_addr_text(&ev->server, server, sizeof(server));
	/* command and arg are the engine's escaped excerpts (printable
	 * ASCII); json_stringn_nocheck would pass invalid UTF-8 through, so
	 * they are checked, and replaced by "" should the engine ever
	 * hand over something else. */
	cmd = json_stringn(ev->command, strnlen(ev->command,
						sizeof(ev->command)));
	arg = json_stringn(ev->arg, strnlen(ev->arg, sizeof(ev->arg)));
	json_object_update_new(o, json_pack(
		"{s:I,s:s,s:i,s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:I,"
		"s:{s:I,s:I,s:I,s:I,s:I}}",
		"session", (json_int_t)ev->session_id,
		"client", client,
		"client_port", (int)ev->client_port,
		"server", server,
		"server_port", (int)ev->server_port,
		"proto", ctl_proto_name(ev->proto),
		"check", ev->reason < SMTP_R__COUNT ?
			 smtp_reason_name((enum smtp_reason)ev->reason) :
			 "unknown",
		"kind", ctl_kind_name(ev->kind),
		"action", smtp_action_name((enum smtp_action)ev->action),
		"dir", ev->dir == SMTP_DIR_C2S ? "client" : "server",
		"command", cmd ? cmd : json_string(""),
		"arg", arg ? arg : json_string(""),
		"reply", ev->reply_code ? json_integer(ev->reply_code) :
					  json_null(),
		"value", (json_int_t)ev->value,
		"counters",
		"commands", (json_int_t)ev->commands,
		"errors", (json_int_t)ev->errors,
		"junk", (json_int_t)ev->junk,
		"rcpts", (json_int_t)ev->rcpts,
		"messages", (json_int_t)ev->messages));
	return o;
}

json_t *ctl_event_block(const struct ctl_block_info *bi, double wall)
{
	char text[CTL_ADDR_TEXT_MAX];
	json_t *o = ctl_event_new(bi->unblock ? CTL_EV_UNBLOCK : CTL_EV_BLOCK,
				  wall);

	if (!o)
		return NULL;
	ctl_prefix_format(bi->addr, text, sizeof(text));
	json_object_update_new(o, json_pack("{s:s,s:s,s:I,s:s,s:s?,s:b,s:s}",
		"addr", text,
		"list", bi->allow ? "allow" : "block",
		"ttl", (json_int_t)bi->ttl,
		"reason", ctl_list_reason_name(bi->reason),
		"why", bi->why,
		"shadow", bi->shadow,
		"source", (unsigned)bi->source < sizeof(ctl_bs_names) /
			  sizeof(ctl_bs_names[0]) ?
			  ctl_bs_names[bi->source] : "unknown"));
	if (bi->latency_us >= 0)
		json_object_set_new(o, "latency_us",
				    json_integer((json_int_t)bi->latency_us));
	return o;
}

static const struct {
	uint32_t bit;
	const char *name;
} ctl_sf_names[] = {
	{ SMTP_SF_GREETED, "greeted" },
	{ SMTP_SF_EHLO, "ehlo" },
	{ SMTP_SF_AUTHED, "authenticated" },
	{ SMTP_SF_MAIL, "in_transaction" },
	{ SMTP_SF_MIDSTREAM, "midstream" },
	{ SMTP_SF_OPAQUE, "tls" },
	{ SMTP_SF_TERMINAL, "terminated" },
	{ SMTP_SF_PREGREET, "pregreet" },
	{ SMTP_SF_QUIT, "quit" },
	{ SMTP_SF_UNINSPECTED, "uninspected" },
};

/* Engine time (ns, caller's monotonic clock) as wall clock text. */
static json_t *ctl_ns_time(uint64_t t_ns, uint64_t now_ns, double wall)
{
	char ts[CTL_TIME_TEXT_MAX];
	double ago = t_ns <= now_ns ? (double)(now_ns - t_ns) / 1e9 : 0;

	ctl_time_format(wall - ago, ts, sizeof(ts));
	return json_string(ts);
}

json_t *ctl_session_json(const struct mxi_session_info *s, uint64_t now_ns,
			 double wall)
{
	char client[CTL_ADDR_TEXT_MAX], server[CTL_ADDR_TEXT_MAX];
	json_t *flags = json_array();

	ctl_addr_text(&s->client, client, sizeof(client));
	ctl_addr_text(&s->server, server, sizeof(server));
	for (size_t i = 0; flags && i < sizeof(ctl_sf_names) /
					 sizeof(ctl_sf_names[0]); i++)
		if (s->smtp_flags & ctl_sf_names[i].bit)
			json_array_append_new(flags,
				json_string(ctl_sf_names[i].name));
	return json_pack("{s:I,s:s,s:i,s:s,s:i,s:s,s:s,s:o,s:I,s:I,s:I,s:I,"
			 "s:I,s:{s:I,s:I},s:o,s:o,s:I}",
		"session", (json_int_t)s->id,
		"client", client,
		"client_port", (int)s->cport,
		"server", server,
		"server_port", (int)s->sport,
		"proto", ctl_proto_name(s->proto),
		"state", s->state ? s->state : "unknown",
		"flags", flags,
		"commands", (json_int_t)s->commands,
		"errors", (json_int_t)s->errors,
		"junk", (json_int_t)s->junk,
		"rcpts", (json_int_t)s->rcpts,
		"messages", (json_int_t)s->messages,
		"bytes", "client", (json_int_t)s->bytes[SMTP_DIR_C2S],
		"server", (json_int_t)s->bytes[SMTP_DIR_S2C],
		"started", ctl_ns_time(s->created_ns, now_ns, wall),
		"last_seen", ctl_ns_time(s->last_ns, now_ns, wall),
		"idle_s", (json_int_t)(s->last_ns <= now_ns ?
				       (now_ns - s->last_ns) / 1000000000ull :
				       0));
}

struct ctl_events *ctl_events_new(struct ctl_server *srv)
{
	struct ctl_events *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->srv = srv;
	e->audit = ctl_audit_new();
	if (!e->audit) {
		free(e);
		return NULL;
	}
	return e;
}

void ctl_events_free(struct ctl_events *e)
{
	if (!e)
		return;
	ctl_audit_free(e->audit);
	free(e);
}

void ctl_events_publish(struct ctl_events *e, json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "type"));
	int t = type ? ctl_event_type_find(type) : -1;
	char *line;
	size_t len;

	if (!e || !ev || t < 0) {
		json_decref(ev);
		return;
	}
	e->published[t]++;
	if (t == CTL_EV_AUDIT)
		ctl_audit_note(e->audit, ev);
	if (!e->srv || !e->srv->n_subscribers) {
		json_decref(ev);
		return;
	}
	line = ctl_encode_line(ev, &len);
	if (!line)
		return;
	ctl_server_publish(e->srv, (unsigned)t, line, len, &e->delivered,
			   &e->dropped);
	free(line);
}

void ctl_events_drain_cb(void *ctx, json_t *ev)
{
	ctl_events_publish(ctx, ev);
}
