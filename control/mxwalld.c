// SPDX-License-Identifier: GPL-2.0-only
/*
 * mxwalld.c - the daemon: start-up, the one poll() loop, reload, the state
 * file, shutdown.
 *
 * Start-up order is chosen so that a box never filters less than before:
 * load the program against the pinned maps (or fresh ones), write the
 * configuration and static entries, restore the state file when the maps
 * are fresh (after a reboot or a deliberate removal of the pins), and only
 * then attach, replacing a running instance atomically (ctl_bpf.c).
 *
 * The loop has named slots: a signalfd (SIGHUP reload, SIGINT/SIGTERM
 * stop), the listening socket, the clients.  Timers (TTL sweep, state file
 * flush, client stall deadlines) are checked after every wake-up; poll()
 * sleeps at most CTL_TICK_MS, or until the next list entry expires.
 *
 * Exit codes: 0 normal stop or valid config, 1 invalid config, 2 usage,
 * 3 fast path (load, pin, attach) failed, 4 control socket or state dir.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl_events.h"
#include "ctl_insp.h"
#include "ctl_log.h"
#include "ctl_reconcile.h"
#include "ctl_state.h"
#include "mxwalld.h"

#define CTL_TICK_MS             1000
/* Full sweep as a safety net; expiries the daemon wrote itself are swept
 * when due (struct mxwd.next_expiry_ns). */
#define CTL_SWEEP_NS            (30ull * 1000000000ull)
#define CTL_STATE_FLUSH_NS      (1ull * 1000000000ull)

enum mxwd_exit {
	MXWD_EXIT_OK = 0,
	MXWD_EXIT_CONFIG = 1,
	MXWD_EXIT_USAGE = 2,
	MXWD_EXIT_FASTPATH = 3,
	MXWD_EXIT_CONTROL = 4,
};

uint64_t mxwd_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int64_t mxwd_wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

