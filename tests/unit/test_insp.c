// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_insp.c - the flow table end to end: whole sessions as TCP packets
 * (handshake, segments, FIN), delivered in order and then with segments
 * shuffled, duplicated and re-sent overlapping within each flight; both
 * runs must give exactly the same events.  Then per-packet verdicts (the
 * packet that completes a denied command is the one dropped), table cap,
 * expiry, opaque flows and memory accounting.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "insp.h"

#define MAX_EV 64
#define MAX_PKT 4096

struct rec {
	int n;
	int reason[MAX_EV];
	uint64_t session[MAX_EV];
	struct smtp_event last;
};

static void rec_emit(void *ctx, const struct smtp_event *ev)
{
	struct rec *r = ctx;

	if (r->n < MAX_EV) {
		r->reason[r->n] = ev->reason;
		r->session[r->n] = ev->session_id;
	}
	r->n++;
	r->last = *ev;
}

static struct mxw_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct mxw_addr x = { .a = { [10] = 0xff, [11] = 0xff } };

	x.a[12] = a;
	x.a[13] = b;
	x.a[14] = c;
	x.a[15] = d;
	return x;
}

struct flight {
	char dir;
	const char *data;
	size_t len;
};

#define C(s) { 'C', s, sizeof(s) - 1 }
#define S(s) { 'S', s, sizeof(s) - 1 }

struct session {
	const char *label;
	struct flight f[24];
	int expect[16];             /* reasons, -1 ends */
	enum mxi_verdict worst;
};

#define GREET S("220 mx.example.org ESMTP\r\n")
#define EHLO  C("EHLO c.example\r\n"), \
	S("250-mx.example.org\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-8BITMIME\r\n" \
	  "250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250 SMTPUTF8\r\n")

static const struct session sessions[] = {
	{ "legit pipelined session with two messages", {
		GREET, EHLO,
		C("MAIL FROM:<a@c.example>\r\nRCPT TO:<x@example.org>\r\n"
		  "RCPT TO:<y@example.org>\r\nDATA\r\n"),
		S("250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n"),
		C("From: a@c.example\r\nSubject: test message with some length\r\n\r\n"
		  "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do\r\n"
		  "eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut\r\n"
		  "..stuffed line\r\nenim ad minim veniam, quis nostrud exercitation\r\n"
		  ".\r\nMAIL FROM:<>\r\nRCPT TO:<x@example.org>\r\nDATA\r\n"),
		S("250 queued\r\n250 Ok\r\n250 Ok\r\n354 go\r\n"),
		C("bounce text\r\n.\r\nQUIT\r\n"),
		S("250 queued\r\n221 Bye\r\n") },
	  { -1 }, MXI_FORWARD },
	{ "legit BDAT session", {
		GREET, EHLO,
		C("MAIL FROM:<a@c.example>\r\nRCPT TO:<x@example.org>\r\n"),
		S("250 Ok\r\n250 Ok\r\n"),
		C("BDAT 40\r\n0123456789\r\n.\r\nQUIT\r\nRSET\r\n0123456789012BDAT 0 LAST\r\n"),
		S("250 40 octets\r\n250 queued\r\n"),
		C("QUIT\r\n"), S("221 Bye\r\n") },
	  { -1 }, MXI_FORWARD },
	{ "AUTH brute force, then relay attempt", {
		GREET, EHLO,
		C("AUTH LOGIN\r\n"), S("334 VXNlcm5hbWU6\r\n"),
		C("YWRtaW4=\r\n"), S("334 UGFzc3dvcmQ6\r\n"),
		C("MTIzNDU2\r\n"), S("535 5.7.8 failed\r\n"),
		C("MAIL FROM:<a@c.example>\r\n"), S("250 Ok\r\n"),
		C("RCPT TO:<v@elsewhere.example>\r\n"), S("554 relay denied\r\n") },
	  { SMTP_R_CLEARTEXT_AUTH, SMTP_R_AUTH_FAILED, SMTP_R_RELAY_ATTEMPT, -1 },
	  MXI_KILL },
	{ "smuggling attempt", {
		GREET, EHLO,
		C("MAIL FROM:<a@c.example>\r\nRCPT TO:<x@example.org>\r\nDATA\r\n"),
		S("250 Ok\r\n250 Ok\r\n354 go\r\n"),
		C("Subject: x\r\n\r\nbody\n.\nMAIL FROM:<ceo@example.org>\r\n"
		  "RCPT TO:<x@example.org>\r\nDATA\r\n") },
	  { SMTP_R_BARE_LF, SMTP_R_SMUGGLE_LF, -1 }, MXI_KILL },
	{ "VRFY harvest answered", {
		GREET, EHLO,
		C("VRFY alice\r\n"), S("250 Alice <alice@example.org>\r\n"),
		C("VRFY bob\r\n"), S("550 5.1.1 no\r\n") },
	  { SMTP_R_VRFY, SMTP_R_AUDIT_VRFY, SMTP_R_VRFY, -1 }, MXI_FORWARD },
};

struct pkt {
	int from_client;
	uint8_t flags;
	uint32_t seq;
	const uint8_t *data;
	uint32_t len;
	uint32_t ack;
};

static uint64_t rs;

static uint32_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint32_t)(rs >> 11);
}

/*
 * Packets of a session: handshake, each flight cut into segments, FINs.
 * mess != 0: within each flight the segments are shuffled and duplicates
 * and overlapping re-sends are added (bytes consistent).
 */
