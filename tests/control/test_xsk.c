// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_xsk.c - the AF_XDP socket layer (control/ctl_xsk.c) on real veths.
 *
 *   netns C: c0 10.99.0.1 ── a0 [netns A: xsk_redirect.bpf on a0 and a1,  ── s0 10.99.0.2 netns S
 *                               ctl_xsk sockets, this process] a1
 *
 * a0/a1 have two rx queues each, so there are four sockets.  Everything
 * from C or S reaches the callback here, which forwards it (or drops it,
 * or kills the session) exactly as mxwalld will.  Cases, in order:
 *   open refuses more queues than the device has, and registers nothing;
 *   ARP + ping (v4 and v6, ND included) through the FORWARD path;
 *   a TCP connection with data both ways (every TCP frame's checksum
 *   verified by ctl_pkt_parse: the callback sees exactly what the kernel
 *   sent), v4 and v6;
 *   DROP stops a segment (the server does not get it) and its
 *   retransmission passes once the callback forwards again;
 *   KILL: the RSTs of ctl_pkt_build_rsts() sent with ctl_xsk_send() from
 *   inside the callback reset both real Linux sockets (ECONNRESET on each);
 *   the counters match what the callback saw and what the XDP program
 *   redirected;
 *   ctl_xsk_close() empties mxw_xsks: frames then find no socket.
 * Needs root (netns, XDP, AF_XDP): exits 77 otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "ctl_pkt.h"
#include "ctl_xsk.h"
#include "ctltest.h"
#include "xsk_redirect.skel.h"

static char ns_name[3][32];             /* C, A, S */
static int ns_fd[3] = {-1, -1, -1};
enum { NS_C, NS_A, NS_S };

static void cleanup(void)
{
	char cmd[128];
	int i;

	for (i = 0; i < 3; i++) {
		if (!ns_name[i][0])
			continue;
		snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null",
			 ns_name[i]);
		if (system(cmd) != 0)
			fprintf(stderr, "cleanup: %s failed\n", cmd);
		ns_name[i][0] = 0;
	}
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
	return rc;
}

static int enter(int which)
{
	if (setns(ns_fd[which], CLONE_NEWNET)) {
		perror("setns");
		return -1;
	}
	return 0;
}