static int mkdir_p(const char *dir, mode_t mode)
{
	char tmp[CTL_PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* ---- state file ------------------------------------------------------ */

struct snap_ctx {
	struct ctl_state_writer w;
	bool allow;
	uint64_t now;
	int64_t wall;
};

static int snap_cb(const struct ctl_prefix *p, const struct mxw_list_entry *v,
		   void *arg)
{
	struct snap_ctx *c = arg;
	struct ctl_state_entry e = {
		.pfx = *p,
		.allow = c->allow,
		.reason = v->reason,
		.flags = v->flags,
	};

	/* Static entries come from the config file, not from state. */
	if (v->reason == MXW_LR_CONFIG)
		return 0;
	if (v->expires_ns) {
		if (v->expires_ns <= c->now)
			return 0;
		e.expires = ctl_mono_to_wall(v->expires_ns, c->now, c->wall);
	}
	e.created = ctl_mono_to_wall(v->created_ns, c->now, c->wall);
	ctl_state_put(&c->w, &e);
	return 0;
}

/* Stream both lists from the maps into a new state file. */
static int mxwd_state_dump(struct mxwd *d, int64_t wall)
{
	struct snap_ctx c = {.now = mxwd_mono_ns(), .wall = wall};
	int err;

	err = ctl_state_begin(&c.w, d->cfg->state_dir, c.wall);
	if (!err) {
		c.allow = true;
		ctl_bpf_list_walk(&d->bpf, CTL_LIST_ALLOW, snap_cb, &c);
		c.allow = false;
		ctl_bpf_list_walk(&d->bpf, CTL_LIST_BLOCK, snap_cb, &c);
		err = ctl_state_commit(&c.w);
	}
	if (err)
		log_error("state file %s/%s: %s", d->cfg->state_dir,
			  CTL_STATE_FILE, strerror(-err));
	else
		log_debug("state file: %zu entries in %llu ms", c.w.n,
			  (unsigned long long)((mxwd_mono_ns() - c.now) /
					       1000000));
	return err;
}

/* Book a finished write.  The next one waits at least CTL_STATE_FLUSH_NS,
 * or twice this one's duration when that is longer. */
static void mxwd_state_done(struct mxwd *d, int err, uint64_t start_ns,
			    int64_t wall)
{
	d->state_written_ns = mxwd_mono_ns();
	d->state_flush_ns = 2 * (d->state_written_ns - start_ns);
	if (d->state_flush_ns < CTL_STATE_FLUSH_NS)
		d->state_flush_ns = CTL_STATE_FLUSH_NS;
	d->state_last_err = err;
	if (err)
		d->state_dirty = true;          /* try again later */
	else
		d->state_written_wall = wall;
}

/* Synchronous write (at exit). */
static int mxwd_state_write(struct mxwd *d)
{
	uint64_t start = mxwd_mono_ns();
	int64_t wall = mxwd_wall_s();
	int err;

	d->state_dirty = false;
	err = mxwd_state_dump(d, wall);
	mxwd_state_done(d, err, start, wall);
	return err;
}

/*
 * Background write: a forked child walks the maps (through the inherited
 * fds) and writes the file while the loop keeps serving, as Redis' BGSAVE
 * does; at a million entries a write takes most of a second.  Changes
 * made meanwhile mark the state dirty again and go into the next write.
 */
static void mxwd_state_write_bg(struct mxwd *d)
{
	uint64_t start = mxwd_mono_ns();
	int64_t wall = mxwd_wall_s();
	pid_t pid;

	pid_t parent = getpid();

	if (d->state_child > 0)
		return;
	pid = fork();
	if (pid < 0) {
		mxwd_state_write(d);
		return;
	}
	if (pid == 0) {
		sigset_t all;
		int err;

		/* The writer holds the state directory's lock (inherited) and
		 * writes the one temporary file: it must not outlive a parent
		 * killed without warning, or it would keep the next daemon
		 * from starting and race with its first write. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 ||
		    getppid() != parent)
			_exit(EIO);
		sigfillset(&all);
		sigprocmask(SIG_UNBLOCK, &all, NULL);
		/* Let go of the sockets: a client the parent closes must see
		 * its EOF now, not when this child is done. */
		if (d->srv.listen_fd >= 0)
			close(d->srv.listen_fd);
		for (int i = 0; i < CTL_SERVER_SLOTS_MAX; i++)
			if (d->srv.clients[i].fd >= 0)
				close(d->srv.clients[i].fd);
		err = mxwd_state_dump(d, wall);
		_exit(err ? ((-err & 0xff) ? (-err & 0xff) : EIO) : 0);
	}
	d->state_child = pid;
	d->state_child_start = start;
	d->state_child_wall = wall;
	d->state_dirty = false;
}

/* Collect the background writer; with wait, block for it. */
static void mxwd_state_reap(struct mxwd *d, bool wait)
{
	int status = 0, err;
	pid_t r;

	if (d->state_child <= 0)
		return;
	r = waitpid(d->state_child, &status, wait ? 0 : WNOHANG);
	if (r == 0 || (r < 0 && errno == EINTR))
		return;
	if (r == d->state_child && WIFEXITED(status))
		err = -WEXITSTATUS(status);
	else
		err = -EIO;
	d->state_child = 0;
	mxwd_state_done(d, err, d->state_child_start, d->state_child_wall);
}

/* Restore the lists from the state file into fresh maps. */
static void mxwd_state_restore(struct mxwd *d)
{
	struct ctl_state st;
	char err[CTL_ERR_MAX];
	char *buf;
	size_t len;
	uint64_t now = mxwd_mono_ns();
	int64_t wall = mxwd_wall_s();
	unsigned restored = 0, expired = 0, existing = 0, failed = 0;
	int rc;

	rc = ctl_state_read(d->cfg->state_dir, &buf, &len);
	if (rc == -ENOENT) {
		log_info("no state file in %s: lists start empty",
			 d->cfg->state_dir);
		return;
	}
	if (rc < 0) {
		log_error("state file %s/%s: %s: lists start empty",
			  d->cfg->state_dir, CTL_STATE_FILE, strerror(-rc));
		return;
	}
	rc = ctl_state_decode(buf, len, &st, err, sizeof(err));
	free(buf);
	if (rc < 0) {
		char from[512], to[560];

		snprintf(from, sizeof(from), "%s/%s", d->cfg->state_dir,
			 CTL_STATE_FILE);
		snprintf(to, sizeof(to), "%s.bad-%lld", from, (long long)wall);
		log_error("state file %s is invalid (%s); kept as %s, lists "
			  "start empty", from, err, to);
		rename(from, to);
		return;
	}
	for (size_t i = 0; i < st.n; i++) {
		const struct ctl_state_entry *e = &st.e[i];
		struct mxw_list_entry v = {
			.reason = e->reason,
			.flags = e->flags,
		};
		uint64_t exp_ns = 0;
		bool created;

		if (e->expires && !ctl_wall_to_mono(e->expires, wall, now,
						    &exp_ns)) {
			expired++;
			continue;
		}
		v.expires_ns = exp_ns;
		/* A creation time in the "future" of a fresh boot's
		 * monotonic clock cannot be represented: clamp to now. */
		if (e->created < wall &&
		    (uint64_t)(wall - e->created) * 1000000000ull < now)
			v.created_ns = now - (uint64_t)(wall - e->created) *
				       1000000000ull;
		else
			v.created_ns = now;
		rc = ctl_bpf_list_put(&d->bpf, e->allow ? CTL_LIST_ALLOW :
				      CTL_LIST_BLOCK, &e->pfx, &v, false,
				      &created);
		if (rc == -EEXIST)
			existing++;
		else if (rc < 0)
			failed++;
		else
			restored++;
	}
	ctl_state_free(&st);
	log_info("state file restored: %u entries, %u expired, %u already "
		 "present, %u failed", restored, expired, existing, failed);
	if (failed)
		log_error("%u state entries could not be restored (table "
			  "full?)", failed);
}

/*
 * An exclusive lock on <state_dir>/.lock for the daemon's lifetime.  The
 * background state writer shares it; after a kill -9 of its parent that
 * writer is killed too (PR_SET_PDEATHSIG) but may take a few milliseconds
 * to go, so a held lock is retried for MXWD_LOCK_WAIT_MS before another
 * live daemon is assumed.
 */
#define MXWD_LOCK_WAIT_MS 2000
#define MXWD_LOCK_STEP_MS 20

static int mxwd_lock(const char *dir)
{
	char path[CTL_PATH_MAX + 16];
	int fd, waited = 0;

	snprintf(path, sizeof(path), "%s/.lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_error("%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		struct timespec ts = { 0, MXWD_LOCK_STEP_MS * 1000000L };

		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK || waited >= MXWD_LOCK_WAIT_MS)
			break;
		nanosleep(&ts, NULL);
		waited += MXWD_LOCK_STEP_MS;
	}
	if (errno == EWOULDBLOCK)
		log_error("another mxwalld runs with state_dir %s", dir);
	else
		log_error("%s: %s", path, strerror(errno));
	close(fd);
	return -1;
}

/* ---- reload ---------------------------------------------------------- */

/* "reload" event: ok, generation running now, error (null when ok). */
static void mxwd_reload_event(struct mxwd *d, const char *err)
{
	json_t *ev = ctl_event_new(CTL_EV_RELOAD, ctl_wall_now());

	if (ev)
		json_object_update_new(ev, json_pack("{s:b,s:I,s:s?}",
			"ok", err == NULL,
			"generation", (json_int_t)d->bpf.generation,
			"error", err));
	ctl_events_publish(d->ev, ev);
}

static int mxwd_prefix_cmp(const void *a, const void *b)
{
	/* struct ctl_prefix has no padding and zero host bits */
	return memcmp(a, b, sizeof(struct ctl_prefix));
}

static struct ctl_prefix *mxwd_sorted(const struct ctl_prefix *p, uint32_t n)
{
	struct ctl_prefix *s = malloc((n ? n : 1) * sizeof(*s));

	if (s && n) {
		memcpy(s, p, n * sizeof(*p));
		qsort(s, n, sizeof(*s), mxwd_prefix_cmp);
	}
	return s;
}

/*
 * block / unblock events (source "config") for the static entries a
 * reload added or dropped, by comparing the two files' lists.  A dropped
 * one counts only if it left the map (ctl_bpf_apply() keeps an operator's
 * own entry for the same prefix).  Out of memory: no events, logged.
 */
static void mxwd_static_events(struct mxwd *d, enum ctl_list l,
			       const struct ctl_prefix *op, uint32_t on,
			       const struct ctl_prefix *np, uint32_t nn)
{
	struct ctl_prefix *o = mxwd_sorted(op, on), *n = mxwd_sorted(np, nn);
	double wall = ctl_wall_now();
	uint32_t i = 0, j = 0;

	if (!o || !n) {
		log_warn("reload: no memory for static entry events");
		goto out;
	}
	while (i < on || j < nn) {
		int c = i == on ? 1 : j == nn ? -1 :
			mxwd_prefix_cmp(&o[i], &n[j]);
		struct mxw_list_entry v;

		if (c == 0) {
			i++;
			j++;
		} else if (c > 0) {
			ctl_events_publish(d->ev, ctl_event_block(
				&(struct ctl_block_info){
					.allow = l == CTL_LIST_ALLOW,
					.addr = &n[j], .reason = MXW_LR_CONFIG,
					.source = CTL_BS_CONFIG,
					.latency_us = -1 }, wall));
			j++;
		} else {
			if (ctl_bpf_list_get(&d->bpf, l, &o[i], &v) == -ENOENT)
				ctl_events_publish(d->ev, ctl_event_block(
					&(struct ctl_block_info){
						.unblock = true,
						.allow = l == CTL_LIST_ALLOW,
						.addr = &o[i],
						.reason = MXW_LR_CONFIG,
						.source = CTL_BS_CONFIG,
						.latency_us = -1 }, wall));
			i++;
		}
	}
out:
	free(o);
	free(n);
}

int mxwd_reload(struct mxwd *d, char *err, size_t errlen)
{
	struct ctl_config *n;
	const char *key;
	int rc;

	n = ctl_config_load(d->config_path, err, errlen);
	if (!n)
		goto fail;
	key = ctl_config_restart_key(d->cfg, n);
	if (key) {
		snprintf(err, errlen, "%s: changing it needs a restart of "
			 "mxwalld", key);
		ctl_config_free(n);
		goto fail;
	}
	rc = ctl_bpf_apply(&d->bpf, n);
	if (rc < 0) {
		snprintf(err, errlen, "applying the new config failed: %s; "
			 "restoring the running one", strerror(-rc));
		if (ctl_bpf_apply(&d->bpf, d->cfg) < 0)
			log_error("could not restore the running config in "
				  "the fast path");
		ctl_config_free(n);
		goto fail;
	}
	mxwd_static_events(d, CTL_LIST_BLOCK, d->cfg->block, d->cfg->n_block,
			   n->block, n->n_block);
	mxwd_static_events(d, CTL_LIST_ALLOW, d->cfg->allow, d->cfg->n_allow,
			   n->allow, n->n_allow);
	ctl_config_free(d->cfg);
	d->cfg = n;
	ctl_log_set_level(d->verbose ? CTL_LOG_DEBUG : n->log_level);
	ctl_server_configure(&d->srv, n);
	if (d->insp)
		ctl_insp_reconfigure(d->insp, n);
	d->reloads_ok++;
	d->last_reload_error[0] = '\0';
	log_info("configuration reloaded from %s (generation %u)",
		 d->config_path, d->bpf.generation);
	mxwd_reload_event(d, NULL);
	return 0;
fail:
	d->reloads_failed++;
	snprintf(d->last_reload_error, sizeof(d->last_reload_error), "%s",
		 err);
	log_warn("configuration reload rejected, running config stays: %s",
		 err);
	mxwd_reload_event(d, err);
	return -EINVAL;
}

/* ---- privileges ------------------------------------------------------ */

/*
 * Once maps, attachments and the socket exist, keep only what running
 * needs: map reads and writes go through the fds we hold (no capability on
 * kernels >= 6.5), so the daemon keeps CAP_NET_ADMIN (detach on exit),
 * CAP_CHOWN (socket group at reload), and CAP_BPF, CAP_PERFMON,
 * CAP_NET_RAW and CAP_IPC_LOCK for the inspection path: AF_XDP UMEMs
 * (2 ports x queues x 2 rings of 4 KiB frames) are charged to
 * RLIMIT_MEMLOCK without CAP_IPC_LOCK, and raising that limit needs
 * CAP_SYS_RESOURCE, which containers often withhold), and CAP_SYS_NICE
 * (the worker runs SCHED_FIFO, inspection.rt_priority).  The bounding set is
 * cut too and no_new_privs set, so a compromised request handler cannot
 * regain the rest (CAP_SYS_ADMIN, CAP_SYS_MODULE, ...).  The uid stays 0:
 * the pin directory and state directory are root's.
 */
static int mxwd_drop_caps(void)
{
	static const int keep[] = {CAP_NET_ADMIN, CAP_CHOWN, CAP_BPF,
				   CAP_PERFMON, CAP_NET_RAW, CAP_IPC_LOCK,
				   CAP_SYS_NICE};
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	int last = CAP_LAST_CAP;

	memset(data, 0, sizeof(data));
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		data[keep[i] / 32].effective |= 1u << (keep[i] % 32);
		data[keep[i] / 32].permitted |= 1u << (keep[i] % 32);
	}
	for (int c = 0; c <= last + 8; c++) {
		bool kept = false;

		for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
			kept |= keep[i] == c;
		/* EINVAL past the kernel's last capability ends the loop. */
		if (!kept && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break;
			return -errno;
		}
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (syscall(SYS_capset, &h, data) < 0)
		return -errno;
	return 0;
}

/* ---- main loop ------------------------------------------------------- */

static int mxwd_signalfd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

struct mxwd_expired {
	struct mxwd *d;
	bool allow;
	double wall;
};

/* One "unblock" event (source "expiry") per entry the sweep removed. */
static int mxwd_expired_cb(const struct ctl_prefix *p,
			   const struct mxw_list_entry *v, void *arg)
{
	struct mxwd_expired *x = arg;

	ctl_events_publish(x->d->ev, ctl_event_block(&(struct ctl_block_info){
		.unblock = true, .allow = x->allow, .addr = p,
		.reason = v->reason, .shadow = (v->flags & MXW_LF_SHADOW) != 0,
		.source = CTL_BS_EXPIRY, .latency_us = -1,
	}, x->wall));
	return 0;
}

static void mxwd_sweep(struct mxwd *d, uint64_t now)
{
	struct mxwd_expired xb = {d, false, ctl_wall_now()};
	struct mxwd_expired xa = {d, true, xb.wall};
	long n;

	d->next_expiry_ns = 0;
	n = ctl_bpf_list_expire_cb(&d->bpf, CTL_LIST_BLOCK, now,
				   &d->next_expiry_ns, mxwd_expired_cb, &xb) +
	    ctl_bpf_list_expire_cb(&d->bpf, CTL_LIST_ALLOW, now,
				   &d->next_expiry_ns, mxwd_expired_cb, &xa);

	if (n > 0) {
		d->expired += (uint64_t)n;
		d->state_dirty = true;
		log_debug("sweep: %ld expired entries removed", n);
	}
}

/* An event from the inspection worker: book-keeping, log, publish. */
static void mxwd_insp_event(void *ctx, json_t *ev)
{
	struct mxwd *d = ctx;
	const char *type = json_string_value(json_object_get(ev, "type"));

	if (type && strcmp(type, "block") == 0) {
		d->state_dirty = true;
		log_info("policy block %s for %llds: %s",
			 json_string_value(json_object_get(ev, "addr")),
			 (long long)json_integer_value(json_object_get(ev, "ttl")),
			 json_string_value(json_object_get(ev, "why")));
	} else if (type && strcmp(type, "violation") == 0) {
		log_debug("%s from %s: %s",
			  json_string_value(json_object_get(ev, "check")),
			  json_string_value(json_object_get(ev, "client")),
			  json_string_value(json_object_get(ev, "action")));
	}
	ctl_events_publish(d->ev, ev);
}

static int mxwd_loop(struct mxwd *d, int sfd)
{
	size_t cap = CTL_SERVER_SLOTS_MAX + 3;
	struct pollfd *pfd = calloc(cap, sizeof(*pfd));
	int *map = calloc(cap, sizeof(*map));
	uint64_t next_sweep = mxwd_mono_ns();   /* first sweep at once */
	uint64_t next_rc = next_sweep +
			   (uint64_t)d->cfg->reconcile_interval * 1000000000ull;
	bool stop = false;

	if (!pfd || !map) {
		free(pfd);
		free(map);
		return -ENOMEM;
	}
	while (!stop) {
		size_t n;
		uint64_t now = mxwd_mono_ns(), due = next_sweep;
		int rc, timeout = CTL_TICK_MS;

		if (d->next_expiry_ns && d->next_expiry_ns < due)
			due = d->next_expiry_ns;
		if (due <= now)
			timeout = 0;
		else if ((due - now) / 1000000 < CTL_TICK_MS)
			timeout = (int)((due - now + 999999) / 1000000);
		pfd[0] = (struct pollfd){.fd = sfd, .events = POLLIN};
		pfd[1] = (struct pollfd){
			.fd = d->insp ? ctl_insp_event_fd(d->insp) : -1,
			.events = POLLIN};
		n = ctl_server_pollfds(&d->srv, pfd + 2, map + 2, cap - 2);
		rc = poll(pfd, n + 2, timeout);
		if (rc < 0 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			break;
		}
		now = mxwd_mono_ns();
		if (rc > 0 && (pfd[0].revents & POLLIN)) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					char err[CTL_ERR_MAX];

					log_info("SIGHUP: reloading %s",
						 d->config_path);
					mxwd_reload(d, err, sizeof(err));
				} else {
					log_info("signal %u: stopping",
						 si.ssi_signo);
					stop = true;
				}
			}
		}
		if (rc > 0 && (pfd[1].revents & POLLIN))
			ctl_insp_drain(d->insp, mxwd_insp_event, d,
				       &d->next_expiry_ns);
		if (rc > 0)
			ctl_server_events(&d->srv, pfd + 2, map + 2, n,
					  ctl_cmd_handle, d, now);
		ctl_server_expire(&d->srv, now);
		if (now >= next_sweep ||
		    (d->next_expiry_ns && now >= d->next_expiry_ns)) {
			mxwd_sweep(d, now);
			next_sweep = now + CTL_SWEEP_NS;
		}
		if (now >= next_rc) {
			if (d->cfg->fp.max_conns_per_src &&
			    ctl_bpf_reconcile(&d->bpf, d->rc,
					      d->cfg->fp.src6_len, now,
					      &d->rc_tot) < 0)
				log_warn("connection count reconciliation: "
					 "out of memory");
			next_rc = now + (uint64_t)d->cfg->reconcile_interval *
				  1000000000ull;
		}
		mxwd_state_reap(d, false);
		if (d->state_dirty && !d->state_child &&
		    now - d->state_written_ns >= d->state_flush_ns)
			mxwd_state_write_bg(d);
	}
	free(pfd);
	free(map);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mxwalld --config FILE [-v]\n"
		"       mxwalld --check-config FILE\n"
		"  -c, --config FILE        run with this configuration\n"
		"  -t, --check-config FILE  validate FILE and exit (0 = valid)\n"
		"  -v, --verbose            debug logging (overrides log.level)\n"
		"  -h, --help\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", required_argument, NULL, 't'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct mxwd d = {0};
	const char *check = NULL;
	char err[CTL_ERR_MAX];
	bool verbose = false;
	int opt, rc = MXWD_EXIT_OK, sfd, lock_fd = -1;

	while ((opt = getopt_long(argc, argv, "c:t:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			d.config_path = optarg;
			break;
		case 't':
			check = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return MXWD_EXIT_OK;
		default:
			usage(stderr);
			return MXWD_EXIT_USAGE;
		}
	}
	if (optind != argc || (!check && !d.config_path) ||
	    (check && d.config_path)) {
		usage(stderr);
		return MXWD_EXIT_USAGE;
	}
	if (check) {
		struct ctl_config *c = ctl_config_load(check, err, sizeof(err));

		if (!c) {
			fprintf(stderr, "%s: %s\n", check, err);
			return MXWD_EXIT_CONFIG;
		}
		ctl_config_free(c);
		printf("%s: configuration is valid\n", check);
		return MXWD_EXIT_OK;
	}

	d.cfg = ctl_config_load(d.config_path, err, sizeof(err));
	if (!d.cfg) {
		log_error("%s: %s", d.config_path, err);
		return MXWD_EXIT_CONFIG;
	}
	d.verbose = verbose;
	ctl_log_set_level(verbose ? CTL_LOG_DEBUG : d.cfg->log_level);
	d.start_mono_ns = mxwd_mono_ns();
	d.start_wall = mxwd_wall_s();
	d.srv.listen_fd = -1;

	sfd = mxwd_signalfd();
	if (sfd < 0) {
		log_error("signalfd: %s", strerror(-sfd));
		rc = MXWD_EXIT_USAGE;
		goto out_cfg;
	}
	d.rc = ctl_rc_new();
	d.ev = ctl_events_new(&d.srv);
	if (!d.rc || !d.ev) {
		rc = MXWD_EXIT_USAGE;
		goto out_sig;
	}
	/* One daemon per state directory, and a live socket means another
	 * instance: both checked before the fast path is touched, so a second
	 * start cannot replace the running instance's program. */
	if (mkdir_p(d.cfg->state_dir, 0700) < 0)
		log_error("state_dir %s: %s", d.cfg->state_dir,
			  strerror(errno));
	lock_fd = mxwd_lock(d.cfg->state_dir);
	if (lock_fd < 0) {
		rc = MXWD_EXIT_CONTROL;
		goto out_sig;
	}
	if (ctl_server_open(&d.srv, d.cfg) < 0) {
		rc = MXWD_EXIT_CONTROL;
		goto out_srv;
	}
	if (ctl_bpf_open(&d.bpf, d.cfg) < 0) {
		rc = MXWD_EXIT_FASTPATH;
		goto out_srv;
	}
	if (ctl_bpf_apply(&d.bpf, d.cfg) < 0) {
		rc = MXWD_EXIT_FASTPATH;
		goto out_bpf;
	}
	if (!d.bpf.pins_reused)
		mxwd_state_restore(&d);
	ctl_bpf_list_count(&d.bpf);
	if (ctl_bpf_attach(&d.bpf) < 0) {
		rc = MXWD_EXIT_FASTPATH;
		goto out_bpf;
	}
	if (geteuid() == 0) {
		int cerr = mxwd_drop_caps();

		if (cerr)
			log_warn("could not drop capabilities: %s",
				 strerror(-cerr));
		else
			log_debug("capabilities reduced to net_admin, chown, "
				  "bpf, perfmon, net_raw, ipc_lock, sys_nice");
	}
	/* After the capability drop: the worker needs only CAP_NET_RAW,
	 * CAP_BPF and CAP_NET_ADMIN (sockets, map writes), all kept. */
	d.insp = ctl_insp_start(&d.bpf, d.cfg, err, sizeof(err));
	if (d.insp)
		log_info("inspection running");
	else if (err[0])
		log_error("inspection path not started: %s; mail is bridged "
			  "%s", err, d.cfg->fp.flags & MXW_CF_FAIL_CLOSED ?
			  "no more (fail-closed)" : "uninspected (fail-open)");
	d.state_dirty = true;   /* a first write records what we run with */
	log_info("mxwalld running: outside %s, inside %s, %llu blocked, "
		 "%llu allowed", d.cfg->outside, d.cfg->inside,
		 (unsigned long long)(d.bpf.n_exact[CTL_LIST_BLOCK] +
				      d.bpf.n_lpm[CTL_LIST_BLOCK]),
		 (unsigned long long)(d.bpf.n_exact[CTL_LIST_ALLOW] +
				      d.bpf.n_lpm[CTL_LIST_ALLOW]));
	mxwd_loop(&d, sfd);
	ctl_insp_stop(d.insp);
	d.insp = NULL;

	/* The final write is synchronous and sees every change. */
	if (d.state_child > 0)
		kill(d.state_child, SIGKILL);
	mxwd_state_reap(&d, true);
	if (mxwd_state_write(&d) == 0)
		log_info("state file written");
	if (!d.cfg->detach_on_exit)
		log_info("leaving the XDP filter attached "
			 "(bpf.detach_on_exit is false)");
out_bpf:
	/* On a start-up failure the previous attachment (if any) stays. */
	ctl_bpf_close(&d.bpf, rc == MXWD_EXIT_OK && d.cfg->detach_on_exit);
out_srv:
	ctl_server_close(&d.srv);
	if (lock_fd >= 0)
		close(lock_fd);
out_sig:
	ctl_events_free(d.ev);
	ctl_rc_free(d.rc);
	close(sfd);
out_cfg:
	ctl_config_free(d.cfg);
	return rc;
}
