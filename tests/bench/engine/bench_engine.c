// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_engine.c - throughput of the inspection engine on one core, with
 * ndpiReader over the same packets as the baseline measured in the same run.
 *
 * A corpus of realistic SMTP sessions is generated (handshake, banner,
 * EHLO with a multi-line reply, pipelined MAIL/RCPT/DATA, a message, QUIT,
 * FINs; the receiver ACKs every second segment) and written as a classic
 * pcap file (no library needed).  Corpora:
 *   short     many sessions with a ~1.5 KB message   -> sessions/s
 *   big       a few sessions with a 1 MiB message    -> MB/s of DATA
 * each in order and reordered (every pair of segments of a flight swapped,
 * so half of all segments go through out-of-order buffering).
 * The engine is timed parsing the pcap bytes from memory (Ethernet, IPv4,
 * TCP headers, then mxi_feed); ndpiReader reads the same file from the
 * page cache and is credited with the "Packet Processing Time" it reports
 * itself (set-up excluded; its wall time minus start-up is printed too).
 * Engine and ndpiReader runs alternate; each figure is the median of RUNS
 * runs and the ratio the median of the per-run ratios.
 *
 * usage: bench_engine [short_sessions [big_sessions [runs [ndpiReader]]]]
 * MXW_BENCH_KEEP=1 in the environment keeps the pcap files.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "insp.h"

#define MSS 1448

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 1 << 20;

		while (nc < b->len + n)
			nc *= 2;
		b->p = realloc(b->p, nc);
		if (!b->p) {
			perror("realloc");
			exit(1);
		}
		b->cap = nc;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void put32(struct buf *b, uint32_t v)
{
	put(b, &v, 4);
}

