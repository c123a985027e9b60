// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctl_insp.c - the inspection worker (ctl_insp.h, docs/inspection.md).
 *
 * Decisions a reader would otherwise reverse-engineer:
 *  - One worker thread owns the sockets, the engine's flow table, nDPI and
 *    the policy.  Both directions of a flow may arrive on different queues
 *    and ports; one table needs no steering, and two cores leave no room
 *    for more workers anyway.  XXX: a box with many queues wants a worker
 *    per queue pair with flows steered by a symmetric hash.
 *  - Blocks are written by the worker itself, straight into the fast
 *    path's maps, inside the mxi_feed() call of the offending packet: the
 *    time from that packet's arrival in XDP (stamped into the frame's
 *    metadata by the program, struct mxw_xsk_meta) to the map write is the
 *    block latency we report.  The packet that completed the offence is
 *    then killed (RST both ways) instead of forwarded.
 *  - The main thread gets events through a bounded queue and an eventfd;
 *    a full queue drops the newest event and counts it (the worker never
 *    waits for the control plane).
 *  - Liveness: the worker refreshes mxw_insp.alive_until_ns every
 *    heartbeat/4.  While its rx backlog stays above 3/4 of a ring it sets
 *    MXW_IF_OVERLOAD and the fast path bridges mail itself (fail-open) or
 *    drops it (fail-closed).  The engine then missed bytes, so when the
 *    overload ends the flow table is emptied and every session is picked
 *    up mid-stream (docs/engine.md), rather than stalling on a gap.
 *  - Frames with a bad checksum are dropped (the server would drop them
 *    too; the sender retransmits).  A frame whose direction does not match
 *    the port it came in on (a "server" segment from outside) is dropped:
 *    the engine must not learn the server side from the attacker.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "ctl_events.h"
#include "ctl_insp.h"
#include "ctl_log.h"
#include "ctl_pkt.h"
#include "ctl_xsk.h"
#ifdef MXW_HAVE_NDPI
#include "ctl_ndpi.h"
#endif

#define INSP_BATCH              256     /* frames per ctl_xsk_poll() */
#define INSP_POLL_MS            10
#define INSP_QUEUE_MAX          8192    /* events waiting for the main thread */
#define INSP_LAT_RING           4096    /* block latency samples kept */
#define INSP_DECISIONS_MAX      4
#define INSP_EXPIRE_NS          (100ull * 1000000ull)

struct insp_qent {
	json_t *ev;
	/* a block written by the worker: the main thread keeps its books */
	bool block;
	uint64_t expires_ns;
};

/* The last INSP_LAT_RING samples of a latency, for exact percentiles. */
struct insp_lat {
	uint32_t ring[INSP_LAT_RING];   /* ns, saturated at 4 s */
	uint32_t pos;
};

static void insp_lat_add(struct insp_lat *l, uint64_t ns)
{
	l->ring[l->pos++ % INSP_LAT_RING] =
		ns > 4000000000ull ? 4000000000u : (uint32_t)ns;
}

struct ctl_insp {
	pthread_t thread;
	bool started;
	atomic_bool stop;
	struct ctl_bpf *bpf;            /* fds only; counts are atomic */
	struct ctl_xsk *xsk;
	struct mxi_table *table;
	struct ctl_policy *policy;
#ifdef MXW_HAVE_NDPI
	struct ctl_ndpi *ndpi;
#endif

	/* Everything below "lock" is the worker's, read by the main thread
	 * under the lock (sessions.list, stats, reconfigure). */
	pthread_mutex_t lock;
	struct mxi_config ecfg;         /* engine config, domains below */
	char domains[SMTP_LOCAL_DOMAINS_MAX][CTL_DOMAIN_MAX + 1];
	struct ctl_policy_cfg pcfg;
	bool reconf;                    /* ecfg changed: rebuild the table */
	uint64_t seed[2];               /* hash seeds: engine, policy */
	bool use_ndpi;
	bool fail_closed;
	uint64_t tcp_timeout_ns;
	uint64_t heartbeat_ns;
	uint64_t busy_ns;               /* spin after a frame (busy_poll_us) */
	uint32_t ring_size;
	struct ctl_insp_stats st;
	struct insp_lat block_lat;      /* arrival -> block in the map */
	struct insp_lat frame_lat;      /* arrival -> verdict of each frame */

	/* per frame, set by the callback for the emit hook */
	const struct ctl_xsk_frame *cur;
	const struct ctl_pkt_info *cur_info;
	uint64_t cur_rx_ns;             /* arrival in XDP, or our rx time */
	bool cur_block;                 /* a block was written for it */
	/* the targets of the blocks written for it: their other sessions
	 * end after the frame (insp_end_blocked) */
	struct ctl_prefix ended[INSP_DECISIONS_MAX];
	size_t n_ended;
	bool overloaded;

