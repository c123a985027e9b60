// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctl_server.c - the control socket (DESIGN 3.3), I/O only.
 *
 * Decisions:
 *  - Every client socket is non-blocking; reads go into a bounded line
 *    buffer (control.max_request_bytes), replies into a per-client output
 *    buffer.  New lines are taken only while the output is below
 *    CTL_OUT_HIGH and POLLIN is not requested while output waits, so a
 *    client that sends without reading only fills its own socket buffer.
 *  - A client with an unfinished request or unsent reply and no progress
 *    for control.stall_timeout seconds is disconnected (spamd-style
 *    deadlines checked in the loop).  An idle client with nothing pending
 *    may stay, so an event subscriber waiting for events is never idle-
 *    closed; one that does not read what was sent is (a stalled write).
 *  - Event subscribers (events.subscribe) share the reply buffer and its
 *    CTL_OUT_HIGH bound: events beyond it are dropped and counted, and
 *    once the buffer has drained completely one "lost" event reports the
 *    gap before any newer event (so the gap is where "lost" says).
 *  - Access: the socket file is 0660 root:<control.group> (group when it
 *    exists) and each peer is checked with SO_PEERCRED: root, our own uid,
 *    or a member of the group.  Others get one permission_denied reply.
 *  - More than control.max_clients clients: the newcomer gets one "busy"
 *    reply and is closed; existing clients are unaffected.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl_events.h"
#include "ctl_log.h"
#include "ctl_server.h"

static void ctl_client_close(struct ctl_server *s, struct ctl_client *c)
{
	if (c->fd < 0)
		return;
	if (c->sub_mask) {
		uint16_t slot = (uint16_t)(c - s->clients);

		for (uint32_t i = 0; i < s->n_subscribers; i++)
			if (s->sub_slot[i] == slot) {
				s->sub_slot[i] =
					s->sub_slot[--s->n_subscribers];
				break;
			}
	}
	c->sub_mask = 0;
	c->sub_lost = 0;
	close(c->fd);
	c->fd = -1;
	ctl_linebuf_free(&c->in);
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = c->out_cap = 0;
	s->n_clients--;
}

/* Best-effort one-shot reply to a client we are about to close. */
static void ctl_send_once(int fd, enum ctl_errcode code, const char *msg)
{
	size_t len;
	char *r = ctl_reply_error(NULL, code, msg, &len);

	if (r) {
		ssize_t n = send(fd, r, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		(void)n;
		free(r);
	}
}

static void ctl_server_group(struct ctl_server *s, const char *group)
{
	struct group grb, *gr = NULL;
	char buf[4096];

	s->have_group = false;
	if (getgrnam_r(group, &grb, buf, sizeof(buf), &gr) == 0 && gr) {
		s->have_group = true;
		s->gid = gr->gr_gid;
	} else {
		log_info("control.group \"%s\" does not exist: socket "
			 "restricted to root", group);
	}
}

void ctl_server_configure(struct ctl_server *s, const struct ctl_config *cfg)
{
	s->max_clients = cfg->max_clients;
	s->max_request = cfg->max_request_bytes;
	s->stall_ns = (uint64_t)cfg->stall_timeout * 1000000000ull;
	ctl_server_group(s, cfg->group);
	if (s->listen_fd >= 0) {
		if (chown(s->path, 0, s->have_group ? s->gid : 0) < 0)
			log_warn("chown %s: %s", s->path, strerror(errno));
		if (chmod(s->path, 0660) < 0)
			log_warn("chmod %s: %s", s->path, strerror(errno));
	}
}

/* mkdir -p of the socket's directory (0755: the socket itself is 0660). */
static int ctl_mkdir_parent(const char *path)
{
	char tmp[CTL_SOCK_PATH_MAX + 1];
	char *slash;

	snprintf(tmp, sizeof(tmp), "%s", path);
	slash = strrchr(tmp, '/');
	if (!slash || slash == tmp)
		return 0;
	*slash = '\0';
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int ctl_server_open(struct ctl_server *s, const struct ctl_config *cfg)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	mode_t old_mask;
	int fd, err;

	memset(s, 0, sizeof(*s));
	s->listen_fd = -1;
	snprintf(s->path, sizeof(s->path), "%s", cfg->sock_path);
	s->clients = calloc(CTL_SERVER_SLOTS_MAX, sizeof(*s->clients));
	if (!s->clients)
		return -ENOMEM;
	for (int i = 0; i < CTL_SERVER_SLOTS_MAX; i++)
		s->clients[i].fd = -1;

	err = ctl_mkdir_parent(s->path);
	if (err) {
		log_error("control.socket: cannot create directory of %s: %s",
			  s->path, strerror(-err));
		return err;
	}
	/* A stale socket from a previous instance is removed; a live one
	 * means another daemon runs with this config. */
	if (lstat(s->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_error("control.socket: %s exists and is not a "
				  "socket", s->path);
			return -EEXIST;
		}
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa,
				       sizeof(sa)) == 0) {
			close(fd);
			log_error("control.socket: %s is in use by a running "
				  "daemon", s->path);
			return -EADDRINUSE;
		}
		if (fd >= 0)
			close(fd);
		unlink(s->path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		log_error("control socket: %s", strerror(-err));
		return err;
	}
	memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
	/* Created 0660 from the start: no moment with wider access. */
	old_mask = umask(0117);
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	umask(old_mask);
	if (!err && listen(fd, 64) < 0)
		err = -errno;
	if (err) {
		log_error("control.socket: %s: %s", s->path, strerror(-err));
		close(fd);
		return err;
	}
	s->listen_fd = fd;
	ctl_server_configure(s, cfg);
	log_info("control socket %s (group %s)", s->path,
		 s->have_group ? cfg->group : "root only");
	return 0;
}

