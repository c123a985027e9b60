// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_ndpi.c - control/ctl_ndpi.c over nDPI 4.2 with whole TCP sessions
 * built here (IPv4 and IPv6, handshake, in-order sequence numbers): real
 * SMTP is mail; HTTP, SSH and a bare TLS ClientHello on port 25 are not;
 * POP3 USER/PASS and IMAP LOGIN in clear raise cleartext_creds, SMTP AUTH
 * after STARTTLS does not; the give-up rule; one answer per session;
 * bounded flows with the oldest evicted; malformed packets refused.
 * The expected names are what nDPI 4.2 reports (checked with ndpiReader
 * on the same sessions written as pcap, see docs/inspection.md).
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_ndpi.h"
#include "../mxw_check.h"

/* With MXW_NDPI_PCAP=file every packet fed is also written there (raw IP,
 * LINKTYPE_RAW), so `ndpiReader -i file` can confirm nDPI's own verdict on
 * the same sessions. */
static FILE *pcap;

static void pcap_open(void)
{
	const char *path = getenv("MXW_NDPI_PCAP");
	struct {
		uint32_t magic;
		uint16_t major, minor;
		int32_t zone;
		uint32_t sigfigs, snaplen, linktype;
	} h = { 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101 };

	if (!path)
		return;
	pcap = fopen(path, "wb");
	if (!pcap || fwrite(&h, sizeof(h), 1, pcap) != 1) {
		perror(path);
		exit(1);
	}
}

static void pcap_write(const uint8_t *pkt, uint32_t len, uint64_t now_ms)
{
	uint32_t rec[4] = { (uint32_t)(now_ms / 1000),
			    (uint32_t)(now_ms % 1000) * 1000, len, len };

	if (pcap && (fwrite(rec, sizeof(rec), 1, pcap) != 1 ||
		     fwrite(pkt, len, 1, pcap) != 1)) {
		perror("pcap write");
		exit(1);
	}
}


enum { F_FIN = 0x01, F_SYN = 0x02, F_PSH = 0x08, F_ACK = 0x10 };

