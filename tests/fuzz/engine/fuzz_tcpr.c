// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_tcpr.c - libFuzzer target for TCP reassembly.
 *
 * The payload of every segment is a function of its sequence numbers
 * (byte at seq x is x * 131 >> 3), so all copies of a range agree and the
 * reassembler must deliver, in order and without gaps or repeats, exactly
 * those bytes, and must never report a mismatch.  The fuzzer picks flags,
 * offsets, lengths, acknowledgements and the ISN.  Input: 4 bytes ISN,
 * then records of 5 bytes: flags, offset (u16 LE, relative to ISN),
 * length (u16 LE, <= 1500); flags bit 7 makes the record an acknowledgement
 * of isn + offset instead of a segment.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tcpr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	uint32_t next;      /* sequence number of the next byte expected */
	int started;
};

static uint8_t byte_at(uint32_t seq)
{
	return (uint8_t)((seq * 131u) >> 3);
}

static int fz_deliver(void *ctx, const uint8_t *d, uint32_t n)
{
	struct fz *f = ctx;
	uint32_t i;

	for (i = 0; i < n; i++)
		if (d[i] != byte_at(f->next + i))
			abort();
	f->next += n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[1500];
	struct tcpr_stream st;
	struct tcpr_limits lim = { 8192, 32, 65536, 3000 };
	struct mxi_mem mem = { .limit = 16384 };
	struct fz f = { 0 };
	uint32_t isn;
	size_t off = 4;

	if (size < 4)
		return 0;
	memcpy(&isn, data, 4);
	tcpr_init(&st);
	while (off + 5 <= size) {
		uint8_t flags = data[off];
		uint32_t rel = data[off + 1] | (uint32_t)data[off + 2] << 8;
		uint32_t len = (data[off + 3] | (uint32_t)data[off + 4] << 8) % 1501;
		uint32_t seq = isn + rel, i, r, base;

		off += 5;
		if (flags & 0x80) {
			/* not a segment: the peer acknowledges isn + rel */
			tcpr_ack(&st, &mem, seq);
			if (st.ret_len > lim.max_unacked)
				abort();
			continue;
		}
		/* payload starts after the SYN's sequence number */
		base = (flags & TCPR_F_SYN) ? seq + 1 : seq;
		for (i = 0; i < len; i++)
			buf[i] = byte_at(base + i);
		/* where the stream starts, as tcpr_segment() will decide */
		if (!(flags & TCPR_F_RST) &&
		    (st.state == TCPR_ST_NONE ||
		     (st.state == TCPR_ST_SYN && (flags & TCPR_F_SYN) &&
		      !(st.flags & TCPR_SF_DELIVERED))))
			f.next = base;
		r = tcpr_segment(&st, &lim, &mem, flags, seq, buf, len,
				 fz_deliver, &f);
		if (r & TCPR_R_MISMATCH)
			abort();
		if (st.ooo_bytes > lim.max_ooo_bytes || st.ooo_segs > lim.max_ooo_segs)
			abort();
		if ((r & TCPR_R_DELIVERED) && f.next != st.next &&
		    !(st.state == TCPR_ST_FIN && f.next + 1 == st.next))
			abort();
	}
	tcpr_release(&st, &mem);
	if (mem.used)
		abort();
	mxi_mem_drain(&mem);
	return 0;
}