void ctl_server_close(struct ctl_server *s)
{
	if (s->clients)
		for (int i = 0; i < CTL_SERVER_SLOTS_MAX; i++)
			ctl_client_close(s, &s->clients[i]);
	free(s->clients);
	s->clients = NULL;
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->path);
		s->listen_fd = -1;
	}
}

/* Root, our own uid, or a member (primary or supplementary) of the group. */
static bool ctl_peer_allowed(struct ctl_server *s, const struct ucred *cr)
{
	struct passwd pwb, *pw = NULL;
	char buf[4096];
	gid_t groups[256];
	int n = 256;

	if (cr->uid == 0 || cr->uid == geteuid())
		return true;
	if (!s->have_group)
		return false;
	if (cr->gid == s->gid)
		return true;
	if (getpwuid_r(cr->uid, &pwb, buf, sizeof(buf), &pw) != 0 || !pw)
		return false;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
		return false;
	for (int i = 0; i < n; i++)
		if (groups[i] == s->gid)
			return true;
	return false;
}

static void ctl_accept(struct ctl_server *s, uint64_t now_ns)
{
	for (int burst = 0; burst < 64; burst++) {
		struct ucred cr = {.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
		socklen_t crlen = sizeof(cr);
		struct ctl_client *c = NULL;
		int fd;

		fd = accept4(s->listen_fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("control accept: %s", strerror(errno));
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0 ||
		    !ctl_peer_allowed(s, &cr)) {
			log_warn("control: refused peer uid %d pid %d",
				 (int)cr.uid, (int)cr.pid);
			ctl_send_once(fd, CTL_E_DENIED,
				      "not root and not in the control group");
			close(fd);
			s->refused++;
			continue;
		}
		if (s->n_clients >= s->max_clients) {
			ctl_send_once(fd, CTL_E_BUSY, "too many clients");
			close(fd);
			s->refused++;
			continue;
		}
		for (int i = 0; i < CTL_SERVER_SLOTS_MAX; i++)
			if (s->clients[i].fd < 0) {
				c = &s->clients[i];
				break;
			}
		if (!c || ctl_linebuf_init(&c->in, s->max_request) < 0) {
			ctl_send_once(fd, CTL_E_BUSY, "out of client slots");
			close(fd);
			s->refused++;
			continue;
		}
		c->fd = fd;
		c->uid = cr.uid;
		c->pid = cr.pid;
		c->last_io_ns = now_ns;
		s->n_clients++;
		s->accepted++;
		log_debug("control: client uid %d pid %d", (int)cr.uid,
			  (int)cr.pid);
	}
}

static int ctl_out_append(struct ctl_client *c, const char *data, size_t len)
{
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *n;

		while (cap < c->out_len + len)
			cap *= 2;
		n = realloc(c->out, cap);
		if (!n)
			return -ENOMEM;
		c->out = n;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	return 0;
}

/* One "lost" event for the gap, then the subscriber receives again. */
static void ctl_report_lost(struct ctl_client *c)
{
	json_t *ev = ctl_event_new(CTL_EV_LOST, ctl_wall_now());
	char *line;
	size_t n;

	if (!ev)
		return;
	json_object_set_new(ev, "count", json_integer((json_int_t)c->sub_lost));
	line = ctl_encode_line(ev, &n);
	if (!line)
		return;
	if (ctl_out_append(c, line, n) == 0)
		c->sub_lost = 0;
	free(line);
}

static void ctl_reply(struct ctl_server *s, struct ctl_client *c,
		      char *reply, size_t len)
{
	if (!reply) {
		reply = ctl_reply_error(NULL, CTL_E_INTERNAL,
					"reply could not be built", &len);
		if (!reply)
			return;
	}
	if (len > CTL_REPLY_MAX) {
		free(reply);
		reply = ctl_reply_error(NULL, CTL_E_TOO_LARGE,
					"reply too large; use a smaller limit",
					&len);
		if (!reply)
			return;
	}
	if (ctl_out_append(c, reply, len) < 0)
		log_warn("control: out of memory for a reply");
	free(reply);
}

/* Take complete lines while the output is short.  Returns true when it
 * stopped because of the output (lines may still wait), false when the
 * buffer holds no complete line. */
static bool ctl_process(struct ctl_server *s, struct ctl_client *c,
			ctl_handler_fn h, void *ctx)
{
	const char *line;
	size_t len, rlen;
	char *r;

	while (c->out_len - c->out_off < CTL_OUT_HIGH) {
		switch (ctl_linebuf_next(&c->in, &line, &len)) {
		case CTL_LB_LINE:
			s->requests++;
			s->cur = c;
			r = h(ctx, line, len, &rlen);
			s->cur = NULL;
			ctl_reply(s, c, r, rlen);
			break;
		case CTL_LB_OVERFLOW: {
			char msg[96];

			s->too_large++;
			snprintf(msg, sizeof(msg), "request longer than %zu "
				 "bytes", c->in.max);
			r = ctl_reply_error(NULL, CTL_E_TOO_LARGE, msg, &rlen);
			ctl_reply(s, c, r, rlen);
			break;
		}
		default:
			return false;
		}
	}
	return true;
}

static bool ctl_flush(struct ctl_client *c, uint64_t now_ns)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return true;
			return false;
		}
		c->out_off += (size_t)n;
		c->last_io_ns = now_ns;
	}
	return true;
}

