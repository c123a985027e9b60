/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctl_server.h - the control socket's I/O: listening socket, clients with
 * bounded non-blocking buffers, peer credential check, stall deadlines.
 * It moves bytes only; what a request means is the handler's business
 * (ctl_cmd.c), so the loop and the policy stay apart.
 */
#ifndef CTL_SERVER_H
#define CTL_SERVER_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctl_config.h"
#include "ctl_proto.h"

/* Replies above this are refused (block.list pages keep far below). */
#define CTL_REPLY_MAX           (64u << 20)
/* Lines are processed only while less than this much output waits, so a
 * client that does not read cannot make the daemon buffer without bound. */
#define CTL_OUT_HIGH            (256u << 10)
/* Event subscribers at once: each may hold CTL_OUT_HIGH of unsent events,
 * so this bounds that memory (8 MiB). */
#define CTL_SUBSCRIBERS_MAX     32

struct ctl_client {
	int fd;                 /* -1: free slot */
	struct ctl_linebuf in;
	char *out;
	size_t out_len, out_off, out_cap;
	uint64_t last_io_ns;    /* last byte read or written */
	uid_t uid;
	pid_t pid;
	/* events.subscribe: filter (bit = enum ctl_event_type), 0 = not
	 * subscribed; events missed while the output was full */
	uint32_t sub_mask;
	uint64_t sub_lost;
};

/* Handles one request line; returns a malloc'd reply line or NULL (then
 * the server answers "internal"). */
typedef char *(*ctl_handler_fn)(void *ctx, const char *line, size_t len,
				size_t *reply_len);

struct ctl_server {
	int listen_fd;
	char path[CTL_SOCK_PATH_MAX + 1];
	struct ctl_client *clients;     /* CTL_SERVER_SLOTS_MAX slots */
	uint32_t max_clients;
	uint32_t n_clients;
	size_t max_request;
	uint64_t stall_ns;
	bool have_group;
	gid_t gid;
	/* counters for status / metrics */
	uint64_t accepted, refused, requests, too_large, stalled;
	uint32_t n_subscribers;
	/* client slots of the subscribers, [0, n_subscribers): publishing
	 * walks these, not every slot */
	uint16_t sub_slot[CTL_SUBSCRIBERS_MAX];
	struct ctl_client *cur;         /* client whose request runs now */
};

#define CTL_SERVER_SLOTS_MAX 4096   /* = control.max_clients maximum */

int ctl_server_open(struct ctl_server *s, const struct ctl_config *cfg);
/* Apply reloadable limits (max_clients, max_request_bytes for new
 * clients, stall_timeout, group). */
void ctl_server_configure(struct ctl_server *s, const struct ctl_config *cfg);
void ctl_server_close(struct ctl_server *s);

/* Fill pollfds (listening socket first, then clients); returns count.
 * map[i] receives the client slot of pfd[i] (-1 for the listener). */
size_t ctl_server_pollfds(struct ctl_server *s, struct pollfd *pfd,
			  int *map, size_t max);
void ctl_server_events(struct ctl_server *s, const struct pollfd *pfd,
		       const int *map, size_t n, ctl_handler_fn h, void *ctx,
		       uint64_t now_ns);
/* Make the client whose request is being handled a subscriber with this
 * filter (CTL_EV_* bits), or change its filter.  -EINVAL outside a
 * request, -EBUSY at CTL_SUBSCRIBERS_MAX. */
int ctl_server_subscribe(struct ctl_server *s, uint32_t mask);
/* Queue one event line (newline included) to every subscriber whose
 * filter has bit type.  A subscriber with CTL_OUT_HIGH or more unsent
 * (or with a gap not yet reported) misses it: counted, reported by one
 * "lost" event once its output has drained. */
void ctl_server_publish(struct ctl_server *s, unsigned type,
			const char *line, size_t len, uint64_t *delivered,
			uint64_t *dropped);

/* Close clients stalled longer than stall_timeout. */
void ctl_server_expire(struct ctl_server *s, uint64_t now_ns);

#endif /* CTL_SERVER_H */
