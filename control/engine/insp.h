/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * insp.h - the inspection glue: a flow table keyed by 5-tuple that owns,
 * per mail session, the two reassembly streams and the protocol engine,
 * and turns one TCP packet into one verdict before it is forwarded.
 *
 *   struct mxi_config cfg;
 *   mxi_config_default(&cfg);           // then adjust, set cfg.emit
 *   struct mxi_table *t = mxi_table_new(&cfg);
 *   for each TCP packet of a mail flow (checksum already verified, and
 *   client-to-server packets only from the outside port, server-to-client
 *   only from the inside port: direction is derived from the mail port):
 *       struct mxi_result r;
 *       switch (mxi_feed(t, &pkt, now_ns, &r)) { FORWARD / DROP / KILL }
 *   periodically: mxi_expire(t, now_ns, budget);
 *   mxi_table_free(t);
 *
 * Not thread-safe: one table per worker thread (flows are steered to
 * workers by hash in the caller).  Times are the caller's clock in ns.
 */
#ifndef MXI_INSP_H
#define MXI_INSP_H

#include <stdbool.h>
#include <stdint.h>

#include "mxi_mem.h"
#include "mxwall_shared.h"
#include "smtp.h"
#include "tcpr.h"

#define MXI_PORTS_MAX   8

enum mxi_verdict {
	MXI_FORWARD = 0,        /* send the packet on */
	MXI_DROP = 1,           /* do not send it */
	MXI_KILL = 2,           /* do not send it; RST both ends */
};

/* mxi_result.flags */
#define MXI_RF_NEW          (1u << 0)   /* this packet created the flow */
#define MXI_RF_OPAQUE       (1u << 1)   /* flow is TLS now: bypass it */
#define MXI_RF_UNINSPECTED  (1u << 2)   /* forwarded without inspection */
#define MXI_RF_CLOSED       (1u << 3)   /* both directions finished */
#define MXI_RF_NOT_MAIL     (1u << 4)   /* no mail port in the tuple */
#define MXI_RF_MIDSTREAM    (1u << 5)   /* flow picked up without SYN */

struct mxi_config {
	uint32_t max_flows;         /* hard cap on tracked flows */
	uint32_t buckets;           /* hash buckets, power of two */
	uint64_t idle_timeout_ns;   /* flow without packets: forgotten */
	uint64_t close_timeout_ns;  /* after FIN both ways or RST */
	uint64_t mem_limit;         /* all buffered bytes, 0 = unlimited */
	uint64_t hash_seed;         /* random per process (hash flooding) */
	struct tcpr_limits tcp;     /* per direction */
	uint8_t table_full_action;  /* enum smtp_action: ALLOW forwards
				     * the new flow uninspected, DENY/KILL
				     * drops it */
	uint16_t smtp_ports[MXI_PORTS_MAX];     /* 0 ends a list */
	uint16_t pop3_ports[MXI_PORTS_MAX];
	uint16_t imap_ports[MXI_PORTS_MAX];
	uint16_t tls_ports[MXI_PORTS_MAX];      /* implicit TLS: opaque */
	struct smtp_config smtp;
	smtp_emit_fn emit;          /* events; may be NULL */
	void *emit_ctx;
};

/* One TCP packet, addresses IPv4-mapped as in mxwall_shared.h. */
struct mxi_pkt {
	struct mxw_addr src;
	struct mxw_addr dst;
	uint16_t sport;             /* host order */
	uint16_t dport;
	uint8_t tcp_flags;          /* TCPR_F_* */
	uint32_t seq;
	uint32_t ack;
	const uint8_t *payload;
	uint32_t len;
};

/* Bytes a caller may keep with each flow (mxi_result.user), zeroed when
 * the flow is created: the inline path keeps a frame's link-layer
 * header there, to reset the session later (ctl_insp.c).  48, not 32:
 * see the allocation-stride assertion in insp.c. */
#define MXI_USER_BYTES  48