	/* event queue */
	pthread_mutex_t qlock;
	struct insp_qent q[INSP_QUEUE_MAX];
	size_t qhead, qlen;
	int efd;
};

static inline void insp_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static uint64_t insp_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- event queue (worker -> main thread) ----------------------------- */

static void insp_push(struct ctl_insp *in, json_t *ev, bool block,
		      uint64_t expires_ns)
{
	uint64_t one = 1;
	bool wake;

	if (!ev) {
		in->st.events_lost++;
		return;
	}
	pthread_mutex_lock(&in->qlock);
	if (in->qlen == INSP_QUEUE_MAX) {
		pthread_mutex_unlock(&in->qlock);
		json_decref(ev);
		in->st.events_lost++;
		return;
	}
	in->q[(in->qhead + in->qlen) % INSP_QUEUE_MAX] =
		(struct insp_qent){ .ev = ev, .block = block,
				    .expires_ns = expires_ns };
	wake = in->qlen++ == 0;
	pthread_mutex_unlock(&in->qlock);
	in->st.events++;
	/* a failed write (counter saturated) leaves it readable anyway */
	if (wake)
		(void)!write(in->efd, &one, sizeof(one));
}

size_t ctl_insp_drain(struct ctl_insp *in, ctl_insp_event_cb cb, void *ctx,
		      uint64_t *next_expiry_ns)
{
	struct insp_qent batch[256];
	uint64_t junk;
	size_t n, total = 0;

	/* EAGAIN: nothing signalled, the queue may still hold some */
	(void)!read(in->efd, &junk, sizeof(junk));
	do {
		pthread_mutex_lock(&in->qlock);
		n = in->qlen < 256 ? in->qlen : 256;
		for (size_t i = 0; i < n; i++)
			batch[i] = in->q[(in->qhead + i) % INSP_QUEUE_MAX];
		in->qhead = (in->qhead + n) % INSP_QUEUE_MAX;
		in->qlen -= n;
		pthread_mutex_unlock(&in->qlock);
		for (size_t i = 0; i < n; i++) {
			if (batch[i].block && batch[i].expires_ns &&
			    next_expiry_ns && (!*next_expiry_ns ||
					       batch[i].expires_ns < *next_expiry_ns))
				*next_expiry_ns = batch[i].expires_ns;
			cb(ctx, batch[i].ev);
		}
		total += n;
	} while (n == 256);
	return total;
}

int ctl_insp_event_fd(const struct ctl_insp *in)
{
	return in->efd;
}

/* ---- blocks ------------------------------------------------------------ */

/* The allow maps, as the fast path reads them (exact, then longest
 * prefix).  Called by the policy from the worker. */
static bool insp_allowed(void *ctx, const struct mxw_addr *a)
{
	struct ctl_bpf *b = ctx;

	/* The prefix look-up is a system call (5-15 us here) on the way to
	 * a block: skip it while the allowlist is empty.  The counts rise
	 * just after an entry lands; in that instant the fast path's
	 * allowlist still wins over any block. */
	if (!__atomic_load_n(&b->n_exact[CTL_LIST_ALLOW], __ATOMIC_RELAXED) &&
	    !__atomic_load_n(&b->n_lpm[CTL_LIST_ALLOW], __ATOMIC_RELAXED))
		return false;
	return ctl_bpf_list_match(b, CTL_LIST_ALLOW, a, insp_mono_ns());
}

static void insp_lat_record(struct ctl_insp *in, uint64_t ns)
{
	in->st.block_lat_n++;
	in->st.block_lat_last_ns = ns;
	if (ns > in->st.block_lat_max_ns)
		in->st.block_lat_max_ns = ns;
	insp_lat_add(&in->block_lat, ns);
}

/* Write one decision into the block maps.  An existing entry that lasts
 * longer (a manual block, say) is left alone.  Returns 0 or -errno;
 * *lat gets the time from the frame's arrival to the completed write. */
static int insp_write(struct ctl_insp *in, const struct ctl_policy_decision *d,
		      uint64_t *expires_ns, uint64_t *lat)
{
	struct mxw_list_entry v = {0}, old;
	uint64_t now = insp_mono_ns();
	bool created = false;
	int err;

	v.created_ns = now;
	v.expires_ns = now + (uint64_t)d->ttl * 1000000000ull;
	v.reason = d->reason;
	v.flags = d->shadow ? MXW_LF_SHADOW : 0;
	err = ctl_bpf_list_put(in->bpf, CTL_LIST_BLOCK, &d->target, &v, false,
			       &created);
	if (err == -EEXIST &&
	    ctl_bpf_list_get(in->bpf, CTL_LIST_BLOCK, &d->target, &old) == 0 &&
	    old.expires_ns && old.expires_ns < v.expires_ns)
		err = ctl_bpf_list_put(in->bpf, CTL_LIST_BLOCK, &d->target, &v,
				       true, &created);
	else if (err == -EEXIST)
		err = 0;        /* a longer or permanent entry is in place */
	*lat = insp_mono_ns() - in->cur_rx_ns;
	*expires_ns = v.expires_ns;
	return err;
}

