// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_tcpr.c - TCP reassembly: table of hand-made segment sequences with
 * the exact bytes and outcome bits expected, then a randomised property
 * test: any shuffle, duplication and consistent overlap of the segments of
 * a stream delivers exactly the stream, for ISNs on both sides of 2^32.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcpr.h"

#define OUT_MAX 4096

struct sink {
	uint8_t buf[OUT_MAX];
	size_t len;
	unsigned calls;
	size_t stop_after;      /* stop once this many bytes arrived; 0 never */
};

static int deliver(void *ctx, const uint8_t *d, uint32_t n)
{
	struct sink *s = ctx;

	if (s->len + n > OUT_MAX)
		abort();
	memcpy(s->buf + s->len, d, n);
	s->len += n;
	s->calls++;
	return s->stop_after && s->len >= s->stop_after;
}

struct seg {
	uint8_t flags;
	uint32_t off;           /* relative to ISN; SYN is at off 0 */
	const char *data;       /* NULL: no payload */
	uint32_t expect;        /* TCPR_R_* bits that must be set */
	uint32_t forbid;        /* TCPR_R_* bits that must be clear */
};

struct tcase {
	const char *label;
	uint32_t isn;
	struct tcpr_limits lim;
	size_t mem_limit;
	struct seg segs[12];
	const char *out;        /* bytes delivered in the end */
	uint8_t final_state;
};

#define LIM_DEF { 4096, 16, 1u << 20, 4096 }
#define ACKOP 0x80     /* not a segment: the peer acknowledges isn + off */
#define S_ 0x02
#define F_ 0x01
#define R_ 0x04
#define A_ 0x10
#define DLV TCPR_R_DELIVERED
#define BUF TCPR_R_BUFFERED

