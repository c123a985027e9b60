// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_events.c - the event objects of the control socket's stream and
 * the audit table: exact field names and values from crafted engine
 * events, hostile strings (no NUL, invalid UTF-8, over-long), the time
 * format, and the audit table's bounds.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl_audit.h"
#include "ctl_events.h"
#include "insp.h"

static unsigned fails;

static void ok(int cond, const char *what)
{
	printf("%s - %s\n", cond ? "ok" : "not ok", what);
	fails += !cond;
}

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "(none)";
}

static json_int_t num(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static struct mxw_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct mxw_addr x = { .a = { [10] = 0xff, [11] = 0xff,
				     [12] = a, [13] = b, [14] = c, [15] = d } };

	return x;
}

static void test_time(void)
{
	static const struct { double wall; const char *want; } t[] = {
		{ 0.0, "1970-01-01T00:00:00.000Z" },
		{ 86400.5, "1970-01-02T00:00:00.500Z" },
		{ 1795437376.9999, "2026-11-23T12:36:16.999Z" },   /* date -u -d @1795437376 */
		{ -5.0, "1970-01-01T00:00:00.000Z" },
	};
	char buf[CTL_TIME_TEXT_MAX];
	int good = 1;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ctl_time_format(t[i].wall, buf, sizeof(buf));
		if (strcmp(buf, t[i].want)) {
			printf("# %f: %s, want %s\n", t[i].wall, buf,
			       t[i].want);
			good = 0;
		}
	}
	ok(good, "time: RFC 3339 UTC, milliseconds truncated");
}

static struct smtp_event sample(void)
{
	struct smtp_event ev = {
		.session_id = 17, .time_ns = 5,
		.client = v4(203, 0, 113, 9), .server = v4(192, 0, 2, 25),
		.client_port = 51234, .server_port = 25,
		.reason = SMTP_R_VRFY, .kind = SMTP_K_VIOLATION,
		.action = SMTP_A_SCORE, .dir = SMTP_DIR_C2S,
		.proto = SMTP_P_SMTP, .reply_code = 0,
		.commands = 3, .errors = 1, .junk = 2, .rcpts = 4,
		.messages = 5, .value = 9,
	};

	strcpy(ev.command, "VRFY");
	strcpy(ev.arg, "postmaster");
	return ev;
}

static void test_violation(void)
{
	struct smtp_event ev = sample();
	json_t *o = ctl_event_violation(&ev, 86400.5), *c;

	c = json_object_get(o, "counters");
	ok(o && !strcmp(str(o, "type"), "violation") &&
	   !strcmp(str(o, "time"), "1970-01-02T00:00:00.500Z") &&
	   num(o, "session") == 17 &&
	   !strcmp(str(o, "client"), "203.0.113.9") &&
	   num(o, "client_port") == 51234 &&
	   !strcmp(str(o, "server"), "192.0.2.25") &&
	   num(o, "server_port") == 25 && !strcmp(str(o, "proto"), "smtp") &&
	   !strcmp(str(o, "check"), "vrfy") &&
	   !strcmp(str(o, "kind"), "violation") &&
	   !strcmp(str(o, "action"), "score") &&
	   !strcmp(str(o, "dir"), "client") &&
	   !strcmp(str(o, "command"), "VRFY") &&
	   !strcmp(str(o, "arg"), "postmaster") &&
	   json_is_null(json_object_get(o, "reply")) &&
	   num(o, "value") == 9 && num(c, "commands") == 3 &&
	   num(c, "errors") == 1 && num(c, "junk") == 2 &&
	   num(c, "rcpts") == 4 && num(c, "messages") == 5 &&
	   json_object_size(o) == 17,
	   "violation: every field named and valued as documented");
	json_decref(o);

	/* audit kind, server side, reply code; IPv6 server */
	ev.reason = SMTP_R_AUDIT_BANNER;
	ev.kind = SMTP_K_AUDIT;
	ev.dir = SMTP_DIR_S2C;
	ev.reply_code = 220;
	memset(ev.server.a, 0, sizeof(ev.server.a));
	ev.server.a[0] = 0x20;
	ev.server.a[1] = 0x01;
	ev.server.a[2] = 0x0d;
	ev.server.a[3] = 0xb8;
	ev.server.a[15] = 0x19;
	o = ctl_event_violation(&ev, 1);
	ok(o && !strcmp(str(o, "type"), "audit") &&
	   !strcmp(str(o, "check"), "audit_banner_version") &&
	   !strcmp(str(o, "dir"), "server") && num(o, "reply") == 220 &&
	   !strcmp(str(o, "server"), "2001:db8::19"),
	   "audit kind: type audit, reply code, IPv6 address");
	json_decref(o);

	/* hostile engine output: no NUL in command, invalid UTF-8 in arg,
	 * reason and proto out of range */
	ev = sample();
	memset(ev.command, 'A', sizeof(ev.command));
	ev.arg[0] = (char)0xff;
	ev.arg[1] = '\0';
	ev.reason = 60000;
	ev.proto = 77;
	o = ctl_event_violation(&ev, 1);
	ok(o && strlen(str(o, "command")) == sizeof(ev.command) &&
	   !strcmp(str(o, "arg"), "") && !strcmp(str(o, "check"), "unknown") &&
	   !strcmp(str(o, "proto"), "unknown"),
	   "violation: unterminated command bounded, bad UTF-8 dropped, "
	   "unknown reason/proto named");
	json_decref(o);
}