/* The event and the log line of a decision written (or not). */
static void insp_report(struct ctl_insp *in, const struct ctl_policy_decision *d,
			int err, uint64_t expires_ns, uint64_t lat)
{
	struct ctl_block_info bi;

	if (err) {
		char t[CTL_ADDR_TEXT_MAX];

		in->st.blocks_failed++;
		ctl_prefix_format(&d->target, t, sizeof(t));
		log_warn("policy block %s: %s", t, strerror(-err));
		return;
	}
	in->st.blocks++;
	if (!d->shadow)
		insp_lat_record(in, lat);
	bi = (struct ctl_block_info){
		.addr = &d->target,
		.ttl = d->ttl,
		.reason = d->reason,
		.why = d->why,
		.shadow = d->shadow,
		.source = d->kind == CTL_PD_BLOCK_PREFIX ? CTL_BS_ESCALATION :
							   CTL_BS_POLICY,
		.latency_us = d->shadow ? -1 : (int64_t)(lat / 1000),
	};
	insp_push(in, ctl_event_block(&bi, ctl_wall_now()), true, expires_ns);
}

/* ---- engine events ----------------------------------------------------- */

/* Decide and write the blocks first: building JSON and waking the main
 * thread come after the map write, so they never add to block latency
 * (measured: they had been most of it). */
static void insp_emit(void *ctx, const struct smtp_event *ev)
{
	struct ctl_insp *in = ctx;
	struct ctl_policy_decision dec[INSP_DECISIONS_MAX];
	uint64_t exp[INSP_DECISIONS_MAX], lat[INSP_DECISIONS_MAX];
	int err[INSP_DECISIONS_MAX];
	size_t n;

	n = ctl_policy_event(in->policy, ev, in->cur_rx_ns, dec,
			     INSP_DECISIONS_MAX);
	for (size_t i = 0; i < n; i++) {
		err[i] = insp_write(in, &dec[i], &exp[i], &lat[i]);
		if (!err[i] && !dec[i].shadow) {
			in->cur_block = true;
			if (in->n_ended < INSP_DECISIONS_MAX)
				in->ended[in->n_ended++] = dec[i].target;
		}
	}
	insp_push(in, ctl_event_violation(ev, ctl_wall_now()), false, 0);
	for (size_t i = 0; i < n; i++)
		insp_report(in, &dec[i], err[i], exp[i], lat[i]);
}

/* ---- frames ------------------------------------------------------------ */

static bool insp_port_in(const uint16_t *list, uint16_t port)
{
	for (unsigned i = 0; i < MXI_PORTS_MAX && list[i]; i++)
		if (list[i] == port)
			return true;
	return false;
}

static bool insp_is_server_port(const struct mxi_config *c, uint16_t port)
{
	return insp_port_in(c->smtp_ports, port) ||
	       insp_port_in(c->pop3_ports, port) ||
	       insp_port_in(c->imap_ports, port);
}

/* The arrival time the XDP program stamped in front of the frame, if it
 * is there and plausible; else our own receive time.  The stamp is wiped
 * once read: the UMEM chunk is reused, and a later frame that came
 * without metadata must not inherit it (seen: a 3 s "latency"). */
static uint64_t insp_rx_time(const struct ctl_xsk_frame *f, uint64_t now)
{
	struct mxw_xsk_meta m;

	memcpy(&m, f->data - sizeof(m), sizeof(m));
	memset(f->data - sizeof(m), 0, sizeof(m));
	if (m.magic == MXW_XSK_META_MAGIC && m.rx_ns <= now &&
	    now - m.rx_ns < 10ull * 1000000000ull)
		return m.rx_ns;
	return now;
}

static void insp_bypass(struct ctl_insp *in, const struct mxi_pkt *p,
			bool from_client, uint64_t now)
{
	struct mxw_flow_key k = { .proto = 6 };

	if (from_client) {
		k.src = p->src;
		k.dst = p->dst;
		k.sport = htons(p->sport);
		k.dport = htons(p->dport);
	} else {
		k.src = p->dst;
		k.dst = p->src;
		k.sport = htons(p->dport);
		k.dport = htons(p->sport);
	}
	if (ctl_bpf_bypass_add(in->bpf, &k, now + in->tcp_timeout_ns) == 0)
		in->st.bypass_added++;
}

/* A session's two RSTs out: to the server on the inside port, to the
 * client on the outside one. */
