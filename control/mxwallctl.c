// SPDX-License-Identifier: GPL-2.0-only
/*
 * mxwallctl - command-line client of mxwalld's control socket.
 * One request per run: build the JSON request from the subcommand, send
 * it, read one reply line (bounded), print it for humans or, with -j, as
 * the raw JSON line.  `events` then keeps reading: one line per event
 * until interrupted or the daemon closes the connection.
 * Exit: 0 ok, 1 error reply, 2 usage, 3 no daemon.
 * Usage and examples: docs/control-protocol.md ("mxwallctl").
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl_proto.h"

#define CTLC_REPLY_MAX  (80u << 20)
#define CTLC_DEFAULT_SOCKET "/run/mxwall/control.sock"

enum {
	CTLC_OK = 0,
	CTLC_ERR_REPLY = 1,
	CTLC_USAGE = 2,
	CTLC_CONNECT = 3,
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: mxwallctl [-s SOCKET] [-j] [-T SECONDS] COMMAND [ARGS]\n"
"  -s SOCKET   control socket (default $MXWALL_SOCKET or "
CTLC_DEFAULT_SOCKET ")\n"
"  -j          print the raw JSON reply\n"
"  -T SECONDS  reply timeout (default 30)\n"
"commands:\n"
"  status                               daemon, interfaces, list sizes\n"
"  stats                                fast path counters per reason\n"
"  metrics                              Prometheus text exposition\n"
"  block add ADDR[/LEN] [--ttl S] [--reason manual|policy|escalated]\n"
"            [--shadow]                 count matches, do not enforce\n"
"  block del ADDR[/LEN]\n"
"  block list [--offset N] [--limit N]\n"
"  allow add|del|list ...               as for block\n"
"  config get                           the running configuration\n"
"  config reload                        re-read the config file\n"
"  sessions [--limit N]                 sessions the inspection path tracks\n"
"  events [--types T,T...]              follow the event stream (violation,\n"
"                                       audit, block, unblock, lost, reload)\n"
"  audit                                findings about the protected servers\n"
"  raw JSON                             send one request line as is\n");
}

static int ctlc_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "mxwallctl: socket path too long\n");
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "mxwallctl: %s: %s (is mxwalld running?)\n",
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read one line (the reply), bounded in size and time. */
/* A growing receive buffer, bounded by CTLC_REPLY_MAX per line. */
struct ctlc_buf {
	char *buf;
	size_t len, cap;
};

/*
 * Receive more bytes into b (timeout_ms < 0: wait as long as it takes).
 * Returns the count (> 0), or -1 after saying why on stderr: timeout,
 * a line longer than the bound, memory, or the daemon closing (eof_msg).
 */
static ssize_t ctlc_fill(int fd, struct ctlc_buf *b, int timeout_ms,
			 const char *eof_msg)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (timeout_ms >= 0 && poll(&p, 1, timeout_ms) <= 0) {
			fprintf(stderr, "mxwallctl: no reply within %d ms\n",
				timeout_ms);
			return -1;
		}
		if (b->len == b->cap) {
			size_t cap = b->cap ? b->cap * 2 : 65536;
			char *nb;

			if (b->cap >= CTLC_REPLY_MAX) {
				fprintf(stderr, "mxwallctl: line too long\n");
				return -1;
			}
			nb = realloc(b->buf, cap);
			if (!nb) {
				fprintf(stderr, "mxwallctl: out of memory\n");
				return -1;
			}
			b->buf = nb;
			b->cap = cap;
		}
		n = recv(fd, b->buf + b->len, b->cap - b->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "mxwallctl: %s\n", eof_msg);
			return -1;
		}
		b->len += (size_t)n;
		return n;
	}
}

static char *read_line(int fd, int timeout_ms, size_t *lenp)
{
	struct ctlc_buf b = {0};
	ssize_t n;

	while ((n = ctlc_fill(fd, &b, timeout_ms, "connection closed without "
			      "a complete reply")) > 0) {
		char *nl = memchr(b.buf + b.len - (size_t)n, '\n', (size_t)n);

		if (nl) {
			*lenp = (size_t)(nl - b.buf);
			return b.buf;
		}
	}
	free(b.buf);
	return NULL;
}

