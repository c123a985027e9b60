// SPDX-License-Identifier: GPL-2.0-only
/*
 * tcpr.c - TCP reassembly of one direction of one connection.
 *
 * Decisions a reader would otherwise reverse-engineer:
 *  - Overlap policy is FIRST WINS: bytes that reached us first (delivered
 *    or buffered) are the truth; a later copy of the same range is compared
 *    where we still hold the first copy, and a difference is reported as
 *    TCPR_R_MISMATCH (an evasion attempt: the server may pick the other
 *    copy).  Buffered segments never overlap each other: only the parts of
 *    a new segment not already held are stored.
 *  - Bytes already delivered are not kept, so a retransmission of them is
 *    forwarded without comparison.  This is safe when the caller drops
 *    segments with a bad checksum (the server then holds the first copy,
 *    which we inspected).  XXX: a first copy lost between us and the server
 *    lets a different retransmitted copy through uninspected; keeping the
 *    delivered-but-unacknowledged bytes would close this at a memory cost.
 *  - Out-of-order segments are forwarded and buffered.  That is safe
 *    inline: the server cannot use them before the gap is filled, and the
 *    gap-filling packet is judged together with them.  At a limit (segments,
 *    bytes, global budget, window) the segment is neither buffered nor
 *    forwarded (TCPR_R_DROP): the sender retransmits it later.
 *  - RST is honoured only at exactly the next expected sequence number, as
 *    RFC 5961 3.2 has receivers do; other RSTs are ignored (and the server
 *    ignores them too), so a blind RST cannot end our inspection.
 *  - A stream whose first segment is not a SYN is picked up mid-stream at
 *    that segment's sequence number (flows open before the daemon started).
 */
#include <string.h>

#include "tcpr.h"

void tcpr_init(struct tcpr_stream *st)
{
	memset(st, 0, sizeof(*st));
}

void tcpr_release(struct tcpr_stream *st, struct mxi_mem *mem)
{
	struct tcpr_seg *s = st->ooo, *n;

	for (; s; s = n) {
		n = s->next;
		mxi_mem_free(mem, s, sizeof(*s) + s->len);
	}
	st->ooo = NULL;
	st->ooo_bytes = 0;
	st->ooo_segs = 0;
}

static void seg_pop(struct tcpr_stream *st, struct mxi_mem *mem)
{
	struct tcpr_seg *h = st->ooo;

	st->ooo = h->next;
	st->ooo_bytes -= h->len;
	st->ooo_segs--;
	mxi_mem_free(mem, h, sizeof(*h) + h->len);
}

/* Compare [s,e) of the new segment with every buffered byte it overlaps. */
static uint32_t overlap_check(const struct tcpr_stream *st, const uint8_t *d,
			      uint32_t s, uint32_t e)
{
	const struct tcpr_seg *g;
	uint32_t r = 0;

	for (g = st->ooo; g; g = g->next) {
		uint32_t gs = g->seq, ge = g->seq + g->len, lo, hi;

		if (tcpr_seq_leq(e, gs))
			break;
		if (tcpr_seq_leq(ge, s))
			continue;
		lo = tcpr_seq_lt(gs, s) ? s : gs;
		hi = tcpr_seq_lt(ge, e) ? ge : e;
		r |= TCPR_R_DUP_OOO;
		if (memcmp(d + (lo - s), g->data + (lo - gs), hi - lo) != 0)
			r |= TCPR_R_MISMATCH;
	}
	return r;
}

/*
 * Deliver from st->next on: buffered bytes where they start at or before
 * next (first wins), new bytes [s,e) in between.  Stops when neither
 * continues the stream or the callback says stop.
 */