static void insp_send_rsts(struct ctl_insp *in, const uint8_t *to_srv,
			   size_t ls, const uint8_t *to_cli, size_t lc)
{
	if (ctl_xsk_send(in->xsk, MXW_SLOT_INSIDE, to_srv, (uint32_t)ls) == 0)
		in->st.rsts_sent++;
	if (ctl_xsk_send(in->xsk, MXW_SLOT_OUTSIDE, to_cli, (uint32_t)lc) == 0)
		in->st.rsts_sent++;
}

static void insp_kill(struct ctl_insp *in, const struct ctl_xsk_frame *f,
		      const struct ctl_pkt_info *info, bool from_client)
{
	uint8_t to_srv[CTL_PKT_RST_MAX], to_cli[CTL_PKT_RST_MAX];
	size_t ls, lc;

	if (ctl_pkt_build_rsts(f->data, info, from_client, to_srv, &ls, to_cli,
			       &lc) < 0)
		return;
	insp_send_rsts(in, to_srv, ls, to_cli, lc);
	in->st.killed++;
}

/* One session of a source just blocked: RSTs both ways, built from the
 * link-layer header kept with the flow and the sequence numbers each side
 * will send next, so the server frees the session now rather than at its
 * timeout (a connection-exhaustion attacker's other sessions would hold
 * smtpd processes).  Without both numbers or a header, no RST: the
 * session is still dead for the engine, and the block drops the client. */
static int insp_reset_cb(void *ctx, const struct mxi_session_info *s)
{
	struct ctl_insp *in = ctx;
	uint8_t to_srv[CTL_PKT_RST_MAX], to_cli[CTL_PKT_RST_MAX];
	size_t ls, lc;

	/* an allowlisted client inside a blocked prefix still passes the
	 * fast path: its sessions stay */
	if (ctl_bpf_list_match(in->bpf, CTL_LIST_ALLOW, &s->client,
			       insp_mono_ns()))
		return 1;
	in->st.sessions_ended++;
	if (s->seq_known != 3 ||
	    ctl_pkt_build_flow_rsts((const struct ctl_pkt_l2 *)s->user,
				    &s->client, &s->server, s->cport, s->sport,
				    s->next_seq[SMTP_DIR_C2S],
				    s->next_seq[SMTP_DIR_S2C], to_srv, &ls,
				    to_cli, &lc) < 0)
		return 0;
	insp_send_rsts(in, to_srv, ls, to_cli, lc);
	return 0;
}

/* After a frame whose events blocked sources (not in the engine's
 * callback: ending sessions changes the table): every other active
 * session of each blocked address or prefix ends (except: the frame's
 * own, killed with the frame).  The policy's targets (/32, /64, /24,
 * /48) each read one client-group chain of the engine's table. */
static void insp_end_blocked(struct ctl_insp *in, uint64_t except)
{
	for (size_t i = 0; i < in->n_ended; i++) {
		struct mxw_addr a;

		memcpy(a.a, in->ended[i].a, 16);
		mxi_end_client(in->table, &a, in->ended[i].plen, except,
			       insp_reset_cb, in);
	}
	in->n_ended = 0;
}

#ifdef MXW_HAVE_NDPI
/* nDPI's opinion of the flow, turned into an engine-style event. */
static enum mxi_verdict insp_ndpi(struct ctl_insp *in,
				  const struct ctl_xsk_frame *f,
				  const struct ctl_pkt_info *info,
				  const struct mxi_pkt *p,
				  const struct mxi_result *r, bool from_client)
{
	struct ctl_ndpi_result nr;
	struct smtp_event ev = {0};
	enum smtp_reason why;
	uint8_t act;

	if (!in->ndpi || !r->session_id || (r->flags & MXI_RF_UNINSPECTED) ||
	    ctl_ndpi_feed(in->ndpi, r->session_id, f->data + info->l3_off,
			  info->ip_len, from_client, in->cur_rx_ns / 1000000,
			  &nr) != 1)
		return MXI_FORWARD;
	if (!nr.mail)
		why = SMTP_R_NOT_MAIL_PROTO;
	else if (nr.cleartext_creds)
		why = SMTP_R_CLEARTEXT_CREDS;
	else
		return MXI_FORWARD;
	act = in->ecfg.smtp.action[why];
	in->st.engine.reason[why]++;    /* folded into the engine's below */
	if (act == SMTP_A_ALLOW)
		return MXI_FORWARD;
	ev.session_id = r->session_id;
	ev.time_ns = in->cur_rx_ns;
	ev.client = from_client ? p->src : p->dst;
	ev.server = from_client ? p->dst : p->src;
	ev.client_port = from_client ? p->sport : p->dport;
	ev.server_port = from_client ? p->dport : p->sport;
	ev.reason = why;
	ev.kind = SMTP_K_VIOLATION;
	ev.action = act;
	ev.dir = from_client ? SMTP_DIR_C2S : SMTP_DIR_S2C;
	snprintf(ev.arg, sizeof(ev.arg), "ndpi=%s", nr.proto);
	insp_emit(in, &ev);
	return act >= SMTP_A_KILL ? MXI_KILL :
	       act == SMTP_A_DENY ? MXI_DROP : MXI_FORWARD;
}
#endif

