// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctl_state.c - format, atomic write and strict parse of the state file.
 *
 * Format (docs/config.md, "State file"), valid JSON:
 *   {"version": 1, "written": <unix s>,
 *    "entries": [{"list": "block", "addr": "198.51.100.0/24",
 *                 "expires": <unix s or 0>, "created": <unix s>,
 *                 "reason": "manual", "flags": 0}, ...]}
 * written one entry per line and streamed (no JSON tree of the whole
 * list, in either direction), so millions of entries cost memory in
 * proportion to one line.  The write is crash-safe: temp file in the same
 * directory, fsync, rename over the old file, fsync of the directory; a
 * reader sees the old or the new file, never a mix.
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

/*
 * Layout written: a header line, one entry per line, a footer line.  It is
 * ordinary JSON, and the reader parses it line by line so a file of
 * millions of entries never becomes one JSON tree in memory.
 */
static void st_header(FILE *f, int64_t now_wall)
{
	fprintf(f, "{\"version\":%d,\"written\":%lld,\"entries\":[",
		CTL_STATE_VERSION, (long long)now_wall);
}

static void st_entry(FILE *f, const struct ctl_state_entry *e, bool first)
{
	char text[CTL_ADDR_TEXT_MAX];

	ctl_prefix_format(&e->pfx, text, sizeof(text));
	/* addr and reason come from fixed alphabets: no escaping needed. */
	fprintf(f, "%s\n{\"list\":\"%s\",\"addr\":\"%s\",\"expires\":%lld,"
		"\"created\":%lld,\"reason\":\"%s\",\"flags\":%u}",
		first ? "" : ",", e->allow ? "allow" : "block", text,
		(long long)e->expires, (long long)e->created,
		ctl_list_reason_name(e->reason), e->flags);
}

static void st_footer(FILE *f)
{
	fputs("\n]}\n", f);
}

