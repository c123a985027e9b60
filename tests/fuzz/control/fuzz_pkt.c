// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_pkt.c - libFuzzer target for the frame parser and RST builder
 * (control/ctl_pkt.c): every frame of the inspection path comes from the
 * network.  Properties: a parsed segment lies inside the frame; its RSTs
 * fit CTL_PKT_RST_MAX and parse back as RSTs with the right ports.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_pkt.h"
#include "tcpr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_rst(const uint8_t *r, size_t len, uint16_t sport,
		      uint16_t dport)
{
	struct mxi_pkt p;
	struct ctl_pkt_info in;

	if (len > CTL_PKT_RST_MAX)
		abort();
	if (ctl_pkt_parse(r, len, &p, &in) != CTL_PKT_OK)
		abort();
	if (!(p.tcp_flags & TCPR_F_RST) || p.len != 0 || p.sport != sport ||
	    p.dport != dport)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t a[CTL_PKT_RST_MAX], b[CTL_PKT_RST_MAX];
	size_t la, lb;
	struct mxi_pkt p;
	struct ctl_pkt_info in;
	/* a copy of exactly size bytes, so ASan sees any read past it */
	uint8_t *f = malloc(size ? size : 1);

	if (!f)
		return 0;
	memcpy(f, data, size);
	if (ctl_pkt_parse(f, size, &p, &in) != CTL_PKT_OK)
		goto out;
	if (in.payload_off > size || (size_t)in.l3_off + in.ip_len > size ||
	    p.payload != f + in.payload_off ||
	    in.payload_off + (size_t)p.len != (size_t)in.l3_off + in.ip_len)
		abort();
	if (ctl_pkt_build_rsts(f, &in, size & 1, a, &la, b, &lb) != 0)
		abort();
	if (size & 1) {
		check_rst(a, la, p.sport, p.dport);
		check_rst(b, lb, p.dport, p.sport);
	} else {
		check_rst(b, lb, p.sport, p.dport);
		check_rst(a, la, p.dport, p.sport);
	}
out:
	free(f);
	return 0;
}
