// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_reconcile.c - connection-count repair decisions
 * (control/ctl_reconcile.c): only a difference between stored count and
 * live flows that stays identical over two passes is repaired; a count
 * that is moving (a SYN or FIN in between) is left alone.  Plus the source
 * key masking and a table large enough to grow several times.
 */
#include <arpa/inet.h>
#include <string.h>

#include "ctl_reconcile.h"
#include "ctltest.h"

static struct mxw_addr v4(unsigned n)
{
	static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					0xff, 0xff};
	struct mxw_addr a;

	/* by bytes: the layout may overlay a.a with wider words */
	memcpy(a.a, pfx, 12);
	a.a[12] = 10;
	a.a[13] = (uint8_t)(n >> 16);
	a.a[14] = (uint8_t)(n >> 8);
	a.a[15] = (uint8_t)n;
	return a;
}

struct src {
	unsigned id;
	uint32_t live;
	uint32_t stored;
};

/* One pass over the given sources; returns the number of fixes, and each
 * fixed value through fixes[id]. */
static int pass(struct ctl_rc *rc, const struct src *s, size_t n,
		uint32_t *fixes)
{
	int nfix = 0;

	CHECK(ctl_rc_begin(rc) == 0, "begin");
	for (size_t i = 0; i < n; i++)
		for (uint32_t f = 0; f < s[i].live; f++) {
			struct mxw_addr a = v4(s[i].id);

			CHECK(ctl_rc_flow(rc, &a) == 0, "flow");
		}
	for (size_t i = 0; i < n; i++) {
		struct mxw_addr a = v4(s[i].id);
		uint32_t v;

		if (ctl_rc_count(rc, &a, s[i].stored, &v)) {
			fixes[s[i].id] = v;
			nfix++;
		}
	}
	ctl_rc_end(rc);
	return nfix;
}

static void test_decisions(void)
{
	struct ctl_rc *rc = ctl_rc_new();
	uint32_t fix[8];
	/* A in sync; B leaked 2; C leaked its only slot; D a SYN in flight;
	 * E still moving; F went "negative" in the fast path. */
	struct src p1[] = {
		{0, 2, 2}, {1, 1, 3}, {2, 0, 1}, {3, 1, 2}, {4, 1, 3},
		{5, 0, 0xffffffffu},
	};
	struct src p2[] = {
		{0, 2, 2}, {1, 1, 3}, {2, 0, 1}, {3, 2, 2}, {4, 2, 4},
		{5, 0, 0xffffffffu},
	};
	struct src p3[] = {
		{0, 2, 2}, {1, 1, 1}, {2, 0, 0}, {3, 2, 2}, {4, 2, 4},
		{5, 0, 0},
	};

	CHECK(rc != NULL, "new");
	memset(fix, 0xee, sizeof(fix));
	CHECK(pass(rc, p1, 6, fix) == 0, "first pass never repairs");
	CHECK(pass(rc, p2, 6, fix) == 3, "second pass repairs B, C, F");
	CHECK(fix[1] == 1 && fix[2] == 0 && fix[5] == 0, "repaired values");
	CHECK(fix[0] == 0xeeeeeeee && fix[3] == 0xeeeeeeee &&
	      fix[4] == 0xeeeeeeee, "A, D, E untouched");
	memset(fix, 0xee, sizeof(fix));
	CHECK(pass(rc, p3, 6, fix) == 1 && fix[4] == 2,
	      "E repaired once its difference holds still");
	ctl_rc_free(rc);
}

static void test_many(void)
{
	struct ctl_rc *rc = ctl_rc_new();
	int fixed = 0;

	/* 20000 sources, every third one with one leaked slot. */
	for (int round = 0; round < 2; round++) {
		CHECK(ctl_rc_begin(rc) == 0, "begin");
		for (unsigned i = 0; i < 20000; i++) {
			struct mxw_addr a = v4(i);

			CHECK(ctl_rc_flow(rc, &a) == 0, "flow");
		}
		for (unsigned i = 0; i < 20000; i++) {
			struct mxw_addr a = v4(i);
			uint32_t v;

			if (ctl_rc_count(rc, &a, i % 3 ? 1 : 2, &v)) {
				fixed++;
				CHECK(v == 1, "value");
			}
		}
		ctl_rc_end(rc);
	}
	CHECK(fixed == 6667, "every leaked source repaired once");
	ctl_rc_free(rc);
}

static void test_source_key(void)
{
	struct mxw_addr a, k;

	a = v4(0x010203);
	ctl_rc_source_key(&k, &a, 64);
	CHECK(memcmp(&a, &k, sizeof(a)) == 0, "IPv4 unmasked");
	inet_pton(AF_INET6, "2001:db8:1:2:3:4:5:6", a.a);
	ctl_rc_source_key(&k, &a, 64);
	{
		struct mxw_addr want;

		inet_pton(AF_INET6, "2001:db8:1:2::", want.a);
		CHECK(memcmp(&want, &k, sizeof(k)) == 0, "IPv6 /64");
		ctl_rc_source_key(&k, &a, 56);
		inet_pton(AF_INET6, "2001:db8:1::", want.a);
		CHECK(memcmp(&want, &k, sizeof(k)) == 0, "IPv6 /56");
	}
}

int main(void)
{
	test_decisions();
	test_many();
	test_source_key();
	return ctltest_done("test_reconcile");
}
