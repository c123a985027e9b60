// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_insp.c - libFuzzer target for the flow table: packets of a few
 * flows, both directions, any flags, sequence numbers and payloads, with
 * small limits so that caps, budgets and expiry are all reached.
 * Input: records of [flow/dir byte][flags][seq u32 LE][len][bytes...];
 * a clock advances by the flow byte's top bits.  Invariants: the memory
 * budget is never exceeded and is back to zero once every flow expired.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "insp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_emit(void *ctx, const struct smtp_event *ev)
{
	if (ev->reason >= SMTP_R__COUNT || !memchr(ev->arg, '\0', sizeof(ev->arg)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t ports[4] = { 25, 587, 110, 143 };
	struct mxi_config cfg;
	struct mxi_table *t;
	struct mxi_stats st;
	uint64_t now = 1;
	size_t off = 0;

	mxi_config_default(&cfg);
	cfg.max_flows = 4;
	cfg.buckets = 4;
	cfg.mem_limit = 8192;
	cfg.tcp.max_ooo_bytes = 2048;
	cfg.tcp.max_ooo_segs = 8;
	cfg.tcp.max_window = 16384;
	cfg.idle_timeout_ns = 50;
	cfg.close_timeout_ns = 10;
	cfg.emit = fz_emit;
	cfg.smtp.local_domains[0] = "example.org";
	cfg.smtp.n_local_domains = 1;
	t = mxi_table_new(&cfg);
	if (!t)
		abort();
	while (off + 7 <= size) {
		uint8_t fl = data[off];
		struct mxi_pkt p;
		struct mxi_result res;
		unsigned flow = fl & 7;
		int from_client = !(fl & 8);
		size_t len = data[off + 6];

		memset(&p, 0, sizeof(p));
		p.src.a[10] = p.src.a[11] = 0xff;
		p.dst.a[10] = p.dst.a[11] = 0xff;
		p.src.a[15] = from_client ? (uint8_t)(10 + flow) : 1;
		p.dst.a[15] = from_client ? 1 : (uint8_t)(10 + flow);
		p.sport = from_client ? (uint16_t)(40000 + flow) : ports[flow & 3];
		p.dport = from_client ? ports[flow & 3] : (uint16_t)(40000 + flow);
		p.tcp_flags = data[off + 1];
		memcpy(&p.seq, data + off + 2, 4);
		p.ack = __builtin_bswap32(p.seq);     /* fuzzer-chosen too */
		off += 7;
		if (len > size - off)
			len = size - off;
		p.payload = data + off;
		p.len = (uint32_t)len;
		off += len;
		now += fl >> 4;
		mxi_feed(t, &p, now, &res);
		mxi_get_stats(t, &st);
		if (st.mem_used > cfg.mem_limit || st.flows > cfg.max_flows)
			abort();
	}
	mxi_expire(t, now + 1000, 1000);
	mxi_get_stats(t, &st);
	if (st.flows != 0 || st.mem_used != 0)
		abort();
	mxi_table_free(t);
	return 0;
}