static enum ctl_xsk_act insp_frame(void *ctx, const struct ctl_xsk_frame *f)
{
	struct ctl_insp *in = ctx;
	struct ctl_pkt_info info;
	struct mxi_result r = {0};
	struct mxi_pkt p;
	enum ctl_pkt_status ps;
	enum mxi_verdict v;
	uint64_t now = insp_mono_ns();
	bool from_client, cli_port, srv_port;

	in->st.frames++;
	ps = ctl_pkt_parse(f->data, f->len, &p, &info);
	if (ps == CTL_PKT_NOT_TCP) {
		/* the fast path only sends TCP; bridge anything else as is */
		in->st.not_tcp++;
		in->st.forwarded++;
		return CTL_XSK_FORWARD;
	}
	if (ps != CTL_PKT_OK) {
		if (ps == CTL_PKT_BAD_CSUM)
			in->st.bad_csum++;
		else
			in->st.malformed++;
		in->st.dropped++;
		return CTL_XSK_DROP;
	}
	/* Urgent data: Linux hands the urgent byte to the application
	 * out of band, so the server's stream would lack a byte the engine
	 * sees.  No mail client uses URG: drop (a sender that insists
	 * stalls, which is what it deserves). */
	if ((info.tcp_flags & CTL_PKT_TCP_URG) && p.len) {
		in->st.urgent++;
		in->st.dropped++;
		return CTL_XSK_DROP;
	}
	/* client -> server only from outside, server -> client only from
	 * inside (engine caller duty, docs/engine.md) */
	srv_port = insp_is_server_port(&in->ecfg, p.dport);
	cli_port = insp_is_server_port(&in->ecfg, p.sport);
	from_client = f->slot == MXW_SLOT_OUTSIDE;
	if (from_client ? (!srv_port || cli_port) : (!cli_port || srv_port)) {
		in->st.wrong_side++;
		in->st.dropped++;
		return CTL_XSK_DROP;
	}
	in->cur = f;
	in->cur_info = &info;
	in->cur_rx_ns = insp_rx_time(f, now);
	in->cur_block = false;
	in->n_ended = 0;
	v = mxi_feed(in->table, &p, now, &r);
	/* the flow's link-layer header, to reset it later without a frame
	 * (insp_reset_cb): the first frame's */
	if (r.user && !((struct ctl_pkt_l2 *)r.user)->set)
		ctl_pkt_l2_save((struct ctl_pkt_l2 *)r.user, f->data, &info,
				from_client);
#ifdef MXW_HAVE_NDPI
	if (v == MXI_FORWARD && in->use_ndpi) {
		enum mxi_verdict nv = insp_ndpi(in, f, &info, &p, &r,
						from_client);

		if (nv > v)
			v = nv;
	}
	if (in->ndpi && (r.flags & MXI_RF_CLOSED))
		ctl_ndpi_forget(in->ndpi, r.session_id);
#endif
	/* the source was just blocked: this packet does not go on, and
	 * nor do its other sessions */
	if (in->cur_block && v == MXI_FORWARD)
		v = MXI_KILL;
	in->cur = NULL;
	insp_end_blocked(in, r.session_id);
	if ((r.flags & MXI_RF_OPAQUE) && v == MXI_FORWARD)
		insp_bypass(in, &p, from_client, now);
	/* arrival in XDP -> verdict (the copy to the other port follows) */
	insp_lat_add(&in->frame_lat, insp_mono_ns() - in->cur_rx_ns);
	switch (v) {
	case MXI_FORWARD:
		in->st.forwarded++;
		return CTL_XSK_FORWARD;
	case MXI_KILL:
		insp_kill(in, f, &info, from_client);
		/* fall through */
	case MXI_DROP:
	default:
		in->st.dropped++;
		return CTL_XSK_DROP;
	}
}

/* ---- the worker -------------------------------------------------------- */

static struct mxi_table *insp_table_new(struct ctl_insp *in)
{
	in->ecfg.emit = insp_emit;
	in->ecfg.emit_ctx = in;
	return mxi_table_new(&in->ecfg);
}

/* Copy the engine settings and re-point the local domains at our copy.
 * Both hash tables get this process's random seeds, so a peer cannot aim
 * many flows or sources at one chain. */