static unsigned build(const struct session *se, struct pkt *out, int mess,
		      uint32_t cisn, uint32_t sisn)
{
	unsigned n = 0, i;
	uint32_t cseq = cisn + 1, sseq = sisn + 1;

	out[n++] = (struct pkt){ 1, TCPR_F_SYN, cisn, NULL, 0 };
	out[n++] = (struct pkt){ 0, TCPR_F_SYN | TCPR_F_ACK, sisn, NULL, 0 };
	out[n++] = (struct pkt){ 1, TCPR_F_ACK, cseq, NULL, 0, sseq };
	for (i = 0; se->f[i].dir; i++) {
		const struct flight *fl = &se->f[i];
		int cl = fl->dir == 'C';
		uint32_t *seq = cl ? &cseq : &sseq;
		unsigned first = n, k;
		size_t off = 0;

		while (off < fl->len) {
			size_t l = mess ? 1 + rnd() % 24 : 1 + rnd() % 48;

			if (off + l > fl->len)
				l = fl->len - off;
			out[n++] = (struct pkt){ cl, TCPR_F_ACK, *seq + (uint32_t)off,
						 (const uint8_t *)fl->data + off,
						 (uint32_t)l, cl ? sseq : cseq };
			off += l;
		}
		if (mess) {
			unsigned extra = (n - first) / 2 + 1;

			for (k = 0; k < extra; k++) {
				size_t a = rnd() % fl->len, l = 1 + rnd() % 30;

				if (a + l > fl->len)
					l = fl->len - a;
				out[n++] = (struct pkt){ cl, TCPR_F_ACK,
							 *seq + (uint32_t)a,
							 (const uint8_t *)fl->data + a,
							 (uint32_t)l, cl ? sseq : cseq };
			}
			for (k = n - 1; k > first; k--) {
				unsigned j = first + rnd() % (k - first + 1);
				struct pkt t = out[k];

				out[k] = out[j];
				out[j] = t;
			}
		}
		*seq += (uint32_t)fl->len;
	}
	out[n++] = (struct pkt){ 1, TCPR_F_FIN | TCPR_F_ACK, cseq, NULL, 0, sseq };
	out[n++] = (struct pkt){ 0, TCPR_F_FIN | TCPR_F_ACK, sseq, NULL, 0, cseq + 1 };
	return n;
}

static void make_cfg(struct mxi_config *cfg, struct rec *r)
{
	mxi_config_default(cfg);
	cfg->smtp.local_domains[0] = "example.org";
	cfg->smtp.n_local_domains = 1;
	cfg->emit = rec_emit;
	cfg->emit_ctx = r;
	cfg->max_flows = 16;
	cfg->buckets = 16;
}

static void to_mxi(const struct pkt *p, struct mxi_pkt *m)
{
	struct mxw_addr c = v4(203, 0, 113, 9), s = v4(192, 0, 2, 25);

	memset(m, 0, sizeof(*m));
	m->src = p->from_client ? c : s;
	m->dst = p->from_client ? s : c;
	m->sport = p->from_client ? 51234 : 25;
	m->dport = p->from_client ? 25 : 51234;
	m->tcp_flags = p->flags;
	m->seq = p->seq;
	m->ack = p->ack;
	m->payload = p->data;
	m->len = p->len;
}

static enum mxi_verdict play(const struct session *se, int mess, uint64_t seed,
			     struct rec *r, int *mem_ok)
{
	static struct pkt pk[MAX_PKT];
	struct mxi_config cfg;
	struct mxi_table *t;
	struct mxi_stats st;
	enum mxi_verdict worst = MXI_FORWARD;
	unsigned n, i;
	uint32_t cisn, sisn;

	rs = seed;
	cisn = rnd() | (seed & 1 ? 0xffffff00u : 0);   /* sometimes near the wrap */
	sisn = rnd() | (seed & 2 ? 0xfffffff0u : 0);
	n = build(se, pk, mess, cisn, sisn);
	memset(r, 0, sizeof(*r));
	make_cfg(&cfg, r);
	t = mxi_table_new(&cfg);
	if (!t)
		abort();
	for (i = 0; i < n; i++) {
		struct mxi_pkt m;
		struct mxi_result res;
		enum mxi_verdict v;

		to_mxi(&pk[i], &m);
		v = mxi_feed(t, &m, 1000 + i, &res);
		if (v > worst)
			worst = v;
	}
	mxi_get_stats(t, &st);
	mxi_table_free(t);
	*mem_ok = 1;
	return worst;
}

static int same_events(const struct rec *a, const int *want)
{
	int n = 0;

	while (want[n] != -1)
		n++;
	if (a->n != n)
		return 0;
	for (int i = 0; i < n; i++)
		if (a->reason[i] != want[i])
			return 0;
	return 1;
}

static void print_events(const char *what, const struct rec *r)
{
	printf("#   %s:", what);
	for (int i = 0; i < r->n && i < MAX_EV; i++)
		printf(" %s", smtp_reason_name(r->reason[i]));
	printf("\n");
}

/* ---- per-packet verdicts ------------------------------------------- */

struct vstep {
	int from_client;
	uint8_t flags;
	uint32_t off;               /* relative to the side's ISN + 1 */
	const char *data;
	enum mxi_verdict want;
};

static int run_verdicts(const char *label, const struct vstep *v, unsigned tweak)
{
	struct rec r;
	struct mxi_config cfg;
	struct mxi_table *t;
	int ok = 1;
	unsigned i;

	memset(&r, 0, sizeof(r));
	make_cfg(&cfg, &r);
	if (tweak & 1)
		cfg.smtp.action[SMTP_R_VRFY] = SMTP_A_DENY;
	t = mxi_table_new(&cfg);
	for (i = 0; v[i].flags; i++) {
		struct pkt p = { v[i].from_client, v[i].flags,
				 (v[i].from_client ? 1000u : 5000u) +
				 ((v[i].flags & TCPR_F_SYN) ? 0 : 1 + v[i].off),
				 (const uint8_t *)v[i].data,
				 v[i].data ? (uint32_t)strlen(v[i].data) : 0 };
		struct mxi_pkt m;
		struct mxi_result res;
		enum mxi_verdict got;

		to_mxi(&p, &m);
		got = mxi_feed(t, &m, 1, &res);
		if (got != v[i].want) {
			printf("# %s: packet %u verdict %d, want %d\n", label, i,
			       got, v[i].want);
			ok = 0;
		}
	}
	mxi_table_free(t);
	return ok;
}

