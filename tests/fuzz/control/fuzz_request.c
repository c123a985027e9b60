// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_request.c - libFuzzer target for the control protocol's framing and
 * request parser (control/ctl_proto.c), the path every byte a control
 * client sends goes through.  The first input byte picks the read size
 * (1..64), so the fuzzer also explores lines split across reads; the rest
 * is the byte stream.  Every line is parsed and answered, as the daemon
 * does; an error reply must always be one line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_proto.h"

#define FUZZ_LINE_MAX 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void handle(const char *line, size_t len)
{
	struct ctl_request r;
	struct ctl_error e;
	size_t n;
	char *reply;

	if (ctl_request_parse(line, len, &r, &e) == 0)
		reply = ctl_reply_ok(r.id, json_string(ctl_cmd_name(r.cmd)),
				     &n);
	else
		reply = ctl_reply_error(r.id, e.code, e.msg, &n);
	if (!reply || n == 0 || reply[n - 1] != '\n' ||
	    memchr(reply, '\n', n - 1))
		abort();
	free(reply);
	ctl_request_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_linebuf lb;
	size_t step, pos = 1;

	if (size < 1)
		return 0;
	step = (size_t)(data[0] % 64) + 1;
	if (ctl_linebuf_init(&lb, FUZZ_LINE_MAX) < 0)
		return 0;
	while (pos < size) {
		size_t room, n;
		char *dst = ctl_linebuf_space(&lb, &room);
		const char *line;
		size_t len;
		enum ctl_lb_result res;

		if (room == 0)
			abort();        /* the buffer must never wedge */
		n = size - pos < step ? size - pos : step;
		if (n > room)
			n = room;
		memcpy(dst, data + pos, n);
		ctl_linebuf_commit(&lb, n);
		pos += n;
		while ((res = ctl_linebuf_next(&lb, &line, &len)) !=
		       CTL_LB_NEED_MORE) {
			if (res == CTL_LB_LINE) {
				if (len > FUZZ_LINE_MAX)
					abort();
				handle(line, len);
			}
		}
	}
	ctl_linebuf_free(&lb);
	/* The whole input as one request, too. */
	handle((const char *)data + 1, size - 1);
	return 0;
}