static int setup_netns(void)
{
	static const char tag[3] = {'c', 'a', 's'};
	char path[128];
	int i;

	for (i = 0; i < 3; i++) {
		snprintf(ns_name[i], sizeof(ns_name[i]), "mxw-xsk-%d-%c",
			 (int)getpid(), tag[i]);
		if (sh("ip netns add %s", ns_name[i]))
			return -1;
		snprintf(path, sizeof(path), "/run/netns/%s", ns_name[i]);
		ns_fd[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (ns_fd[i] < 0)
			return -1;
	}
#define Q "numtxqueues 2 numrxqueues 2"
	if (sh("ip link add c0 netns %s " Q " type veth peer name a0 netns %s "
	       Q, ns_name[NS_C], ns_name[NS_A]) ||
	    sh("ip link add s0 netns %s " Q " type veth peer name a1 netns %s "
	       Q, ns_name[NS_S], ns_name[NS_A]))
		return -1;
#undef Q
	/* End hosts: full checksums (partial ones do not survive the trip
	 * through userspace; a real wire has full ones), addresses. */
	if (sh("ip -n %s link set lo up && ip -n %s link set a0 up && "
	       "ip -n %s link set a1 up", ns_name[NS_A], ns_name[NS_A],
	       ns_name[NS_A]))
		return -1;
	for (i = 0; i < 3; i += 2) {
		const char *dev = i == NS_C ? "c0" : "s0";
		int host = i == NS_C ? 1 : 2;

		if (sh("nsenter --net=/run/netns/%s ethtool -K %s tx off "
		       ">/dev/null", ns_name[i], dev) ||
		    sh("ip -n %s addr add 10.99.0.%d/24 dev %s && "
		       "ip -n %s addr add 2001:db8:99::%d/64 dev %s nodad && "
		       "ip -n %s link set lo up && ip -n %s link set %s up",
		       ns_name[i], host, dev, ns_name[i], host, dev,
		       ns_name[i], ns_name[i], dev))
			return -1;
	}
	return 0;
}

/* ---- the callback --------------------------------------------------- */

enum tmode { TM_FORWARD, TM_DROP_MARK, TM_KILL_MARK };

struct tctx {
	struct ctl_xsk *x;
	enum tmode mode;
	const char *mark;
	uint64_t calls, forwards, drops;
	uint64_t arp[MXW_SLOT_MAX], icmp[MXW_SLOT_MAX];
	uint64_t tcp_data[MXW_SLOT_MAX], tcp_bad[MXW_SLOT_MAX];
	uint64_t kills, send_fail, rsts;
	unsigned rst_mask;              /* RST_TO_* sent on a kill */
	bool killed;
};

#define RST_TO_SERVER   1u
#define RST_TO_CLIENT   2u

static bool is_icmp(const uint8_t *f, uint32_t len)
{
	uint16_t et;

	if (len < 34)
		return false;
	et = (uint16_t)(f[12] << 8 | f[13]);
	return (et == 0x0800 && f[23] == 1) ||
	       (et == 0x86dd && len >= 54 && f[20] == 58);
}

static enum ctl_xsk_act cb(void *vctx, const struct ctl_xsk_frame *f)
{
	struct tctx *t = vctx;
	struct mxi_pkt p;
	struct ctl_pkt_info in;
	enum ctl_pkt_status st;
	uint8_t rs[CTL_PKT_RST_MAX], rc[CTL_PKT_RST_MAX];
	size_t ls, lc;

	t->calls++;
	if (f->len >= 14 && f->data[12] == 0x08 && f->data[13] == 0x06)
		t->arp[f->slot]++;
	if (is_icmp(f->data, f->len))
		t->icmp[f->slot]++;
	st = ctl_pkt_parse(f->data, f->len, &p, &in);
	if (st == CTL_PKT_BAD_CSUM || st == CTL_PKT_MALFORMED)
		t->tcp_bad[f->slot]++;
	if (st == CTL_PKT_OK && p.len) {
		t->tcp_data[f->slot]++;
		if (t->mode != TM_FORWARD && t->mark &&
		    memmem(p.payload, p.len, t->mark, strlen(t->mark))) {
			/* Kill once; retransmissions of the killed segment
			 * are only dropped, so a socket is reset by our RST
			 * or not at all. */
			if (t->mode == TM_KILL_MARK && !t->killed) {
				bool from_client = f->slot == MXW_SLOT_OUTSIDE;
				int bad = 0;

				t->killed = true;
				bad |= ctl_pkt_build_rsts(f->data, &in,
							  from_client, rs, &ls,
							  rc, &lc);
				if (!bad && (t->rst_mask & RST_TO_SERVER))
					bad |= ctl_xsk_send(t->x,
							    MXW_SLOT_INSIDE, rs,
							    (uint32_t)ls);
				if (!bad && (t->rst_mask & RST_TO_CLIENT))
					bad |= ctl_xsk_send(t->x,
							    MXW_SLOT_OUTSIDE,
							    rc, (uint32_t)lc);
				if (bad)
					t->send_fail++;
				else
					t->kills++;
				t->rsts += !!(t->rst_mask & RST_TO_SERVER) +
					   !!(t->rst_mask & RST_TO_CLIENT);
			}
			t->drops++;
			return CTL_XSK_DROP;
		}
	}
	t->forwards++;
	return CTL_XSK_FORWARD;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Move frames for ms milliseconds, or until done(arg) says so. */
static bool pump(struct tctx *t, unsigned ms, bool (*done)(void *), void *arg)
{
	struct pollfd pfd[MXW_XSK_KEYS];
	uint64_t end = now_ms() + ms;
	size_t n;

	while (now_ms() < end) {
		if (done && done(arg))
			return true;
		n = ctl_xsk_pollfds(t->x, pfd, MXW_XSK_KEYS);
		poll(pfd, n, 5);
		while (ctl_xsk_poll(t->x, cb, t, 256))
			;
	}
	return done ? done(arg) : true;
}

/* A command in netns C, frames pumped while it runs.  Its exit status. */
static int run_in_c(struct tctx *t, const char *cmd)
{
	int status = -1;
	pid_t pid = fork();
	uint64_t end = now_ms() + 15000;

	if (pid == 0) {
		char full[256];

		snprintf(full, sizeof(full), "nsenter --net=/run/netns/%s %s",
			 ns_name[NS_C], cmd);
		execl("/bin/sh", "sh", "-c", full, (char *)NULL);
		_exit(127);
	}
	while (now_ms() < end) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		pump(t, 20, NULL, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* ---- TCP between the two end hosts ---------------------------------- */

struct tcp_pair {
	int lst, cli, srv;
	char buf[256];
	size_t got;
};

static int sock_in(int which, int family)
{
	int fd;

	if (enter(which))
		return -1;
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	enter(NS_A);
	return fd;
}

static bool accepted(void *arg)
{
	struct tcp_pair *tp = arg;

	if (tp->srv < 0)
		tp->srv = accept4(tp->lst, NULL, NULL, SOCK_NONBLOCK);
	return tp->srv >= 0;
}

/* Reads from fd into tp->buf until want is in it. */
static int want_fd;
static const char *want_str;
static bool received(void *arg)
{
	struct tcp_pair *tp = arg;
	ssize_t n;

	if (tp->got < sizeof(tp->buf) - 1) {
		n = recv(want_fd, tp->buf + tp->got,
			 sizeof(tp->buf) - 1 - tp->got, 0);
		if (n > 0)
			tp->got += (size_t)n;
		tp->buf[tp->got] = 0;
	}
	return strstr(tp->buf, want_str) != NULL;
}

static bool expect(struct tctx *t, struct tcp_pair *tp, int fd,
		   const char *s, unsigned ms)
{
	tp->got = 0;
	tp->buf[0] = 0;
	want_fd = fd;
	want_str = s;
	return pump(t, ms, received, tp);
}

/* Send total bytes from cli, read them all at srv, moving frames. */
static bool bulk_transfer(struct tctx *t, int cli, int srv, size_t total)
{
	static char buf[65536];
	size_t sent = 0, got = 0;
	uint64_t end = now_ms() + 20000, t0 = now_ms();
	struct pollfd pfd[MXW_XSK_KEYS];
	ssize_t n;
	size_t np;

	memset(buf, 'x', sizeof(buf));
	while (got < total && now_ms() < end) {
		if (sent < total) {
			n = send(cli, buf, total - sent < sizeof(buf) ?
				 total - sent : sizeof(buf), MSG_DONTWAIT);
			if (n > 0)
				sent += (size_t)n;
		}
		np = ctl_xsk_pollfds(t->x, pfd, MXW_XSK_KEYS);
		poll(pfd, np, 1);
		while (ctl_xsk_poll(t->x, cb, t, 256))
			;
		while ((n = recv(srv, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
			got += (size_t)n;
	}
	printf("bulk: %zu of %zu bytes in %llu ms\n", got, total,
	       (unsigned long long)(now_ms() - t0));
	return got == total;
}

/* errno of a non-blocking recv(): ECONNRESET once reset, EAGAIN while
 * alive and idle; 0 when data or EOF came instead. */
static int recv_errno(int fd)
{
	char c;

	errno = 0;
	return recv(fd, &c, 1, 0) < 0 ? errno : 0;
}

static void test_tcp(struct tctx *t, int family, unsigned rst_mask,
		     bool bulk)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl = family == AF_INET ? sizeof(*s4) : sizeof(*s6);
	struct tcp_pair tp = {.lst = -1, .cli = -1, .srv = -1};
	const char *lbl = family == AF_INET ? "tcp v4" : "tcp v6";
	uint64_t data_out = t->tcp_data[0], data_in = t->tcp_data[1];
	uint64_t drops, kills;
	int one = 1;
	ssize_t n;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(2525);
		inet_pton(AF_INET, "10.99.0.2", &s4->sin_addr);
	} else {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(2525);
		inet_pton(AF_INET6, "2001:db8:99::2", &s6->sin6_addr);
	}
	tp.lst = sock_in(NS_S, family);
	tp.cli = sock_in(NS_C, family);
	CHECK(tp.lst >= 0 && tp.cli >= 0, lbl);
	if (tp.lst < 0 || tp.cli < 0)
		goto out;
	setsockopt(tp.lst, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	CHECK(bind(tp.lst, (struct sockaddr *)&ss, sl) == 0, lbl);
	CHECK(listen(tp.lst, 4) == 0, lbl);
	setsockopt(tp.cli, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one,
		   sizeof(one));
	n = connect(tp.cli, (struct sockaddr *)&ss, sl);
	CHECK(n == 0 || errno == EINPROGRESS, lbl);
	CHECK(pump(t, 5000, accepted, &tp), "tcp: handshake through xsk");
	if (tp.srv < 0)
		goto out;

	/* data both ways, forwarded */
	CHECK(send(tp.cli, "EHLO client\r\n", 13, 0) == 13, lbl);
	CHECK(expect(t, &tp, tp.srv, "EHLO client\r\n", 3000),
	      "tcp: client data reaches the server");
	CHECK(send(tp.srv, "250 hello\r\n", 11, 0) == 11, lbl);
	CHECK(expect(t, &tp, tp.cli, "250 hello\r\n", 3000),
	      "tcp: server data reaches the client");
	CHECK(t->tcp_data[MXW_SLOT_OUTSIDE] > data_out &&
	      t->tcp_data[MXW_SLOT_INSIDE] > data_in,
	      "tcp: data segments seen in both directions");

	/* Bulk: bursts larger than one kick transmits (copy mode sends at
	 * most 32 frames per sendto) must all leave without new traffic to
	 * push them. */
	if (bulk) {
		CHECK(bulk_transfer(t, tp.cli, tp.srv, 2u << 20),
		      "bulk: 2 MiB client -> server through the callback");
	}

	/* DROP: the segment does not arrive; its retransmission does once
	 * the callback forwards again */
	drops = t->drops;
	t->mark = "DROPME";
	t->mode = TM_DROP_MARK;
	CHECK(send(tp.cli, "DROPME\r\n", 8, 0) == 8, lbl);
	CHECK(!expect(t, &tp, tp.srv, "DROPME", 600),
	      "drop: the server did not get the dropped segment");
	CHECK(t->drops > drops, "drop: the callback dropped it");
	t->mode = TM_FORWARD;
	CHECK(expect(t, &tp, tp.srv, "DROPME\r\n", 5000),
	      "drop: the retransmission passes once forwarded");

	/* KILL: RSTs from ctl_pkt_build_rsts(), sent with ctl_xsk_send().
	 * One at a time, the other end must stay up: a wrong sequence
	 * number draws a challenge ACK, and the peer answering it with a
	 * RST of its own would hide the mistake. */
	kills = t->kills;
	t->mark = "KILL";
	t->mode = TM_KILL_MARK;
	t->rst_mask = rst_mask;
	t->killed = false;
	CHECK(send(tp.cli, "KILL\r\n", 6, 0) == 6, lbl);
	pump(t, 500, NULL, NULL);
	CHECK(t->kills == kills + 1 && t->send_fail == 0,
	      "kill: RSTs built and sent once");
	CHECK(recv_errno(tp.srv) == (rst_mask & RST_TO_SERVER ? ECONNRESET :
				     EAGAIN), "kill: server socket reset iff sent");
	CHECK(recv_errno(tp.cli) == (rst_mask & RST_TO_CLIENT ? ECONNRESET :
				     EAGAIN), "kill: client socket reset iff sent");
	t->mode = TM_FORWARD;
out:
	if (tp.srv >= 0)
		close(tp.srv);
	if (tp.cli >= 0)
		close(tp.cli);
	if (tp.lst >= 0)
		close(tp.lst);
}

/* 200 UDP datagrams queued on the rx rings before one ctl_xsk_poll():
 * they are forwarded in one go and must all reach the server from the
 * kicks of that one call (copy mode sends at most 32 frames per sendto;
 * nothing else will push the rest). */
static void test_burst(struct tctx *t)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(2526)};
	int cli = -1, srv = -1, i, sent = 0, got = 0;
	uint64_t end;
	char buf[64];
	unsigned handled;

	inet_pton(AF_INET, "10.99.0.2", &sa.sin_addr);
	if (enter(NS_S) == 0) {
		srv = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (srv >= 0 && bind(srv, (struct sockaddr *)&sa, sizeof(sa)))
			perror("bind");
	}
	if (enter(NS_C) == 0)
		cli = socket(AF_INET, SOCK_DGRAM, 0);
	enter(NS_A);
	CHECK(srv >= 0 && cli >= 0, "burst: sockets");
	if (srv < 0 || cli < 0)
		goto out;
	pump(t, 100, NULL, NULL);       /* nothing else in flight */
	for (i = 0; i < 200; i++) {
		snprintf(buf, sizeof(buf), "burst %d", i);
		if (sendto(cli, buf, strlen(buf), 0, (struct sockaddr *)&sa,
			   sizeof(sa)) > 0)
			sent++;
	}
	usleep(100000);                 /* all on the rx rings */
	CHECK(ctl_xsk_backlog(t->x) >= 200, "burst: backlog shows it");
	handled = ctl_xsk_poll(t->x, cb, t, 512);
	CHECK(handled >= 200, "burst: one poll takes the whole burst");
	end = now_ms() + 1000;
	while (got < sent && now_ms() < end) {
		if (recv(srv, buf, sizeof(buf), 0) > 0)
			got++;
		else
			usleep(1000);
	}
	printf("burst: %d sent, %u handled in one poll, %d received\n", sent,
	       handled, got);
	CHECK(sent == 200 && got == sent,
	      "burst: every forwarded frame left without another poll");
out:
	if (cli >= 0)
		close(cli);
	if (srv >= 0)
		close(srv);
}

static uint64_t redirected(struct xsk_redirect_bpf *skel, int nosock)
{
	uint64_t v, sum = 0;
	uint32_t k;

	for (k = 0; k < MXW_SLOT_MAX; k++) {
		uint32_t key = k * 2 + (uint32_t)nosock;

		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.counts), &key,
					&v) == 0)
			sum += v;
	}
	return sum;
}

static uint64_t drain_target;

static bool drained(void *arg)
{
	struct tctx *t = arg;
	struct ctl_xsk_stats st;

	ctl_xsk_stats(t->x, &st);
	return st.rx + st.k_rx_dropped + st.k_rx_ring_full +
	       st.k_fill_empty >= drain_target;
}

int main(void)
{
	struct xsk_redirect_bpf *skel = NULL;
	struct ctl_xsk_opts o;
	struct ctl_xsk_stats st;
	struct tctx t;
	char err[256];
	uint64_t before, after, nosock, base_pre = 0, base_open = 0;
	int ifa0, ifa1, rc = 1;

	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: test_xsk needs root (network namespaces, "
			"XDP, AF_XDP sockets)\n");
		return 77;
	}
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (setup_netns() || enter(NS_A)) {
		fprintf(stderr, "SKIP: cannot build the netns topology\n");
		return 77;
	}
	ifa0 = (int)if_nametoindex("a0");
	ifa1 = (int)if_nametoindex("a1");

	skel = xsk_redirect_bpf__open();
	if (!skel) {
		fprintf(stderr, "SKIP: cannot open the test XDP program\n");
		return 77;
	}
	skel->rodata->inside_ifindex = (uint32_t)ifa1;
	if (xsk_redirect_bpf__load(skel) ||
	    bpf_xdp_attach(ifa0, bpf_program__fd(skel->progs.xsk_redirect),
			   XDP_FLAGS_DRV_MODE, NULL) ||
	    bpf_xdp_attach(ifa1, bpf_program__fd(skel->progs.xsk_redirect),
			   XDP_FLAGS_DRV_MODE, NULL)) {
		fprintf(stderr, "SKIP: cannot load/attach the test XDP "
			"program\n");
		xsk_redirect_bpf__destroy(skel);
		return 77;
	}

	memset(&o, 0, sizeof(o));
	o.ifindex[MXW_SLOT_OUTSIDE] = ifa0;
	o.ifindex[MXW_SLOT_INSIDE] = ifa1;
	o.xskmap_fd = bpf_map__fd(skel->maps.xsks);
	o.ring_size = 512;

	/* more queues than a1 has: refused, nothing left registered */
	o.queues[MXW_SLOT_INSIDE] = 3;
	err[0] = 0;
	CHECK(ctl_xsk_open(&o, err, sizeof(err)) == NULL &&
	      strstr(err, "a1") != NULL, "open: too many queues refused");
	o.queues[MXW_SLOT_INSIDE] = 0;

	/* zero-copy asked: veth refuses it, every socket falls back */
	o.zerocopy = true;
	t.x = ctl_xsk_open(&o, err, sizeof(err));
	CHECK(t.x != NULL, err);
	if (t.x) {
		ctl_xsk_stats(t.x, &st);
		CHECK(st.sockets == 4 && !st.zerocopy,
		      "open: zero-copy refused, copy-mode fallback");
		ctl_xsk_close(t.x);
	}
	o.zerocopy = false;

	/* Frames the XDP program counts from here on may reach the sockets
	 * opened now; from base_open on, they must (the end hosts' own
	 * ND / MLD frames may have gone to the sockets just closed). */
	memset(&t, 0, sizeof(t));
	base_pre = redirected(skel, 0);
	t.x = ctl_xsk_open(&o, err, sizeof(err));
	base_open = redirected(skel, 0);
	CHECK(t.x != NULL, err);
	if (!t.x)
		goto out;
	ctl_xsk_stats(t.x, &st);
	CHECK(st.sockets == 4 && !st.zerocopy, "open: 2 ports x 2 queues, copy");

	CHECK(run_in_c(&t, "ping -q -c 3 -i 0.2 -W 2 10.99.0.2 >/dev/null") == 0,
	      "ping v4 through the callback");
	CHECK(t.arp[MXW_SLOT_OUTSIDE] >= 1 && t.arp[MXW_SLOT_INSIDE] >= 1,
	      "ARP seen both ways");
	CHECK(run_in_c(&t, "ping -6 -q -c 3 -i 0.2 -W 2 2001:db8:99::2 "
		       ">/dev/null") == 0, "ping v6 through the callback");
	CHECK(t.icmp[MXW_SLOT_OUTSIDE] >= 6 && t.icmp[MXW_SLOT_INSIDE] >= 6,
	      "ICMP seen both ways");

	test_burst(&t);
	test_tcp(&t, AF_INET, RST_TO_SERVER, true);
	test_tcp(&t, AF_INET, RST_TO_CLIENT, false);
	test_tcp(&t, AF_INET, RST_TO_SERVER | RST_TO_CLIENT, false);
	test_tcp(&t, AF_INET6, RST_TO_SERVER, true);
	test_tcp(&t, AF_INET6, RST_TO_CLIENT, false);
	CHECK(t.tcp_bad[0] == 0 && t.tcp_bad[1] == 0,
	      "every frame had full, good checksums");

	/* counters: the callback's view, the XDP program's view */
	pump(&t, 300, NULL, NULL);
	/* A frame counted by the XDP program lands on its rx ring a moment
	 * later (maybe on the other CPU): pump until every frame counted
	 * before is accounted for, or time out (lost frames fail below). */
	before = redirected(skel, 0);
	drain_target = before - base_open;
	pump(&t, 2000, drained, &t);
	ctl_xsk_stats(t.x, &st);
	after = redirected(skel, 0);
	printf("xsk: rx %llu tx %llu dropped %llu tx_full %llu sent_local %llu"
	       " redirected since open %llu..%llu k_rx_dropped %llu k_fill_empty %llu\n",
	       (unsigned long long)st.rx, (unsigned long long)st.tx,
	       (unsigned long long)st.dropped, (unsigned long long)st.tx_full,
	       (unsigned long long)st.sent_local,
	       (unsigned long long)(before - base_open),
	       (unsigned long long)(after - base_pre),
	       (unsigned long long)st.k_rx_dropped,
	       (unsigned long long)st.k_fill_empty);
	CHECK(st.rx == t.calls, "stats: rx = callback calls");
	CHECK(st.dropped == t.drops, "stats: dropped = callback drops");
	CHECK(st.sent_local == t.rsts && t.kills == 5,
	      "stats: sent_local = RSTs sent");
	CHECK(st.tx + st.tx_full == t.forwards + st.sent_local,
	      "stats: tx + tx_full = forwards + local sends");
	CHECK(st.tx_full == 0, "stats: no TX ring overflow at this rate");
	CHECK(st.k_rx_invalid == 0 && st.k_tx_invalid == 0,
	      "stats: no invalid descriptors");
	CHECK(st.rx + st.k_rx_dropped + st.k_rx_ring_full +
	      st.k_fill_empty >= before - base_open &&
	      st.rx <= after - base_pre, "stats: rx matches the XDP redirects");
	CHECK(ctl_xsk_backlog(t.x) == 0, "backlog drained");

	/* close: the map is emptied, frames find no socket */
	ctl_xsk_close(t.x);
	t.x = NULL;
	nosock = redirected(skel, 1);
	before = redirected(skel, 0);
	snprintf(err, sizeof(err), "nsenter --net=/run/netns/%s ping -q -c 2 "
		 "-i 0.2 -W 1 10.99.0.2 >/dev/null 2>&1", ns_name[NS_C]);
	CHECK(system(err) != 0, "close: no bridging without sockets");
	CHECK(redirected(skel, 1) > nosock && redirected(skel, 0) == before,
	      "close: mxw_xsks emptied");
	rc = 0;
out:
	if (t.x)
		ctl_xsk_close(t.x);
	bpf_xdp_detach(ifa0, XDP_FLAGS_DRV_MODE, NULL);
	bpf_xdp_detach(ifa1, XDP_FLAGS_DRV_MODE, NULL);
	xsk_redirect_bpf__destroy(skel);
	cleanup();
	return rc ? rc : ctltest_done("test_xsk");
}