#define A TCPR_F_ACK
#define SYN TCPR_F_SYN
#define HS { 1, SYN, 0, NULL, MXI_FORWARD }, { 0, SYN | A, 0, NULL, MXI_FORWARD }, \
	{ 0, A, 0, "220 mx ESMTP\r\n", MXI_FORWARD }

static const struct vstep v_deny_split[] = {
	HS,
	{ 1, A, 0, "VR", MXI_FORWARD },
	{ 1, A, 2, "FY postmaster\r\n", MXI_DROP },     /* completes the line */
	{ 1, A, 2, "FY postmaster\r\n", MXI_DROP },     /* retransmission */
	{ 0, A, 14, "252 ok\r\n", MXI_DROP },           /* flow is dead */
	{ 0 } };

#define X100 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
static const struct vstep v_long_line[] = {
	HS,
	{ 1, A, 0, "HELO " X100 X100 X100, MXI_FORWARD },      /* 305 octets */
	{ 1, A, 305, X100 X100 X100, MXI_KILL },                /* 306..605 */
	{ 1, A, 605, "zz\r\n", MXI_DROP },
	{ 0 } };

/* The out-of-order tail is forwarded; the packet that fills the gap and
 * completes the command is the one judged. */
static const struct vstep v_ooo_gap[] = {
	HS,
	{ 1, A, 3, "Y postmaster\r\n", MXI_FORWARD },
	{ 1, A, 0, "VRF", MXI_DROP },
	{ 0 } };

static const struct vstep v_mismatch[] = {
	HS,
	{ 1, A, 5, "c.example\r\n", MXI_FORWARD },
	{ 1, A, 0, "EHLO evil.example\r\n", MXI_KILL },
	{ 0 } };

/* After an RST nothing new is forwarded uninspected; after FINs only
 * retransmissions of earlier bytes pass. */
static const struct vstep v_closed[] = {
	HS,
	{ 1, A, 0, "EHLO a\r\n", MXI_FORWARD },
	{ 1, TCPR_F_FIN | A, 8, NULL, MXI_FORWARD },
	{ 0, TCPR_F_FIN | A, 14, NULL, MXI_FORWARD },
	{ 1, A, 0, "EHLO a\r\n", MXI_FORWARD },          /* retransmission */
	{ 1, A, 9, "VRFY root\r\n", MXI_DROP },          /* past the FIN */
	/* the same 4-tuple reused by a new connection is inspected anew */
	{ 1, SYN, 0, NULL, MXI_FORWARD },
	{ 0, SYN | A, 0, NULL, MXI_FORWARD },
	{ 0, A, 0, "220 mx ESMTP\r\n", MXI_FORWARD },
	{ 1, A, 0, "EHLO bbbbbbbbbbbbbbbbb\r\n", MXI_FORWARD },
	{ 0 } };

/* The inline path sees the server's SYN-ACK, not the client's SYN: the
 * SYN-ACK alone must start the reused 4-tuple afresh, after a close and
 * after a kill (else the new greeting is dropped as "past the FIN"). */
static const struct vstep v_reuse_synack[] = {
	{ 0, SYN | A, 0, NULL, MXI_FORWARD },
	{ 0, A, 0, "220 mx ESMTP\r\n", MXI_FORWARD },
	{ 1, A, 0, "EHLO a\r\n", MXI_FORWARD },
	{ 1, TCPR_F_FIN | A, 8, NULL, MXI_FORWARD },
	{ 0, TCPR_F_FIN | A, 14, NULL, MXI_FORWARD },
	{ 0, SYN | A, 0, NULL, MXI_FORWARD },
	{ 0, A, 0, "220 mx ESMTP\r\n", MXI_FORWARD },
	{ 1, A, 0, "EHLO b\r\n", MXI_FORWARD },
	{ 1, A, 8, "GET / HTTP/1.0\r\n", MXI_KILL },
	{ 1, A, 8, "QUIT\r\n", MXI_DROP },           /* dead */
	{ 0, SYN | A, 0, NULL, MXI_FORWARD },
	{ 0, A, 0, "220 mx ESMTP\r\n", MXI_FORWARD },
	{ 1, A, 0, "EHLO c\r\n", MXI_FORWARD },
	{ 0 } };

static const struct vstep v_rst[] = {
	HS,
	{ 1, A, 0, "EHLO a\r\n", MXI_FORWARD },
	{ 1, TCPR_F_RST, 8, NULL, MXI_FORWARD },
	{ 1, A, 8, "VRFY root\r\n", MXI_DROP },
	{ 0 } };

/* ---- table behaviour ------------------------------------------------ */