static const struct tcase cases[] = {
	{ "in order", 1000, LIM_DEF, 0, {
		{ S_, 0, NULL, 0, DLV },
		{ A_, 1, "HELO a\r\n", DLV, TCPR_R_DROP },
		{ A_, 9, "QUIT\r\n", DLV, 0 },
		{ 0 } }, "HELO a\r\nQUIT\r\n", TCPR_ST_OPEN },
	{ "retransmission forwarded, not redelivered", 1000, LIM_DEF, 0, {
		{ S_, 0, NULL, 0, 0 },
		{ A_, 1, "abcdef", DLV, 0 },
		{ A_, 1, "abcdef", TCPR_R_RETRANS, DLV | TCPR_R_DROP },
		{ A_, 4, "defgh", TCPR_R_RETRANS | DLV, 0 },
		{ 0 } }, "abcdefgh", TCPR_ST_OPEN },
	{ "out of order buffered then filled", 1000, LIM_DEF, 0, {
		{ S_, 0, NULL, 0, 0 },
		{ A_, 4, "def", BUF, DLV | TCPR_R_DROP },
		{ A_, 7, "ghi", BUF, DLV },
		{ A_, 1, "abc", DLV, BUF },
		{ 0 } }, "abcdefghi", TCPR_ST_OPEN },
	{ "overlap: first copy wins, consistent", 1000, LIM_DEF, 0, {
		{ S_, 0, NULL, 0, 0 },
		{ A_, 3, "cdef", BUF, 0 },
		{ A_, 1, "abcdefgh", DLV | TCPR_R_DUP_OOO, TCPR_R_MISMATCH },
		{ 0 } }, "abcdefgh", TCPR_ST_OPEN },
	{ "overlap with different bytes: dropped whole, first copy wins", 1000,
	  LIM_DEF, 0, {
		{ S_, 0, NULL, 0, 0 },
		{ A_, 3, "cdef", BUF, 0 },
		{ A_, 1, "abXYefgh", TCPR_R_MISMATCH | TCPR_R_DROP, DLV | BUF },
		{ A_, 1, "ab", DLV, 0 },
		{ 0 } }, "abcdef", TCPR_ST_OPEN },
	{ "mismatch between two buffered copies", 1000, LIM_DEF, 0, {
		{ S_, 0, NULL, 0, 0 },
		{ A_, 5, "efgh", BUF, 0 },
		{ A_, 3, "cdEFg", TCPR_R_MISMATCH | TCPR_R_DROP, BUF },
		{ A_, 1, "ab", DLV, 0 },
		{ A_, 3, "cd", DLV, 0 },
		{ 0 } }, "abcdefgh", TCPR_ST_OPEN },
	{ "sequence wraparound", 0xfffffffd, LIM_DEF, 0, {
		{ S_, 0, NULL, 0, 0 },
		{ A_, 5, "efgh", BUF, 0 },      /* seq 2: past the wrap */
		{ A_, 1, "abcd", DLV, 0 },      /* seq 0xfffffffe..1 */
		{ A_, 9, "ij", DLV, 0 },
		{ 0 } }, "abcdefghij", TCPR_ST_OPEN },
	{ "FIN in sequence ends the stream", 1000, LIM_DEF, 0, {
		{ S_, 0, NULL, 0, 0 },
		{ A_ | F_, 4, "def", BUF, TCPR_R_FIN },
		{ A_, 1, "abc", DLV | TCPR_R_FIN, 0 },
		{ A_, 6, "XX", TCPR_R_DROP | TCPR_R_AFTER_FIN, DLV },
		{ 0 } }, "abcdef", TCPR_ST_FIN },
	{ "RST off sequence ignored, in sequence honoured", 1000, LIM_DEF, 0, {
		{ S_, 0, NULL, 0, 0 },
		{ A_, 1, "abc", DLV, 0 },
		{ R_, 100, NULL, TCPR_R_RST_IGNORED, TCPR_R_RST },
		{ A_, 4, "def", DLV, 0 },
		{ R_, 7, NULL, TCPR_R_RST, 0 },
		{ A_, 7, "ghi", 0, DLV },
		{ 0 } }, "abcdef", TCPR_ST_RST },
	{ "segment limit: dropped, not buffered", 1000, { 4096, 2, 1u << 20, 4096 }, 0, {
		{ S_, 0, NULL, 0, 0 },
		{ A_, 3, "c", BUF, 0 },
		{ A_, 5, "e", BUF, 0 },
		{ A_, 7, "g", TCPR_R_OOO_LIMIT | TCPR_R_DROP, BUF },
		{ A_, 1, "ab", DLV, 0 },
		{ A_, 4, "d", DLV, 0 },
		{ A_, 6, "fgh", DLV, 0 },
		{ 0 } }, "abcdefgh", TCPR_ST_OPEN },
	{ "byte limit: dropped", 1000, { 4, 16, 1u << 20, 4096 }, 0, {
		{ S_, 0, NULL, 0, 0 },
		{ A_, 3, "cde", BUF, 0 },
		{ A_, 6, "fg", TCPR_R_OOO_LIMIT | TCPR_R_DROP, 0 },
		{ A_, 1, "ab", DLV, 0 },
		{ 0 } }, "abcde", TCPR_ST_OPEN },
	{ "global budget: dropped", 1000, LIM_DEF, 40, {
		{ S_, 0, NULL, 0, 0 },
		{ A_, 3, "0123456789012345678901234567890123456789",
		  TCPR_R_OOO_LIMIT | TCPR_R_DROP, BUF },
		{ A_, 1, "ab", DLV, 0 },
		{ 0 } }, "ab", TCPR_ST_OPEN },
	{ "beyond the window: dropped", 1000, { 4096, 16, 100, 4096 }, 0, {
		{ S_, 0, NULL, 0, 0 },
		{ A_, 200, "far", TCPR_R_WINDOW | TCPR_R_DROP, BUF },
		{ A_, 1, "ab", DLV, 0 },
		{ 0 } }, "ab", TCPR_ST_OPEN },
	{ "retransmission differing from unacked bytes: mismatch", 1000, LIM_DEF, 0, {
		{ S_, 0, NULL, 0, 0 },
		{ A_, 1, "MAIL FROM:<a@b>\r\n", DLV, 0 },
		{ A_, 1, "VRFY root\r\n", TCPR_R_RETRANS | TCPR_R_MISMATCH | TCPR_R_DROP, DLV },
		{ A_, 1, "MAIL FROM:<a@b>\r\n", TCPR_R_RETRANS, TCPR_R_MISMATCH },
		{ 0 } }, "MAIL FROM:<a@b>\r\n", TCPR_ST_OPEN },
	{ "acknowledged bytes are released, their retransmissions harmless",
	  1000, LIM_DEF, 0, {
		{ S_, 0, NULL, 0, 0 },
		{ A_, 1, "abcdefgh", DLV, 0 },
		{ ACKOP, 5, NULL, 0, 0 },                 /* abcd acknowledged */
		{ A_, 1, "XXXX", TCPR_R_RETRANS, TCPR_R_MISMATCH | TCPR_R_UNCHECKED },
		{ A_, 4, "XXf", TCPR_R_RETRANS | TCPR_R_MISMATCH, 0 },  /* e != X */
		{ ACKOP, 9, NULL, 0, 0 },
		{ A_, 5, "XXXX", TCPR_R_RETRANS, TCPR_R_MISMATCH | TCPR_R_UNCHECKED },
		{ 0 } }, "abcdefgh", TCPR_ST_OPEN },
	{ "unacked bytes beyond max_unacked: unchecked", 1000,
	  { 4096, 16, 1u << 20, 4 }, 0, {
		{ S_, 0, NULL, 0, 0 },
		{ A_, 1, "abcdefgh", DLV, 0 },
		{ A_, 1, "XX", TCPR_R_RETRANS | TCPR_R_UNCHECKED, TCPR_R_MISMATCH },
		{ A_, 5, "eXgh", TCPR_R_RETRANS | TCPR_R_MISMATCH, TCPR_R_UNCHECKED },
		{ 0 } }, "abcdefgh", TCPR_ST_OPEN },
	{ "segment straddling half the sequence space: dropped (fuzz find)",
	  0x80000000, LIM_DEF, 0, {
		{ S_, 0, NULL, 0, 0 },
		{ A_, 0x80000000, "abcd", TCPR_R_WINDOW | TCPR_R_DROP,
		  DLV | TCPR_R_RETRANS },
		{ A_, 1, "ok", DLV, 0 },
		{ 0 } }, "ok", TCPR_ST_OPEN },
	{ "mid-stream pickup", 5000, LIM_DEF, 0, {
		{ A_, 10, "RSET\r\n", TCPR_R_MIDSTREAM | DLV, 0 },
		{ A_, 16, "QUIT\r\n", DLV, TCPR_R_MIDSTREAM },
		{ 0 } }, "RSET\r\nQUIT\r\n", TCPR_ST_OPEN },
	{ "SYN retransmitted with a new ISN before data", 1000, LIM_DEF, 0, {
		{ S_, 0, NULL, 0, 0 },
		{ S_, 50, NULL, 0, 0 },
		{ A_, 51, "new", DLV, 0 },
		{ 0 } }, "new", TCPR_ST_OPEN },
};