/*
 * Answer buffered lines and send, until the socket stops taking output or
 * no complete line is left.  Returns false when the client must go.
 */
static bool ctl_pump(struct ctl_server *s, struct ctl_client *c,
		     ctl_handler_fn h, void *ctx, uint64_t now_ns)
{
	for (;;) {
		bool more = ctl_process(s, c, h, ctx);

		if (!ctl_flush(c, now_ns))
			return false;
		if (!more || c->out_off < c->out_len)
			return true;
	}
}

size_t ctl_server_pollfds(struct ctl_server *s, struct pollfd *pfd,
			  int *map, size_t max)
{
	size_t n = 0;

	if (s->listen_fd >= 0 && n < max) {
		pfd[n] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
		map[n++] = -1;
	}
	for (int i = 0; i < CTL_SERVER_SLOTS_MAX && n < max; i++) {
		struct ctl_client *c = &s->clients[i];

		if (c->fd < 0)
			continue;
		pfd[n] = (struct pollfd){.fd = c->fd};
		if (c->out_off < c->out_len)
			pfd[n].events = POLLOUT;
		else
			pfd[n].events = POLLIN;
		map[n++] = i;
	}
	return n;
}

void ctl_server_events(struct ctl_server *s, const struct pollfd *pfd,
		       const int *map, size_t n, ctl_handler_fn h, void *ctx,
		       uint64_t now_ns)
{
	for (size_t i = 0; i < n; i++) {
		struct ctl_client *c;

		if (!pfd[i].revents)
			continue;
		if (map[i] < 0) {
			ctl_accept(s, now_ns);
			continue;
		}
		c = &s->clients[map[i]];
		if (c->fd != pfd[i].fd)
			continue;
		if (pfd[i].revents & POLLIN) {
			size_t room;
			char *dst = ctl_linebuf_space(&c->in, &room);
			ssize_t got = -1;

			/* POLLIN is asked for only with no output pending and
			 * after the buffer was drained of complete lines, so
			 * there is room; if not, answer before reading. */
			if (room)
				got = recv(c->fd, dst, room, MSG_DONTWAIT);
			if (room && (got == 0 || (got < 0 && errno != EAGAIN &&
						  errno != EINTR))) {
				ctl_client_close(s, c);
				continue;
			}
			if (got > 0) {
				ctl_linebuf_commit(&c->in, (size_t)got);
				c->last_io_ns = now_ns;
			}
		} else if (pfd[i].revents & (POLLERR | POLLHUP | POLLNVAL) &&
			   !(pfd[i].revents & POLLOUT)) {
			ctl_client_close(s, c);
			continue;
		}
		if (!ctl_flush(c, now_ns) ||
		    (c->out_off == c->out_len &&
		     !ctl_pump(s, c, h, ctx, now_ns)))
			ctl_client_close(s, c);
		else if (c->sub_lost && c->out_off == c->out_len)
			ctl_report_lost(c);
	}
}