static void test_block(void)
{
	struct ctl_prefix p;
	char err[64];
	json_t *o;

	ctl_prefix_parse("198.51.100.0/24", &p, err, sizeof(err));
	o = ctl_event_block(&(struct ctl_block_info){
		.addr = &p, .ttl = 3600, .reason = MXW_LR_POLICY,
		.why = "auth_failed", .source = CTL_BS_POLICY,
		.latency_us = 41 }, 0);
	ok(o && !strcmp(str(o, "type"), "block") &&
	   !strcmp(str(o, "addr"), "198.51.100.0/24") &&
	   !strcmp(str(o, "list"), "block") && num(o, "ttl") == 3600 &&
	   !strcmp(str(o, "reason"), "policy") &&
	   !strcmp(str(o, "why"), "auth_failed") &&
	   json_is_false(json_object_get(o, "shadow")) &&
	   !strcmp(str(o, "source"), "policy") && num(o, "latency_us") == 41,
	   "block: fields, latency when measured");
	json_decref(o);
	ctl_prefix_parse("2001:db8::1", &p, err, sizeof(err));
	o = ctl_event_block(&(struct ctl_block_info){
		.unblock = true, .allow = true, .addr = &p,
		.reason = MXW_LR_MANUAL, .shadow = true,
		.source = CTL_BS_EXPIRY, .latency_us = -1 }, 0);
	ok(o && !strcmp(str(o, "type"), "unblock") &&
	   !strcmp(str(o, "list"), "allow") &&
	   !strcmp(str(o, "addr"), "2001:db8::1") &&
	   json_is_null(json_object_get(o, "why")) &&
	   json_is_true(json_object_get(o, "shadow")) &&
	   !strcmp(str(o, "source"), "expiry") &&
	   !json_object_get(o, "latency_us"),
	   "unblock: allow list, why null, no latency when not measured");
	json_decref(o);
}