static int run_case(const struct tcase *tc)
{
	struct tcpr_stream st;
	struct mxi_mem mem = { .limit = tc->mem_limit };
	struct sink sk = { .len = 0 };
	int ok = 1, i;

	tcpr_init(&st);
	for (i = 0; tc->segs[i].flags || tc->segs[i].data; i++) {
		const struct seg *sg = &tc->segs[i];
		uint32_t len = sg->data ? (uint32_t)strlen(sg->data) : 0;
		uint32_t r;

		if (sg->flags == ACKOP) {
			tcpr_ack(&st, &mem, tc->isn + sg->off);
			continue;
		}
		r = tcpr_segment(&st, &tc->lim, &mem, sg->flags, tc->isn + sg->off,
				 (const uint8_t *)sg->data, len, deliver, &sk);

		if ((r & sg->expect) != sg->expect || (r & sg->forbid)) {
			printf("# %s: segment %d: outcome 0x%x, want 0x%x set, 0x%x clear\n",
			       tc->label, i, r, sg->expect, sg->forbid);
			ok = 0;
		}
	}
	if (sk.len != strlen(tc->out) || memcmp(sk.buf, tc->out, sk.len)) {
		printf("# %s: delivered \"%.*s\", want \"%s\"\n", tc->label,
		       (int)sk.len, sk.buf, tc->out);
		ok = 0;
	}
	if (st.state != tc->final_state) {
		printf("# %s: state %u, want %u\n", tc->label, st.state,
		       tc->final_state);
		ok = 0;
	}
	tcpr_release(&st, &mem);
	if (mem.used) {
		printf("# %s: %zu bytes left charged\n", tc->label, mem.used);
		ok = 0;
	}
	mxi_mem_drain(&mem);
	return ok;
}

