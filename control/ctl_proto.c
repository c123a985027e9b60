// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctl_proto.c - framing, parsing and validation of control requests, and
 * reply encoding.  A request is checked completely here (types, ranges,
 * unknown arguments, address syntax) so the command handlers in ctl_cmd.c
 * only see valid values.  Replies are compact JSON: jansson escapes
 * newlines inside strings, so one reply is always exactly one line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_proto.h"
#include "mxwall_shared.h"

#define CTL_CMD_TEXT(name, text) [name] = text,
static const char *const ctl_cmd_names[CTL_CMD_MAX] = {
	CTL_COMMANDS(CTL_CMD_TEXT)
};
#undef CTL_CMD_TEXT

#define CTL_EV_TEXT(name, text) [name] = text,
static const char *const ctl_ev_names[CTL_EV_MAX] = {
	CTL_EVENT_TYPES(CTL_EV_TEXT)
};
#undef CTL_EV_TEXT

#define CTL_ERR_TEXT(name, text) [name] = text,
static const char *const ctl_err_names[CTL_E_MAX] = {
	CTL_ERRORS(CTL_ERR_TEXT)
};
#undef CTL_ERR_TEXT

static const char *const ctl_reason_names[] = {
	[MXW_LR_MANUAL] = "manual",
	[MXW_LR_POLICY] = "policy",
	[MXW_LR_ESCALATED] = "escalated",
	[MXW_LR_CONFIG] = "config",
};

const char *ctl_cmd_name(enum ctl_cmd cmd)
{
	return (unsigned)cmd < CTL_CMD_MAX ? ctl_cmd_names[cmd] : "?";
}

const char *ctl_err_name(enum ctl_errcode code)
{
	return (unsigned)code < CTL_E_MAX ? ctl_err_names[code] : "internal";
}

const char *ctl_event_type_name(enum ctl_event_type t)
{
	return (unsigned)t < CTL_EV_MAX ? ctl_ev_names[t] : "unknown";
}

int ctl_event_type_find(const char *name)
{
	for (int i = 0; i < CTL_EV_MAX; i++)
		if (!strcmp(name, ctl_ev_names[i]))
			return i;
	return -1;
}

const char *ctl_list_reason_name(uint32_t reason)
{
	if (reason < sizeof(ctl_reason_names) / sizeof(ctl_reason_names[0]))
		return ctl_reason_names[reason];
	return "unknown";
}