static int table_tests(void)
{
	struct rec r;
	struct mxi_config cfg;
	struct mxi_table *t;
	struct mxi_stats st;
	struct mxi_result res;
	struct mxi_pkt m;
	struct pkt p = { 1, TCPR_F_SYN, 100, NULL, 0 };
	int ok = 1;
	unsigned i;

	memset(&r, 0, sizeof(r));
	make_cfg(&cfg, &r);
	cfg.max_flows = 3;
	cfg.idle_timeout_ns = 1000;
	t = mxi_table_new(&cfg);

	/* handshake-only flows make room at the cap: the 4th SYN evicts
	 * the least recently active one */
	for (i = 0; i < 4; i++) {
		to_mxi(&p, &m);
		m.sport = (uint16_t)(40000 + i);
		mxi_feed(t, &m, 10 + i, &res);
		if (!(res.flags & MXI_RF_NEW) || (res.flags & MXI_RF_UNINSPECTED))
			ok = 0;
	}
	mxi_get_stats(t, &st);
	if (st.flows != 3 || st.flows_evicted != 1 || st.table_full != 0)
		ok = 0;
	if (!ok)
		printf("# evict: flows %llu evicted %llu full %llu\n",
		       (unsigned long long)st.flows,
		       (unsigned long long)st.flows_evicted,
		       (unsigned long long)st.table_full);
	/* cap: once every flow carried bytes, a new one is forwarded
	 * uninspected (table_full_action allow) */
	for (i = 1; i < 4; i++) {
		struct pkt d = { 1, TCPR_F_ACK, 101,
				 (const uint8_t *)"NOOP\r\n", 6 };

		to_mxi(&d, &m);
		m.sport = (uint16_t)(40000 + i);
		mxi_feed(t, &m, 20, &res);
	}
	to_mxi(&p, &m);
	m.sport = 40009;
	mxi_feed(t, &m, 30, &res);
	if (res.verdict != MXI_FORWARD || !(res.flags & MXI_RF_UNINSPECTED))
		ok = 0;
	mxi_get_stats(t, &st);
	if (st.flows != 3 || st.table_full != 1 || st.reason[SMTP_R_TABLE_FULL] != 1)
		ok = 0;
	if (!ok)
		printf("# cap: flows %llu full %llu\n", (unsigned long long)st.flows,
		       (unsigned long long)st.table_full);
	r.n = 0;        /* the NOOPs before a greeting were pregreet events */
	/* expiry */
	if (mxi_expire(t, 2000, 100) != 3)
		ok = 0;
	mxi_get_stats(t, &st);
	if (st.flows != 0 || st.flows_expired != 3)
		ok = 0;

	/* not a mail port; implicit TLS; bare ACK of unknown flow */
	to_mxi(&p, &m);
	m.dport = 80;
	mxi_feed(t, &m, 3000, &res);
	if (!(res.flags & MXI_RF_NOT_MAIL) || res.verdict != MXI_FORWARD)
		ok = 0;
	m.dport = 465;
	mxi_feed(t, &m, 3000, &res);
	if (!(res.flags & MXI_RF_OPAQUE))
		ok = 0;
	m.dport = 25;
	m.tcp_flags = TCPR_F_ACK;
	mxi_feed(t, &m, 3000, &res);
	mxi_get_stats(t, &st);
	if (st.flows != 0)
		ok = 0;

	/* midstream pickup: payload without a SYN, server side first */
	{
		struct pkt q = { 0, TCPR_F_ACK, 7777,
				 (const uint8_t *)"250 2.0.0 Ok\r\n", 14 };

		to_mxi(&q, &m);
		mxi_feed(t, &m, 3000, &res);
		if (!(res.flags & MXI_RF_MIDSTREAM) || res.verdict != MXI_FORWARD)
			ok = 0;
		q = (struct pkt){ 1, TCPR_F_ACK, 9999,
				  (const uint8_t *)"FROB\r\n", 6 };
		to_mxi(&q, &m);
		mxi_feed(t, &m, 3000, &res);
		if (r.n != 1 || r.reason[0] != SMTP_R_UNKNOWN_CMD)
			ok = 0;
	}
	mxi_table_free(t);
	return ok;
}

/* POP3 on port 110: the port picks the protocol; an event raised by a
 * server packet still names the client as the source. */
static int pop3_test(void)
{
	static const struct { int c; uint32_t off; const char *d; } v[] = {
		{ 0, 0, "+OK ready\r\n" },
		{ 1, 0, "USER alice\r\n" },
		{ 0, 11, "+OK\r\n" },
		{ 1, 12, "PASS secret\r\n" },
		{ 0, 16, "-ERR [AUTH] no\r\n" },
	};
	struct rec r;
	struct mxi_config cfg;
	struct mxi_table *t;
	struct mxi_result res;
	struct mxw_addr client = v4(203, 0, 113, 9);
	unsigned i;
	int ok = 1;

	memset(&r, 0, sizeof(r));
	make_cfg(&cfg, &r);
	t = mxi_table_new(&cfg);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct pkt p = { v[i].c, TCPR_F_ACK, (v[i].c ? 1000u : 5000u) + v[i].off,
				 (const uint8_t *)v[i].d, (uint32_t)strlen(v[i].d) };
		struct mxi_pkt m;

		to_mxi(&p, &m);
		if (v[i].c)
			m.dport = 110;
		else
			m.sport = 110;
		mxi_feed(t, &m, 1, &res);
	}
	if (r.n != 2 || r.reason[0] != SMTP_R_POP3_CLEARTEXT ||
	    r.reason[1] != SMTP_R_LOGIN_FAILED || r.last.proto != SMTP_P_POP3 ||
	    r.last.dir != SMTP_DIR_S2C || r.last.client_port != 51234 ||
	    r.last.server_port != 110 ||
	    memcmp(&r.last.client, &client, sizeof(client)) != 0 ||
	    strcmp(r.last.command, "PASS") != 0)
		ok = 0;
	{
		char line[256];

		smtp_event_format(line, sizeof(line), &r.last);
		if (strcmp(line, "LOGIN FAILED from [203.0.113.9]:51234 to "
			   "[192.0.2.25]:110 cmd=PASS arg=\"-ERR [AUTH] no\"") != 0) {
			printf("# log line: %s\n", line);
			ok = 0;
		}
	}
	mxi_table_free(t);
	return ok;
}

/* STARTTLS: the flow turns opaque and the result says so. */
static int opaque_test(void)
{
	static const struct vstep v[] = {
		HS,
		{ 1, A, 0, "STARTTLS\r\n", MXI_FORWARD },
		{ 0, A, 14, "220 go ahead\r\n", MXI_FORWARD },
		{ 1, A, 10, "\x16\x03\x01\x00\x10GET / HTTP/1.0\r\n", MXI_FORWARD },
		{ 0 } };
	struct rec r;
	struct mxi_config cfg;
	struct mxi_table *t;
	struct mxi_result res;
	struct mxi_stats st;
	unsigned i;
	int ok = 1;

	memset(&r, 0, sizeof(r));
	make_cfg(&cfg, &r);
	t = mxi_table_new(&cfg);
	for (i = 0; v[i].flags; i++) {
		struct pkt p = { v[i].from_client, v[i].flags,
				 (v[i].from_client ? 1000u : 5000u) +
				 ((v[i].flags & TCPR_F_SYN) ? 0 : 1 + v[i].off),
				 (const uint8_t *)v[i].data,
				 v[i].data ? (uint32_t)strlen(v[i].data) : 0 };
		struct mxi_pkt m;

		to_mxi(&p, &m);
		mxi_feed(t, &m, 1, &res);
		if (res.verdict != v[i].want)
			ok = 0;
		if (i >= 4 && !(res.flags & MXI_RF_OPAQUE))
			ok = 0;
	}
	mxi_get_stats(t, &st);
	if (r.n != 0 || st.mem_used != 0)
		ok = 0;
	mxi_table_free(t);
	return ok;
}