static uint32_t deliver_run(struct tcpr_stream *st, struct mxi_mem *mem,
			    const uint8_t *d, uint32_t s, uint32_t e,
			    tcpr_deliver_fn deliver, void *ctx)
{
	uint32_t r = 0;

	for (;;) {
		struct tcpr_seg *h = st->ooo;

		if (h && tcpr_seq_leq(h->seq, st->next)) {
			uint32_t off = st->next - h->seq, hend = h->seq + h->len;
			int stop = 0;

			if (off < h->len) {
				st->next = hend;
				st->flags |= TCPR_SF_DELIVERED;
				r |= TCPR_R_DELIVERED;
				stop = deliver(ctx, h->data + off, h->len - off);
			}
			seg_pop(st, mem);
			if (stop)
				return r | TCPR_R_STOPPED;
			continue;
		}
		if (d && tcpr_seq_leq(s, st->next) && tcpr_seq_lt(st->next, e)) {
			uint32_t lim = e, from = st->next;

			if (h && tcpr_seq_lt(h->seq, lim))
				lim = h->seq;
			st->next = lim;
			st->flags |= TCPR_SF_DELIVERED;
			r |= TCPR_R_DELIVERED;
			if (deliver(ctx, d + (from - s), lim - from))
				return r | TCPR_R_STOPPED;
			continue;
		}
		return r;
	}
}

/*
 * Store the parts of [s,e) not already buffered.  All-or-nothing: the
 * limits are checked for the whole segment before anything is stored.
 */
static uint32_t buffer_segment(struct tcpr_stream *st,
			       const struct tcpr_limits *lim,
			       struct mxi_mem *mem, const uint8_t *d,
			       uint32_t s, uint32_t e)
{
	struct tcpr_seg **pp, *g;
	uint32_t c, pieces = 0, bytes = 0;

	/* pass 1: count the uncovered pieces */
	c = s;
	for (g = st->ooo; g && tcpr_seq_lt(c, e); g = g->next) {
		uint32_t ge = g->seq + g->len;

		if (tcpr_seq_leq(ge, c))
			continue;
		if (tcpr_seq_lt(c, g->seq)) {
			uint32_t pe = tcpr_seq_lt(g->seq, e) ? g->seq : e;

			pieces++;
			bytes += pe - c;
		}
		if (tcpr_seq_lt(c, ge))
			c = ge;
	}
	if (tcpr_seq_lt(c, e)) {
		pieces++;
		bytes += e - c;
	}
	if (!pieces)
		return 0;
	if (st->ooo_segs + pieces > lim->max_ooo_segs ||
	    st->ooo_bytes + bytes > lim->max_ooo_bytes)
		return TCPR_R_OOO_LIMIT | TCPR_R_DROP;
	if (mem && mem->limit &&
	    mem->used + bytes + pieces * sizeof(struct tcpr_seg) > mem->limit) {
		mem->failures++;
		return TCPR_R_OOO_LIMIT | TCPR_R_DROP;
	}

	/* pass 2: insert them, list stays sorted */
	c = s;
	pp = &st->ooo;
	while (tcpr_seq_lt(c, e)) {
		uint32_t pe;
		struct tcpr_seg *n;

		g = *pp;
		if (g && tcpr_seq_leq(g->seq + g->len, c)) {
			pp = &g->next;
			continue;
		}
		if (g && tcpr_seq_leq(g->seq, c)) {
			c = g->seq + g->len;
			pp = &g->next;
			continue;
		}
		pe = (g && tcpr_seq_lt(g->seq, e)) ? g->seq : e;
		n = mxi_mem_alloc(mem, sizeof(*n) + (pe - c));
		if (!n)         /* only if malloc itself failed */
			return TCPR_R_OOO_LIMIT | TCPR_R_DROP;
		n->seq = c;
		n->len = pe - c;
		memcpy(n->data, d + (c - s), n->len);
		n->next = g;
		*pp = n;
		pp = &n->next;
		st->ooo_segs++;
		st->ooo_bytes += n->len;
		c = pe;
	}
	return TCPR_R_BUFFERED;
}