__attribute__((format(printf, 3, 4)))
static int req_fail(struct ctl_error *err, enum ctl_errcode code,
		    const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Arguments each command accepts besides "id" and "cmd". */
static const char *const *req_args(enum ctl_cmd cmd)
{
	static const char *const none[] = {NULL};
	static const char *const add[] = {"addr", "ttl", "reason", "shadow",
					  NULL};
	static const char *const del[] = {"addr", NULL};
	static const char *const list[] = {"offset", "limit", NULL};
	static const char *const limit[] = {"limit", NULL};
	static const char *const types[] = {"types", NULL};

	switch (cmd) {
	case CTL_CMD_BLOCK_ADD:
	case CTL_CMD_ALLOW_ADD:
		return add;
	case CTL_CMD_BLOCK_DEL:
	case CTL_CMD_ALLOW_DEL:
		return del;
	case CTL_CMD_BLOCK_LIST:
	case CTL_CMD_ALLOW_LIST:
		return list;
	case CTL_CMD_SESSIONS_LIST:
		return limit;
	case CTL_CMD_EVENTS_SUBSCRIBE:
		return types;
	default:
		return none;
	}
}

static int req_u32(json_t *root, const char *key, uint32_t min, uint32_t max,
		   uint32_t *out, struct ctl_error *err)
{
	json_t *v = json_object_get(root, key);
	json_int_t n;

	if (!v)
		return 0;
	if (!json_is_integer(v) || (n = json_integer_value(v)) < min ||
	    n > max)
		return req_fail(err, CTL_E_INVALID_ARGUMENT,
				"%s: must be an integer %u..%u", key, min, max);
	*out = (uint32_t)n;
	return 0;
}

/* "types": a non-empty array of event type names, no repeats; absent:
 * every type. */
static int req_types(struct ctl_request *req, struct ctl_error *err)
{
	json_t *v = json_object_get(req->root, "types"), *e;
	size_t i;

	req->ev_mask = CTL_EV_ALL;
	if (!v)
		return 0;
	if (!json_is_array(v) || !json_array_size(v) ||
	    json_array_size(v) > CTL_EV_MAX)
		return req_fail(err, CTL_E_INVALID_ARGUMENT,
				"types: must be an array of 1..%d event type "
				"names", CTL_EV_MAX);
	req->ev_mask = 0;
	json_array_foreach(v, i, e) {
		int t = json_is_string(e) ?
			ctl_event_type_find(json_string_value(e)) : -1;

		if (t < 0)
			return req_fail(err, CTL_E_INVALID_ARGUMENT,
					"types[%zu]: not an event type", i);
		if (req->ev_mask & (1u << t))
			return req_fail(err, CTL_E_INVALID_ARGUMENT,
					"types[%zu]: repeated", i);
		req->ev_mask |= 1u << t;
	}
	return 0;
}

static int req_list_args(struct ctl_request *req, struct ctl_error *err)
{
	json_t *root = req->root, *v;
	char why[128];

	switch (req->cmd) {
	case CTL_CMD_BLOCK_ADD:
	case CTL_CMD_ALLOW_ADD:
	case CTL_CMD_BLOCK_DEL:
	case CTL_CMD_ALLOW_DEL:
		v = json_object_get(root, "addr");
		if (!v)
			return req_fail(err, CTL_E_INVALID_ARGUMENT,
					"addr: required");
		if (!json_is_string(v))
			return req_fail(err, CTL_E_INVALID_ARGUMENT,
					"addr: must be a string");
		if (ctl_prefix_parse(json_string_value(v), &req->addr, why,
				     sizeof(why)) < 0)
			return req_fail(err, CTL_E_INVALID_ARGUMENT,
					"addr: %s", why);
		break;
	case CTL_CMD_BLOCK_LIST:
	case CTL_CMD_ALLOW_LIST:
		req->limit = CTL_LIST_LIMIT_DEFAULT;
		if (req_u32(root, "offset", 0, UINT32_MAX, &req->offset,
			    err) < 0 ||
		    req_u32(root, "limit", 1, CTL_LIST_LIMIT_MAX, &req->limit,
			    err) < 0)
			return -EINVAL;
		return 0;
	case CTL_CMD_SESSIONS_LIST:
		req->limit = CTL_LIST_LIMIT_DEFAULT;
		return req_u32(root, "limit", 1, CTL_LIST_LIMIT_MAX,
			       &req->limit, err);
	case CTL_CMD_EVENTS_SUBSCRIBE:
		return req_types(req, err);
	default:
		return 0;
	}
	if (req->cmd != CTL_CMD_BLOCK_ADD && req->cmd != CTL_CMD_ALLOW_ADD)
		return 0;
	if (req_u32(root, "ttl", 0, CTL_TTL_MAX, &req->ttl, err) < 0)
		return -EINVAL;
	v = json_object_get(root, "shadow");
	if (v && !json_is_boolean(v))
		return req_fail(err, CTL_E_INVALID_ARGUMENT,
				"shadow: must be true or false");
	req->shadow = v && json_is_true(v);
	req->reason = MXW_LR_MANUAL;
	v = json_object_get(root, "reason");
	if (v) {
		const char *s = json_is_string(v) ? json_string_value(v) : "";

		if (strcmp(s, "manual") == 0)
			req->reason = MXW_LR_MANUAL;
		else if (strcmp(s, "policy") == 0)
			req->reason = MXW_LR_POLICY;
		else if (strcmp(s, "escalated") == 0)
			req->reason = MXW_LR_ESCALATED;
		else
			return req_fail(err, CTL_E_INVALID_ARGUMENT,
					"reason: must be one of \"manual\", "
					"\"policy\", \"escalated\"");
	}
	return 0;
}

int ctl_request_parse(const char *line, size_t len, struct ctl_request *req,
		      struct ctl_error *err)
{
	json_error_t jerr;
	json_t *cmd;
	const char *name, *k;
	const char *const *args;
	json_t *v;
	int i;

	memset(req, 0, sizeof(*req));
	req->root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req->root)
		return req_fail(err, CTL_E_PARSE, "invalid JSON at column %d: "
				"%s", jerr.column, jerr.text);
	if (!json_is_object(req->root))
		return req_fail(err, CTL_E_INVALID_REQUEST,
				"request must be a JSON object");
	req->id = json_object_get(req->root, "id");
	cmd = json_object_get(req->root, "cmd");
	if (!cmd)
		return req_fail(err, CTL_E_INVALID_REQUEST, "cmd: required");
	if (!json_is_string(cmd))
		return req_fail(err, CTL_E_INVALID_REQUEST,
				"cmd: must be a string");
	name = json_string_value(cmd);
	for (i = 0; i < CTL_CMD_MAX; i++)
		if (strcmp(name, ctl_cmd_names[i]) == 0)
			break;
	if (i == CTL_CMD_MAX)
		return req_fail(err, CTL_E_UNKNOWN_COMMAND,
				"unknown command \"%.64s\"", name);
	req->cmd = (enum ctl_cmd)i;
	args = req_args(req->cmd);
	json_object_foreach(req->root, k, v) {
		bool known = strcmp(k, "id") == 0 || strcmp(k, "cmd") == 0;

		for (int j = 0; args[j] && !known; j++)
			known = strcmp(k, args[j]) == 0;
		if (!known)
			return req_fail(err, CTL_E_INVALID_ARGUMENT,
					"%s does not take argument \"%.64s\"",
					name, k);
	}
	return req_list_args(req, err);
}