/*
 * A copy the server never took (dropped beyond its window, say) resent
 * with other bytes: compared with what we kept and killed.  Once the
 * server acknowledged the bytes, a different retransmission is harmless
 * (the server discards it) and passes.
 */
static int retrans_test(void)
{
	static const char first[] = "MAIL FROM:<a@b.example>\r\n";
	static const char evil[] = "VRFY postmaster@example\r\n";
	_Static_assert(sizeof(first) == sizeof(evil), "same range resent");
	struct rec r;
	struct mxi_config cfg;
	struct mxi_table *t;
	struct mxi_result res;
	struct mxi_pkt m;
	int ok = 1, round;

	for (round = 0; round < 2; round++) {
		struct pkt hs[3] = {
			{ 1, TCPR_F_SYN, 1000, NULL, 0, 0 },
			{ 0, TCPR_F_SYN | TCPR_F_ACK, 5000, NULL, 0, 1001 },
			{ 0, TCPR_F_ACK, 5001, (const uint8_t *)"220 mx\r\n", 8, 1001 },
		};
		struct pkt c1 = { 1, TCPR_F_ACK, 1001, (const uint8_t *)first,
				  sizeof(first) - 1, 5009 };
		struct pkt sack = { 0, TCPR_F_ACK, 5009, NULL, 0,
				    1001 + sizeof(first) - 1 };
		struct pkt c2 = { 1, TCPR_F_ACK, 1001, (const uint8_t *)evil,
				  sizeof(evil) - 1, 5009 };
		unsigned i;

		memset(&r, 0, sizeof(r));
		make_cfg(&cfg, &r);
		t = mxi_table_new(&cfg);
		for (i = 0; i < 3; i++) {
			to_mxi(&hs[i], &m);
			mxi_feed(t, &m, 1, &res);
		}
		to_mxi(&c1, &m);
		if (mxi_feed(t, &m, 2, &res) != MXI_FORWARD)
			ok = 0;
		if (round == 1) {       /* the server acknowledges it */
			to_mxi(&sack, &m);
			mxi_feed(t, &m, 3, &res);
		}
		to_mxi(&c2, &m);
		mxi_feed(t, &m, 4, &res);
		if (round == 0 && (res.verdict != MXI_KILL || r.n != 1 ||
				   r.reason[0] != SMTP_R_TCP_MISMATCH))
			ok = 0;
		if (round == 1 && (res.verdict != MXI_FORWARD || r.n != 0))
			ok = 0;
		if (!ok)
			printf("# round %d: verdict %d, %d events, first %s\n", round,
			       res.verdict, r.n, r.n ? smtp_reason_name(r.reason[0]) : "-");
		mxi_table_free(t);
	}
	return ok;
}

/* IPv6 flows are keyed and logged like IPv4 ones. */
static int ipv6_test(void)
{
	struct rec r;
	struct mxi_config cfg;
	struct mxi_table *t;
	struct mxi_result res;
	struct mxi_pkt m;
	char line[256];
	int ok = 1;
	static const uint8_t c6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
					0, 0, 0, 0, 0, 0, 0, 0x09 };
	static const uint8_t s6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
					0, 0, 0, 0, 0, 0, 0, 0x25 };

	memset(&r, 0, sizeof(r));
	make_cfg(&cfg, &r);
	t = mxi_table_new(&cfg);
	memset(&m, 0, sizeof(m));
	memcpy(m.src.a, s6, 16);
	memcpy(m.dst.a, c6, 16);
	m.sport = 25;
	m.dport = 40000;
	m.tcp_flags = TCPR_F_ACK;
	m.seq = 77;
	m.payload = (const uint8_t *)"250 ok\r\n";
	m.len = 8;
	mxi_feed(t, &m, 1, &res);        /* midstream sync on a reply */
	memcpy(m.src.a, c6, 16);
	memcpy(m.dst.a, s6, 16);
	m.sport = 40000;
	m.dport = 25;
	m.seq = 1000;
	m.payload = (const uint8_t *)"VRFY root\r\n";
	m.len = 11;
	mxi_feed(t, &m, 2, &res);
	if (r.n != 1 || r.reason[0] != SMTP_R_VRFY)
		ok = 0;
	smtp_event_format(line, sizeof(line), &r.last);
	if (strcmp(line, "VRFY from [2001:db8::9]:40000 to [2001:db8::25]:25 "
		   "cmd=VRFY arg=\"root\"") != 0) {
		printf("# log line: %s\n", line);
		ok = 0;
	}
	mxi_table_free(t);
	return ok;
}

/* One TAP-style line per check; returns 1 when it failed. */
/* mxi_foreach: most recently active first, a stop from the callback,
 * state names and per-session counters as the engine keeps them. */
struct walk {
	int n, stop_at;
	struct mxi_session_info s[8];
};

static int walk_cb(void *ctx, const struct mxi_session_info *s)
{
	struct walk *w = ctx;

	if (w->n < 8)
		w->s[w->n] = *s;
	w->n++;
	return w->n == w->stop_at;
}

