// SPDX-License-Identifier: GPL-2.0-only
/*
 * tcpr.c - TCP reassembly of one direction of one connection.
 *
 * Decisions a reader would otherwise reverse-engineer:
 *  - Overlap policy is FIRST WINS: bytes that reached us first (delivered
 *    or buffered) are the truth; a later copy of the same range is compared
 *    where we still hold the first copy, and a difference is reported as
 *    TCPR_R_MISMATCH (an evasion attempt: the server may pick the other
 *    copy).  Such a segment is dropped whole, nothing of it delivered or
 *    buffered.  Buffered segments never overlap each other: only the parts
 *    of a new segment not already held are stored.
 *  - Delivered bytes are kept until the peer acknowledges them (up to
 *    max_unacked per direction, in a ring that grows from 1 KiB and is
 *    freed once everything is acknowledged), and a retransmission is
 *    compared with them: the server may have dropped the first copy (out
 *    of its window, say) and would take a different second copy.  Bytes
 *    the peer acknowledged are at the server, so their retransmissions
 *    are harmless.  XXX: retransmitted bytes older than the ring (more
 *    than max_unacked in flight) pass uncompared (TCPR_R_UNCHECKED).
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

static void ret_free(struct tcpr_stream *st, struct mxi_mem *mem)
{
	mxi_mem_free(mem, st->ret, st->ret_cap);
	st->ret = NULL;
	st->ret_cap = 0;
	st->ret_len = 0;
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
	ret_free(st, mem);
}

void tcpr_ack(struct tcpr_stream *st, struct mxi_mem *mem, uint32_t ack)
{
	uint32_t start = st->next - st->ret_len;

	/* an ack beyond what was delivered is not believed (it may come
	 * before our copy of the data, or be forged) */
	if (st->state == TCPR_ST_NONE || tcpr_seq_lt(st->next, ack))
		return;
	if (!(st->flags & TCPR_SF_ACKED) || tcpr_seq_lt(st->acked, ack)) {
		st->acked = ack;
		st->flags |= TCPR_SF_ACKED;
	}
	if (!st->ret_len || !tcpr_seq_lt(start, ack))
		return;
	if (ack == st->next) {
		ret_free(st, mem);      /* all acknowledged: hold nothing */
		return;
	}
	st->ret_len = st->next - ack;
}

/* Byte at sequence number seq, which lies in [next - ret_len, next). */
static inline uint8_t *ret_at(const struct tcpr_stream *st, uint32_t seq)
{
	return st->ret + (seq & (st->ret_cap - 1));
}

/* Keep delivered bytes [seq, seq+n) for comparison with retransmissions.
 * Called with seq + n == st->next (after next moved). */
static void ret_keep(struct tcpr_stream *st, const struct tcpr_limits *lim,
		     struct mxi_mem *mem, uint32_t seq, const uint8_t *d,
		     uint32_t n)
{
	uint32_t need, cap, i;

	if (!lim->max_unacked)
		return;
	if (n > lim->max_unacked) {         /* only the newest bytes fit */
		d += n - lim->max_unacked;
		seq += n - lim->max_unacked;
		n = lim->max_unacked;
	}
	need = st->ret_len + n;
	if (need > lim->max_unacked)
		need = lim->max_unacked;
	if (need > st->ret_cap) {
		uint8_t *nb;
		uint32_t keep = st->ret_len + n > need ? need - n : st->ret_len;
		uint32_t from = seq - keep;

		for (cap = st->ret_cap ? st->ret_cap : 1024; cap < need; cap *= 2)
			;
		nb = mxi_mem_alloc(mem, cap);
		if (!nb) {
			/* budget exhausted: keep nothing, compare nothing */
			ret_free(st, mem);
			return;
		}
		/* move the kept bytes, in runs unbroken in both rings */
		for (i = 0; i < keep;) {
			uint32_t so = (from + i) & (st->ret_cap - 1);
			uint32_t no = (from + i) & (cap - 1);
			uint32_t run = keep - i;

			if (run > st->ret_cap - so)
				run = st->ret_cap - so;
			if (run > cap - no)
				run = cap - no;
			memcpy(nb + no, st->ret + so, run);
			i += run;
		}
		mxi_mem_free(mem, st->ret, st->ret_cap);
		st->ret = nb;
		st->ret_cap = cap;
		st->ret_len = keep;
	}
	/* copy in at most two pieces around the ring's end */
	{
		uint32_t off = seq & (st->ret_cap - 1);
		uint32_t first = st->ret_cap - off < n ? st->ret_cap - off : n;

		memcpy(st->ret + off, d, first);
		memcpy(st->ret, d + first, n - first);
	}
	st->ret_len += n;
	if (st->ret_len > st->ret_cap)
		st->ret_len = st->ret_cap;
	if (st->ret_len > lim->max_unacked)
		st->ret_len = lim->max_unacked;
}