void ctl_request_free(struct ctl_request *req)
{
	json_decref(req->root);
	req->root = NULL;
	req->id = NULL;
}

char *ctl_encode_line(json_t *obj, size_t *len)
{
	char *s, *line;
	size_t n;

	if (!obj)
		return NULL;
	s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (!s)
		return NULL;
	n = strlen(s);
	line = realloc(s, n + 2);
	if (!line) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	*len = n + 1;
	return line;
}

char *ctl_reply_ok(json_t *id, json_t *result, size_t *len)
{
	json_t *r = json_object();

	if (!r) {
		json_decref(result);
		return NULL;
	}
	json_object_set(r, "id", id ? id : json_null());
	json_object_set_new(r, "ok", json_true());
	json_object_set_new(r, "result", result ? result : json_null());
	return ctl_encode_line(r, len);
}

char *ctl_reply_error(json_t *id, enum ctl_errcode code, const char *msg,
		      size_t *len)
{
	json_t *r = json_pack("{s:O?,s:b,s:{s:s,s:s}}", "id", id, "ok", 0,
			      "error", "code", ctl_err_name(code),
			      "message", msg);

	return ctl_encode_line(r, len);
}

int ctl_linebuf_init(struct ctl_linebuf *lb, size_t max)
{
	memset(lb, 0, sizeof(*lb));
	lb->buf = malloc(max + 1);
	if (!lb->buf)
		return -ENOMEM;
	lb->cap = max + 1;
	lb->max = max;
	return 0;
}

void ctl_linebuf_free(struct ctl_linebuf *lb)
{
	free(lb->buf);
	lb->buf = NULL;
}

char *ctl_linebuf_space(struct ctl_linebuf *lb, size_t *room)
{
	*room = lb->cap - lb->len;
	return lb->buf + lb->len;
}

void ctl_linebuf_commit(struct ctl_linebuf *lb, size_t n)
{
	if (n > lb->cap - lb->len)
		n = lb->cap - lb->len;
	lb->len += n;
}

bool ctl_linebuf_partial(const struct ctl_linebuf *lb)
{
	return lb->len > lb->start || lb->discarding;
}

enum ctl_lb_result ctl_linebuf_next(struct ctl_linebuf *lb,
				    const char **line, size_t *len)
{
	for (;;) {
		char *s = lb->buf + lb->start;
		size_t avail = lb->len - lb->start;
		char *nl = avail ? memchr(s, '\n', avail) : NULL;

		if (nl) {
			size_t n = (size_t)(nl - s);

			lb->start += n + 1;
			if (lb->discarding) {
				lb->discarding = false;
				continue;
			}
			if (n > lb->max) {
				/* Complete but too long (only possible when
				 * the newline arrived with the overflow). */
				return CTL_LB_OVERFLOW;
			}
			if (n && s[n - 1] == '\r')
				n--;
			if (n == 0)
				continue;       /* empty lines are ignored */
			*line = s;
			*len = n;
			return CTL_LB_LINE;
		}
		if (lb->discarding) {
			lb->start = lb->len = 0;
			return CTL_LB_NEED_MORE;
		}
		if (avail > lb->max) {
			lb->discarding = true;
			lb->start = lb->len = 0;
			return CTL_LB_OVERFLOW;
		}
		/* Move the partial line to the front so there is room. */
		if (lb->start) {
			memmove(lb->buf, s, avail);
			lb->start = 0;
			lb->len = avail;
		}
		return CTL_LB_NEED_MORE;
	}
}
