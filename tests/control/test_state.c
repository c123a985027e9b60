// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_state.c - the state file (control/ctl_state.c): encode/decode round
 * trip, atomic write and read in a temporary directory, rejection of
 * corrupt files, and the wall-clock <-> CLOCK_MONOTONIC conversions used
 * at save and restore.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl_state.h"
#include "ctltest.h"
#include "mxwall_shared.h"

#define NOW 1795400000ll

static void add(struct ctl_state *st, const char *addr, bool allow,
		int64_t expires, uint32_t reason)
{
	struct ctl_state_entry e = {
		.allow = allow, .expires = expires, .created = NOW - 100,
		.reason = reason, .flags = 0,
	};
	char err[128];

	CHECK(ctl_prefix_parse(addr, &e.pfx, err, sizeof(err)) == 0, addr);
	CHECK(ctl_state_add(st, &e) == 0, addr);
}

static void test_roundtrip(void)
{
	struct ctl_state st = {0}, back;
	char err[256] = "", dir[] = "/tmp/mxw-ctl-state-XXXXXX";
	char *text, *buf;
	size_t len;

	add(&st, "198.51.100.0/24", false, NOW + 3600, MXW_LR_MANUAL);
	add(&st, "2001:db8::1", false, 0, MXW_LR_POLICY);
	add(&st, "192.0.2.25", true, 0, MXW_LR_MANUAL);
	add(&st, "2001:db8:bad::/48", false, NOW + 60, MXW_LR_ESCALATED);
	text = ctl_state_encode(&st, NOW);
	CHECK(text != NULL, "encode");
	if (!text)
		return;
	CHECK(ctl_state_decode(text, strlen(text), &back, err,
			       sizeof(err)) == 0, err);
	CHECK(back.n == st.n, "count");
	for (size_t i = 0; i < back.n && i < st.n; i++)
		CHECK(memcmp(&back.e[i], &st.e[i], sizeof(st.e[i])) == 0,
		      "entry equal");
	ctl_state_free(&back);

	/* Atomic write then read back through the file. */
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	CHECK(ctl_state_read(dir, &buf, &len) == -ENOENT, "no file yet");
	CHECK(ctl_state_write(dir, &st, NOW) == 0, "write");
	CHECK(ctl_state_write(dir, &st, NOW) == 0, "overwrite");
	CHECK(ctl_state_read(dir, &buf, &len) == 0, "read");
	CHECK(ctl_state_decode(buf, len, &back, err, sizeof(err)) == 0, err);
	CHECK(back.n == 4, "file count");
	ctl_state_free(&back);
	free(buf);
	{
		char p[512];
		struct stat sb;

		snprintf(p, sizeof(p), "%s/.%s.tmp", dir, CTL_STATE_FILE);
		CHECK(access(p, F_OK) != 0, "no temp file left");
		snprintf(p, sizeof(p), "%s/%s", dir, CTL_STATE_FILE);
		CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0600,
		      "mode 0600");
		unlink(p);
		rmdir(dir);
	}
	/* Writing into a missing directory fails cleanly. */
	CHECK(ctl_state_write("/nonexistent-mxw-dir", &st, NOW) < 0, "bad dir");
	free(text);
	ctl_state_free(&st);
}

/* A hand-written file in any JSON layout is read too. */
static void test_other_layout(void)
{
	static const char text[] =
		"{ \"entries\": [\n  { \"flags\": 0, \"reason\": \"manual\",\n"
		"    \"list\": \"allow\", \"addr\": \"192.0.2.0/24\",\n"
		"    \"created\": 1795400000, \"expires\": 0 } ],\n"
		"  \"version\": 1 }";
	struct ctl_state st;
	char err[256] = "";

	CHECK(ctl_state_decode(text, strlen(text), &st, err, sizeof(err)) == 0,
	      err);
	CHECK(st.n == 1 && st.e[0].allow && st.e[0].pfx.plen == 120,
	      "other layout");
	ctl_state_free(&st);
}