/* Compare retransmitted bytes [s,e) (all before next) with what we
 * delivered, where still kept.  Bytes the peer acknowledged are at the
 * server already; others no longer kept are reported unchecked.
 * Positions are unsigned distances behind next, so nothing depends on
 * serial-number comparisons across half the sequence space. */
static uint32_t ret_check(const struct tcpr_stream *st, const uint8_t *d,
			  uint32_t s, uint32_t e)
{
	uint32_t back_s = st->next - s, back_e = st->next - e, i, n;
	uint32_t back_a = (st->flags & TCPR_SF_ACKED) ? st->next - st->acked
						       : UINT32_MAX;
	uint32_t r = 0;

	if (back_s > st->ret_len) {
		/* [s, next - ret_len): not kept.  Unchecked unless all of it
		 * is at or before the peer's ack. */
		uint32_t lo = back_e > st->ret_len ? back_e : st->ret_len;
		uint32_t hi = back_s < back_a ? back_s : back_a;

		if (lo < hi)
			r |= TCPR_R_UNCHECKED;
	}
	if (back_e >= st->ret_len || !st->ret)
		return r;
	/* kept part: distances min(back_s, ret_len) down to back_e */
	n = (back_s < st->ret_len ? back_s : st->ret_len) - back_e;
	d += (e - s) - n;
	for (i = 0; i < n; i++)
		if (d[i] != *ret_at(st, e - n + i))
			return r | TCPR_R_MISMATCH;
	return r;
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
static uint32_t deliver_run(struct tcpr_stream *st,
			    const struct tcpr_limits *lim,
			    struct mxi_mem *mem, const uint8_t *d, uint32_t s,
			    uint32_t e, tcpr_deliver_fn deliver, void *ctx)
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
				ret_keep(st, lim, mem, h->seq + off, h->data + off,
					 h->len - off);
				stop = deliver(ctx, h->data + off, h->len - off);
			}
			seg_pop(st, mem);
			if (stop)
				return r | TCPR_R_STOPPED;
			continue;
		}
		if (d && tcpr_seq_leq(s, st->next) && tcpr_seq_lt(st->next, e)) {
			uint32_t upto = e, from = st->next;

			if (h && tcpr_seq_lt(h->seq, upto))
				upto = h->seq;
			st->next = upto;
			st->flags |= TCPR_SF_DELIVERED;
			r |= TCPR_R_DELIVERED;
			ret_keep(st, lim, mem, from, d + (from - s), upto - from);
			if (deliver(ctx, d + (from - s), upto - from))
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
	if (tcpr_seq_leq(e, st->next) && !tcpr_seq_lt(s, st->next)) {
		/* straddles the half-way point of sequence space from next:
		 * no real segment looks like this */
		return r | TCPR_R_WINDOW | TCPR_R_DROP;
	}
	if (tcpr_seq_leq(e, st->next)) {
		r |= TCPR_R_RETRANS | ret_check(st, data, s, e);
		return (r & TCPR_R_MISMATCH) ? r | TCPR_R_DROP : r;
	}
	if (tcpr_seq_lt(s, st->next)) {
		r |= TCPR_R_RETRANS | ret_check(st, data, s, st->next);
		data += st->next - s;
		s = st->next;
	}
	if (e - st->next > lim->max_window)
		return r | TCPR_R_WINDOW | TCPR_R_DROP;

	/* An inconsistent copy is neither delivered, buffered nor
	 * forwarded: the server keeps seeing only the copy we judged. */
	r |= overlap_check(st, data, s, e);
	if (r & TCPR_R_MISMATCH)
		return r | TCPR_R_DROP;
	if (s == st->next) {
		r |= deliver_run(st, lim, mem, data, s, e, deliver, ctx);
		if (r & TCPR_R_STOPPED)
			return r;
		return r | check_fin(st, mem);
	}
	return r | buffer_segment(st, lim, mem, data, s, e);
}