static uint16_t csum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint32_t csum_add(uint32_t s, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

struct conn {
	uint8_t cip[4], sip[4];
	uint16_t cport, sport;
	uint32_t cseq, sseq;
};

static uint64_t ts_us = 1700000000ull * 1000000;

/* one Ethernet/IPv4/TCP frame as a pcap record */
static void frame(struct buf *pc, struct conn *c, int from_client,
		  uint8_t flags, const uint8_t *pl, size_t n)
{
	uint8_t h[54];
	uint32_t *seq = from_client ? &c->cseq : &c->sseq;
	uint32_t ack = from_client ? c->sseq : c->cseq;
	const uint8_t *src = from_client ? c->cip : c->sip;
	const uint8_t *dst = from_client ? c->sip : c->cip;
	uint16_t sp = from_client ? c->cport : c->sport;
	uint16_t dp = from_client ? c->sport : c->cport;
	uint16_t iplen = (uint16_t)(40 + n), ck;
	uint32_t s;

	memset(h, 0, sizeof(h));
	memcpy(h, from_client ? "\x02\x00\x00\x00\x00\x02" : "\x02\x00\x00\x00\x00\x01", 6);
	memcpy(h + 6, from_client ? "\x02\x00\x00\x00\x00\x01" : "\x02\x00\x00\x00\x00\x02", 6);
	h[12] = 0x08;
	h[14] = 0x45;
	h[16] = iplen >> 8;
	h[17] = iplen & 0xff;
	h[20] = 0x40;           /* DF */
	h[22] = 64;
	h[23] = 6;
	memcpy(h + 26, src, 4);
	memcpy(h + 30, dst, 4);
	ck = csum_fold(csum_add(0, h + 14, 20));
	h[24] = ck >> 8;
	h[25] = ck & 0xff;
	h[34] = sp >> 8;
	h[35] = sp & 0xff;
	h[36] = dp >> 8;
	h[37] = dp & 0xff;
	h[38] = *seq >> 24;
	h[39] = *seq >> 16;
	h[40] = *seq >> 8;
	h[41] = *seq;
	h[42] = ack >> 24;
	h[43] = ack >> 16;
	h[44] = ack >> 8;
	h[45] = ack;
	h[46] = 0x50;
	h[47] = flags;
	h[48] = 0xfa;
	h[49] = 0xf0;
	/* TCP checksum over the pseudo-header, header and payload */
	s = csum_add(0, h + 26, 8) + 6 + 20 + (uint32_t)n;
	s = csum_add(s, h + 34, 20);
	s = csum_add(s, pl, n);
	ck = csum_fold(s);
	h[50] = ck >> 8;
	h[51] = ck & 0xff;

	put32(pc, (uint32_t)(ts_us / 1000000));
	put32(pc, (uint32_t)(ts_us % 1000000));
	put32(pc, (uint32_t)(54 + n));
	put32(pc, (uint32_t)(54 + n));
	put(pc, h, 54);
	put(pc, pl, n);
	ts_us += 10;
}

/* A flight: payload cut at MSS; reorder swaps each pair of segments. */
static void flight(struct buf *pc, struct conn *c, int from_client,
		   const uint8_t *d, size_t n, int reorder)
{
	uint32_t *seq = from_client ? &c->cseq : &c->sseq;
	uint32_t base = *seq;
	size_t nseg = (n + MSS - 1) / MSS, i;

	for (i = 0; i < nseg; i++) {
		size_t k = i;

		if (reorder && (i ^ 1) < nseg)
			k = i ^ 1;
		size_t off = k * MSS, l = n - off < MSS ? n - off : MSS;

		*seq = base + (uint32_t)off;
		frame(pc, c, from_client, 0x18, d + off, l);
		if ((i & 1) || i + 1 == nseg) {
			/* the receiver acknowledges every second segment, as a
			 * delayed-ACK stack next to the bridge does */
			size_t done = (i + 1) * MSS < n ? (i + 1) * MSS : n;

			*seq = base + (uint32_t)done;
			frame(pc, c, !from_client, 0x10, NULL, 0);
		}
	}
	*seq = base + (uint32_t)n;
}

static void session(struct buf *pc, unsigned idx, const uint8_t *body,
		    size_t blen, int reorder)
{
	static const char greet[] = "220 mx.example.org ESMTP Postfix\r\n";
	static const char ehlo[] = "EHLO sender.example.com\r\n";
	static const char ehlo_r[] =
		"250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n"
		"250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n"
		"250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n";
	static const char env[] =
		"MAIL FROM:<newsletter@sender.example.com> SIZE=1048576 BODY=8BITMIME\r\n"
		"RCPT TO:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n";
	static const char env_r[] =
		"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
		"354 End data with <CR><LF>.<CR><LF>\r\n";
	static const char end[] = ".\r\nQUIT\r\n";
	static const char end_r[] = "250 2.0.0 Ok: queued as 4ABCD1234\r\n221 2.0.0 Bye\r\n";
	struct conn c = {
		.cip = { 10, (uint8_t)(idx >> 16), (uint8_t)(idx >> 8), (uint8_t)idx },
		.sip = { 192, 0, 2, 25 },
		.cport = (uint16_t)(1024 + idx % 60000), .sport = 25,
		.cseq = idx * 2654435761u, .sseq = idx * 40503u + 7,
	};

	frame(pc, &c, 1, 0x02, NULL, 0);
	c.cseq++;
	frame(pc, &c, 0, 0x12, NULL, 0);
	c.sseq++;
	frame(pc, &c, 1, 0x10, NULL, 0);
	flight(pc, &c, 0, (const uint8_t *)greet, sizeof(greet) - 1, reorder);
	flight(pc, &c, 1, (const uint8_t *)ehlo, sizeof(ehlo) - 1, reorder);
	flight(pc, &c, 0, (const uint8_t *)ehlo_r, sizeof(ehlo_r) - 1, reorder);
	flight(pc, &c, 1, (const uint8_t *)env, sizeof(env) - 1, reorder);
	flight(pc, &c, 0, (const uint8_t *)env_r, sizeof(env_r) - 1, reorder);
	flight(pc, &c, 1, body, blen, reorder);
	flight(pc, &c, 1, (const uint8_t *)end, sizeof(end) - 1, reorder);
	flight(pc, &c, 0, (const uint8_t *)end_r, sizeof(end_r) - 1, reorder);
	frame(pc, &c, 1, 0x11, NULL, 0);
	c.cseq++;
	frame(pc, &c, 0, 0x11, NULL, 0);
	c.sseq++;
	frame(pc, &c, 1, 0x10, NULL, 0);
}

/* Message text: headers, then 76-character lines (some 8-bit, some with
 * a leading dot stuffed), CRLF-terminated, as a real mail would look. */
static void make_body(struct buf *b, size_t target)
{
	static const char hdr[] =
		"From: Newsletter <newsletter@sender.example.com>\r\n"
		"To: alice@example.org\r\nSubject: =?UTF-8?Q?Caf=C3=A9_news?=\r\n"
		"Date: Mon, 23 Nov 2026 12:00:00 +0000\r\n"
		"Message-ID: <1234@sender.example.com>\r\nMIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=UTF-8\r\n"
		"Content-Transfer-Encoding: 8bit\r\n\r\n";
	unsigned line = 0;

	put(b, hdr, sizeof(hdr) - 1);
	while (b->len < target) {
		char l[80];
		unsigned i;

		for (i = 0; i < 76; i++)
			l[i] = (char)('a' + (line * 7 + i * 13) % 26);
		if (line % 9 == 0)
			l[0] = l[1] = '.';
		if (line % 5 == 0)
			memcpy(l + 30, "\xc3\xa9\xc3\xa8", 4);
		for (i = 5; i < 76; i += 9)
			l[i] = ' ';
		l[76] = '\r';
		l[77] = '\n';
		put(b, l, 78);
		line++;
	}
}

static uint64_t events_seen;

static void count_event(void *ctx, const struct smtp_event *ev)
{
	(void)ctx;
	(void)ev;
	events_seen++;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct result {
	double secs;
	uint64_t packets;
	size_t mem_peak;
	uint64_t flows;
};

/* Parse the pcap from memory and feed every TCP packet to the engine. */
static struct result run_engine(const struct buf *pc)
{
	struct mxi_config cfg;
	struct mxi_table *t;
	struct mxi_stats st;
	struct result r = { 0 };
	size_t off = 24;
	double t0;

	mxi_config_default(&cfg);
	cfg.max_flows = 1u << 20;
	cfg.buckets = 1u << 18;
	cfg.smtp.local_domains[0] = "example.org";
	cfg.smtp.n_local_domains = 1;
	cfg.emit = count_event;
	t = mxi_table_new(&cfg);
	if (!t) {
		fprintf(stderr, "mxi_table_new failed\n");
		exit(1);
	}
	t0 = now_s();
	while (off + 16 <= pc->len) {
		const uint8_t *rec = pc->p + off;
		uint32_t tsec, tusec, incl;
		const uint8_t *f;
		struct mxi_pkt p;
		struct mxi_result res;
		unsigned ihl, doff;

		memcpy(&tsec, rec, 4);
		memcpy(&tusec, rec + 4, 4);
		memcpy(&incl, rec + 8, 4);
		f = rec + 16;
		off += 16 + incl;
		if (incl < 54 || f[12] != 0x08 || f[13] != 0x00)
			continue;
		ihl = (f[14] & 15) * 4;
		if (ihl < 20 || f[23] != 6 || 14 + ihl + 20 > incl)
			continue;
		doff = (f[14 + ihl + 12] >> 4) * 4;
		if (doff < 20 || 14 + ihl + doff > incl)
			continue;
		memset(&p, 0, sizeof(p));
		p.src.a[10] = p.src.a[11] = 0xff;
		p.dst.a[10] = p.dst.a[11] = 0xff;
		memcpy(p.src.a + 12, f + 26, 4);
		memcpy(p.dst.a + 12, f + 30, 4);
		f += 14 + ihl;
		p.sport = (uint16_t)(f[0] << 8 | f[1]);
		p.dport = (uint16_t)(f[2] << 8 | f[3]);
		p.seq = (uint32_t)f[4] << 24 | f[5] << 16 | f[6] << 8 | f[7];
		p.ack = (uint32_t)f[8] << 24 | f[9] << 16 | f[10] << 8 | f[11];
		p.tcp_flags = f[13];
		p.payload = f + doff;
		p.len = incl - 14 - ihl - doff;
		mxi_feed(t, &p, (uint64_t)tsec * 1000000000ull + tusec * 1000ull, &res);
		r.packets++;
	}
	r.secs = now_s() - t0;
	mxi_get_stats(t, &st);
	r.mem_peak = st.mem_peak;
	r.flows = st.flows_created;
	mxi_table_free(t);
	return r;
}

static int write_file(const char *path, const struct buf *b)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(b->p, 1, b->len, f) != b->len) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f);
}

