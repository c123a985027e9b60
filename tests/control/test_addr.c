// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_addr.c - address and CIDR parsing (control/ctl_addr.c): every row
 * is {input, accepted, canonical text, prefix length in mapped bits}.
 */
#include <string.h>

#include "ctl_addr.h"
#include "ctltest.h"

struct addr_case {
	const char *in;
	int ok;
	const char *canon;
	unsigned plen;
};

static const struct addr_case cases[] = {
	{"198.51.100.7", 1, "198.51.100.7", 128},
	{"198.51.100.7/32", 1, "198.51.100.7", 128},
	{"198.51.100.0/24", 1, "198.51.100.0/24", 120},
	{"0.0.0.0/0", 1, "0.0.0.0/0", 96},
	{"10.0.0.0/8", 1, "10.0.0.0/8", 104},
	{"192.0.2.128/25", 1, "192.0.2.128/25", 121},
	{"2001:db8::1", 1, "2001:db8::1", 128},
	{"2001:DB8::1", 1, "2001:db8::1", 128},
	{"2001:db8::/32", 1, "2001:db8::/32", 32},
	{"2001:db8:1::/48", 1, "2001:db8:1::/48", 48},
	{"::/96", 1, "::/96", 96},
	{"2000::/3", 1, "2000::/3", 3},
	/* IPv6 prefixes that would also cover every IPv4 source */
	{"::/0", 0, NULL, 0},
	{"::/64", 0, NULL, 0},
	{"::ffff:0:0/95", 0, NULL, 0},
	{"::1/128", 1, "::1", 128},
	{"::ffff:192.0.2.1", 1, "192.0.2.1", 128},
	{"::ffff:192.0.2.0/120", 1, "192.0.2.0/24", 120},
	/* host bits set below the prefix length */
	{"198.51.100.7/24", 0, NULL, 0},
	{"2001:db8::1/64", 0, NULL, 0},
	{"192.0.2.1/31", 0, NULL, 0},
	/* malformed */
	{"", 0, NULL, 0},
	{"198.51.100", 0, NULL, 0},
	{"198.51.100.256", 0, NULL, 0},
	{"198.51.100.0/33", 0, NULL, 0},
	{"198.51.100.0/", 0, NULL, 0},
	{"198.51.100.0/-1", 0, NULL, 0},
	{"198.51.100.0/024", 0, NULL, 0},
	{"198.51.100.0/24/24", 0, NULL, 0},
	{"2001:db8::/129", 0, NULL, 0},
	{"2001:db8:::1", 0, NULL, 0},
	{"fe80::1%eth0", 0, NULL, 0},
	{" 198.51.100.1", 0, NULL, 0},
	{"198.51.100.1 ", 0, NULL, 0},
	{"example.com", 0, NULL, 0},
	{"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd:eeee", 0,
	 NULL, 0},
};

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct addr_case *c = &cases[i];
		struct ctl_prefix p;
		char err[128] = "", text[CTL_ADDR_TEXT_MAX];
		int rc = ctl_prefix_parse(c->in, &p, err, sizeof(err));

		CHECK((rc == 0) == c->ok, c->in);
		if (!c->ok) {
			CHECK(err[0] != '\0', c->in);
			continue;
		}
		if (rc)
			continue;
		CHECK(p.plen == c->plen, c->in);
		ctl_prefix_format(&p, text, sizeof(text));
		CHECK(strcmp(text, c->canon) == 0, c->in);
		/* The canonical form parses back to the same prefix. */
		{
			struct ctl_prefix q;

			CHECK(ctl_prefix_parse(text, &q, err, sizeof(err)) == 0,
			      c->in);
			CHECK(memcmp(&p, &q, sizeof(p)) == 0, c->in);
		}
	}
	/* IPv4 is stored IPv4-mapped, as mxwall_shared.h requires. */
	{
		struct ctl_prefix p;
		char err[128];
		static const unsigned char want[16] = {
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 9
		};

		CHECK(ctl_prefix_parse("192.0.2.9", &p, err, sizeof(err)) == 0,
		      "mapped");
		CHECK(memcmp(p.a, want, 16) == 0, "mapped");
		CHECK(ctl_prefix_is_v4(&p) && ctl_prefix_is_host(&p), "mapped");
	}
	/* Masking, as applied to keys read back from a trie. */
	{
		struct ctl_prefix p = {.plen = 100};

		memset(p.a, 0xff, 16);
		ctl_prefix_mask(&p);
		CHECK(p.a[11] == 0xff && p.a[12] == 0xf0 && p.a[13] == 0,
		      "mask 100");
	}
	return ctltest_done("test_addr");
}
