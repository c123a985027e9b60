// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctl_audit.c - audit findings kept by the main thread (ctl_audit.h).
 *
 * Decisions:
 *  - Input is the JSON event, not struct smtp_event: the inspection worker
 *    hands events over as JSON (ctl_insp_drain), and this keeps the table
 *    independent of where the event came from.  Every string taken from it
 *    is length-checked and truncated to CTL_AUDIT_TEXT_MAX: the excerpt in
 *    the event is server text (escaped by the engine, still bounded here).
 *  - A linear search over at most CTL_AUDIT_MAX entries: findings are few
 *    (servers x audit checks) and audit events at most one per session
 *    reply, so a hash table would buy nothing measurable.
 *  - When full, existing findings keep counting; new ones only raise
 *    `overflow`, so an operator sees that something was missed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_audit.h"

struct ctl_audit_finding {
	char server[CTL_AUDIT_TEXT_MAX];
	char check[CTL_AUDIT_TEXT_MAX];
	char command[CTL_AUDIT_TEXT_MAX];
	char example[CTL_AUDIT_TEXT_MAX];
	json_int_t server_port;
	json_int_t reply;               /* -1: none */
	uint64_t count;
	char first[40], last[40];       /* event "time" strings */
};

struct ctl_audit {
	struct ctl_audit_finding *f;    /* CTL_AUDIT_MAX */
	size_t n;
	uint64_t overflow;
};

struct ctl_audit *ctl_audit_new(void)
{
	struct ctl_audit *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->f = calloc(CTL_AUDIT_MAX, sizeof(*a->f));
	if (!a->f) {
		free(a);
		return NULL;
	}
	return a;
}

void ctl_audit_free(struct ctl_audit *a)
{
	if (!a)
		return;
	free(a->f);
	free(a);
}

/* Copy a string member, truncated to fit; "" when absent or not a string. */
static void audit_str(char *dst, size_t len, const json_t *ev, const char *k)
{
	const json_t *v = json_object_get(ev, k);
	size_t n = 0;

	if (json_is_string(v)) {
		n = json_string_length(v);
		if (n >= len)
			n = len - 1;
		memcpy(dst, json_string_value(v), n);
		/* a NUL inside the JSON string ends it here, harmlessly */
	}
	dst[n] = '\0';
}

int ctl_audit_note(struct ctl_audit *a, const json_t *ev)
{
	char server[CTL_AUDIT_TEXT_MAX], check[CTL_AUDIT_TEXT_MAX];
	struct ctl_audit_finding *f = NULL;
	const json_t *v;

	if (!a || !json_is_string(json_object_get(ev, "server")) ||
	    !json_is_string(json_object_get(ev, "check")))
		return -EINVAL;
	audit_str(server, sizeof(server), ev, "server");
	audit_str(check, sizeof(check), ev, "check");
	for (size_t i = 0; i < a->n; i++)
		if (!strcmp(a->f[i].server, server) &&
		    !strcmp(a->f[i].check, check)) {
			f = &a->f[i];
			break;
		}
	if (!f) {
		if (a->n == CTL_AUDIT_MAX) {
			a->overflow++;
			return -ENOSPC;
		}
		f = &a->f[a->n++];
		memset(f, 0, sizeof(*f));
		memcpy(f->server, server, sizeof(server));
		memcpy(f->check, check, sizeof(check));
		audit_str(f->first, sizeof(f->first), ev, "time");
	}
	/* the example is the latest one: a fixed leak shows up at once */
	audit_str(f->command, sizeof(f->command), ev, "command");
	audit_str(f->example, sizeof(f->example), ev, "arg");
	audit_str(f->last, sizeof(f->last), ev, "time");
	v = json_object_get(ev, "server_port");
	f->server_port = json_is_integer(v) ? json_integer_value(v) : 0;
	if (f->server_port < 0 || f->server_port > 65535)
		f->server_port = 0;
	v = json_object_get(ev, "reply");
	f->reply = json_is_integer(v) ? json_integer_value(v) : -1;
	if (f->reply < 0 || f->reply > 999)
		f->reply = -1;
	f->count++;
	return 0;
}

json_t *ctl_audit_json(const struct ctl_audit *a)
{
	json_t *arr = json_array();

	if (!arr)
		return NULL;
	for (size_t i = 0; a && i < a->n; i++) {
		const struct ctl_audit_finding *f = &a->f[i];

		json_array_append_new(arr, json_pack(
			"{s:s,s:I,s:s,s:I,s:s,s:s,s:s,s:s,s:o}",
			"server", f->server,
			"server_port", f->server_port,
			"check", f->check,
			"count", (json_int_t)f->count,
			"first_seen", f->first,
			"last_seen", f->last,
			"command", f->command,
			"example", f->example,
			"reply", f->reply >= 0 ? json_integer(f->reply) :
						 json_null()));
	}
	return json_pack("{s:o,s:I}", "findings", arr, "overflow",
			 (json_int_t)(a ? a->overflow : 0));
}