/* Handle the FIN once the stream has reached it. */
static uint32_t check_fin(struct tcpr_stream *st, struct mxi_mem *mem)
{
	if ((st->flags & TCPR_SF_FIN_SEEN) && st->state == TCPR_ST_OPEN &&
	    st->next == st->fin_seq) {
		st->state = TCPR_ST_FIN;
		st->next = st->fin_seq + 1;
		tcpr_release(st, mem);
		return TCPR_R_FIN;
	}
	return 0;
}

/* Judge one segment of this direction; see the TCPR_R_* bits. */
uint32_t tcpr_segment(struct tcpr_stream *st, const struct tcpr_limits *lim,
		      struct mxi_mem *mem, uint8_t tcp_flags, uint32_t seq,
		      const uint8_t *data, uint32_t len,
		      tcpr_deliver_fn deliver, void *ctx)
{
	uint32_t r = 0, s, e;

	if (st->state == TCPR_ST_RST)
		return 0;

	if (tcp_flags & TCPR_F_RST) {
		/* RFC 5961 3.2: only an RST at exactly rcv_nxt ends the stream. */
		if (st->state == TCPR_ST_NONE || seq == st->next ||
		    (st->state == TCPR_ST_FIN && seq + 1 == st->next)) {
			st->state = TCPR_ST_RST;
			tcpr_release(st, mem);
			return TCPR_R_RST;
		}
		return TCPR_R_RST_IGNORED;
	}

	if (tcp_flags & TCPR_F_SYN) {
		if (st->state == TCPR_ST_NONE ||
		    (st->state == TCPR_ST_SYN && !(st->flags & TCPR_SF_DELIVERED))) {
			/* first SYN, or a SYN retransmitted with a new ISN */
			st->state = TCPR_ST_SYN;
			st->next = seq + 1;
		}
		seq++;          /* the SYN occupies one sequence number */
	} else if (st->state == TCPR_ST_NONE) {
		if (!len && !(tcp_flags & TCPR_F_FIN))
			return 0;   /* a bare ACK tells nothing yet */
		st->state = TCPR_ST_OPEN;
		st->flags |= TCPR_SF_MIDSTREAM;
		st->next = seq;
		r |= TCPR_R_MIDSTREAM;
	}
	if (st->state == TCPR_ST_SYN && len)
		st->state = TCPR_ST_OPEN;

	s = seq;
	e = seq + len;

	if (tcp_flags & TCPR_F_FIN) {
		if (st->state == TCPR_ST_SYN)
			st->state = TCPR_ST_OPEN;
		if (!(st->flags & TCPR_SF_FIN_SEEN)) {
			st->flags |= TCPR_SF_FIN_SEEN;
			st->fin_seq = e;
		}
	}
	if (st->state == TCPR_ST_FIN) {
		if (len && tcpr_seq_lt(st->fin_seq, e))
			r |= TCPR_R_AFTER_FIN | TCPR_R_DROP;
		else if (len)
			r |= TCPR_R_RETRANS;
		return r;
	}
	if (!len)
		return r | check_fin(st, mem);

	if ((st->flags & TCPR_SF_FIN_SEEN) && tcpr_seq_lt(st->fin_seq, e)) {
		/* bytes past an announced FIN: the server refuses them too */
		return r | TCPR_R_AFTER_FIN | TCPR_R_DROP;
	}
	if (tcpr_seq_leq(e, st->next))
		return r | TCPR_R_RETRANS;
	if (tcpr_seq_lt(s, st->next)) {
		r |= TCPR_R_RETRANS;
		data += st->next - s;
		s = st->next;
	}
	if (e - st->next > lim->max_window)
		return r | TCPR_R_WINDOW | TCPR_R_DROP;

	r |= overlap_check(st, data, s, e);
	if (s == st->next) {
		r |= deliver_run(st, mem, data, s, e, deliver, ctx);
		if (r & TCPR_R_STOPPED)
			return r;
		return r | check_fin(st, mem);
	}
	return r | buffer_segment(st, lim, mem, data, s, e);
}