/* One TCP session between a client and a server, fed packet by packet. */
struct sess {
	struct ctl_ndpi *n;
	uint64_t id;
	int family;
	uint8_t cli[16], srv[16];
	uint16_t cport, sport;
	uint32_t cseq, sseq;
	uint64_t now_ms;
	int decided;            /* times feed returned 1 */
	int errors;             /* times feed returned -1 */
	struct ctl_ndpi_result res;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* IP + TCP packet into buf; returns its length. */
static uint32_t build(const struct sess *s, bool from_client, uint8_t flags,
		      const void *data, uint32_t dlen, uint8_t *buf)
{
	const uint8_t *src = from_client ? s->cli : s->srv;
	const uint8_t *dst = from_client ? s->srv : s->cli;
	uint32_t hl = s->family == 4 ? 20 : 40;
	uint8_t *tcp = buf + hl;

	memset(buf, 0, hl + 20);
	if (s->family == 4) {
		buf[0] = 0x45;
		put16(buf + 2, (uint16_t)(hl + 20 + dlen));
		buf[8] = 64;
		buf[9] = 6;
		memcpy(buf + 12, src, 4);
		memcpy(buf + 16, dst, 4);
	} else {
		buf[0] = 0x60;
		put16(buf + 4, (uint16_t)(20 + dlen));
		buf[6] = 6;
		buf[7] = 64;
		memcpy(buf + 8, src, 16);
		memcpy(buf + 24, dst, 16);
	}
	put16(tcp, from_client ? s->cport : s->sport);
	put16(tcp + 2, from_client ? s->sport : s->cport);
	put32(tcp + 4, from_client ? s->cseq : s->sseq);
	put32(tcp + 8, (flags & F_ACK) ? (from_client ? s->sseq : s->cseq) : 0);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	put16(tcp + 14, 65535);
	if (dlen)       /* data is NULL for a bare SYN: memcpy's args are nonnull */
		memcpy(tcp + 20, data, dlen);
	return hl + 20 + dlen;
}

static void feed(struct sess *s, bool from_client, uint8_t flags,
		 const void *data, uint32_t dlen)
{
	static uint8_t buf[70000];
	struct ctl_ndpi_result r;
	uint32_t len = build(s, from_client, flags, data, dlen, buf);
	int rc = ctl_ndpi_feed(s->n, s->id, buf, len, from_client, s->now_ms, &r);

	pcap_write(buf, len, s->now_ms);

	s->now_ms += 3;
	if (rc == 1) {
		s->decided++;
		s->res = r;
	} else if (rc < 0) {
		s->errors++;
	}
	if (from_client)
		s->cseq += dlen + ((flags & (F_SYN | F_FIN)) ? 1 : 0);
	else
		s->sseq += dlen + ((flags & (F_SYN | F_FIN)) ? 1 : 0);
}

static void sess_init(struct sess *s, struct ctl_ndpi *n, uint64_t id,
		      int family, uint16_t port)
{
	memset(s, 0, sizeof(*s));
	s->n = n;
	s->id = id;
	s->family = family;
	if (family == 4) {
		inet_pton(AF_INET, "192.0.2.10", s->cli);
		inet_pton(AF_INET, "10.0.0.25", s->srv);
	} else {
		inet_pton(AF_INET6, "2001:db8:ff::10", s->cli);
		inet_pton(AF_INET6, "2001:db8:1::25", s->srv);
	}
	s->cport = (uint16_t)(40000 + id % 1000);
	s->sport = port;
	s->cseq = 1000000 + (uint32_t)id * 7919u;
	s->sseq = 3000000 + (uint32_t)id * 104729u;
	s->now_ms = 1700000000000ull;
	/* handshake */
	feed(s, true, F_SYN, NULL, 0);
	feed(s, false, F_SYN | F_ACK, NULL, 0);
	feed(s, true, F_ACK, NULL, 0);
}

/* A text line from one side, then the other side's bare ACK. */
static void line(struct sess *s, bool from_client, const char *text)
{
	feed(s, from_client, F_PSH | F_ACK, text, (uint32_t)strlen(text));
	feed(s, !from_client, F_ACK, NULL, 0);
}

static void smtp_session(struct sess *s)
{
	line(s, false, "220 mx.example.org ESMTP Postfix (Debian/GNU)\r\n");
	line(s, true, "EHLO client.example.net\r\n");
	line(s, false, "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
	     "250-8BITMIME\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n");
	line(s, true, "MAIL FROM:<alice@example.net>\r\n");
	line(s, false, "250 2.1.0 Ok\r\n");
	line(s, true, "RCPT TO:<bob@example.org>\r\n");
	line(s, false, "250 2.1.5 Ok\r\n");
	line(s, true, "DATA\r\n");
	line(s, false, "354 End data with <CR><LF>.<CR><LF>\r\n");
	line(s, true, "Subject: hello\r\n\r\nHello Bob.\r\n.\r\n");
	line(s, false, "250 2.0.0 Ok: queued as 4B2F1C0A1\r\n");
	line(s, true, "QUIT\r\n");
	line(s, false, "221 2.0.0 Bye\r\n");
}

/* A TLS 1.2 ClientHello with SNI, as a client opening TLS would send. */
static uint32_t client_hello(uint8_t *b)
{
	static const char sni[] = "mx.example.org";
	uint32_t sl = sizeof(sni) - 1, p = 0, ext, hs, rec;

	b[p++] = 0x16;                  /* record: handshake */
	b[p++] = 0x03; b[p++] = 0x01;
	rec = p; p += 2;
	b[p++] = 0x01;                  /* ClientHello */
	hs = p; p += 3;
	b[p++] = 0x03; b[p++] = 0x03;   /* TLS 1.2 */
	for (int i = 0; i < 32; i++)
		b[p++] = (uint8_t)(i * 37 + 11);        /* random */
	b[p++] = 0;                     /* session id */
	put16(b + p, 4); p += 2;        /* cipher suites */
	put16(b + p, 0xc02f); p += 2;
	put16(b + p, 0x009c); p += 2;
	b[p++] = 1; b[p++] = 0;         /* compression: null */
	ext = p; p += 2;
	put16(b + p, 0x0000); p += 2;   /* server_name */
	put16(b + p, (uint16_t)(sl + 5)); p += 2;
	put16(b + p, (uint16_t)(sl + 3)); p += 2;
	b[p++] = 0;
	put16(b + p, (uint16_t)sl); p += 2;
	memcpy(b + p, sni, sl); p += sl;
	put16(b + p, 0x000d); p += 2;   /* signature_algorithms */
	put16(b + p, 4); p += 2;
	put16(b + p, 2); p += 2;
	put16(b + p, 0x0401); p += 2;
	put16(b + ext, (uint16_t)(p - ext - 2));
	b[hs] = 0;
	put16(b + hs + 1, (uint16_t)(p - hs - 3));
	put16(b + rec, (uint16_t)(p - rec - 2));
	return p;
}

/* Opaque bytes standing for TLS records after the handshake. */
static void tls_data(struct sess *s, bool from_client, uint32_t len, uint8_t seed)
{
	uint8_t b[600];

	b[0] = 0x17;
	b[1] = 0x03;
	b[2] = 0x03;
	put16(b + 3, (uint16_t)(len - 5));
	for (uint32_t i = 5; i < len; i++)
		b[i] = (uint8_t)(i * 131 + seed * 7 + (i >> 3));
	feed(s, from_client, F_PSH | F_ACK, b, len);
}

/* A ClientHello from the client, then rounds of opaque records both ways
 * (or until the session is decided, with stop_early). */
static void tls_session(struct sess *s, int rounds, bool stop_early)
{
	uint8_t hello[300];

	feed(s, true, F_PSH | F_ACK, hello, client_hello(hello));
	feed(s, false, F_ACK, NULL, 0);
	for (int i = 0; i < rounds && !(stop_early && s->decided); i++) {
		tls_data(s, false, 300, (uint8_t)i);
		tls_data(s, true, 200, (uint8_t)(i + 50));
	}
}

/* The session was decided exactly once, without refused packets, as
 * expected (proto NULL: any name). */
static void expect_res(const char *what, int family, const struct sess *s,
		       bool mail, bool creds, const char *proto)
{
	printf("%-40s v%d decided %d  proto %-8s (%u) mail %d creds %d\n", what,
	       family, s->decided, s->res.proto, s->res.proto_id, s->res.mail,
	       s->res.cleartext_creds);
	CHECK(s->decided == 1 && s->errors == 0, "%s v%d: decided %d times, %d refused",
	      what, family, s->decided, s->errors);
	CHECK(s->res.mail == mail && s->res.cleartext_creds == creds &&
	      (!proto || !strcmp(s->res.proto, proto)),
	      "%s v%d: %s mail %d creds %d, want %s mail %d creds %d", what,
	      family, s->res.proto, s->res.mail, s->res.cleartext_creds,
	      proto ? proto : "any", mail, creds);
}

static void test_smtp(struct ctl_ndpi *n, int family)
{
	struct sess s;

	sess_init(&s, n, 100 + (uint64_t)family, family, 25);
	smtp_session(&s);
	expect_res("SMTP", family, &s, true, false, "SMTP");
}

static void test_not_mail(struct ctl_ndpi *n, int family)
{
	struct sess s;

	sess_init(&s, n, 200 + (uint64_t)family, family, 25);
	line(&s, true, "GET / HTTP/1.1\r\nHost: mx.example.org\r\n"
	     "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n");
	line(&s, false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	expect_res("HTTP GET on 25", family, &s, false, false, "HTTP");

	sess_init(&s, n, 300 + (uint64_t)family, family, 25);
	line(&s, false, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
	line(&s, true, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
	expect_res("SSH banners on 25", family, &s, false, false, "SSH");

	sess_init(&s, n, 400 + (uint64_t)family, family, 25);
	tls_session(&s, 8, true);
	expect_res("TLS ClientHello on 25 (no STARTTLS)", family, &s, false,
		   false, "TLS");
}

static void test_creds(struct ctl_ndpi *n, int family)
{
	struct sess s;

	sess_init(&s, n, 500 + (uint64_t)family, family, 110);
	line(&s, false, "+OK POP3 server ready <1896.697170952@mx.example.org>\r\n");
	line(&s, true, "USER bob\r\n");
	line(&s, false, "+OK\r\n");
	line(&s, true, "PASS s3cret-pw\r\n");
	line(&s, false, "+OK bob's maildrop has 2 messages\r\n");
	line(&s, true, "QUIT\r\n");
	expect_res("POP3 USER/PASS", family, &s, true, true, "POP3");

	sess_init(&s, n, 600 + (uint64_t)family, family, 143);
	line(&s, false, "* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE IDLE AUTH=PLAIN] Dovecot ready.\r\n");
	line(&s, true, "a001 LOGIN bob s3cret-pw\r\n");
	line(&s, false, "a001 OK [CAPABILITY IMAP4rev1] Logged in\r\n");
	line(&s, true, "a002 LOGOUT\r\n");
	expect_res("IMAP LOGIN", family, &s, true, true, "IMAP");

	/* Legitimate submission: AUTH only inside TLS after STARTTLS. */
	sess_init(&s, n, 700 + (uint64_t)family, family, 587);
	line(&s, false, "220 mx.example.org ESMTP Postfix\r\n");
	line(&s, true, "EHLO client.example.net\r\n");
	line(&s, false, "250-mx.example.org\r\n250-PIPELINING\r\n250-STARTTLS\r\n"
	     "250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n");
	line(&s, true, "STARTTLS\r\n");
	line(&s, false, "220 2.0.0 Ready to start TLS\r\n");
	tls_session(&s, 12, false);
	expect_res("SMTP STARTTLS, AUTH inside TLS", family, &s, true, false, NULL);

	/* The counterpart: AUTH in clear is flagged. */
	sess_init(&s, n, 1000 + (uint64_t)family, family, 587);
	line(&s, false, "220 mx.example.org ESMTP Postfix\r\n");
	line(&s, true, "EHLO client.example.net\r\n");
	line(&s, false, "250-mx.example.org\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n");
	line(&s, true, "AUTH LOGIN\r\n");
	line(&s, false, "334 VXNlcm5hbWU6\r\n");
	line(&s, true, "Ym9i\r\n");
	line(&s, false, "334 UGFzc3dvcmQ6\r\n");
	line(&s, true, "czNjcmV0LXB3\r\n");
	line(&s, false, "235 2.7.0 Authentication successful\r\n");
	line(&s, true, "QUIT\r\n");
	expect_res("SMTP AUTH LOGIN in clear", family, &s, true, true, "SMTP");

	/* TLS from the first byte on an implicit-TLS port is mail. */
	sess_init(&s, n, 1100 + (uint64_t)family, family, 465);
	tls_session(&s, 8, true);
	expect_res("TLS ClientHello on 465", family, &s, true, false, NULL);
}

/* Binary noise until decided (at most 40 packets), from both sides in
 * turn or from the client only; returns the packets fed after the
 * handshake. */
static int noise(struct sess *s, bool both, uint8_t seed)
{
	uint8_t junk[64];
	int fed = 0;

	while (!s->decided && fed < 40) {
		for (int i = 0; i < 64; i++)
			junk[i] = (uint8_t)(fed * seed + i * 29 + (i >> 2));
		feed(s, !both || (fed & 1) == 0, F_PSH | F_ACK, junk, sizeof(junk));
		fed++;
	}
	return fed;
}

/* Undecided after 16 packets: binary noise both ways is not mail; a
 * client that never gets an answer is not flagged. */
static void test_giveup(struct ctl_ndpi *n)
{
	struct sess s;
	int fed;

	sess_init(&s, n, 800, 4, 2525);
	fed = noise(&s, true, 53);
	expect_res("binary noise both ways", 4, &s, false, false, "Unknown");
	CHECK(fed + 3 == 16, "gave up after %d packets, want 16", fed + 3);

	sess_init(&s, n, 801, 6, 2525);
	noise(&s, false, 71);
	expect_res("binary noise from the client only", 6, &s, true, false, NULL);
}

/* One answer per session; forget; the cap evicts the least recent. */
static void test_table(void)
{
	char err[128];
	struct ctl_ndpi *n = ctl_ndpi_new(2, err, sizeof(err));
	struct sess a, b, c;

	CHECK(n != NULL, "new(2): %s", err);
	if (!n)
		return;
	sess_init(&a, n, 1, 4, 25);
	line(&a, true, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	line(&a, false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	CHECK(a.decided == 1, "session 1 decided %d", a.decided);
	line(&a, true, "GET /again HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK(a.decided == 1, "decided session answered again");

	ctl_ndpi_forget(n, 1);
	sess_init(&a, n, 1, 4, 25);
	line(&a, true, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	line(&a, false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	CHECK(a.decided == 1, "forgotten session not classified anew");

	/* Cap of two, least recently fed goes: 1 and 2 decided, 1 touched
	 * again, 3 arrives and evicts 2 (the older by creation, 1, stays). */
	sess_init(&b, n, 2, 4, 25);
	line(&b, true, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	line(&b, false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	line(&a, true, "GET /more HTTP/1.1\r\nHost: x\r\n\r\n");
	sess_init(&c, n, 3, 4, 25);
	line(&c, true, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	line(&c, false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	CHECK(b.decided == 1 && c.decided == 1, "sessions 2, 3: %d %d",
	      b.decided, c.decided);
	line(&a, true, "GET /again HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK(a.decided == 1, "session 1 (recently fed) was evicted");
	sess_init(&b, n, 2, 4, 25);
	line(&b, true, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	line(&b, false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	CHECK(b.decided == 1, "session 2 (least recent) was not evicted");
	ctl_ndpi_free(n);

	CHECK(ctl_ndpi_new(0, err, sizeof(err)) == NULL, "new(0) accepted");
	CHECK(ctl_ndpi_new(CTL_NDPI_FLOWS_MAX + 1, err, sizeof(err)) == NULL,
	      "new(max + 1) accepted");
}

/* Hostile input: refused with -1, never handed to nDPI. */
static void test_malformed(struct ctl_ndpi *n)
{
	struct ctl_ndpi_result r;
	uint8_t pkt[200];
	struct sess s;
	uint32_t len;

	memset(&s, 0, sizeof(s));
	s.family = 4;
	s.cport = 40000;
	s.sport = 25;
	len = build(&s, true, F_ACK, "abc", 3, pkt);
	CHECK(ctl_ndpi_feed(n, 900, pkt, len, true, 1, &r) == 0, "valid packet refused");
	CHECK(ctl_ndpi_feed(n, 901, pkt, 19, true, 1, &r) == -1, "19 bytes accepted");
	CHECK(ctl_ndpi_feed(n, 901, pkt, len - 1, true, 1, &r) == -1,
	      "total length past the buffer accepted");
	CHECK(ctl_ndpi_feed(n, 901, pkt, 70000, true, 1, &r) == -1,
	      "length past 65535 accepted");
	pkt[0] = 0x44;
	CHECK(ctl_ndpi_feed(n, 901, pkt, len, true, 1, &r) == -1, "IHL 4 accepted");
	pkt[0] = 0x55;
	CHECK(ctl_ndpi_feed(n, 901, pkt, len, true, 1, &r) == -1, "version 5 accepted");
	pkt[0] = 0x45;
	pkt[9] = 17;
	CHECK(ctl_ndpi_feed(n, 901, pkt, len, true, 1, &r) == -1, "UDP accepted");
	pkt[9] = 6;
	pkt[20 + 12] = 4 << 4;
	CHECK(ctl_ndpi_feed(n, 901, pkt, len, true, 1, &r) == -1, "data offset 4 accepted");
	pkt[20 + 12] = 15 << 4;
	CHECK(ctl_ndpi_feed(n, 901, pkt, len, true, 1, &r) == -1,
	      "data offset past the segment accepted");
	pkt[20 + 12] = 5 << 4;
	pkt[6] = 0x20;          /* MF */
	CHECK(ctl_ndpi_feed(n, 901, pkt, len, true, 1, &r) == -1, "fragment accepted");
	s.family = 6;
	len = build(&s, true, F_ACK, "abc", 3, pkt);
	CHECK(ctl_ndpi_feed(n, 902, pkt, len, true, 1, &r) == 0, "valid v6 refused");
	CHECK(ctl_ndpi_feed(n, 903, pkt, 39, true, 1, &r) == -1, "v6 cut header accepted");
	pkt[6] = 0;             /* hop-by-hop first */
	CHECK(ctl_ndpi_feed(n, 903, pkt, len, true, 1, &r) == -1,
	      "v6 extension header accepted");
	CHECK(ctl_ndpi_feed(NULL, 903, pkt, len, true, 1, &r) == -1, "NULL classifier");
}

int main(void)
{
	char err[128];
	struct ctl_ndpi *n = ctl_ndpi_new(1024, err, sizeof(err));

	setvbuf(stdout, NULL, _IOLBF, 0);
	pcap_open();
	if (!n) {
		fprintf(stderr, "ctl_ndpi_new: %s\n", err);
		return 1;
	}
	for (int f = 4; f <= 6; f += 2) {
		test_smtp(n, f);
		test_not_mail(n, f);
		test_creds(n, f);
	}
	test_giveup(n);
	test_malformed(n);
	ctl_ndpi_free(n);
	test_table();
	if (pcap)
		fclose(pcap);
	printf("ndpi: %d checks, %d failures\n", mxw_checks, mxw_failures);
	return mxw_failures ? 1 : 0;
}
