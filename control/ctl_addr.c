// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctl_addr.c - address and CIDR parsing for the control socket, the config
 * file and the state file.  IPv4 is stored IPv4-mapped (RFC 4291 2.5.5.2),
 * as the shared BPF header requires, so an IPv4 /24 becomes a /120.
 * The text is bounded and checked character by character before inet_pton
 * sees it; the prefix length is parsed with explicit bounds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl_addr.h"

static const uint8_t ctl_v4_mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

bool ctl_prefix_is_v4(const struct ctl_prefix *p)
{
	return p->plen >= 96 && memcmp(p->a, ctl_v4_mapped, 12) == 0;
}

void ctl_prefix_mask(struct ctl_prefix *p)
{
	uint32_t i;

	for (i = 0; i < 16; i++) {
		uint32_t bit0 = i * 8;

		if (bit0 >= p->plen)
			p->a[i] = 0;
		else if (bit0 + 8 > p->plen)
			p->a[i] &= (uint8_t)(0xff << (8 - (p->plen - bit0)));
	}
}

/* Decimal 0..max, digits only, no sign, no leading zeros beyond "0". */
static int ctl_parse_plen(const char *s, uint32_t max, uint32_t *out)
{
	uint32_t v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int ctl_prefix_parse(const char *s, struct ctl_prefix *out,
		     char *err, size_t errlen)
{
	char buf[CTL_ADDR_TEXT_MAX];
	char *slash;
	size_t n;
	bool v6 = false;
	uint32_t plen;
	struct ctl_prefix p;

	n = strnlen(s, CTL_ADDR_TEXT_MAX);
	if (n == 0 || n >= CTL_ADDR_TEXT_MAX) {
		snprintf(err, errlen, "address must be 1..%d characters",
			 CTL_ADDR_TEXT_MAX - 1);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == ':')
			v6 = true;
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		      (c >= 'A' && c <= 'F') || c == '.' || c == ':' ||
		      c == '/')) {
			snprintf(err, errlen, "invalid character in address");
			return -EINVAL;
		}
	}
	memcpy(buf, s, n + 1);
	memset(&p, 0, sizeof(p));
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';

	if (v6) {
		if (inet_pton(AF_INET6, buf, p.a) != 1) {
			snprintf(err, errlen, "invalid IPv6 address");
			return -EINVAL;
		}
		plen = 128;
		if (slash && ctl_parse_plen(slash, 128, &plen) < 0) {
			snprintf(err, errlen,
				 "invalid IPv6 prefix length (0..128)");
			return -EINVAL;
		}
		p.plen = plen;
		/* IPv4 is stored as ::ffff:a.b.c.d, so an IPv6 prefix shorter
		 * than /96 that covers ::ffff:0:0/96 (::/0, ::/64, ...) would
		 * silently match every IPv4 source too. */
		if (plen < 96) {
			struct ctl_prefix m = { .plen = plen };

			memcpy(m.a, ctl_v4_mapped, 12);
			ctl_prefix_mask(&m);
			if (memcmp(m.a, p.a, 16) == 0) {
				snprintf(err, errlen,
					 "IPv6 prefix covers ::ffff:0:0/96, "
					 "where IPv4 is stored: list IPv4 and "
					 "IPv6 prefixes separately (e.g. "
					 "0.0.0.0/0 and 2000::/3)");
				return -EINVAL;
			}
		}
	} else {
		struct in_addr v4;

		if (inet_pton(AF_INET, buf, &v4) != 1) {
			snprintf(err, errlen, "invalid IPv4 address");
			return -EINVAL;
		}
		plen = 32;
		if (slash && ctl_parse_plen(slash, 32, &plen) < 0) {
			snprintf(err, errlen,
				 "invalid IPv4 prefix length (0..32)");
			return -EINVAL;
		}
		memcpy(p.a, ctl_v4_mapped, 12);
		memcpy(p.a + 12, &v4, 4);
		p.plen = 96 + plen;
	}

	struct ctl_prefix masked = p;

	ctl_prefix_mask(&masked);
	if (memcmp(masked.a, p.a, 16) != 0) {
		snprintf(err, errlen,
			 "host bits set below the prefix length");
		return -EINVAL;
	}
	*out = p;
	return 0;
}

void ctl_prefix_format(const struct ctl_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (ctl_prefix_is_v4(p)) {
		inet_ntop(AF_INET, p->a + 12, a, sizeof(a));
		if (p->plen == 128)
			snprintf(buf, len, "%s", a);
		else
			snprintf(buf, len, "%s/%u", a, p->plen - 96);
		return;
	}
	inet_ntop(AF_INET6, p->a, a, sizeof(a));
	if (p->plen == 128)
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s/%u", a, p->plen);
}
