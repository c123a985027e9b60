/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctl_proto.h - the control protocol without the socket: newline framing
 * with a hard line limit, request parsing and validation into a struct,
 * and reply encoding.  Everything here is pure and fuzzed
 * (tests/fuzz/control/fuzz_request.c).  Protocol: docs/control-protocol.md.
 */
#ifndef CTL_PROTO_H
#define CTL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ctl_addr.h"

#define CTL_TTL_MAX             (10u * 365 * 86400)     /* seconds */
#define CTL_LIST_LIMIT_DEFAULT  1000
#define CTL_LIST_LIMIT_MAX      100000

#define CTL_COMMANDS(X) \
	X(CTL_CMD_STATUS,        "status")        \
	X(CTL_CMD_STATS,         "stats")         \
	X(CTL_CMD_BLOCK_ADD,     "block.add")     \
	X(CTL_CMD_BLOCK_DEL,     "block.del")     \
	X(CTL_CMD_BLOCK_LIST,    "block.list")    \
	X(CTL_CMD_ALLOW_ADD,     "allow.add")     \
	X(CTL_CMD_ALLOW_DEL,     "allow.del")     \
	X(CTL_CMD_ALLOW_LIST,    "allow.list")    \
	X(CTL_CMD_CONFIG_GET,    "config.get")    \
	X(CTL_CMD_CONFIG_RELOAD, "config.reload") \
	X(CTL_CMD_METRICS,       "metrics")       \
	X(CTL_CMD_SESSIONS_LIST, "sessions.list") \
	X(CTL_CMD_EVENTS_SUBSCRIBE, "events.subscribe") \
	X(CTL_CMD_AUDIT,         "audit")

#define CTL_CMD_ENUM(name, text) name,
enum ctl_cmd {
	CTL_COMMANDS(CTL_CMD_ENUM)
	CTL_CMD_MAX
};
#undef CTL_CMD_ENUM

#define CTL_ERRORS(X) \
	X(CTL_E_PARSE,            "parse_error")       \
	X(CTL_E_INVALID_REQUEST,  "invalid_request")   \
	X(CTL_E_UNKNOWN_COMMAND,  "unknown_command")   \
	X(CTL_E_INVALID_ARGUMENT, "invalid_argument")  \
	X(CTL_E_TOO_LARGE,        "too_large")         \
	X(CTL_E_NOT_FOUND,        "not_found")         \
	X(CTL_E_TABLE_FULL,       "table_full")        \
	X(CTL_E_CONFIG,           "config_error")      \
	X(CTL_E_INTERNAL,         "internal")          \
	X(CTL_E_DENIED,           "permission_denied") \
	X(CTL_E_BUSY,             "busy")

#define CTL_ERR_ENUM(name, text) name,
enum ctl_errcode {
	CTL_ERRORS(CTL_ERR_ENUM)
	CTL_E_MAX
};
#undef CTL_ERR_ENUM

/* Event types of events.subscribe (ctl_events.h): the index is the bit in a subscriber's filter mask.
 * Append only (clients filter by name, but keep the bits stable). */
#define CTL_EVENT_TYPES(X) \
	X(CTL_EV_VIOLATION, "violation") \
	X(CTL_EV_AUDIT,     "audit")     \
	X(CTL_EV_BLOCK,     "block")     \
	X(CTL_EV_UNBLOCK,   "unblock")   \
	X(CTL_EV_LOST,      "lost")      \
	X(CTL_EV_RELOAD,    "reload")

#define CTL_EV_ENUM(name, text) name,
enum ctl_event_type {
	CTL_EVENT_TYPES(CTL_EV_ENUM)
	CTL_EV_MAX
};
#undef CTL_EV_ENUM

#define CTL_EV_ALL      ((1u << CTL_EV_MAX) - 1)

const char *ctl_event_type_name(enum ctl_event_type t);
/* Index of a type name, or -1. */
int ctl_event_type_find(const char *name);

const char *ctl_cmd_name(enum ctl_cmd cmd);
const char *ctl_err_name(enum ctl_errcode code);

/* Reason names accepted in block.add / allow.add, index = enum
 * mxw_list_reason.  "config" is reserved for entries from the file. */
const char *ctl_list_reason_name(uint32_t reason);

struct ctl_error {
	enum ctl_errcode code;
	char msg[256];
};

struct ctl_request {
	json_t *root;           /* owned */
	json_t *id;             /* borrowed from root; NULL when absent */
	enum ctl_cmd cmd;
	/* block/allow add/del */
	struct ctl_prefix addr;
	uint32_t ttl;           /* seconds, 0 = permanent */
	uint32_t reason;        /* enum mxw_list_reason */
	bool shadow;            /* MXW_LF_SHADOW: counted, not enforced */
	/* block/allow list, sessions.list (limit) */
	uint32_t offset;
	uint32_t limit;
	/* events.subscribe: bit per enum ctl_event_type */
	uint32_t ev_mask;
};

/*
 * Parse one request line (without its newline).  On error returns -EINVAL
 * with err filled; req->id is still set when the line was a JSON object
 * with an "id", so the reply can carry it.  Always ctl_request_free().
 */
int ctl_request_parse(const char *line, size_t len, struct ctl_request *req,
		      struct ctl_error *err);
void ctl_request_free(struct ctl_request *req);

/* obj (stolen) as one compact line ending in '\n' (malloc'd, NUL after
 * the newline), its length in *len; NULL on failure.  Replies and
 * events are written with it. */
char *ctl_encode_line(json_t *obj, size_t *len);

/* Replies: malloc'd, one line ending in '\n'.  result is stolen. */
char *ctl_reply_ok(json_t *id, json_t *result, size_t *len);
char *ctl_reply_error(json_t *id, enum ctl_errcode code, const char *msg,
		      size_t *len);

/*
 * Newline framing with a hard limit.  Data is read straight into
 * ctl_linebuf_space(); ctl_linebuf_next() hands out complete lines.  A line
 * longer than max is reported once as CTL_LB_OVERFLOW and its remaining
 * bytes, up to the next newline, are discarded: the client gets one error
 * and the connection stays usable.
 */
struct ctl_linebuf {
	char *buf;
	size_t cap;             /* max + 1 */
	size_t max;             /* longest accepted line, newline excluded */
	size_t start, len;      /* unconsumed data is buf[start..len) */
	bool discarding;
};

enum ctl_lb_result {
	CTL_LB_NEED_MORE = 0,
	CTL_LB_LINE = 1,
	CTL_LB_OVERFLOW = 2,
};

int ctl_linebuf_init(struct ctl_linebuf *lb, size_t max);
void ctl_linebuf_free(struct ctl_linebuf *lb);
/* Where to read to, and how much fits (never 0 after ctl_linebuf_next()
 * returned CTL_LB_NEED_MORE). */
char *ctl_linebuf_space(struct ctl_linebuf *lb, size_t *room);
void ctl_linebuf_commit(struct ctl_linebuf *lb, size_t n);
/* Next event; a returned line stays valid until the next call. */
enum ctl_lb_result ctl_linebuf_next(struct ctl_linebuf *lb,
				    const char **line, size_t *len);
/* Bytes of an incomplete line are waiting. */
bool ctl_linebuf_partial(const struct ctl_linebuf *lb);

#endif /* CTL_PROTO_H */