static int foreach_test(void)
{
	/* per flow: client port, first client line, time of that line */
	static const struct { uint16_t cport; const char *line; uint64_t at; } fl[] = {
		{ 40001, "EHLO a.example\r\nVRFY root\r\n", 30 },
		{ 40002, "GET / HTTP/1.0\r\n", 20 },     /* killed: "dead" */
		{ 40003, "EHLO c.example\r\n", 10 },
	};
	static const char greet[] = "220 mx ESMTP\r\n";
	static const char *const want_state[] = { "active", "dead", "active" };
	struct rec r;
	struct mxi_config cfg;
	struct mxi_table *t;
	struct mxi_result res;
	struct walk w;
	int ok = 1;
	size_t n;

	memset(&r, 0, sizeof(r));
	make_cfg(&cfg, &r);
	t = mxi_table_new(&cfg);
	/* handshakes and greetings first (times 1, 2, 3), then the client
	 * lines in time order: flow 2 at 10, flow 1 at 20, flow 0 at 30 */
	for (unsigned phase = 0; phase < 2; phase++)
		for (unsigned k = 0; k < 3; k++) {
			unsigned i = phase ? 2 - k : k;
			struct pkt p[] = {
				{ 1, TCPR_F_SYN, 1000, NULL, 0, 0 },
				{ 0, TCPR_F_SYN | TCPR_F_ACK, 5000, NULL, 0, 1001 },
				{ 0, TCPR_F_ACK, 5001, (const uint8_t *)greet,
				  sizeof(greet) - 1, 1001 },
				{ 1, TCPR_F_ACK, 1001, (const uint8_t *)fl[i].line,
				  (uint32_t)strlen(fl[i].line), 5001 },
			};

			for (unsigned j = phase ? 3 : 0; j < (phase ? 4u : 3u); j++) {
				struct mxi_pkt m;

				to_mxi(&p[j], &m);
				if (p[j].from_client)
					m.sport = fl[i].cport;
				else
					m.dport = fl[i].cport;
				mxi_feed(t, &m, phase ? fl[i].at : i + 1, &res);
			}
		}
	memset(&w, 0, sizeof(w));
	n = mxi_foreach(t, walk_cb, &w);
	if (n != 3 || w.n != 3)
		ok = 0;
	for (unsigned i = 0; ok && i < 3; i++) {
		const struct mxi_session_info *s = &w.s[i];

		if (s->cport != fl[i].cport || s->sport != 25 ||
		    strcmp(s->state, want_state[i]) ||
		    s->created_ns != i + 1 || s->last_ns != fl[i].at ||
		    s->proto != SMTP_P_SMTP ||
		    s->bytes[SMTP_DIR_C2S] != strlen(fl[i].line) ||
		    s->bytes[SMTP_DIR_S2C] != sizeof(greet) - 1 ||
		    s->server.a[15] != 25 || s->client.a[15] != 9) {
			printf("# foreach[%u]: port %u state %s created %llu "
			       "last %llu bytes %llu/%llu\n", i, s->cport,
			       s->state, (unsigned long long)s->created_ns,
			       (unsigned long long)s->last_ns,
			       (unsigned long long)s->bytes[0],
			       (unsigned long long)s->bytes[1]);
			ok = 0;
		}
	}
	/* EHLO + VRFY: two commands, VRFY a junk command */
	if (ok && (w.s[0].commands != 2 || w.s[0].junk != 1 ||
		   w.s[2].commands != 1 || w.s[0].errors != 0 ||
		   !(w.s[0].smtp_flags & SMTP_SF_GREETED) ||
		   w.s[0].id == w.s[1].id || w.s[1].id == w.s[2].id)) {
		printf("# foreach counters: commands %u junk %u errors %u\n",
		       w.s[0].commands, w.s[0].junk, w.s[0].errors);
		ok = 0;
	}
	/* the callback stops the walk */
	memset(&w, 0, sizeof(w));
	w.stop_at = 2;
	if (mxi_foreach(t, walk_cb, &w) != 2 || w.n != 2)
		ok = 0;
	mxi_table_free(t);
	/* an empty table calls nothing */
	t = mxi_table_new(&cfg);
	memset(&w, 0, sizeof(w));
	if (mxi_foreach(t, walk_cb, &w) != 0 || w.n != 0)
		ok = 0;
	mxi_table_free(t);
	return ok;
}

/* mxi_end_client: the active sessions of a client (or a prefix) end,
 * with the sequence numbers each side expects passed to the callback;
 * the session excepted, other clients and opaque sessions are left. */
static enum mxi_verdict end_feed(struct mxi_table *t, struct mxw_addr cli,
				 uint16_t cport, int from_client, uint8_t fl,
				 uint32_t seq, uint32_t ack, const char *data,
				 uint64_t now, struct mxi_result *res)
{
	struct mxi_pkt m = {
		.src = from_client ? cli : v4(192, 0, 2, 25),
		.dst = from_client ? v4(192, 0, 2, 25) : cli,
		.sport = from_client ? cport : 25,
		.dport = from_client ? 25 : cport,
		.tcp_flags = fl, .seq = seq, .ack = ack,
		.payload = (const uint8_t *)data,
		.len = data ? (uint32_t)strlen(data) : 0,
	};

	return mxi_feed(t, &m, now, res);
}

/* A session up to EHLO: client ISN 1000, server ISN 5000.  Returns its
 * id; *c_next / *s_next are the next sequence numbers of each side. */
static uint64_t end_open(struct mxi_table *t, struct mxw_addr cli,
			 uint16_t cport, const char *ehlo)
{
	static const char greet[] = "220 mx ESMTP\r\n";
	struct mxi_result r;

	end_feed(t, cli, cport, 1, TCPR_F_SYN, 1000, 0, NULL, 1, &r);
	end_feed(t, cli, cport, 0, TCPR_F_SYN | TCPR_F_ACK, 5000, 1001, NULL, 2, &r);
	end_feed(t, cli, cport, 0, TCPR_F_ACK, 5001, 1001, greet, 3, &r);
	end_feed(t, cli, cport, 1, TCPR_F_ACK, 1001,
		 5001 + (uint32_t)strlen(greet), ehlo, 4, &r);
	return r.session_id;
}

struct ended {
	int n;
	uint16_t leave_cport;           /* the callback leaves this one */
	struct mxi_session_info s[8];
};

static int end_cb(void *ctx, const struct mxi_session_info *s)
{
	struct ended *e = ctx;

	if (s->cport == e->leave_cport)
		return 1;
	if (e->n < 8)
		e->s[e->n] = *s;
	e->n++;
	return 0;
}

