/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctl_state.h - the state file <state_dir>/lists.json that carries the
 * allow and block lists across a reboot (pinned maps carry them across a
 * daemon restart).  Times in the file are wall-clock Unix seconds; the maps
 * hold CLOCK_MONOTONIC nanoseconds, converted by the helpers below.
 */
#ifndef CTL_STATE_H
#define CTL_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ctl_addr.h"

#define CTL_STATE_FILE          "lists.json"
#define CTL_STATE_VERSION       1
#define CTL_STATE_FILE_MAX      (512u << 20)    /* bytes */

struct ctl_state_entry {
	struct ctl_prefix pfx;
	bool allow;
	int64_t expires;        /* Unix seconds; 0 = permanent */
	int64_t created;        /* Unix seconds */
	uint32_t reason;        /* enum mxw_list_reason */
	uint32_t flags;         /* MXW_LF_* */
};

struct ctl_state {
	struct ctl_state_entry *e;
	size_t n, cap;
};

int ctl_state_add(struct ctl_state *st, const struct ctl_state_entry *e);
void ctl_state_free(struct ctl_state *st);

/* Encode to the file's text (malloc'd, NUL-terminated); NULL on ENOMEM. */
char *ctl_state_encode(const struct ctl_state *st, int64_t now_wall);
/* Decode; the whole file is rejected on any invalid entry.  The layout
 * ctl_state_encode() writes is read line by line; any other valid JSON
 * layout is parsed as one document. */
int ctl_state_decode(const char *buf, size_t len, struct ctl_state *out,
		     char *err, size_t errlen);

/* Streaming write of dir/lists.json: temporary file, entries, then fsync,
 * rename over the old file, fsync of dir.  begin and commit return 0 or
 * -errno; after a failed begin nothing is to be aborted. */
struct ctl_state_writer {
	FILE *f;
	size_t n;
	char dir[256], path[512], tmp[512];
};
int ctl_state_begin(struct ctl_state_writer *w, const char *dir,
		    int64_t now_wall);
void ctl_state_put(struct ctl_state_writer *w,
		   const struct ctl_state_entry *e);
int ctl_state_commit(struct ctl_state_writer *w);
void ctl_state_abort(struct ctl_state_writer *w);
/* All of st in one go. */
int ctl_state_write(const char *dir, const struct ctl_state *st,
		    int64_t now_wall);
/* Read dir/lists.json (bounded).  -ENOENT when there is none. */
int ctl_state_read(const char *dir, char **buf, size_t *len);

/*
 * Time conversions.  Expiry: a wall time already past gives false (the
 * entry is dropped at restore).  Creation times convert without a check.
 */
bool ctl_wall_to_mono(int64_t wall_s, int64_t now_wall_s,
		      uint64_t now_mono_ns, uint64_t *mono_ns);
int64_t ctl_mono_to_wall(uint64_t mono_ns, uint64_t now_mono_ns,
			 int64_t now_wall_s);

#endif /* CTL_STATE_H */
