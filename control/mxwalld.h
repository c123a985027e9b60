/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mxwalld.h - the daemon's state shared by its event loop (mxwalld.c) and
 * the control command handlers (ctl_cmd.c).
 */
#ifndef MXWALLD_H
#define MXWALLD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctl_bpf.h"
#include "ctl_config.h"
#include "ctl_events.h"
#include "ctl_server.h"

struct ctl_insp;

struct mxwd {
	const char *config_path;
	bool verbose;                   /* -v: debug whatever log.level says */
	struct ctl_config *cfg;         /* the running configuration */
	struct ctl_bpf bpf;
	struct ctl_server srv;
	struct ctl_events *ev;          /* event stream and audit findings */
	struct ctl_insp *insp;          /* inspection path; NULL = disabled */

	uint64_t start_mono_ns;
	int64_t start_wall;

	/* state file */
	bool state_dirty;
	uint64_t state_written_ns;      /* CLOCK_MONOTONIC of last write */
	uint64_t state_flush_ns;        /* minimum gap before the next */
	int64_t state_written_wall;
	int state_last_err;             /* -errno of the last write, or 0 */
	pid_t state_child;              /* background writer, 0 = none */
	uint64_t state_child_start;
	int64_t state_child_wall;

	/* Earliest known list expiry (CLOCK_MONOTONIC ns, 0 = none): the
	 * loop sweeps then, so an expired prefix stops shadowing a shorter
	 * live one (docs/fastpath.md) within milliseconds. */
	uint64_t next_expiry_ns;

	struct ctl_rc *rc;              /* connection-count reconciliation */
	struct ctl_rc_totals rc_tot;

	uint64_t reloads_ok, reloads_failed;
	uint64_t expired;               /* entries removed by the sweep */
	char last_reload_error[CTL_ERR_MAX];
};

uint64_t mxwd_mono_ns(void);
int64_t mxwd_wall_s(void);

/* Re-read the config file and apply it atomically: on any error the
 * running config stays and the message is in err. */
int mxwd_reload(struct mxwd *d, char *err, size_t errlen);

/* The control handler (ctl_handler_fn) with ctx = struct mxwd. */
char *ctl_cmd_handle(void *ctx, const char *line, size_t len,
		     size_t *reply_len);

#endif /* MXWALLD_H */
