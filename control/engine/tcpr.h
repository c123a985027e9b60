/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tcpr.h - TCP reassembly of one direction of one connection.
 *
 * A pure function of the segments it is given: no clock, no I/O.  The
 * caller (insp.c) owns the two streams of a flow and the memory budget.
 * Delivery is in order and synchronous: tcpr_segment() calls the deliver
 * callback for every byte that became contiguous *during this call*, so the
 * verdict for a packet is known before the packet is forwarded.
 * Policy decisions are documented in docs/engine.md ("Reassembly").
 */
#ifndef TCPR_H
#define TCPR_H

#include <stdbool.h>
#include <stdint.h>

#include "mxi_mem.h"

/* TCP header flag bits, as on the wire (byte 13 of the TCP header). */
#define TCPR_F_FIN      0x01
#define TCPR_F_SYN      0x02
#define TCPR_F_RST      0x04
#define TCPR_F_PSH      0x08
#define TCPR_F_ACK      0x10

/* Limits, per direction of a flow (the global one is struct mxi_mem). */
struct tcpr_limits {
	uint32_t max_ooo_bytes;     /* bytes held out of order */
	uint32_t max_ooo_segs;      /* segments held out of order */
	uint32_t max_window;        /* furthest byte accepted past next */
	uint32_t max_unacked;       /* delivered bytes kept until the peer
				     * acknowledges them, to compare
				     * retransmissions; 0 = keep none */
};

struct tcpr_seg {
	struct tcpr_seg *next;      /* sorted by seq, never overlapping */
	uint32_t seq;
	uint32_t len;
	uint8_t data[];
};

enum tcpr_state {
	TCPR_ST_NONE = 0,           /* nothing seen yet */
	TCPR_ST_SYN,                /* SYN seen, no byte delivered yet */
	TCPR_ST_OPEN,               /* delivering */
	TCPR_ST_FIN,                /* FIN reached in sequence */
	TCPR_ST_RST,                /* in-sequence RST seen */
};

#define TCPR_SF_MIDSTREAM   (1u << 0)   /* picked up without a SYN */
#define TCPR_SF_FIN_SEEN    (1u << 1)   /* fin_seq valid */
#define TCPR_SF_DELIVERED   (1u << 2)   /* at least one byte delivered */
#define TCPR_SF_ACKED       (1u << 3)   /* acked is valid */

struct tcpr_stream {
	struct tcpr_seg *ooo;       /* out-of-order segments */
	uint8_t *ret;               /* ring of delivered, unacked bytes */
	uint32_t ret_cap;           /* ring size (power of two) or 0 */
	uint32_t ret_len;           /* bytes kept: [next - ret_len, next) */
	uint32_t acked;             /* highest ack of the peer (SF_ACKED) */
	uint32_t next;              /* next sequence number expected */
	uint32_t fin_seq;           /* sequence number of the FIN */
	uint32_t ooo_bytes;
	uint16_t ooo_segs;
	uint8_t state;              /* enum tcpr_state */
	uint8_t flags;              /* TCPR_SF_* */
};

/*
 * Outcome bits of tcpr_segment().  TCPR_R_DROP means "the segment must not
 * be forwarded": its bytes were neither inspected nor buffered, so the
 * sender's retransmission will be judged instead.
 */
#define TCPR_R_DROP         (1u << 0)
#define TCPR_R_DELIVERED    (1u << 1)   /* new bytes went to the parser */
#define TCPR_R_BUFFERED     (1u << 2)   /* held out of order */
#define TCPR_R_RETRANS      (1u << 3)   /* (part) already delivered */
#define TCPR_R_DUP_OOO      (1u << 4)   /* (part) already buffered */
#define TCPR_R_MISMATCH     (1u << 5)   /* overlap with different bytes */
#define TCPR_R_OOO_LIMIT    (1u << 6)   /* per-flow or global limit hit */
#define TCPR_R_WINDOW       (1u << 7)   /* beyond max_window */
#define TCPR_R_FIN          (1u << 8)   /* stream reached its FIN */
#define TCPR_R_RST          (1u << 9)   /* in-sequence RST: stream over */
#define TCPR_R_RST_IGNORED  (1u << 10)  /* RST off sequence, ignored */
#define TCPR_R_STOPPED      (1u << 11)  /* deliver callback said stop */
#define TCPR_R_MIDSTREAM    (1u << 12)  /* stream picked up mid-way now */
#define TCPR_R_AFTER_FIN    (1u << 13)  /* data past the FIN */
#define TCPR_R_UNCHECKED    (1u << 14)  /* retransmitted bytes no longer
					 * kept: forwarded uncompared */

/* Returns 0 to go on, non-zero to stop delivering (session ended). */
typedef int (*tcpr_deliver_fn)(void *ctx, const uint8_t *data, uint32_t len);

void tcpr_init(struct tcpr_stream *st);
uint32_t tcpr_segment(struct tcpr_stream *st, const struct tcpr_limits *lim,
		      struct mxi_mem *mem, uint8_t tcp_flags, uint32_t seq,
		      const uint8_t *data, uint32_t len,
		      tcpr_deliver_fn deliver, void *ctx);
/* Frees buffered segments; the stream stays usable (as if at FIN). */
void tcpr_release(struct tcpr_stream *st, struct mxi_mem *mem);
/* The peer acknowledged everything before ack: stop keeping it. */
void tcpr_ack(struct tcpr_stream *st, struct mxi_mem *mem, uint32_t ack);

/* Sequence-space comparisons, correct across the 2^32 wrap (RFC 793 3.3). */
static inline bool tcpr_seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline bool tcpr_seq_leq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

#endif /* TCPR_H */