static int end_client_test(void)
{
	static const char ehlo[] = "EHLO c.example\r\n";
	struct mxw_addr a = v4(203, 0, 113, 9), a2 = v4(203, 0, 113, 10);
	struct mxw_addr b = v4(198, 51, 100, 7), pfx = v4(203, 0, 113, 0);
	struct rec r;
	struct mxi_config cfg;
	struct mxi_table *t;
	struct mxi_result res;
	struct mxi_stats st;
	struct ended e;
	uint64_t keep, gone1, gone2, other, id2;
	int ok = 1;

	memset(&r, 0, sizeof(r));
	make_cfg(&cfg, &r);
	t = mxi_table_new(&cfg);
	keep = end_open(t, a, 40001, ehlo);     /* the offending session */
	gone1 = end_open(t, a, 40002, ehlo);
	gone2 = end_open(t, a, 40003, "EHLO c.example\r\nNOOP\r\n");
	other = end_open(t, b, 40004, ehlo);
	id2 = end_open(t, a2, 40005, ehlo);
	/* one of a's sessions already ended by the engine: left alone */
	end_feed(t, a, 40006, 1, TCPR_F_SYN, 1000, 0, NULL, 5, &res);
	end_feed(t, a, 40006, 0, TCPR_F_SYN | TCPR_F_ACK, 5000, 1001, NULL, 6, &res);
	end_feed(t, a, 40006, 1, TCPR_F_ACK, 1001, 5001, "GET / HTTP/1.0\r\n", 7, &res);
	if (res.verdict == MXI_FORWARD || !res.user)
		ok = 0;

	memset(&e, 0, sizeof(e));
	if (mxi_end_client(t, &a, 128, keep, end_cb, &e) != 2 || e.n != 2)
		ok = 0;
	for (int i = 0; ok && i < 2; i++) {
		const struct mxi_session_info *s = &e.s[i];
		uint32_t c_next = 1001 + (uint32_t)(s->id == gone2 ?
						 strlen(ehlo) + 6 : strlen(ehlo));

		if ((s->id != gone1 && s->id != gone2) || s->seq_known != 3 ||
		    s->next_seq[SMTP_DIR_C2S] != c_next ||
		    s->next_seq[SMTP_DIR_S2C] != 5001 + 14 ||
		    strcmp(s->state, "active") || !s->user) {
			printf("# ended[%d]: id %llu state %s seqs %u/%u known %u\n",
			       i, (unsigned long long)s->id, s->state,
			       s->next_seq[0], s->next_seq[1], s->seq_known);
			ok = 0;
		}
	}
	/* the ended sessions drop what follows; the rest goes on */
	if (end_feed(t, a, 40002, 1, TCPR_F_ACK, 1001 + 16, 5015, "NOOP\r\n",
		     8, &res) != MXI_DROP || res.session_id != gone1 ||
	    end_feed(t, a, 40001, 1, TCPR_F_ACK, 1001 + 16, 5015, "NOOP\r\n",
		     8, &res) != MXI_FORWARD ||
	    end_feed(t, b, 40004, 1, TCPR_F_ACK, 1001 + 16, 5015, "NOOP\r\n",
		     8, &res) != MXI_FORWARD || res.session_id != other)
		ok = 0;
	/* twice: nothing left to end */
	memset(&e, 0, sizeof(e));
	if (mxi_end_client(t, &a, 128, keep, end_cb, &e) != 0 || e.n != 0)
		ok = 0;
	/* a prefix: the /24 ends a2's session and a's last one, but not a
	 * session the callback leaves (an allowlisted client's) */
	memset(&e, 0, sizeof(e));
	e.leave_cport = 40005;
	if (mxi_end_client(t, &pfx, 96 + 24, 0, end_cb, &e) != 1 || e.n != 1 ||
	    e.s[0].id != keep ||
	    end_feed(t, a2, 40005, 1, TCPR_F_ACK, 1001 + 16, 5015, "NOOP\r\n",
		     9, &res) != MXI_FORWARD || res.session_id != id2)
		ok = 0;
	mxi_get_stats(t, &st);
	if (st.ended != 3)
		ok = 0;
	mxi_table_free(t);
	return ok;
}

/* mxi_end_client reads one client group's chain for a prefix inside a
 * /24 or /48, the whole table otherwise: either way it must end exactly
 * the active sessions whose client is in the prefix.  Random clients
 * from a few /24s and /48s (and ::/48, where no group index applies),
 * prefixes of every kind, checked against a scan of mxi_foreach. */
struct in_pfx {
	struct mxw_addr p;
	unsigned plen;
	int n;
};

static int in_pfx_cb(void *ctx, const struct mxi_session_info *s)
{
	struct in_pfx *q = ctx;
	unsigned full = q->plen / 8, rest = q->plen % 8;

	if (strcmp(s->state, "active") || memcmp(s->client.a, q->p.a, full) ||
	    (rest && ((s->client.a[full] ^ q->p.a[full]) &
		      (uint8_t)(0xff << (8 - rest)))))
		return 0;
	q->n++;
	return 0;
}

static struct mxw_addr v6(uint16_t w0, uint16_t w1, uint16_t w2, uint16_t w3,
			  uint16_t w7)
{
	struct mxw_addr x;
	uint16_t w[8] = { w0, w1, w2, w3, 0, 0, 0, w7 };

	memset(&x, 0, sizeof(x));
	for (int i = 0; i < 8; i++) {
		x.a[2 * i] = (uint8_t)(w[i] >> 8);
		x.a[2 * i + 1] = (uint8_t)w[i];
	}
	return x;
}

