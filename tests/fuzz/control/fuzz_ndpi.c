// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_ndpi.c - libFuzzer target for the nDPI classifier
 * (control/ctl_ndpi.c): every packet it is fed comes from the network,
 * and nDPI parses it after our own checks.  Input: records of
 *   [u8 control][u16 length, big endian][length bytes of IP packet]
 * where control bit 0 = from_client, bits 1..2 = session (4 sessions),
 * bit 7 = forget that session first.  A classifier of 2 slots, so
 * eviction runs too.  Properties: feed answers -1, 0 or 1; a result's name
 * is terminated; a session answers 1 at most once while it stays in the
 * table (a model of the 2-slot LRU tells when it was forgotten or
 * evicted).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_ndpi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_SESSIONS     4

/* The classifier's table as the target expects it: at most 2 sessions,
 * most recent first; answered[s] = session s answered since it entered. */
struct fz_model {
	int slot[2];            /* session, -1 = empty */
	int answered[FZ_SESSIONS];
};

static void fz_drop(struct fz_model *m, int s)
{
	if (m->slot[0] == s) {
		m->slot[0] = m->slot[1];
		m->slot[1] = -1;
	} else if (m->slot[1] == s) {
		m->slot[1] = -1;
	}
	m->answered[s] = 0;
}

/* s was fed (the packet passed the checks): it is now the most recent. */
static void fz_touch(struct fz_model *m, int s)
{
	if (m->slot[0] == s)
		return;
	if (m->slot[1] == s) {
		m->slot[1] = m->slot[0];
	} else {
		if (m->slot[1] >= 0)
			m->answered[m->slot[1]] = 0;    /* evicted */
		m->slot[1] = m->slot[0];
	}
	m->slot[0] = s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* nDPI's module takes milliseconds to set up: one for the process,
	 * sessions named afresh for every input and forgotten after it. */
	static struct ctl_ndpi *n;
	static uint64_t base;
	struct fz_model m = { { -1, -1 }, { 0 } };
	struct ctl_ndpi_result res;
	uint64_t now = 1;
	char err[128];
	size_t off = 0;

	if (!n && !(n = ctl_ndpi_new(2, err, sizeof(err))))
		abort();
	base += FZ_SESSIONS;
	while (off + 3 <= size) {
		uint8_t ctl = data[off];
		uint32_t len = (uint32_t)data[off + 1] << 8 | data[off + 2];
		int s = (ctl >> 1) & (FZ_SESSIONS - 1);
		uint8_t *pkt;
		int rc;

		off += 3;
		if (len > size - off)
			len = (uint32_t)(size - off);
		if (ctl & 0x80) {
			ctl_ndpi_forget(n, base + (uint64_t)s);
			fz_drop(&m, s);
		}
		/* exactly len bytes, so ASan sees any read past them */
		pkt = malloc(len ? len : 1);
		if (!pkt)
			abort();
		memcpy(pkt, data + off, len);
		memset(&res, 0xa5, sizeof(res));
		rc = ctl_ndpi_feed(n, base + (uint64_t)s, pkt, len, ctl & 1,
				   now++, &res);
		free(pkt);
		off += len;
		if (rc < -1 || rc > 1)
			abort();
		if (rc >= 0)
			fz_touch(&m, s);
		if (rc == 1) {
			if (!memchr(res.proto, 0, sizeof(res.proto)) ||
			    m.answered[s])
				abort();
			m.answered[s] = 1;
		}
	}
	for (int s = 0; s < FZ_SESSIONS; s++)
		ctl_ndpi_forget(n, base + (uint64_t)s);
	return 0;
}