char *ctl_state_encode(const struct ctl_state *st, int64_t now_wall)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return NULL;
	st_header(f, now_wall);
	for (size_t i = 0; i < st->n; i++)
		st_entry(f, &st->e[i], i == 0);
	st_footer(f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
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

/* One entry object, strictly. */
static int st_entry_parse(json_t *o, size_t i, struct ctl_state_entry *out,
			  char *err, size_t errlen)
{
	struct ctl_state_entry e = {0};
	const char *list, *reason, *k;
	char why[128];
	json_t *v;
	json_int_t flags;

	if (!json_is_object(o))
		return st_fail(err, errlen, i, "must be an object");
	json_object_foreach(o, k, v)
		if (strcmp(k, "list") && strcmp(k, "addr") &&
		    strcmp(k, "expires") && strcmp(k, "created") &&
		    strcmp(k, "reason") && strcmp(k, "flags"))
			return st_fail(err, errlen, i, "unknown key");
	list = json_string_value(json_object_get(o, "list"));
	if (!list || (strcmp(list, "allow") && strcmp(list, "block")))
		return st_fail(err, errlen, i,
			       "list: must be \"allow\" or \"block\"");
	e.allow = strcmp(list, "allow") == 0;
	v = json_object_get(o, "addr");
	if (!json_is_string(v) ||
	    ctl_prefix_parse(json_string_value(v), &e.pfx, why,
			     sizeof(why)) < 0)
		return st_fail(err, errlen, i, "addr: invalid");
	if (st_time(o, "expires", true, &e.expires) < 0 ||
	    st_time(o, "created", false, &e.created) < 0)
		return st_fail(err, errlen, i, "expires/created: invalid time");
	reason = json_string_value(json_object_get(o, "reason"));
	for (e.reason = 0; e.reason <= MXW_LR_CONFIG; e.reason++)
		if (reason && strcmp(reason,
				     ctl_list_reason_name(e.reason)) == 0)
			break;
	if (e.reason > MXW_LR_CONFIG)
		return st_fail(err, errlen, i, "reason: unknown");
	v = json_object_get(o, "flags");
	if (!json_is_integer(v) || (flags = json_integer_value(v)) < 0 ||
	    flags > UINT32_MAX)
		return st_fail(err, errlen, i, "flags: invalid");
	e.flags = (uint32_t)flags;
	*out = e;
	return 0;
}

/* Next line of buf[*pos..len) without its newline. */
static bool st_next_line(const char *buf, size_t len, size_t *pos,
			 const char **line, size_t *n)
{
	const char *nl;

	if (*pos >= len)
		return false;
	*line = buf + *pos;
	nl = memchr(*line, '\n', len - *pos);
	*n = nl ? (size_t)(nl - *line) : len - *pos;
	*pos += *n + (nl ? 1 : 0);
	return true;
}

/* The layout st_header/st_entry/st_footer writes.  -EAGAIN: the file
 * does not have it (hand-written); the caller parses it as a whole. */
static int st_decode_lines(const char *buf, size_t len,
			   struct ctl_state *out, char *err, size_t errlen)
{
	static const char head[] = "{\"version\":1,\"written\":";
	static const char tail[] = ",\"entries\":[";
	const char *line;
	size_t n, pos = 0, i = 0;
	bool done = false;
	int rc;

	if (!st_next_line(buf, len, &pos, &line, &n) || n < sizeof(head) ||
	    memcmp(line, head, sizeof(head) - 1) != 0 ||
	    n < sizeof(tail) - 1 ||
	    memcmp(line + n - (sizeof(tail) - 1), tail, sizeof(tail) - 1))
		return -EAGAIN;
	for (size_t k = sizeof(head) - 1; k < n - (sizeof(tail) - 1); k++)
		if (line[k] < '0' || line[k] > '9')
			return -EAGAIN;
	while (st_next_line(buf, len, &pos, &line, &n)) {
		struct ctl_state_entry e;
		json_error_t jerr;
		json_t *o;

		if (done) {
			for (size_t k = 0; k < n; k++)
				if (line[k] != ' ' && line[k] != '\r' &&
				    line[k] != '\t')
					return st_fail(err, errlen, i,
						       "data after the end");
			continue;
		}
		if (n == 2 && memcmp(line, "]}", 2) == 0) {
			done = true;
			continue;
		}
		if (n && line[n - 1] == ',')
			n--;
		o = json_loadb(line, n, JSON_REJECT_DUPLICATES, &jerr);
		if (!o)
			return st_fail(err, errlen, i, "invalid JSON");
		rc = st_entry_parse(o, i, &e, err, errlen);
		json_decref(o);
		if (rc < 0)
			return rc;
		if (ctl_state_add(out, &e) < 0) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		i++;
	}
	if (!done) {
		snprintf(err, errlen, "truncated after %zu entries", i);
		return -EINVAL;
	}
	return 0;
}

/* Any JSON layout, parsed as one document (small, hand-written files). */
static int st_decode_whole(const char *buf, size_t len, struct ctl_state *out,
			   char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root, *arr, *o;
	size_t i;
	int rc = -EINVAL;

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
		struct ctl_state_entry e;

		if ((rc = st_entry_parse(o, i, &e, err, errlen)) < 0)
			goto out;
		if (ctl_state_add(out, &e) < 0) {
			snprintf(err, errlen, "out of memory");
			rc = -ENOMEM;
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int ctl_state_decode(const char *buf, size_t len, struct ctl_state *out,
		     char *err, size_t errlen)
{
	int rc;

	memset(out, 0, sizeof(*out));
	rc = st_decode_lines(buf, len, out, err, errlen);
	if (rc == -EAGAIN)
		rc = st_decode_whole(buf, len, out, err, errlen);
	if (rc < 0)
		ctl_state_free(out);
	return rc;
}

int ctl_state_begin(struct ctl_state_writer *w, const char *dir,
		    int64_t now_wall)
{
	int fd;

	memset(w, 0, sizeof(*w));
	snprintf(w->dir, sizeof(w->dir), "%s", dir);
	snprintf(w->path, sizeof(w->path), "%s/%s", dir, CTL_STATE_FILE);
	snprintf(w->tmp, sizeof(w->tmp), "%s/.%s.tmp", dir, CTL_STATE_FILE);
	fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	w->f = fdopen(fd, "w");
	if (!w->f) {
		int err = -errno;

		close(fd);
		unlink(w->tmp);
		return err;
	}
	st_header(w->f, now_wall);
	return 0;
}

void ctl_state_put(struct ctl_state_writer *w, const struct ctl_state_entry *e)
{
	st_entry(w->f, e, w->n == 0);
	w->n++;
}

void ctl_state_abort(struct ctl_state_writer *w)
{
	if (w->f) {
		fclose(w->f);
		w->f = NULL;
		unlink(w->tmp);
	}
}

int ctl_state_commit(struct ctl_state_writer *w)
{
	int err = 0, dfd;

	st_footer(w->f);
	if (fflush(w->f) != 0 || ferror(w->f))
		err = -(errno ? errno : EIO);
	if (!err && fsync(fileno(w->f)) < 0)
		err = -errno;
	if (fclose(w->f) != 0 && !err)
		err = -errno;
	w->f = NULL;
	if (!err && rename(w->tmp, w->path) < 0)
		err = -errno;
	if (err) {
		unlink(w->tmp);
		return err;
	}
	/* Make the rename itself durable. */
	dfd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int ctl_state_write(const char *dir, const struct ctl_state *st,
		    int64_t now_wall)
{
	struct ctl_state_writer w;
	int err = ctl_state_begin(&w, dir, now_wall);

	if (err)
		return err;
	for (size_t i = 0; i < st->n; i++)
		ctl_state_put(&w, &st->e[i]);
	return ctl_state_commit(&w);
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