/* Parse "--name value" options of list subcommands into req. */
static int opt_u32(const char *name, const char *val, json_t *req)
{
	char *end;
	unsigned long long v;

	if (!val) {
		fprintf(stderr, "mxwallctl: %s needs a value\n", name);
		return -1;
	}
	errno = 0;
	v = strtoull(val, &end, 10);
	if (errno || *end || val[0] == '-' || v > UINT32_MAX) {
		fprintf(stderr, "mxwallctl: %s: not a number: %s\n", name,
			val);
		return -1;
	}
	json_object_set_new(req, name + 2, json_integer((json_int_t)v));
	return 0;
}

/* "a,b,c" into an array of strings under key. */
static int opt_list(const char *val, const char *key, json_t *req)
{
	json_t *arr = json_array();
	const char *p = val;

	while (arr) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (!n) {
			fprintf(stderr, "mxwallctl: empty name in %s\n", val);
			json_decref(arr);
			return -1;
		}
		json_array_append_new(arr, json_stringn(p, n));
		if (!comma)
			break;
		p = comma + 1;
	}
	if (!arr)
		return -1;
	json_object_set_new(req, key, arr);
	return 0;
}

/* Build the request from argv (after global options). */
static json_t *build_request(int argc, char **argv)
{
	json_t *req = json_object();
	const char *cmd = argv[0];
	char name[32];

	json_object_set_new(req, "id", json_integer(1));
	if (argc == 1 && (!strcmp(cmd, "status") || !strcmp(cmd, "stats") ||
			  !strcmp(cmd, "metrics") || !strcmp(cmd, "audit"))) {
		json_object_set_new(req, "cmd", json_string(cmd));
		return req;
	}
	if (!strcmp(cmd, "sessions") && (argc == 1 || argc == 3)) {
		json_object_set_new(req, "cmd", json_string("sessions.list"));
		if (argc == 3 && (strcmp(argv[1], "--limit") ||
				  opt_u32(argv[1], argv[2], req) < 0))
			goto bad;
		return req;
	}
	if (!strcmp(cmd, "events") && (argc == 1 || argc == 3)) {
		json_object_set_new(req, "cmd", json_string("events.subscribe"));
		if (argc == 3) {
			if (strcmp(argv[1], "--types") ||
			    opt_list(argv[2], "types", req) < 0)
				goto bad;
		}
		return req;
	}
	if (argc == 2 && !strcmp(cmd, "config") &&
	    (!strcmp(argv[1], "get") || !strcmp(argv[1], "reload"))) {
		snprintf(name, sizeof(name), "config.%s", argv[1]);
		json_object_set_new(req, "cmd", json_string(name));
		return req;
	}
	if (argc >= 2 && (!strcmp(cmd, "block") || !strcmp(cmd, "allow"))) {
		const char *sub = argv[1];
		int i = 2;

		if (strcmp(sub, "add") && strcmp(sub, "del") &&
		    strcmp(sub, "list"))
			goto bad;
		/* cmd is "block"/"allow", sub "add"/"del"/"list": fits. */
		strcpy(name, cmd);
		strcat(name, ".");
		strcat(name, sub);
		json_object_set_new(req, "cmd", json_string(name));
		if (strcmp(sub, "list")) {
			if (argc < 3)
				goto bad;
			json_object_set_new(req, "addr", json_string(argv[2]));
			i = 3;
		}
		for (; i < argc; i += 2) {
			const char *o = argv[i], *v = i + 1 < argc ?
				argv[i + 1] : NULL;

			if (!strcmp(sub, "add") && !strcmp(o, "--ttl")) {
				if (opt_u32(o, v, req) < 0)
					goto fail;
			} else if (!strcmp(sub, "add") &&
				   !strcmp(o, "--reason") && v) {
				json_object_set_new(req, "reason",
						    json_string(v));
			} else if (!strcmp(sub, "add") &&
				   !strcmp(o, "--shadow")) {
				json_object_set_new(req, "shadow",
						    json_true());
				i--;    /* takes no value */
			} else if (!strcmp(sub, "list") &&
				   (!strcmp(o, "--offset") ||
				    !strcmp(o, "--limit"))) {
				if (opt_u32(o, v, req) < 0)
					goto fail;
			} else {
				fprintf(stderr, "mxwallctl: unexpected "
					"argument %s\n", o);
				goto fail;
			}
		}
		return req;
	}
bad:
	usage(stderr);
fail:
	json_decref(req);
	return NULL;
}

static long long jint(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "-";
}

