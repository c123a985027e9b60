/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctl_addr.h - textual IPv4/IPv6 addresses and CIDR prefixes <-> the
 * 16-byte mapped form of bpf/mxwall_shared.h.  Pure functions, no I/O.
 */
#ifndef CTL_ADDR_H
#define CTL_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest accepted text: a full IPv6 address with an embedded IPv4 tail
 * plus "/128".  Anything longer is rejected before parsing. */
#define CTL_ADDR_TEXT_MAX 64

/* A prefix in mapped form: IPv4 a.b.c.d/n is ::ffff:a.b.c.d/(96+n). */
struct ctl_prefix {
	uint8_t a[16];          /* network order, host bits zero */
	uint32_t plen;          /* 0..128, bits of the 128-bit form */
};

/* True for ::ffff:0:0/96 members, i.e. addresses written as IPv4. */
bool ctl_prefix_is_v4(const struct ctl_prefix *p);

/* True when the prefix names a single address (stored in an exact map). */
static inline bool ctl_prefix_is_host(const struct ctl_prefix *p)
{
	return p->plen == 128;
}

/*
 * Parse "a.b.c.d", "a.b.c.d/n", "x:y::z" or "x:y::z/n".  Host bits set
 * below the prefix length are an error, not silently cleared: an operator
 * typing 198.51.100.7/24 most likely meant something else.
 * Returns 0, or -EINVAL with a message in err.
 */
int ctl_prefix_parse(const char *s, struct ctl_prefix *out,
		     char *err, size_t errlen);

/* Format back: IPv4 form for mapped addresses; "/n" only below a host
 * length.  buf must hold CTL_ADDR_TEXT_MAX bytes. */
void ctl_prefix_format(const struct ctl_prefix *p, char *buf, size_t len);

/* Zero every bit past plen (used on keys coming back from the kernel). */
void ctl_prefix_mask(struct ctl_prefix *p);

#endif /* CTL_ADDR_H */
