/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctl_log.h - the small logging wrapper of mxwalld and its libraries.
 * One global level, set from the config ("log.level"); messages go to
 * stderr (journald or the init system captures it).  libbpf's own print
 * callback is routed through ctl_log_libbpf() so its noise obeys the level.
 */
#ifndef CTL_LOG_H
#define CTL_LOG_H

#include <stdarg.h>

enum ctl_log_level {
	CTL_LOG_ERROR = 0,
	CTL_LOG_WARN = 1,
	CTL_LOG_INFO = 2,
	CTL_LOG_DEBUG = 3,
};

void ctl_log_set_level(enum ctl_log_level level);
enum ctl_log_level ctl_log_get_level(void);
void ctl_log(enum ctl_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ctl_vlog(enum ctl_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#define log_error(...) ctl_log(CTL_LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  ctl_log(CTL_LOG_WARN, __VA_ARGS__)
#define log_info(...)  ctl_log(CTL_LOG_INFO, __VA_ARGS__)
#define log_debug(...) ctl_log(CTL_LOG_DEBUG, __VA_ARGS__)

#endif /* CTL_LOG_H */