int ctl_server_subscribe(struct ctl_server *s, uint32_t mask)
{
	struct ctl_client *c = s->cur;

	if (!c || !mask)
		return -EINVAL;
	if (!c->sub_mask) {
		if (s->n_subscribers >= CTL_SUBSCRIBERS_MAX)
			return -EBUSY;
		s->sub_slot[s->n_subscribers++] = (uint16_t)(c - s->clients);
	}
	c->sub_mask = mask;
	return 0;
}

void ctl_server_publish(struct ctl_server *s, unsigned type,
			const char *line, size_t len, uint64_t *delivered,
			uint64_t *dropped)
{
	uint32_t bit = 1u << type;

	for (uint32_t i = 0; i < s->n_subscribers; i++) {
		struct ctl_client *c = &s->clients[s->sub_slot[i]];

		if (c->fd < 0 || !(c->sub_mask & bit))
			continue;
		if (c->sub_lost && c->out_off == c->out_len)
			ctl_report_lost(c);
		if (c->sub_lost || c->out_len - c->out_off >= CTL_OUT_HIGH ||
		    ctl_out_append(c, line, len) < 0) {
			c->sub_lost++;
			(*dropped)++;
			continue;
		}
		(*delivered)++;
	}
}

void ctl_server_expire(struct ctl_server *s, uint64_t now_ns)
{
	for (int i = 0; i < CTL_SERVER_SLOTS_MAX; i++) {
		struct ctl_client *c = &s->clients[i];
		bool pending;

		if (c->fd < 0)
			continue;
		pending = c->out_off < c->out_len ||
			  ctl_linebuf_partial(&c->in);
		if (pending && now_ns - c->last_io_ns > s->stall_ns) {
			log_warn("control: client uid %d pid %d stalled for "
				 "more than %llu s, disconnected", (int)c->uid,
				 (int)c->pid,
				 (unsigned long long)(s->stall_ns / 1000000000ull));
			s->stalled++;
			ctl_client_close(s, c);
		}
	}
}
