// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctl_log.c - level-filtered logging to stderr.  Each line carries the
 * level word so that a log reader can grep for "warn" and "error" without
 * knowing the daemon; no timestamps (the supervisor adds them).
 */
#include <stdio.h>

#include "ctl_log.h"

static enum ctl_log_level ctl_log_level_cur = CTL_LOG_INFO;

static const char *const ctl_log_names[] = {
	[CTL_LOG_ERROR] = "error",
	[CTL_LOG_WARN] = "warn",
	[CTL_LOG_INFO] = "info",
	[CTL_LOG_DEBUG] = "debug",
};

void ctl_log_set_level(enum ctl_log_level level)
{
	ctl_log_level_cur = level;
}

enum ctl_log_level ctl_log_get_level(void)
{
	return ctl_log_level_cur;
}

void ctl_vlog(enum ctl_log_level level, const char *fmt, va_list ap)
{
	if (level > ctl_log_level_cur)
		return;
	fprintf(stderr, "mxwall %s: ", ctl_log_names[level]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void ctl_log(enum ctl_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_vlog(level, fmt, ap);
	va_end(ap);
}