static void insp_take_cfg(struct ctl_insp *in, const struct ctl_config *cfg)
{
	in->ecfg = cfg->insp.engine;
	in->ecfg.hash_seed = in->seed[0];
	memcpy(in->domains, cfg->insp.domains, sizeof(in->domains));
	for (uint32_t i = 0; i < in->ecfg.smtp.n_local_domains &&
			     i < SMTP_LOCAL_DOMAINS_MAX; i++)
		in->ecfg.smtp.local_domains[i] = in->domains[i];
	in->pcfg = cfg->policy;
	in->pcfg.hash_seed = in->seed[1];
	in->pcfg.allowed = insp_allowed;
	in->pcfg.allowed_ctx = in->bpf;
	in->use_ndpi = cfg->insp.ndpi;
	in->fail_closed = cfg->fp.flags & MXW_CF_FAIL_CLOSED;
	in->tcp_timeout_ns = cfg->fp.ct_tcp_timeout_ns ?
			     cfg->fp.ct_tcp_timeout_ns :
			     MXW_CT_TCP_TIMEOUT_DEFAULT_NS;
	in->busy_ns = (uint64_t)cfg->insp.busy_poll_us * 1000ull;
	in->heartbeat_ns = (uint64_t)(cfg->insp.heartbeat_ms ?
				      cfg->insp.heartbeat_ms : 500) * 1000000ull;
}

/* Add the counters of one flow table to those of the tables before it
 * (st.engine keeps the sums of tables already replaced).  The gauges
 * (flows, mem_used, mem_peak) are the live table's alone. */
static void insp_engine_add(struct mxi_stats *to, const struct mxi_stats *t)
{
	for (unsigned i = 0; i < SMTP_R__COUNT; i++)
		to->reason[i] += t->reason[i];
	to->flows_created += t->flows_created;
	to->flows_expired += t->flows_expired;
	to->flows_closed += t->flows_closed;
	to->flows_evicted += t->flows_evicted;
	to->table_full += t->table_full;
	to->packets += t->packets;
	to->bytes += t->bytes;
	to->uninspected += t->uninspected;
	to->dropped += t->dropped;
	to->killed += t->killed;
	to->ended += t->ended;
	to->retrans += t->retrans;
	to->ooo_buffered += t->ooo_buffered;
}

/* Forget every flow: after an overload, or when the engine settings
 * changed (the table copies its config).  Sessions are picked up
 * mid-stream. */
static void insp_table_reset(struct ctl_insp *in)
{
	struct mxi_table *t = insp_table_new(in);
	struct mxi_stats old;

	if (!t) {
		log_error("inspection: cannot rebuild the flow table; "
			  "keeping the old one");
		return;
	}
	mxi_get_stats(in->table, &old);
	insp_engine_add(&in->st.engine, &old);
	mxi_table_free(in->table);
	in->table = t;
	in->st.table_resets++;
}

static void insp_heartbeat(struct ctl_insp *in, uint64_t now)
{
	if (ctl_bpf_insp_alive(in->bpf, now + in->heartbeat_ns,
			       in->overloaded ? MXW_IF_OVERLOAD : 0) < 0)
		log_warn("inspection: heartbeat write failed: %s",
			 strerror(errno));
}

static void *insp_main(void *arg)
{
	struct ctl_insp *in = arg;
	struct pollfd pfd[2 * MXW_XSK_QUEUES_MAX];
	uint64_t next_hb = 0, next_exp = 0, last_frame = 0;
	size_t npfd = ctl_xsk_pollfds(in->xsk, pfd, 2 * MXW_XSK_QUEUES_MAX);
	uint32_t high = in->ring_size * 3 / 4, low = in->ring_size / 4;

	while (!atomic_load(&in->stop)) {
		uint64_t now = insp_mono_ns();
		uint32_t backlog;
		unsigned n;

		if (now >= next_hb) {
			insp_heartbeat(in, now);
			next_hb = now + in->heartbeat_ns / 4;
		}
		pthread_mutex_lock(&in->lock);
		/* The backlog before the batch: one batch may drain a whole
		 * ring, so measured after it an overflow would never show. */
		backlog = ctl_xsk_backlog(in->xsk);
		if (!in->overloaded && backlog > high) {
			in->overloaded = true;
			in->st.overload_periods++;
			insp_heartbeat(in, now);
			log_warn("inspection: overloaded (%u frames waiting): "
				 "the fast path bridges mail %s", backlog,
				 in->fail_closed ? "no more (fail-closed)" :
						   "uninspected");
		}
		n = ctl_xsk_poll(in->xsk, insp_frame, in, INSP_BATCH);
		if (now >= next_exp) {
			mxi_expire(in->table, now, 1024);
			ctl_policy_expire(in->policy, now, 1024);
			next_exp = now + INSP_EXPIRE_NS;
		}
		if (in->overloaded && ctl_xsk_backlog(in->xsk) < low) {
			in->overloaded = false;
			insp_table_reset(in);
			insp_heartbeat(in, now);
			log_warn("inspection: caught up; sessions are picked "
				 "up mid-stream");
		}
		if (in->reconf) {
			in->reconf = false;
			insp_table_reset(in);
			ctl_policy_set_cfg(in->policy, &in->pcfg);
		}
		pthread_mutex_unlock(&in->lock);
		/* Sleep only once traffic paused for busy_ns: a wake-up
		 * from poll() costs tens of microseconds on every verdict. */
		if (n)
			last_frame = now;
		else if (now - last_frame >= in->busy_ns)
			poll(pfd, npfd, INSP_POLL_MS);
		else
			insp_cpu_relax();
	}
	return NULL;
}