static void print_entry(json_t *e)
{
	char exp[64] = "never";
	time_t t = (time_t)jint(e, "expires");
	struct tm tm;

	if (t) {
		gmtime_r(&t, &tm);
		strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	char ttl[24] = "permanent";

	if (jint(e, "ttl"))
		snprintf(ttl, sizeof(ttl), "%llds", jint(e, "ttl"));
	printf("%-43s %-10s %-21s %s%s\n", jstr(e, "addr"), ttl, exp,
	       jstr(e, "reason"),
	       json_is_true(json_object_get(e, "shadow")) ? " (shadow)" : "");
}

/* Human-readable output of a successful reply. */
/* stats, inspection part: state, checks that fired, block latency. */
static void print_insp_stats(json_t *res)
{
	json_t *ins = json_object_get(res, "inspection");
	json_t *lat = json_object_get(ins, "block_latency_us");
	json_t *v;
	const char *k;
	int fired = 0;

	printf("inspection %s: %lld frames, %lld dropped, %lld killed, "
	       "%lld blocks\n", jstr(ins, "state"), jint(ins, "frames"),
	       jint(ins, "dropped"), jint(ins, "killed"), jint(ins, "blocks"));
	json_object_foreach(json_object_get(res, "checks"), k, v) {
		if (!json_integer_value(v))
			continue;
		if (!fired++)
			printf("%-24s %16s\n", "check", "count");
		printf("%-24s %16lld\n", k, (long long)json_integer_value(v));
	}
	if (!fired)
		printf("no engine check fired\n");
	if (jint(lat, "count"))
		printf("block latency: %lld measured, p50 <= %.1f us, p99 <= "
		       "%.1f us, max %.1f us\n", jint(lat, "count"),
		       json_number_value(json_object_get(lat, "p50")),
		       json_number_value(json_object_get(lat, "p99")),
		       json_number_value(json_object_get(lat, "max")));
}

static void print_human(const char *cmd, json_t *res)
{
	json_t *v;
	const char *k;
	size_t i;

	if (!strcmp(cmd, "metrics")) {
		fputs(json_string_value(res) ? json_string_value(res) : "",
		      stdout);
	} else if (!strcmp(cmd, "stats")) {
		printf("%-24s %16s %20s\n", "reason", "packets", "bytes");
		json_object_foreach(json_object_get(res, "reasons"), k, v)
			printf("%-24s %16lld %20lld\n", k, jint(v, "packets"),
			       jint(v, "bytes"));
		print_insp_stats(res);
	} else if (!strcmp(cmd, "block.list") || !strcmp(cmd, "allow.list")) {
		json_t *arr = json_object_get(res, "entries");

		printf("%-43s %-10s %-21s %s\n", "address", "ttl", "expires",
		       "reason");
		json_array_foreach(arr, i, v)
			print_entry(v);
		printf("(%zu shown from offset %lld, %lld in the list%s)\n",
		       json_array_size(arr), jint(res, "offset"),
		       jint(res, "total"),
		       json_is_true(json_object_get(res, "more")) ?
		       "; more: use --offset" : "");
	} else if (!strcmp(cmd, "block.add") || !strcmp(cmd, "allow.add")) {
		printf("%s %s %s, %s, reason %s\n",
		       json_is_true(json_object_get(res, "created")) ?
		       "added" : "updated", jstr(res, "addr"),
		       !strcmp(cmd, "block.add") ? "to the blocklist" :
		       "to the allowlist",
		       jint(res, "ttl") ? "with a TTL" : "permanent",
		       jstr(res, "reason"));
		if (jint(res, "ttl"))
			printf("expires in %lld s\n", jint(res, "ttl"));
	} else if (!strcmp(cmd, "block.del") || !strcmp(cmd, "allow.del")) {
		printf("removed %s from the %slist\n", jstr(res, "addr"),
		       jstr(res, "list"));
	} else if (!strcmp(cmd, "sessions.list")) {
		json_t *arr = json_object_get(res, "sessions");

		if (strcmp(jstr(res, "inspection"), "running"))
			printf("inspection is %s\n", jstr(res, "inspection"));
		printf("%-10s %-47s %-47s %-5s %-11s %6s %6s %8s\n", "session",
		       "client", "server", "proto", "state", "cmds", "errs",
		       "idle_s");
		json_array_foreach(arr, i, v) {
			char c[80], sv[80];

			snprintf(c, sizeof(c), "[%s]:%lld", jstr(v, "client"),
				 jint(v, "client_port"));
			snprintf(sv, sizeof(sv), "[%s]:%lld",
				 jstr(v, "server"), jint(v, "server_port"));
			printf("%-10lld %-47s %-47s %-5s %-11s %6lld %6lld "
			       "%8lld\n", jint(v, "session"), c, sv,
			       jstr(v, "proto"), jstr(v, "state"),
			       jint(v, "commands"), jint(v, "errors"),
			       jint(v, "idle_s"));
		}
		printf("(%zu sessions)\n", json_array_size(arr));
	} else if (!strcmp(cmd, "audit")) {
		json_t *arr = json_object_get(res, "findings");

		printf("%-40s %-24s %8s %-24s %s\n", "server", "check",
		       "count", "last seen", "example");
		json_array_foreach(arr, i, v)
			printf("%-40s %-24s %8lld %-24s %s\n",
			       jstr(v, "server"), jstr(v, "check"),
			       jint(v, "count"), jstr(v, "last_seen"),
			       jstr(v, "example"));
		printf("(%zu findings", json_array_size(arr));
		if (jint(res, "overflow"))
			printf(", %lld events beyond the table",
			       jint(res, "overflow"));
		printf(")\n");
	} else if (!strcmp(cmd, "config.reload")) {
		printf("configuration reloaded (generation %lld)\n",
		       jint(res, "generation"));
	} else if (!strcmp(cmd, "status")) {
		json_t *ifs = json_object_get(res, "interfaces");
		json_t *en = json_object_get(res, "entries");

		printf("mxwalld %s, pid %lld, up %lld s, config %s "
		       "(generation %lld)\n", jstr(res, "version"),
		       jint(res, "pid"), jint(res, "uptime"),
		       jstr(res, "config"), jint(res, "generation"));
		printf("outside %s (ifindex %lld), inside %s (ifindex %lld), "
		       "XDP %s\n",
		       jstr(json_object_get(ifs, "outside"), "name"),
		       jint(json_object_get(ifs, "outside"), "ifindex"),
		       jstr(json_object_get(ifs, "inside"), "name"),
		       jint(json_object_get(ifs, "inside"), "ifindex"),
		       jstr(ifs, "xdp_mode"));
		printf("blocklist %lld addresses + %lld prefixes, allowlist "
		       "%lld addresses + %lld prefixes\n",
		       jint(en, "block_exact"), jint(en, "block_prefix"),
		       jint(en, "allow_exact"), jint(en, "allow_prefix"));
		printf("inspection %s, %lld control clients (%lld event "
		       "subscribers)\n", jstr(res, "inspection"),
		       jint(json_object_get(res, "control"), "clients"),
		       jint(json_object_get(res, "control"), "subscribers"));
	} else {
		char *s = json_dumps(res, JSON_INDENT(2));

		if (s)
			puts(s);
		free(s);
	}
}

/* One event for humans: time, type, then the other fields as key=value
 * (strings as they are, objects and arrays as compact JSON). */
static void print_event(json_t *ev)
{
	const char *k;
	json_t *v;

	printf("%s %s", jstr(ev, "time"), jstr(ev, "type"));
	json_object_foreach(ev, k, v) {
		char *s;

		if (!strcmp(k, "time") || !strcmp(k, "type") || json_is_null(v))
			continue;
		if (json_is_string(v)) {
			printf(" %s=%s", k, json_string_value(v));
			continue;
		}
		s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		printf(" %s=%s", k, s ? s : "?");
		free(s);
	}
	putchar('\n');
}

/*
 * events: the reply line, then one event per line until the daemon
 * closes the connection or we are interrupted.  Lines are bounded like
 * replies; stdout is flushed per event so a pipe sees them at once.
 */
static int follow_events(int fd, bool raw_json)
{
	struct ctlc_buf b = {0};
	bool first = true;
	int rc = CTLC_OK;
	char *nl;

	for (;;) {
		while (b.len && (nl = memchr(b.buf, '\n', b.len))) {
			size_t ll = (size_t)(nl - b.buf);
			json_error_t jerr;
			json_t *o = json_loadb(b.buf, ll, 0, &jerr);

			if (!o) {
				fprintf(stderr, "mxwallctl: invalid line: %s\n",
					jerr.text);
				rc = CTLC_CONNECT;
				goto out;
			}
			if (raw_json)
				printf("%.*s\n", (int)ll, b.buf);
			if (first && !json_is_true(json_object_get(o, "ok"))) {
				json_t *e = json_object_get(o, "error");

				fprintf(stderr, "mxwallctl: %s: %s\n",
					jstr(e, "code"), jstr(e, "message"));
				json_decref(o);
				rc = CTLC_ERR_REPLY;
				goto out;
			}
			if (!raw_json && !first)
				print_event(o);
			fflush(stdout);
			first = false;
			json_decref(o);
			memmove(b.buf, nl + 1, b.len - ll - 1);
			b.len -= ll + 1;
		}
		if (ctlc_fill(fd, &b, -1, "the daemon closed the event "
			      "stream") < 0) {
			rc = CTLC_CONNECT;
			break;
		}
	}
out:
	free(b.buf);
	return rc;
}

int main(int argc, char **argv)
{
	const char *sock = getenv("MXWALL_SOCKET");
	bool raw_json = false;
	int timeout_s = 30, opt, fd, rc;
	json_t *req = NULL, *rep;
	char *line, *reply;
	const char *cmd;
	size_t len, rlen;
	json_error_t jerr;

	if (!sock || !*sock)
		sock = CTLC_DEFAULT_SOCKET;
	while ((opt = getopt(argc, argv, "+s:jT:h")) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 'j':
			raw_json = true;
			break;
		case 'T':
			timeout_s = atoi(optarg);
			if (timeout_s <= 0 || timeout_s > 3600) {
				fprintf(stderr, "mxwallctl: -T 1..3600\n");
				return CTLC_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return CTLC_OK;
		default:
			usage(stderr);
			return CTLC_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return CTLC_USAGE;
	}
	if (!strcmp(argv[0], "raw")) {
		if (argc != 2) {
			usage(stderr);
			return CTLC_USAGE;
		}
		req = json_loads(argv[1], 0, &jerr);
		if (!req) {
			/* Sent as is: the daemon's error reply is the
			 * point of sending malformed JSON. */
			line = strdup(argv[1]);
			len = line ? strlen(line) : 0;
			cmd = "raw";
			goto send;
		}
	} else {
		req = build_request(argc, argv);
		if (!req)
			return CTLC_USAGE;
	}
	cmd = json_string_value(json_object_get(req, "cmd"));
	if (!cmd)
		cmd = "raw";
	line = json_dumps(req, JSON_COMPACT);
	len = line ? strlen(line) : 0;
send:
	if (!line) {
		json_decref(req);
		return CTLC_USAGE;
	}
	fd = ctlc_connect(sock);
	if (fd < 0) {
		free(line);
		json_decref(req);
		return CTLC_CONNECT;
	}
	rc = write_all(fd, line, len) || write_all(fd, "\n", 1);
	free(line);
	if (rc) {
		fprintf(stderr, "mxwallctl: send: %s\n", strerror(errno));
		close(fd);
		json_decref(req);
		return CTLC_CONNECT;
	}
	if (!strcmp(cmd, "events.subscribe")) {
		rc = follow_events(fd, raw_json);
		close(fd);
		json_decref(req);
		return rc;
	}
	reply = read_line(fd, timeout_s * 1000, &rlen);
	close(fd);
	if (!reply) {
		json_decref(req);
		return CTLC_CONNECT;
	}
	rep = json_loadb(reply, rlen, 0, &jerr);
	if (!rep) {
		fprintf(stderr, "mxwallctl: invalid reply: %s\n", jerr.text);
		free(reply);
		json_decref(req);
		return CTLC_CONNECT;
	}
	rc = json_is_true(json_object_get(rep, "ok")) ? CTLC_OK :
	     CTLC_ERR_REPLY;
	if (raw_json) {
		fwrite(reply, 1, rlen, stdout);
		fputc('\n', stdout);
	} else if (rc == CTLC_OK) {
		print_human(cmd, json_object_get(rep, "result"));
	}
	if (rc != CTLC_OK) {
		json_t *e = json_object_get(rep, "error");

		fprintf(stderr, "mxwallctl: %s: %s\n", jstr(e, "code"),
			jstr(e, "message"));
	}
	free(reply);
	json_decref(rep);
	json_decref(req);
	return rc;
}