static const char *const corrupt[] = {
	/* the written layout, cut short or damaged */
	"{\"version\":1,\"written\":1795400000,\"entries\":[\n"
	"{\"list\":\"block\",\"addr\":\"192.0.2.1\",\"expires\":0,"
	"\"created\":1795400000,\"reason\":\"manual\",\"flags\":0},\n",
	"{\"version\":1,\"written\":1795400000,\"entries\":[\n"
	"{\"list\":\"block\",\"addr\":\"192.0.2.1\",\"expires\":0,"
	"\"created\":1795400000,\"reason\":\"manual\",\"fl\n]}\n",
	"{\"version\":1,\"written\":1795400000,\"entries\":[\n]}\nextra\n",
	"",
	"[]",
	"{\"version\":2,\"entries\":[]}",
	"{\"version\":1}",
	"{\"version\":1,\"entries\":{}}",
	"{\"version\":1,\"entries\":[1]}",
	"{\"version\":1,\"entries\":[{\"list\":\"block\",\"addr\":\"x\","
	"\"expires\":0,\"created\":1795400000,\"reason\":\"manual\",\"flags\":0}]}",
	"{\"version\":1,\"entries\":[{\"list\":\"deny\",\"addr\":\"192.0.2.1\","
	"\"expires\":0,\"created\":1795400000,\"reason\":\"manual\",\"flags\":0}]}",
	"{\"version\":1,\"entries\":[{\"list\":\"block\",\"addr\":\"192.0.2.1\","
	"\"expires\":-5,\"created\":1795400000,\"reason\":\"manual\",\"flags\":0}]}",
	"{\"version\":1,\"entries\":[{\"list\":\"block\",\"addr\":\"192.0.2.1\","
	"\"expires\":0,\"created\":5,\"reason\":\"manual\",\"flags\":0}]}",
	"{\"version\":1,\"entries\":[{\"list\":\"block\",\"addr\":\"192.0.2.1\","
	"\"expires\":0,\"created\":1795400000,\"reason\":\"spam\",\"flags\":0}]}",
	"{\"version\":1,\"entries\":[{\"list\":\"block\",\"addr\":\"192.0.2.1\","
	"\"expires\":0,\"created\":1795400000,\"reason\":\"manual\","
	"\"flags\":-1}]}",
	"{\"version\":1,\"entries\":[{\"list\":\"block\",\"addr\":\"192.0.2.1\","
	"\"expires\":0,\"created\":1795400000,\"reason\":\"manual\",\"flags\":0,"
	"\"extra\":1}]}",
	"{\"version\":1,\"entries\":[{\"list\":\"block\",\"addr\":\"192.0.2.1\","
	"\"expires\":0,\"created\":1795400000,\"reason\":\"manual\",\"flags\":0}",
};

static void test_corrupt(void)
{
	for (size_t i = 0; i < sizeof(corrupt) / sizeof(corrupt[0]); i++) {
		struct ctl_state st;
		char err[256] = "";

		CHECK(ctl_state_decode(corrupt[i], strlen(corrupt[i]), &st, err,
				       sizeof(err)) < 0, corrupt[i]);
		CHECK(err[0] != '\0', corrupt[i]);
		CHECK(st.n == 0 && st.e == NULL, corrupt[i]);
	}
}

static void test_time(void)
{
	uint64_t mono;
	const uint64_t now_mono = 5000ull * 1000000000ull;

	/* 3600 s ahead in wall time = 3600 s ahead on the monotonic clock. */
	CHECK(ctl_wall_to_mono(NOW + 3600, NOW, now_mono, &mono) &&
	      mono == now_mono + 3600ull * 1000000000ull, "future");
	CHECK(!ctl_wall_to_mono(NOW, NOW, now_mono, &mono), "now = expired");
	CHECK(!ctl_wall_to_mono(NOW - 1, NOW, now_mono, &mono), "past");
	/* Save rounds up: an entry never expires early after a restore. */
	CHECK(ctl_mono_to_wall(now_mono + 1, now_mono, NOW) == NOW + 1,
	      "round up");
	CHECK(ctl_mono_to_wall(now_mono + 3600ull * 1000000000ull, now_mono,
			       NOW) == NOW + 3600, "exact");
	CHECK(ctl_mono_to_wall(now_mono - 10ull * 1000000000ull, now_mono,
			       NOW) == NOW - 10, "created in the past");
	/* Save then restore on a different boot keeps the remaining TTL. */
	{
		int64_t w = ctl_mono_to_wall(now_mono + 90ull * 1000000000ull,
					     now_mono, NOW);
		const uint64_t boot2 = 7ull * 1000000000ull;

		CHECK(ctl_wall_to_mono(w, NOW + 30, boot2, &mono) &&
		      mono == boot2 + 60ull * 1000000000ull, "reboot");
	}
}

int main(void)
{
	test_roundtrip();
	test_other_layout();
	{
		struct ctl_state empty = {0}, back;
		char err[256] = "", *t = ctl_state_encode(&empty, NOW);

		CHECK(t && ctl_state_decode(t, strlen(t), &back, err,
					    sizeof(err)) == 0 && back.n == 0,
		      "empty list round trip");
		ctl_state_free(&back);
		free(t);
	}
	test_corrupt();
	test_time();
	return ctltest_done("test_state");
}