struct mxi_result {
	enum mxi_verdict verdict;
	uint32_t flags;             /* MXI_RF_* */
	uint64_t session_id;        /* 0 if no flow */
	uint32_t tcp;               /* TCPR_R_* of this segment */
	uint8_t *user;              /* the flow's MXI_USER_BYTES, NULL if
				     * no flow; valid until the next call
				     * on the table */
};

struct mxi_stats {
	uint64_t flows;             /* tracked now */
	uint64_t flows_created;
	uint64_t flows_expired;
	uint64_t flows_closed;
	uint64_t table_full;        /* new flows refused by the cap */
	uint64_t flows_evicted;     /* handshake-only flows evicted at the cap */
	uint64_t packets;
	uint64_t bytes;
	uint64_t uninspected;       /* packets forwarded without inspection */
	uint64_t dropped;
	uint64_t killed;
	uint64_t ended;             /* sessions ended by mxi_end_client */
	uint64_t retrans;
	uint64_t ooo_buffered;
	uint64_t mem_used;
	uint64_t mem_peak;
	uint64_t reason[SMTP_R__COUNT];
};

struct mxi_table;

void mxi_config_default(struct mxi_config *cfg);
/* NULL if cfg is invalid or memory is short. cfg is copied; the
 * local-domain strings it points to must outlive the table. */
struct mxi_table *mxi_table_new(const struct mxi_config *cfg);
void mxi_table_free(struct mxi_table *t);
enum mxi_verdict mxi_feed(struct mxi_table *t, const struct mxi_pkt *p,
			  uint64_t now_ns, struct mxi_result *res);
/* Forget flows idle past their timeout; at most budget of them.
 * Returns how many were removed. */
unsigned mxi_expire(struct mxi_table *t, uint64_t now_ns, unsigned budget);
void mxi_get_stats(const struct mxi_table *t, struct mxi_stats *out);

/* One tracked flow, for sessions.list (a copy: no pointers into the
 * table except the static state name). */
struct mxi_session_info {
	uint64_t id;
	struct mxw_addr client, server;
	uint16_t cport, sport;          /* host order */
	uint8_t proto;                  /* enum smtp_proto */
	const char *state;              /* "active", "opaque", "uninspected",
					 * "dead", "closed" */
	uint32_t smtp_flags;            /* SMTP_SF_* */
	uint32_t commands, errors, junk, rcpts, messages;
	uint64_t bytes[2];              /* delivered, per enum smtp_dir */
	uint64_t created_ns, last_ns;
	/* per enum smtp_dir: the next sequence number its sender will use,
	 * as far as this flow has seen (bit dir of seq_known: seen) */
	uint32_t next_seq[2];
	uint8_t seq_known;
	const uint8_t *user;            /* the flow's MXI_USER_BYTES */
};
typedef int (*mxi_session_cb)(void *ctx, const struct mxi_session_info *s);
/* Walk the tracked flows, most recently active first; cb returns non-zero
 * to stop.  Returns how many were passed to cb. */
size_t mxi_foreach(const struct mxi_table *t, mxi_session_cb cb, void *ctx);
/* End the tracked sessions of the clients inside prefix/plen (mapped
 * addresses, plen 0..128): every active one (opaque, uninspected, dead
 * and closed ones are left) except session except_id is passed to cb,
 * and unless cb returns non-zero (leave this one) it becomes dead (each
 * later packet of it: MXI_DROP) and its buffers are freed.  For a source
 * just blocked: its other sessions must not hold the server (the caller
 * resets them).  Returns how many ended.  A walk of the whole table. */
size_t mxi_end_client(struct mxi_table *t, const struct mxw_addr *prefix,
		      unsigned plen, uint64_t except_id, mxi_session_cb cb,
		      void *ctx);
/* Bytes of one tracked flow without buffered data (for the docs' claim). */
size_t mxi_flow_size(void);

#endif /* MXI_INSP_H */