static void test_session(void)
{
	struct mxi_session_info s = {
		.id = 5, .client = v4(203, 0, 113, 9),
		.server = v4(192, 0, 2, 25), .cport = 40000, .sport = 587,
		.proto = SMTP_P_SMTP, .state = "dead",
		.smtp_flags = SMTP_SF_GREETED | SMTP_SF_TERMINAL,
		.commands = 2, .errors = 1, .junk = 0, .rcpts = 0,
		.messages = 0, .bytes = { 30, 70 },
		.created_ns = 1000000000ull, .last_ns = 3000000000ull,
	};
	json_t *o = ctl_session_json(&s, 5500000000ull, 86400.0);
	json_t *f = json_object_get(o, "flags");

	ok(o && num(o, "session") == 5 && !strcmp(str(o, "state"), "dead") &&
	   num(o, "server_port") == 587 && json_array_size(f) == 2 &&
	   !strcmp(json_string_value(json_array_get(f, 0)), "greeted") &&
	   !strcmp(json_string_value(json_array_get(f, 1)), "terminated") &&
	   num(json_object_get(o, "bytes"), "client") == 30 &&
	   num(json_object_get(o, "bytes"), "server") == 70 &&
	   !strcmp(str(o, "started"), "1970-01-01T23:59:55.500Z") &&
	   !strcmp(str(o, "last_seen"), "1970-01-01T23:59:57.500Z") &&
	   num(o, "idle_s") == 2,
	   "session: fields, flag names, engine clock mapped to wall clock");
	json_decref(o);
}

static json_t *audit_ev(const char *server, const char *check,
			const char *arg, int reply)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:s}", "type", "audit",
			      "time", "2026-11-23T15:48:40.123Z",
			      "server", server, "check", check,
			      "server_port", 25, "command", "", "arg", arg);

	json_object_set_new(o, "reply", json_integer(reply));
	return o;
}

static void test_audit(void)
{
	struct ctl_audit *a = ctl_audit_new();
	char long_arg[300], srv[64];
	json_t *ev, *r, *f0;
	int rc, good = 1;

	ev = json_pack("{s:s}", "check", "audit_banner_version");
	ok(ctl_audit_note(a, ev) == -EINVAL, "audit: event without server "
	   "ignored");
	json_decref(ev);
	for (int i = 0; i < 3; i++) {
		ev = audit_ev("192.0.2.25", "audit_banner_version",
			      i == 2 ? "220 mx ESMTP Postfix 3.7" : "220 x",
			      i == 2 ? 1000 : 220);
		good &= ctl_audit_note(a, ev) == 0;
		json_decref(ev);
	}
	memset(long_arg, 'x', sizeof(long_arg) - 1);
	long_arg[sizeof(long_arg) - 1] = '\0';
	ev = audit_ev("192.0.2.25", "audit_vrfy_answered", long_arg, 252);
	good &= ctl_audit_note(a, ev) == 0;
	json_decref(ev);
	r = ctl_audit_json(a);
	f0 = json_array_get(json_object_get(r, "findings"), 0);
	ok(good && json_array_size(json_object_get(r, "findings")) == 2 &&
	   num(f0, "count") == 3 &&
	   !strcmp(str(f0, "example"), "220 mx ESMTP Postfix 3.7") &&
	   json_is_null(json_object_get(f0, "reply")) &&
	   !strcmp(str(f0, "first_seen"), "2026-11-23T15:48:40.123Z") &&
	   strlen(str(json_array_get(json_object_get(r, "findings"), 1),
		      "example")) == CTL_AUDIT_TEXT_MAX - 1,
	   "audit: one finding per (server, check), latest example, reply "
	   "out of range null, long text cut");
	json_decref(r);
	rc = 0;
	for (int i = 0; i < CTL_AUDIT_MAX + 5; i++) {
		snprintf(srv, sizeof(srv), "2001:db8::%x", i);
		ev = audit_ev(srv, "audit_banner_version", "220", 220);
		if (ctl_audit_note(a, ev) == -ENOSPC)
			rc++;
		json_decref(ev);
	}
	r = ctl_audit_json(a);
	ok(rc == 7 && num(r, "overflow") == 7 &&
	   json_array_size(json_object_get(r, "findings")) == CTL_AUDIT_MAX,
	   "audit: bounded at CTL_AUDIT_MAX, the rest counted as overflow");
	json_decref(r);
	ctl_audit_free(a);
}

int main(void)
{
	test_time();
	test_violation();
	test_block();
	test_session();
	test_audit();
	return fails ? 1 : 0;
}
