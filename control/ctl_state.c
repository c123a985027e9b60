// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctl_state.c - format, atomic write and strict parse of the state file.
 *
 * Format (docs/config.md, "State file"):
 *   {"version": 1, "written": <unix s>,
 *    "entries": [{"list": "block", "addr": "198.51.100.0/24",
 *                 "expires": <unix s or 0>, "created": <unix s>,
 *                 "reason": "manual", "flags": 0}, ...]}
 * The write is crash-safe: temp file in the same directory, fsync, rename
 * over the old file, fsync of the directory; a reader sees the old or the
 * new file, never a mix.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl_proto.h"
#include "ctl_state.h"
#include "mxwall_shared.h"

#define NS_PER_SEC 1000000000ll
/* Times before 2000 or after 2200 are treated as corrupt. */
#define WALL_MIN 946684800ll
#define WALL_MAX 7258118400ll

int ctl_state_add(struct ctl_state *st, const struct ctl_state_entry *e)
{
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 64;
		struct ctl_state_entry *n = realloc(st->e, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		st->e = n;
		st->cap = cap;
	}
	st->e[st->n++] = *e;
	return 0;
}

void ctl_state_free(struct ctl_state *st)
{
	free(st->e);
	memset(st, 0, sizeof(*st));
}

char *ctl_state_encode(const struct ctl_state *st, int64_t now_wall)
{
	json_t *root, *arr;
	char text[CTL_ADDR_TEXT_MAX];
	char *s;

	arr = json_array();
	if (!arr)
		return NULL;
	for (size_t i = 0; i < st->n; i++) {
		const struct ctl_state_entry *e = &st->e[i];
		json_t *o;

		ctl_prefix_format(&e->pfx, text, sizeof(text));
		o = json_pack("{s:s,s:s,s:I,s:I,s:s,s:I}",
			      "list", e->allow ? "allow" : "block",
			      "addr", text,
			      "expires", (json_int_t)e->expires,
			      "created", (json_int_t)e->created,
			      "reason", ctl_list_reason_name(e->reason),
			      "flags", (json_int_t)e->flags);
		if (!o || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	root = json_pack("{s:i,s:I,s:o}", "version", CTL_STATE_VERSION,
			 "written", (json_int_t)now_wall, "entries", arr);
	if (!root)
		return NULL;
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return s;
}

static int st_fail(char *err, size_t errlen, size_t i, const char *what)
{
	snprintf(err, errlen, "entries[%zu]: %s", i, what);
	return -EINVAL;
}

static int st_time(json_t *o, const char *key, bool zero_ok, int64_t *out)
{
	json_t *v = json_object_get(o, key);
	json_int_t n;

	if (!json_is_integer(v))
		return -EINVAL;
	n = json_integer_value(v);
	if (!(zero_ok && n == 0) && (n < WALL_MIN || n > WALL_MAX))
		return -EINVAL;
	*out = n;
	return 0;
}

int ctl_state_decode(const char *buf, size_t len, struct ctl_state *out,
		     char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root, *arr, *o;
	size_t i;
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, errlen, "invalid JSON at line %d: %s",
			 jerr.line, jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(root) ||
	    !json_is_integer(json_object_get(root, "version")) ||
	    json_integer_value(json_object_get(root, "version")) !=
	    CTL_STATE_VERSION) {
		snprintf(err, errlen, "not a version %d state file",
			 CTL_STATE_VERSION);
		goto out;
	}
	arr = json_object_get(root, "entries");
	if (!json_is_array(arr)) {
		snprintf(err, errlen, "entries: must be an array");
		goto out;
	}
	json_array_foreach(arr, i, o) {
		struct ctl_state_entry e = {0};
		const char *list, *reason, *k;
		char why[128];
		json_t *v;
		json_int_t flags;

		if (!json_is_object(o)) {
			rc = st_fail(err, errlen, i, "must be an object");
			goto out;
		}
		json_object_foreach(o, k, v)
			if (strcmp(k, "list") && strcmp(k, "addr") &&
			    strcmp(k, "expires") && strcmp(k, "created") &&
			    strcmp(k, "reason") && strcmp(k, "flags")) {
				rc = st_fail(err, errlen, i, "unknown key");
				goto out;
			}
		list = json_string_value(json_object_get(o, "list"));
		if (!list || (strcmp(list, "allow") && strcmp(list, "block"))) {
			rc = st_fail(err, errlen, i,
				     "list: must be \"allow\" or \"block\"");
			goto out;
		}
		e.allow = strcmp(list, "allow") == 0;
		v = json_object_get(o, "addr");
		if (!json_is_string(v) ||
		    ctl_prefix_parse(json_string_value(v), &e.pfx, why,
				     sizeof(why)) < 0) {
			rc = st_fail(err, errlen, i, "addr: invalid");
			goto out;
		}
		if (st_time(o, "expires", true, &e.expires) < 0 ||
		    st_time(o, "created", false, &e.created) < 0) {
			rc = st_fail(err, errlen, i,
				     "expires/created: invalid time");
			goto out;
		}
		reason = json_string_value(json_object_get(o, "reason"));
		for (e.reason = 0; e.reason <= MXW_LR_CONFIG; e.reason++)
			if (reason && strcmp(reason,
				ctl_list_reason_name(e.reason)) == 0)
				break;
		if (e.reason > MXW_LR_CONFIG) {
			rc = st_fail(err, errlen, i, "reason: unknown");
			goto out;
		}
		v = json_object_get(o, "flags");
		if (!json_is_integer(v) || (flags = json_integer_value(v)) < 0 ||
		    flags > UINT32_MAX) {
			rc = st_fail(err, errlen, i, "flags: invalid");
			goto out;
		}
		e.flags = (uint32_t)flags;
		if (ctl_state_add(out, &e) < 0) {
			snprintf(err, errlen, "out of memory");
			rc = -ENOMEM;
			goto out;
		}
	}
	rc = 0;
out:
	if (rc < 0)
		ctl_state_free(out);
	json_decref(root);
	return rc;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int ctl_state_write(const char *dir, const char *text)
{
	char tmp[512], path[512];
	int fd, dfd, err;

	snprintf(path, sizeof(path), "%s/%s", dir, CTL_STATE_FILE);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, CTL_STATE_FILE);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	err = write_all(fd, text, strlen(text));
	if (!err)
		err = write_all(fd, "\n", 1);
	if (!err && fsync(fd) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	/* Make the rename itself durable. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int ctl_state_read(const char *dir, char **bufp, size_t *lenp)
{
	char path[512];
	size_t len = 0, cap = 1 << 16;
	char *buf;
	int fd, err;

	snprintf(path, sizeof(path), "%s/%s", dir, CTL_STATE_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;

			if (cap >= CTL_STATE_FILE_MAX) {
				err = -EFBIG;
				goto fail;
			}
			cap *= 2;
			nb = realloc(buf, cap);
			if (!nb) {
				err = -ENOMEM;
				goto fail;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*bufp = buf;
	*lenp = len;
	return 0;
fail:
	free(buf);
	close(fd);
	return err;
}

bool ctl_wall_to_mono(int64_t wall_s, int64_t now_wall_s,
		      uint64_t now_mono_ns, uint64_t *mono_ns)
{
	if (wall_s <= now_wall_s)
		return false;
	*mono_ns = now_mono_ns + (uint64_t)(wall_s - now_wall_s) * NS_PER_SEC;
	return true;
}

int64_t ctl_mono_to_wall(uint64_t mono_ns, uint64_t now_mono_ns,
			 int64_t now_wall_s)
{
	/* Round towards the later second so an entry never expires early. */
	if (mono_ns >= now_mono_ns)
		return now_wall_s + (int64_t)((mono_ns - now_mono_ns +
					       NS_PER_SEC - 1) / NS_PER_SEC);
	return now_wall_s - (int64_t)((now_mono_ns - mono_ns) / NS_PER_SEC);
}