/*
 * The worker runs SCHED_FIFO at prio when asked: every mail segment waits
 * for it.  Measured in the lab (bench_insp.sh) with normal scheduling: the
 * worker's own arrival-to-verdict p99 was 0.9-2.7 ms on two cores shared
 * with Postfix and the clients, the time a woken thread waits for the
 * CPU.  A kernel or container that refuses real-time scheduling gets a
 * normal thread and a warning.
 */
static int insp_thread_start(struct ctl_insp *in, uint32_t prio)
{
	struct sched_param sp = { .sched_priority = (int)prio };
	pthread_attr_t a;
	int rc;

	if (prio) {
		pthread_attr_init(&a);
		pthread_attr_setinheritsched(&a, PTHREAD_EXPLICIT_SCHED);
		pthread_attr_setschedpolicy(&a, SCHED_FIFO);
		pthread_attr_setschedparam(&a, &sp);
		rc = pthread_create(&in->thread, &a, insp_main, in);
		pthread_attr_destroy(&a);
		if (!rc)
			return 0;
		log_warn("inspection worker: SCHED_FIFO %u refused (%s); "
			 "normal scheduling", prio, strerror(rc));
	}
	return pthread_create(&in->thread, NULL, insp_main, in);
}

struct ctl_insp *ctl_insp_start(struct ctl_bpf *b, const struct ctl_config *cfg,
				char *err, size_t errlen)
{
	struct ctl_xsk_opts xo = {0};
	struct ctl_insp *in;
	int rc;

	err[0] = '\0';
	if (!cfg->insp.enabled)
		return NULL;
	in = calloc(1, sizeof(*in));
	if (!in) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	in->efd = -1;
	in->bpf = b;
	if (getrandom(in->seed, sizeof(in->seed), 0) != sizeof(in->seed)) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		free(in);
		return NULL;
	}
	pthread_mutex_init(&in->lock, NULL);
	pthread_mutex_init(&in->qlock, NULL);
	insp_take_cfg(in, cfg);
	in->ring_size = cfg->insp.ring_size ? cfg->insp.ring_size : 2048;
	in->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (in->efd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	in->table = insp_table_new(in);
	in->policy = ctl_policy_new(&in->pcfg);
	if (!in->table || !in->policy) {
		snprintf(err, errlen, "engine or policy: invalid settings or "
			 "out of memory");
		goto fail;
	}
#ifdef MXW_HAVE_NDPI
	if (in->use_ndpi) {
		in->ndpi = ctl_ndpi_new(in->ecfg.max_flows, err, errlen);
		if (!in->ndpi)
			goto fail;
	}
#endif
	for (int s = 0; s < MXW_SLOT_MAX; s++) {
		xo.ifindex[s] = b->ifindex[s];
		xo.queues[s] = cfg->insp.queues;
	}
	xo.ring_size = in->ring_size;
	xo.frame_size = 4096;
	xo.xskmap_fd = b->fd_xsks;
	xo.zerocopy = cfg->insp.zerocopy;
	in->xsk = ctl_xsk_open(&xo, err, errlen);
	if (!in->xsk)
		goto fail;
	/* alive only once the sockets are in the map */
	rc = insp_thread_start(in, cfg->insp.rt_priority);
	if (rc) {
		snprintf(err, errlen, "worker thread: %s", strerror(rc));
		goto fail;
	}
	in->started = true;
	in->st.running = true;
	return in;
fail:
	ctl_insp_stop(in);
	return NULL;
}

void ctl_insp_stop(struct ctl_insp *in)
{
	if (!in)
		return;
	if (in->started) {
		atomic_store(&in->stop, true);
		pthread_join(in->thread, NULL);
	}
	/* sockets leave the map: the fast path takes over at once */
	ctl_xsk_close(in->xsk);
	if (in->bpf && in->started)
		ctl_bpf_insp_alive(in->bpf, 0, 0);
	mxi_table_free(in->table);
	ctl_policy_free(in->policy);
#ifdef MXW_HAVE_NDPI
	ctl_ndpi_free(in->ndpi);
#endif
	while (in->qlen) {
		json_decref(in->q[in->qhead].ev);
		in->qhead = (in->qhead + 1) % INSP_QUEUE_MAX;
		in->qlen--;
	}
	if (in->efd >= 0)
		close(in->efd);
	pthread_mutex_destroy(&in->lock);
	pthread_mutex_destroy(&in->qlock);
	free(in);
}

