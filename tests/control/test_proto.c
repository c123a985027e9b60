// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_proto.c - control request parsing and framing (control/ctl_proto.c):
 * a table of request lines with the expected command or error code, reply
 * encoding, and the line buffer (split input, CRLF, empty lines, the
 * oversize path and recovery after it).
 */
#include <string.h>
#include <stdlib.h>

#include "ctl_proto.h"
#include "ctltest.h"
#include "mxwall_shared.h"

struct req_case {
	const char *line;
	int ok;
	int expect;             /* enum ctl_cmd when ok, enum ctl_errcode not */
};

static const struct req_case reqs[] = {
	{"{\"id\":1,\"cmd\":\"status\"}", 1, CTL_CMD_STATUS},
	{"{\"cmd\":\"stats\"}", 1, CTL_CMD_STATS},
	{"{\"id\":\"x\",\"cmd\":\"metrics\"}", 1, CTL_CMD_METRICS},
	{"{\"cmd\":\"config.get\"}", 1, CTL_CMD_CONFIG_GET},
	{"{\"cmd\":\"config.reload\"}", 1, CTL_CMD_CONFIG_RELOAD},
	{"{\"cmd\":\"block.add\",\"addr\":\"198.51.100.0/24\",\"ttl\":3600,"
	 "\"reason\":\"manual\"}", 1, CTL_CMD_BLOCK_ADD},
	{"{\"cmd\":\"block.add\",\"addr\":\"2001:db8::1\"}", 1,
	 CTL_CMD_BLOCK_ADD},
	{"{\"cmd\":\"block.add\",\"addr\":\"192.0.2.1\",\"ttl\":315360000}", 1,
	 CTL_CMD_BLOCK_ADD},
	{"{\"cmd\":\"block.del\",\"addr\":\"198.51.100.0/24\"}", 1,
	 CTL_CMD_BLOCK_DEL},
	{"{\"cmd\":\"block.add\",\"addr\":\"192.0.2.1\",\"shadow\":true}", 1,
	 CTL_CMD_BLOCK_ADD},
	{"{\"cmd\":\"block.add\",\"addr\":\"192.0.2.1\",\"shadow\":\"yes\"}",
	 0, CTL_E_INVALID_ARGUMENT},
	{"{\"cmd\":\"block.del\",\"addr\":\"192.0.2.1\",\"shadow\":true}", 0,
	 CTL_E_INVALID_ARGUMENT},
	{"{\"cmd\":\"block.list\",\"offset\":10,\"limit\":5}", 1,
	 CTL_CMD_BLOCK_LIST},
	{"{\"cmd\":\"allow.add\",\"addr\":\"192.0.2.0/24\"}", 1,
	 CTL_CMD_ALLOW_ADD},
	{"{\"cmd\":\"allow.del\",\"addr\":\"192.0.2.0/24\"}", 1,
	 CTL_CMD_ALLOW_DEL},
	{"{\"cmd\":\"allow.list\"}", 1, CTL_CMD_ALLOW_LIST},
	{"{\"cmd\":\"status\"", 0, CTL_E_PARSE},
	{"not json", 0, CTL_E_PARSE},
	{"{\"cmd\":\"status\"} {}", 0, CTL_E_PARSE},
	{"{\"cmd\":\"status\",\"cmd\":\"stats\"}", 0, CTL_E_PARSE},
	{"[1,2]", 0, CTL_E_INVALID_REQUEST},
	{"\"status\"", 0, CTL_E_PARSE},
	{"{}", 0, CTL_E_INVALID_REQUEST},
	{"{\"cmd\":5}", 0, CTL_E_INVALID_REQUEST},
	{"{\"cmd\":\"shutdown\"}", 0, CTL_E_UNKNOWN_COMMAND},
	{"{\"cmd\":\"\"}", 0, CTL_E_UNKNOWN_COMMAND},
	{"{\"cmd\":\"status\",\"verbose\":true}", 0, CTL_E_INVALID_ARGUMENT},
	{"{\"cmd\":\"block.add\"}", 0, CTL_E_INVALID_ARGUMENT},
	{"{\"cmd\":\"block.add\",\"addr\":5}", 0, CTL_E_INVALID_ARGUMENT},
	{"{\"cmd\":\"block.add\",\"addr\":\"198.51.100.7/24\"}", 0,
	 CTL_E_INVALID_ARGUMENT},
	{"{\"cmd\":\"block.add\",\"addr\":\"192.0.2.1\",\"ttl\":-1}", 0,
	 CTL_E_INVALID_ARGUMENT},
	{"{\"cmd\":\"block.add\",\"addr\":\"192.0.2.1\",\"ttl\":315360001}", 0,
	 CTL_E_INVALID_ARGUMENT},
	{"{\"cmd\":\"block.add\",\"addr\":\"192.0.2.1\",\"ttl\":\"60\"}", 0,
	 CTL_E_INVALID_ARGUMENT},
	{"{\"cmd\":\"block.add\",\"addr\":\"192.0.2.1\",\"reason\":\"config\"}",
	 0, CTL_E_INVALID_ARGUMENT},
	{"{\"cmd\":\"block.add\",\"addr\":\"192.0.2.1\",\"reason\":7}", 0,
	 CTL_E_INVALID_ARGUMENT},
	{"{\"cmd\":\"block.del\",\"addr\":\"192.0.2.1\",\"ttl\":5}", 0,
	 CTL_E_INVALID_ARGUMENT},
	{"{\"cmd\":\"block.list\",\"limit\":0}", 0, CTL_E_INVALID_ARGUMENT},
	{"{\"cmd\":\"block.list\",\"limit\":100001}", 0,
	 CTL_E_INVALID_ARGUMENT},
	{"{\"cmd\":\"block.list\",\"offset\":-1}", 0, CTL_E_INVALID_ARGUMENT},
	{"{\"cmd\":\"allow.add\",\"addr\":\"\"}", 0, CTL_E_INVALID_ARGUMENT},
};