static int end_index_test(void)
{
	struct { struct mxw_addr p; unsigned plen; } q[16];
	struct rec r;
	struct mxi_config cfg;
	int ok = 1, nq = 0;

	q[nq].p = v4(203, 0, 113, 9);   q[nq++].plen = 128;
	q[nq].p = v4(203, 0, 113, 0);   q[nq++].plen = 120;
	q[nq].p = v4(203, 0, 113, 128); q[nq++].plen = 121;
	q[nq].p = v4(203, 0, 0, 0);     q[nq++].plen = 112;
	q[nq].p = v4(0, 0, 0, 0);       q[nq++].plen = 96;
	q[nq].p = v6(0x2001, 0xdb8, 0x66, 0, 0); q[nq++].plen = 48;
	q[nq].p = v6(0x2001, 0xdb8, 0x66, 7, 0); q[nq++].plen = 64;
	q[nq].p = v6(0x2001, 0xdb8, 0x66, 7, 5); q[nq++].plen = 128;
	q[nq].p = v6(0x2001, 0xdb8, 0, 0, 0);    q[nq++].plen = 32;
	q[nq].p = v6(0, 0, 0, 0, 0);             q[nq++].plen = 48;
	q[nq].p = v6(0, 0, 0, 0, 0);             q[nq++].plen = 0;
	memset(&r, 0, sizeof(r));
	make_cfg(&cfg, &r);
	cfg.max_flows = 4096;
	cfg.buckets = 64;               /* groups share chains too */
	for (int k = 0; k < nq; k++) {
		struct mxi_table *t = mxi_table_new(&cfg);
		struct in_pfx want;
		struct mxi_result res;
		size_t n;

		memset(&want, 0, sizeof(want));
		want.p = q[k].p;
		want.plen = q[k].plen;
		rs = 12345;
		for (unsigned i = 0; i < 1500; i++) {
			uint32_t x = rnd();
			struct mxw_addr c;

			switch (x % 5) {
			case 0: c = v4(203, 0, 113, (uint8_t)(x >> 8)); break;
			case 1: c = v4(203, 0, (uint8_t)(x >> 8), (uint8_t)(x >> 16)); break;
			case 2: c = v6(0x2001, 0xdb8, 0x66, (x >> 8) & 15, (uint16_t)(x >> 12) & 7); break;
			case 3: c = v6(0x2001, 0xdb8, (x >> 8) & 3, 1, (uint16_t)(x >> 12)); break;
			default: c = v6(0, 0, 0, 0, (uint16_t)x); break;  /* ::x */
			}
			end_feed(t, c, (uint16_t)(1024 + i), 1, TCPR_F_SYN, 1000, 0,
				 NULL, 1, &res);
		}
		mxi_foreach(t, in_pfx_cb, &want);
		n = mxi_end_client(t, &q[k].p, q[k].plen, 0, NULL, NULL);
		if (n != (size_t)want.n || (q[k].plen && !n)) {
			printf("# end_index: prefix %d (/%u) ended %zu, the scan "
			       "counts %d\n", k, q[k].plen, n, want.n);
			ok = 0;
		}
		want.n = 0;
		mxi_foreach(t, in_pfx_cb, &want);
		if (want.n) {
			printf("# end_index: prefix %u left %d active\n", k, want.n);
			ok = 0;
		}
		mxi_table_free(t);
	}
	return ok;
}

static unsigned report(int ok, const char *what)
{
	printf("%s - %s\n", ok ? "ok" : "not ok", what);
	return !ok;
}

int main(void)
{
	unsigned fails = 0;
	size_t i;
	int ok;

	for (i = 0; i < sizeof(sessions) / sizeof(sessions[0]); i++) {
		const struct session *se = &sessions[i];
		struct rec base, messy;
		int mem_ok, good = 1;
		enum mxi_verdict w;
		uint64_t seed;

		w = play(se, 0, 12345 + i, &base, &mem_ok);
		if (!same_events(&base, se->expect) || w != se->worst) {
			print_events("in order", &base);
			good = 0;
		}
		for (seed = 1; good && seed <= 300; seed++) {
			w = play(se, 1, seed * 7919 + i, &messy, &mem_ok);
			if (!same_events(&messy, se->expect) || w != se->worst) {
				printf("#   seed %llu verdict %d\n",
				       (unsigned long long)seed, w);
				print_events("reordered", &messy);
				good = 0;
			}
		}
		printf("%s - %s (in order + 300 reordered runs)\n",
		       good ? "ok" : "not ok", se->label);
		fails += !good;
	}
	fails += report(run_verdicts("deny completes on the packet with the line end",
				     v_deny_split, 1),
			"denied command: its packet and all later ones dropped");
	fails += report(run_verdicts("long line", v_long_line, 0),
			"the packet carrying octet 513 is killed");
	fails += report(run_verdicts("ooo gap", v_ooo_gap, 1),
			"out-of-order tail forwarded, gap filler judged");
	fails += report(run_verdicts("mismatch", v_mismatch, 0),
			"inconsistent overlap kills the flow");
	fails += report(run_verdicts("reuse after SYN-ACK", v_reuse_synack, 0),
			"a server SYN-ACK starts a closed or killed 4-tuple afresh");
	fails += report(run_verdicts("closed by FIN", v_closed, 0) &&
			run_verdicts("closed by RST", v_rst, 0),
			"closed flows pass only retransmissions");
	fails += report(table_tests(),
			"table cap, expiry, non-mail, implicit TLS, bare ACK, midstream");
	fails += report(pop3_test(), "POP3 by port, event names the client");
	fails += report(retrans_test(),
			"different retransmission of unacknowledged bytes killed, of acknowledged ones passed");
	fails += report(ipv6_test(), "IPv6 flow keyed, inspected and logged");
	fails += report(opaque_test(), "STARTTLS makes the flow opaque");
	fails += report(foreach_test(),
			"mxi_foreach: recent first, stop, state names, counters");
	fails += report(end_index_test(),
			"mxi_end_client by client group or by walk: exactly the active sessions inside the prefix");
	fails += report(end_client_test(),
			"mxi_end_client: a client's other active sessions end, with both sides' next sequence numbers");
	ok = mxi_flow_size() <= 1024;
	printf("%s - idle flow costs %zu bytes (<= 1024)\n", ok ? "ok" : "not ok",
	       mxi_flow_size());
	fails += !ok;
	return fails ? 1 : 0;
}