/* ---- property test: shuffles, duplicates, overlaps ---------------- */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

struct pseg {
	uint32_t off, len;
};

static int property_run(uint64_t seed, uint32_t isn, int stop_early)
{
	uint8_t stream[2000];
	struct pseg segs[200];
	unsigned n = 0, i;
	uint32_t total = 200 + rnd() % 1800, off = 0;
	struct tcpr_stream st;
	struct tcpr_limits lim = { 1u << 20, 1024, 1u << 20, 512 };
	struct mxi_mem mem = { 0 };
	struct sink sk = { .len = 0 };
	int ok = 1;

	rng_state = seed;
	for (i = 0; i < total; i++)
		stream[i] = (uint8_t)rnd();
	/* base segmentation */
	while (off < total && n < 100) {
		uint32_t l = 1 + rnd() % 60;

		if (off + l > total || n == 99)
			l = total - off;
		segs[n++] = (struct pseg){ off, l };
		off += l;
	}
	/* duplicates and overlapping re-sends of consistent bytes */
	for (i = 0; i < 40 && n < 200; i++) {
		uint32_t a = rnd() % total, l = 1 + rnd() % 80;

		if (a + l > total)
			l = total - a;
		segs[n++] = (struct pseg){ a, l };
	}
	/* shuffle */
	for (i = n - 1; i > 0; i--) {
		unsigned j = rnd() % (i + 1);
		struct pseg t = segs[i];

		segs[i] = segs[j];
		segs[j] = t;
	}
	if (stop_early)
		sk.stop_after = total / 2;
	tcpr_init(&st);
	tcpr_segment(&st, &lim, &mem, TCPR_F_SYN, isn, NULL, 0, deliver, &sk);
	for (i = 0; i < n; i++) {
		uint32_t r = tcpr_segment(&st, &lim, &mem, TCPR_F_ACK,
					  isn + 1 + segs[i].off,
					  stream + segs[i].off, segs[i].len,
					  deliver, &sk);

		if (r & (TCPR_R_MISMATCH | TCPR_R_DROP)) {
			printf("# seed %llu: unexpected outcome 0x%x\n",
			       (unsigned long long)seed, r);
			ok = 0;
		}
		if (r & TCPR_R_STOPPED)
			break;
	}
	if (stop_early) {
		if (sk.len < total / 2 || memcmp(sk.buf, stream, sk.len))
			ok = 0;
	} else if (sk.len != total || memcmp(sk.buf, stream, total)) {
		printf("# seed %llu isn %u: delivered %zu of %u bytes or wrong\n",
		       (unsigned long long)seed, isn, sk.len, total);
		ok = 0;
	}
	tcpr_release(&st, &mem);
	if (mem.used)
		ok = 0;
	mxi_mem_drain(&mem);
	return ok;
}

int main(void)
{
	size_t i;
	unsigned fails = 0, pfail = 0;
	uint64_t seed;
	static const uint32_t isns[] = { 0, 1000, 0x7fffff00, 0xffffff00,
					 0xfffffff0 };

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ok = run_case(&cases[i]);

		printf("%s - %s\n", ok ? "ok" : "not ok", cases[i].label);
		fails += !ok;
	}
	for (seed = 1; seed <= 2000; seed++) {
		uint32_t isn = isns[seed % 5] - (uint32_t)(seed % 7) * 300;

		pfail += !property_run(seed * 2654435761u, isn, 0);
		pfail += !property_run(seed * 2654435761u + 1, isn, seed % 3 == 0);
	}
	printf("%s - shuffled, duplicated, overlapping segments deliver the stream (4000 runs)\n",
	       pfail ? "not ok" : "ok");
	fails += pfail != 0;
	return fails ? 1 : 0;
}