/*
 * Run "ndpiReader -i FILE"; returns its wall time, and in *proc the
 * "Packet Processing Time" it reports itself (ms resolution; set-up and
 * result printing excluded).  <0 on error.
 */
static double run_ndpi(const char *ndpi, const char *path, double *proc)
{
	static char out[1 << 16];
	size_t got = 0;
	double t0, wall;
	int status, fd[2];
	pid_t pid;
	char *m;

	*proc = -1;
	if (pipe(fd) < 0)
		return -1;
	fflush(stdout);     /* the child must not flush our buffer again */
	t0 = now_s();
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		if (!freopen("/dev/null", "w", stderr))
			_exit(127);
		execl(ndpi, ndpi, "-i", path, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	for (;;) {
		ssize_t n = read(fd[0], out + got, sizeof(out) - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof(out) - 1)
			got = 0;        /* keep reading; the line is near the top */
	}
	close(fd[0]);
	out[got] = '\0';
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return -1;
	wall = now_s() - t0;
	m = strstr(out, "Packet Processing Time:");
	if (m)
		*proc = strtod(m + 23, NULL) / 1e3;
	return wall;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void pcap_header(struct buf *b)
{
	static const uint32_t gh[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1 };

	b->len = 0;
	put(b, gh, sizeof(gh));
}

int main(int argc, char **argv)
{
	unsigned nshort = argc > 1 ? (unsigned)atoi(argv[1]) : 20000;
	unsigned nbig = argc > 2 ? (unsigned)atoi(argv[2]) : 40;
	int runs = argc > 3 ? atoi(argv[3]) : 5;
	const char *ndpi = argc > 4 ? argv[4] : "/usr/bin/ndpiReader";
	struct buf small = { 0 }, large = { 0 }, pc = { 0 }, empty = { 0 };
	char path[256], epath[256];
	int have_ndpi = access(ndpi, X_OK) == 0, k, i;
	double startup = 0;
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	if (runs < 1 || runs > 50 || !nshort || !nbig) {
		fprintf(stderr, "usage: %s [short [big [runs [ndpiReader]]]]\n", argv[0]);
		return 2;
	}
	make_body(&small, 1500);
	make_body(&large, 1u << 20);
	printf("engine bench: %u short sessions (%zu B message), %u sessions with a "
	       "%zu B message, median of %d runs, one core\n",
	       nshort, small.len, nbig, large.len, runs);
	printf("idle flow: %zu bytes\n", mxi_flow_size());
	if (!have_ndpi)
		printf("NOTE: %s not found: no baseline (Debian package libndpi-bin)\n", ndpi);

	snprintf(epath, sizeof(epath), "%s/mxw-bench-empty-%d.pcap", tmp, (int)getpid());
	pcap_header(&empty);
	if (have_ndpi && write_file(epath, &empty) == 0) {
		double v[50], pr;

		for (i = 0; i < runs; i++)
			v[i] = run_ndpi(ndpi, epath, &pr);
		startup = median(v, runs);
		unlink(epath);
		if (startup < 0) {
			printf("NOTE: ndpiReader failed on an empty pcap: no baseline\n");
			have_ndpi = 0;
			startup = 0;
		} else {
			printf("ndpiReader start-up (empty pcap): %.1f ms\n", startup * 1e3);
		}
	}

	for (k = 0; k < 4; k++) {
		int big = k >= 2, reorder = k & 1;
		unsigned n = big ? nbig : nshort, s;
		double ev[50], nv[50], pv[50], rv[50], me, mn = -1, mp = -1, mr = 0;
		struct result r = { 0 };
		double data_mb = (double)n * (big ? large.len : small.len) / 1e6;

		ts_us = 1700000000ull * 1000000;
		pcap_header(&pc);
		for (s = 0; s < n; s++)
			session(&pc, s, big ? large.p : small.p, big ? large.len : small.len,
				reorder);
		snprintf(path, sizeof(path), "%s/mxw-bench-%s-%s-%d.pcap", tmp,
			 big ? "1mb" : "short", reorder ? "reordered" : "inorder",
			 (int)getpid());
		events_seen = 0;
		if (have_ndpi && write_file(path, &pc) < 0)
			have_ndpi = 0;
		/* engine and ndpiReader alternate, so that both see the same
		 * phases of a shared machine; the ratio is taken per pair */
		for (i = 0; i < runs; i++) {
			r = run_engine(&pc);
			ev[i] = r.secs;
			if (have_ndpi) {
				nv[i] = run_ndpi(ndpi, path, &pv[i]) - startup;
				rv[i] = pv[i] / ev[i];
			}
		}
		me = median(ev, runs);
		if (have_ndpi) {
			mn = median(nv, runs);
			mp = median(pv, runs);
			mr = median(rv, runs);
			if (!getenv("MXW_BENCH_KEEP"))
				unlink(path);
			else
				printf("kept %s\n", path);
		}
		printf("\n[%s, %s] %u sessions, %llu packets, pcap %.1f MB, "
		       "DATA %.1f MB, %llu events (legit corpus: must be 0)\n",
		       big ? "1 MiB messages" : "short sessions",
		       reorder ? "reordered" : "in order", n,
		       (unsigned long long)r.packets, pc.len / 1e6, data_mb,
		       (unsigned long long)(events_seen / (unsigned)runs));
		printf("  engine:     %8.1f ms  %10.0f sessions/s  %8.1f MB/s DATA  "
		       "%8.2f Mpps  peak buffered %zu B\n",
		       me * 1e3, n / me, data_mb / me, r.packets / me / 1e6, r.mem_peak);
		if (mp > 0)
			printf("  ndpiReader: %8.1f ms  %10.0f sessions/s  %8.1f MB/s DATA  "
			       "%8.2f Mpps  (its own \"Packet Processing Time\"; wall "
			       "minus start-up %.1f ms)\n"
			       "  speed ratio engine/ndpiReader: %.2f (median of the "
			       "per-run ratios)\n",
			       mp * 1e3, n / mp, data_mb / mp, r.packets / mp / 1e6,
			       mn * 1e3, mr);
		else if (have_ndpi)
			printf("  ndpiReader: no usable time (run too short: %.1f ms wall "
			       "minus start-up)\n", mn * 1e3);
	}
	free(small.p);
	free(large.p);
	free(pc.p);
	free(empty.p);
	return 0;
}