static void test_requests(void)
{
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		struct ctl_request r;
		struct ctl_error e = {0};
		int rc = ctl_request_parse(reqs[i].line, strlen(reqs[i].line),
					   &r, &e);

		CHECK((rc == 0) == reqs[i].ok, reqs[i].line);
		if (rc == 0)
			CHECK((int)r.cmd == reqs[i].expect, reqs[i].line);
		else
			CHECK((int)e.code == reqs[i].expect && e.msg[0],
			      reqs[i].line);
		ctl_request_free(&r);
	}
}

static void test_arguments(void)
{
	struct ctl_request r;
	struct ctl_error e;
	const char *l = "{\"id\":[1,2],\"cmd\":\"block.add\",\"addr\":"
			"\"198.51.100.0/24\",\"ttl\":60,\"reason\":\"policy\"}";

	CHECK(ctl_request_parse(l, strlen(l), &r, &e) == 0, "args");
	CHECK(r.ttl == 60 && r.reason == MXW_LR_POLICY && r.addr.plen == 120,
	      "args");
	CHECK(json_is_array(r.id), "id kept as is");
	CHECK(!r.shadow, "not shadow by default");
	ctl_request_free(&r);

	l = "{\"cmd\":\"block.list\"}";
	CHECK(ctl_request_parse(l, strlen(l), &r, &e) == 0 &&
	      r.limit == CTL_LIST_LIMIT_DEFAULT && r.offset == 0, "list");
	ctl_request_free(&r);

	/* The id survives into error replies when the object parsed. */
	l = "{\"id\":42,\"cmd\":\"nope\"}";
	CHECK(ctl_request_parse(l, strlen(l), &r, &e) < 0 && r.id &&
	      json_integer_value(r.id) == 42, "error id");
	{
		size_t n;
		char *s = ctl_reply_error(r.id, e.code, e.msg, &n);

		CHECK(s && n == strlen(s) && s[n - 1] == '\n' &&
		      memchr(s, '\n', n - 1) == NULL, "one line");
		CHECK(s && strstr(s, "\"id\":42") &&
		      strstr(s, "\"ok\":false") &&
		      strstr(s, "\"code\":\"unknown_command\""), s ? s : "");
		free(s);
	}
	ctl_request_free(&r);

	/* A NUL inside the line is not valid JSON text for us. */
	{
		const char nul[] = "{\"cmd\":\"st\0atus\"}";

		CHECK(ctl_request_parse(nul, sizeof(nul) - 1, &r, &e) < 0,
		      "NUL");
		ctl_request_free(&r);
	}
}

static void test_replies(void)
{
	size_t n;
	char *s = ctl_reply_ok(NULL, json_string("a\nb"), &n);

	CHECK(s && strcmp(s, "{\"id\":null,\"ok\":true,\"result\":\"a\\nb\"}\n")
	      == 0, s ? s : "");
	free(s);
}

/* Feed text in chunks of size step; collect the events as a string:
 * "L<line>|" per line, "O|" per overflow. */
static void run_lb(const char *in, size_t max, size_t step, char *out,
		   size_t outlen)
{
	struct ctl_linebuf lb;
	size_t len = strlen(in), pos = 0;

	out[0] = '\0';
	CHECK(ctl_linebuf_init(&lb, max) == 0, "lb init");
	while (pos < len) {
		size_t room, n;
		char *dst = ctl_linebuf_space(&lb, &room);
		const char *line;
		size_t ll;
		enum ctl_lb_result r;

		CHECK(room > 0, "room");
		n = len - pos < step ? len - pos : step;
		if (n > room)
			n = room;
		memcpy(dst, in + pos, n);
		ctl_linebuf_commit(&lb, n);
		pos += n;
		while ((r = ctl_linebuf_next(&lb, &line, &ll)) != CTL_LB_NEED_MORE) {
			size_t used = strlen(out);

			if (r == CTL_LB_LINE)
				snprintf(out + used, outlen - used, "L%.*s|",
					 (int)ll, line);
			else
				snprintf(out + used, outlen - used, "O|");
		}
	}
	ctl_linebuf_free(&lb);
}

static void test_linebuf(void)
{
	static const struct {
		const char *in;
		size_t max;
		const char *want;
	} rows[] = {
		{"abc\ndef\n", 16, "Labc|Ldef|"},
		{"abc\r\n\r\n\ndef\n", 16, "Labc|Ldef|"},
		{"abc", 16, ""},
		{"0123456789\nab\n", 10, "L0123456789|Lab|"},
		{"0123456789X\nab\n", 10, "O|Lab|"},
		{"0123456789012345678901234567890123456789\nok\n", 10,
		 "O|Lok|"},
		{"a\n0123456789XYZ\n0123456789XYZ\nb\n", 10, "La|O|O|Lb|"},
	};
	char out[512];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		for (size_t step = 1; step <= 64; step *= 2) {
			run_lb(rows[i].in, rows[i].max, step, out, sizeof(out));
			if (strcmp(out, rows[i].want)) {
				fprintf(stderr, "  step %zu want %s got %s\n",
					step, rows[i].want, out);
				CHECK(0, rows[i].in);
			}
		}
}

int main(void)
{
	test_requests();
	test_arguments();
	test_replies();
	test_linebuf();
	return ctltest_done("test_proto");
}