void ctl_insp_reconfigure(struct ctl_insp *in, const struct ctl_config *cfg)
{
	pthread_mutex_lock(&in->lock);
	insp_take_cfg(in, cfg);
	in->reconf = true;
	pthread_mutex_unlock(&in->lock);
}

/* ---- views for the control socket ---------------------------------------- */

struct insp_sess_ctx {
	json_t *arr;
	size_t max, n;
	uint64_t now;
	double wall;            /* wall clock at now */
};

/* The shape is docs/control-protocol.md "sessions.list", built where the
 * event objects are (ctl_events.c) so that the two cannot drift. */
static int insp_sess_cb(void *ctx, const struct mxi_session_info *s)
{
	struct insp_sess_ctx *c = ctx;
	json_t *o;

	if (c->n >= c->max)
		return 1;
	o = ctl_session_json(s, c->now, c->wall);
	if (!o)
		return 1;
	json_array_append_new(c->arr, o);
	c->n++;
	return 0;
}

size_t ctl_insp_sessions(struct ctl_insp *in, json_t *arr, size_t max)
{
	struct insp_sess_ctx c = { .arr = arr, .max = max };

	pthread_mutex_lock(&in->lock);
	c.now = insp_mono_ns();
	c.wall = ctl_wall_now();
	mxi_foreach(in->table, insp_sess_cb, &c);
	pthread_mutex_unlock(&in->lock);
	return c.n;
}

static int insp_u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* p50 / p99 of a latency ring copied out under the lock; returns the
 * number of samples. */
static uint32_t insp_lat_pct(uint32_t *sorted, uint32_t n, uint64_t *p50,
			     uint64_t *p99)
{
	qsort(sorted, n, sizeof(*sorted), insp_u32_cmp);
	*p50 = n ? sorted[(n - 1) / 2] : 0;
	*p99 = n ? sorted[(n - 1) * 99 / 100] : 0;
	return n;
}

static uint32_t insp_lat_copy(const struct insp_lat *l, uint32_t *out)
{
	uint32_t n = l->pos < INSP_LAT_RING ? l->pos : INSP_LAT_RING;

	memcpy(out, l->ring, n * sizeof(*out));
	return n;
}

void ctl_insp_stats(struct ctl_insp *in, struct ctl_insp_stats *out)
{
	/* main thread only */
	static uint32_t sorted[INSP_LAT_RING], fsorted[INSP_LAT_RING];
	struct ctl_xsk_stats xs;
	struct mxi_stats cur;
	uint32_t n, fn;

	pthread_mutex_lock(&in->lock);
	*out = in->st;
	mxi_get_stats(in->table, &cur);
	ctl_policy_stats(in->policy, &out->policy);
	n = insp_lat_copy(&in->block_lat, sorted);
	fn = insp_lat_copy(&in->frame_lat, fsorted);
	pthread_mutex_unlock(&in->lock);

	/* engine counters: past tables (kept in st.engine) + the live one */
	insp_engine_add(&out->engine, &cur);
	out->engine.flows = cur.flows;
	out->engine.mem_used = cur.mem_used;
	out->engine.mem_peak = cur.mem_peak;

	out->block_lat_samples = insp_lat_pct(sorted, n, &out->block_lat_p50_ns,
					      &out->block_lat_p99_ns);
	out->frame_lat_samples = insp_lat_pct(fsorted, fn,
					      &out->frame_lat_p50_ns,
					      &out->frame_lat_p99_ns);

	ctl_xsk_stats(in->xsk, &xs);
	out->xsk_rx = xs.rx;
	out->xsk_tx = xs.tx;
	out->xsk_tx_full = xs.tx_full;
	out->k_rx_dropped = xs.k_rx_dropped;
	out->k_rx_ring_full = xs.k_rx_ring_full;
	out->sockets = xs.sockets;
	out->zerocopy = xs.zerocopy;
}

void ctl_insp_blocked(struct ctl_insp *in, const struct ctl_prefix *target)
{
	struct mxw_addr a;

	memcpy(a.a, target->a, 16);
	/* under the lock the worker is between batches: the table and the
	 * sockets are this thread's for the walk */
	pthread_mutex_lock(&in->lock);
	mxi_end_client(in->table, &a, target->plen, 0, insp_reset_cb, in);
	pthread_mutex_unlock(&in->lock);
}

void ctl_insp_unblocked(struct ctl_insp *in, const struct ctl_prefix *target)
{
	pthread_mutex_lock(&in->lock);
	ctl_policy_unblocked(in->policy, target);
	pthread_mutex_unlock(&in->lock);
}
