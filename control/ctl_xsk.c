// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctl_xsk.c - the AF_XDP sockets of the inspection path (libxdp's xsk API).
 *
 * One socket per rx queue of each port, each with its own UMEM, registered
 * in the fast path's mxw_xsks map at mxw_xsk_key(slot, queue).  libxdp is
 * told not to load its own XDP program (XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD):
 * ours is attached and redirects into our map.
 *
 * Decisions:
 *  - Forward by copy.  A frame to forward is copied from the receiving
 *    socket's UMEM into a free TX chunk of the other port's socket, and the
 *    RX chunk goes straight back to its fill ring.  Sharing one UMEM
 *    between the two ports (XDP_SHARED_UMEM) would save that memcpy (one
 *    cache-hot copy of at most one MTU, small next to the syscall and the
 *    engine), but then RX chunks would wait on the other port's TX
 *    completions: a stalled or slow port would drain the fill ring of the
 *    healthy one, and frame ownership would be shared across two rings
 *    and two queues.  With a copy each socket owns its chunks outright:
 *    ring_size chunks that only ever cycle RX -> callback -> fill, and
 *    ring_size chunks that only ever cycle free -> TX -> completion -> free.
 *    Zero-copy drivers need per-device UMEMs anyway.
 *  - Never block on TX.  When the other port's TX ring or its free chunks
 *    are exhausted the frame is not sent and tx_full counts it (TCP
 *    retransmits it; the engine has already seen it, retransmissions are
 *    expected there).
 *  - XDP_USE_NEED_WAKEUP everywhere; copy mode transmits only on a
 *    sendto() kick, so TX rings are kicked after each batch whenever the
 *    kernel asks for it.
 *  - Copy mode by default; zero-copy only when asked, per socket, falling
 *    back to copy mode when the driver refuses it.
 *
 * Counters are written by the one worker thread and read by
 * ctl_xsk_stats() from any thread: relaxed atomic stores and loads.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <linux/ethtool.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <xdp/xsk.h>

#include "ctl_log.h"
#include "ctl_xsk.h"

#define XSK_RING_DEFAULT        2048
#define XSK_RING_MIN            64
#define XSK_RING_MAX            16384
#define XSK_FRAME_DEFAULT       4096
#define XSK_RX_BATCH            64
#define XSK_BUSY_WAIT_MS        2000

#define CNT_ADD(c, n) __atomic_store_n(&(c), (c) + (n), __ATOMIC_RELAXED)
#define CNT_GET(c) __atomic_load_n(&(c), __ATOMIC_RELAXED)

struct xsk_sock {
	struct xsk_socket *xsk;
	struct xsk_umem *umem;
	void *area;
	size_t area_len;
	struct xsk_ring_cons rx, comp;
	struct xsk_ring_prod tx, fill;
	int fd;
	uint8_t slot;
	uint32_t queue;
	uint32_t ring;                  /* entries of every ring */
	uint32_t fsize;                 /* UMEM chunk */
	bool in_map;
	bool zerocopy;
	bool tx_pending;                /* submitted since the last kick */
	uint32_t tx_outstanding;        /* on the TX ring or in flight */
	uint32_t n_free;                /* TX chunks in free[] */
	uint64_t *free;                 /* stack of free TX chunk addrs */
};

struct ctl_xsk {
	struct ctl_xsk_opts opts;
	uint32_t nq[MXW_SLOT_MAX];
	struct xsk_sock *sock[MXW_SLOT_MAX][MXW_XSK_QUEUES_MAX];
	struct xsk_sock *all[MXW_XSK_KEYS];
	uint32_t n_all;
	uint32_t next;                  /* round-robin start of ctl_xsk_poll */
	uint64_t rx, tx, dropped, tx_full, sent_local;
};

/* Rx queues of a device: ethtool channels (combined + rx-only), else the
 * rx-* directories in sysfs.  0 when neither answers. */
static uint32_t dev_rx_queues(const char *ifname)
{
	struct ethtool_channels ch = {.cmd = ETHTOOL_GCHANNELS};
	struct ifreq ifr;
	char pat[IF_NAMESIZE + 40];
	glob_t g;
	uint32_t n = 0;
	int fd;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ch;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		if (ioctl(fd, SIOCETHTOOL, &ifr) == 0)
			n = ch.combined_count + ch.rx_count;
		close(fd);
	}
	if (n)
		return n;
	snprintf(pat, sizeof(pat), "/sys/class/net/%s/queues/rx-*", ifname);
	if (glob(pat, 0, NULL, &g) == 0) {
		n = g.gl_pathc > UINT32_MAX ? UINT32_MAX : (uint32_t)g.gl_pathc;
		globfree(&g);
	}
	return n;
}

/* Undo sock_open(), map entry included (xskmap_fd only used then). */
static void sock_free(int xskmap_fd, struct xsk_sock *s)
{
	if (!s)
		return;
	if (s->in_map) {
		uint32_t key = mxw_xsk_key(s->slot, s->queue);

		if (bpf_map_delete_elem(xskmap_fd, &key) && errno != ENOENT)
			log_warn("xsk: cannot remove map entry %u: %s", key,
				 strerror(errno));
	}
	if (s->xsk)
		xsk_socket__delete(s->xsk);
	if (s->umem)
		xsk_umem__delete(s->umem);
	if (s->area)
		munmap(s->area, s->area_len);
	free(s->free);
	free(s);
}

/* UMEM + socket in one bind mode; undone on failure. */
static int sock_create(struct xsk_sock *s, const char *ifname,
		       uint32_t ring, uint32_t fsize, bool zc)
{
	struct xsk_umem_config ucfg = {
		.fill_size = ring,
		.comp_size = ring,
		.frame_size = fsize,
		.frame_headroom = 0,
	};
	struct xsk_socket_config scfg = {
		.rx_size = ring,
		.tx_size = ring,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_USE_NEED_WAKEUP |
			      (zc ? XDP_ZEROCOPY : XDP_COPY),
	};
	int err;

	err = xsk_umem__create(&s->umem, s->area, s->area_len, &s->fill,
			       &s->comp, &ucfg);
	if (err) {
		s->umem = NULL;
		return err;
	}
	err = xsk_socket__create(&s->xsk, ifname, s->queue, s->umem, &s->rx,
				 &s->tx, &scfg);
	if (err) {
		s->xsk = NULL;
		xsk_umem__delete(s->umem);
		s->umem = NULL;
		return err;
	}
	return 0;
}

static struct xsk_sock *sock_open(const struct ctl_xsk_opts *o, uint8_t slot,
				  uint32_t queue, const char *ifname,
				  char *err, size_t errlen)
{
	uint32_t ring = o->ring_size, fsize = o->frame_size, idx, i;
	struct xdp_options xo;
	socklen_t olen = sizeof(xo);
	struct xsk_sock *s;
	int rc;

	s = calloc(1, sizeof(*s));
	if (!s)
		goto nomem;
	s->slot = slot;
	s->queue = queue;
	s->ring = ring;
	s->fsize = fsize;
	s->fd = -1;
	/* ring chunks for RX (always on the fill ring or in the rx ring /
	 * callback), ring chunks for TX (free stack, TX ring, completion) */
	s->area_len = (size_t)2 * ring * fsize;
	s->area = mmap(NULL, s->area_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->area == MAP_FAILED) {
		s->area = NULL;
		goto nomem;
	}
	/* mxwalld forks to write its state file.  The kernel copies pinned
	 * pages into the child at fork (it cannot share them copy-on-write),
	 * so without this every state write copied every UMEM (32 MiB with
	 * two 2048-entry sockets) while the worker waited: perf showed it on
	 * the block latency path. */
	if (madvise(s->area, s->area_len, MADV_DONTFORK) < 0)
		log_warn("xsk: madvise(MADV_DONTFORK): %s", strerror(errno));
	s->free = calloc(ring, sizeof(*s->free));
	if (!s->free)
		goto nomem;
	for (i = 0; i < ring; i++)
		s->free[i] = (uint64_t)(ring + i) * fsize;
	s->n_free = ring;

	rc = -EINVAL;
	if (o->zerocopy) {
		rc = sock_create(s, ifname, ring, fsize, true);
		if (rc)
			log_warn("xsk: %s queue %u: zero-copy refused (%s), "
				 "copy mode", ifname, queue, strerror(-rc));
		else
			s->zerocopy = true;
	}
	/* A queue whose previous socket was just closed stays busy until
	 * the kernel's deferred UMEM release has run (a workqueue): a
	 * restart or reopen waits for it, up to XSK_BUSY_WAIT_MS. */
	for (i = 0; !s->xsk && i <= XSK_BUSY_WAIT_MS / 10; i++) {
		rc = sock_create(s, ifname, ring, fsize, false);
		if (rc != -EBUSY)
			break;
		usleep(10000);
	}
	if (rc) {
		snprintf(err, errlen, "AF_XDP socket on %s queue %u: %s",
			 ifname, queue, strerror(-rc));
		goto fail;
	}
	s->fd = xsk_socket__fd(s->xsk);
	/* what the kernel actually bound, not what we asked for */
	if (getsockopt(s->fd, SOL_XDP, XDP_OPTIONS, &xo, &olen) == 0)
		s->zerocopy = xo.flags & XDP_OPTIONS_ZEROCOPY;

	if (xsk_ring_prod__reserve(&s->fill, ring, &idx) != ring) {
		snprintf(err, errlen, "AF_XDP %s queue %u: fill ring short",
			 ifname, queue);
		goto fail;
	}
	for (i = 0; i < ring; i++)
		*xsk_ring_prod__fill_addr(&s->fill, idx + i) =
			(uint64_t)i * fsize;
	xsk_ring_prod__submit(&s->fill, ring);
	return s;
nomem:
	snprintf(err, errlen, "AF_XDP %s queue %u: out of memory", ifname,
		 queue);
fail:
	sock_free(-1, s);               /* not in the map yet */
	return NULL;
}

static bool is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

struct ctl_xsk *ctl_xsk_open(const struct ctl_xsk_opts *opts, char *err,
			     size_t errlen)
{
	char ifname[MXW_SLOT_MAX][IF_NAMESIZE];
	struct ctl_xsk *x;
	uint32_t q, key;
	int slot, fd;

	x = calloc(1, sizeof(*x));
	if (!x) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	x->opts = *opts;
	if (!x->opts.ring_size)
		x->opts.ring_size = XSK_RING_DEFAULT;
	if (!x->opts.frame_size)
		x->opts.frame_size = XSK_FRAME_DEFAULT;
	if (!is_pow2(x->opts.ring_size) || x->opts.ring_size < XSK_RING_MIN ||
	    x->opts.ring_size > XSK_RING_MAX) {
		snprintf(err, errlen, "xsk ring_size %u: a power of two in "
			 "%u..%u", x->opts.ring_size, XSK_RING_MIN,
			 XSK_RING_MAX);
		goto fail;
	}
	if (x->opts.frame_size != 2048 && x->opts.frame_size != 4096) {
		snprintf(err, errlen, "xsk frame_size %u: 2048 or 4096",
			 x->opts.frame_size);
		goto fail;
	}
	if (x->opts.xskmap_fd < 0) {
		snprintf(err, errlen, "xsk: no mxw_xsks map");
		goto fail;
	}
	for (slot = 0; slot < MXW_SLOT_MAX; slot++) {
		uint32_t dev_q;

		if (!if_indextoname((unsigned)opts->ifindex[slot],
				    ifname[slot])) {
			snprintf(err, errlen, "xsk: port %d ifindex %d: %s",
				 slot, opts->ifindex[slot], strerror(errno));
			goto fail;
		}
		dev_q = dev_rx_queues(ifname[slot]);
		if (!dev_q) {
			snprintf(err, errlen, "xsk: %s: cannot count rx queues",
				 ifname[slot]);
			goto fail;
		}
		q = opts->queues[slot] ? opts->queues[slot] : dev_q;
		if (q > dev_q) {
			snprintf(err, errlen, "xsk: %s has %u rx queues, %u "
				 "asked", ifname[slot], dev_q, q);
			goto fail;
		}
		if (q > MXW_XSK_QUEUES_MAX) {
			/* XXX: frames on queues past MXW_XSK_QUEUES_MAX find
			 * no socket and are bridged uninspected (or dropped
			 * when fail-closed); RSS should be narrowed to them */
			log_warn("xsk: %s has %u rx queues, inspecting the "
				 "first %u", ifname[slot], q,
				 MXW_XSK_QUEUES_MAX);
			q = MXW_XSK_QUEUES_MAX;
		}
		x->nq[slot] = q;
	}
	for (slot = 0; slot < MXW_SLOT_MAX; slot++) {
		for (q = 0; q < x->nq[slot]; q++) {
			struct xsk_sock *s;

			s = sock_open(&x->opts, (uint8_t)slot, q, ifname[slot],
				      err, errlen);
			if (!s)
				goto fail;
			x->sock[slot][q] = s;
			x->all[x->n_all++] = s;
			/* registered last: a frame redirected here from now
			 * on finds a filled fill ring */
			key = mxw_xsk_key((uint32_t)slot, q);
			fd = s->fd;
			if (bpf_map_update_elem(x->opts.xskmap_fd, &key, &fd,
						BPF_ANY)) {
				snprintf(err, errlen, "xsk: mxw_xsks[%u] = %s "
					 "queue %u: %s", key, ifname[slot], q,
					 strerror(errno));
				goto fail;
			}
			s->in_map = true;
		}
	}
	log_info("xsk: %u sockets (%s %u queues, %s %u queues), %s mode",
		 x->n_all, ifname[0], x->nq[0], ifname[1], x->nq[1],
		 x->all[0]->zerocopy ? "zero-copy" : "copy");
	return x;
fail:
	ctl_xsk_close(x);
	return NULL;
}

void ctl_xsk_close(struct ctl_xsk *x)
{
	uint32_t i;

	if (!x)
		return;
	for (i = 0; i < x->n_all; i++)
		sock_free(x->opts.xskmap_fd, x->all[i]);
	free(x);
}

size_t ctl_xsk_pollfds(struct ctl_xsk *x, struct pollfd *pfd, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < x->n_all && n < max; i++) {
		pfd[n].fd = x->all[i]->fd;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		n++;
	}
	return n;
}

/* Return finished TX chunks to the free stack. */
static void reap_completions(struct xsk_sock *s)
{
	uint32_t idx, n, i;

	if (!s->tx_outstanding)
		return;
	n = xsk_ring_cons__peek(&s->comp, s->tx_outstanding, &idx);
	for (i = 0; i < n; i++) {
		uint64_t addr = *xsk_ring_cons__comp_addr(&s->comp, idx + i);

		/* the kernel hands back what we gave it; still, never let
		 * the free stack overflow or take an RX chunk */
		addr &= ~((uint64_t)s->fsize - 1);
		if (s->n_free < s->ring && addr >= (uint64_t)s->ring * s->fsize &&
		    addr < s->area_len)
			s->free[s->n_free++] = addr;
	}
	xsk_ring_cons__release(&s->comp, n);
	s->tx_outstanding -= n;
}

/* TX descriptors the kernel has not taken yet (producer is ours). */
static uint32_t tx_unsent(const struct xsk_sock *s)
{
	return *s->tx.producer -
	       __atomic_load_n(s->tx.consumer, __ATOMIC_ACQUIRE);
}

/* Kick a TX ring until the kernel has taken every descriptor.  Copy mode
 * transmits only from sendto(), and at most 32 frames per call
 * (EAGAIN: more to do), so one kick per batch would strand the rest of
 * a burst until some later frame.  EBUSY / ENOBUFS (the device queue is
 * full) and ENETDOWN leave tx_pending set: the next ctl_xsk_poll() kicks
 * again; the worker never waits here. */
static void tx_kick(struct xsk_sock *s)
{
	uint32_t tries;

	if (!s->tx_pending)
		return;
	if (!xsk_ring_prod__needs_wakeup(&s->tx)) {
		s->tx_pending = false;          /* the driver runs by itself */
		return;
	}
	for (tries = 0; tries <= s->ring / 32; tries++) {
		if (sendto(s->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0) {
			if (errno == EAGAIN) {
				/* budget spent, or completions to reap */
				reap_completions(s);
				continue;
			}
			if (errno != EBUSY && errno != ENOBUFS &&
			    errno != ENETDOWN)
				log_debug("xsk: TX kick on queue %u: %s",
					  s->queue, strerror(errno));
			return;
		}
		if (!tx_unsent(s))
			break;
	}
	if (!tx_unsent(s))
		s->tx_pending = false;
}

/* The socket that sends out of port slot for a frame of rx queue q: the
 * same queue index when that port has it, else queue 0. */
static struct xsk_sock *tx_sock(struct ctl_xsk *x, unsigned slot, uint32_t q)
{
	if (slot >= MXW_SLOT_MAX || !x->nq[slot])
		return NULL;
	return q < x->nq[slot] ? x->sock[slot][q] : x->sock[slot][0];
}

/* Copy one frame onto s's TX ring.  0, -ENOBUFS (ring or chunks full:
 * tx_full), -EMSGSIZE. */
static int tx_copy(struct ctl_xsk *x, struct xsk_sock *s, const void *frame,
		   uint32_t len)
{
	struct xdp_desc *d;
	uint64_t addr;
	uint32_t idx;

	if (len == 0 || len > s->fsize)
		return -EMSGSIZE;
	if (!s->n_free)
		reap_completions(s);
	if (!s->n_free || xsk_ring_prod__reserve(&s->tx, 1, &idx) != 1) {
		CNT_ADD(x->tx_full, 1);
		return -ENOBUFS;
	}
	addr = s->free[--s->n_free];
	memcpy(xsk_umem__get_data(s->area, addr), frame, len);
	d = xsk_ring_prod__tx_desc(&s->tx, idx);
	d->addr = addr;
	d->len = len;
	d->options = 0;
	xsk_ring_prod__submit(&s->tx, 1);
	s->tx_outstanding++;
	s->tx_pending = true;
	CNT_ADD(x->tx, 1);
	return 0;
}

/* One socket's rx ring, up to budget frames. */
static unsigned rx_batch(struct ctl_xsk *x, struct xsk_sock *s,
			 ctl_xsk_cb cb, void *ctx, unsigned budget)
{
	uint64_t addrs[XSK_RX_BATCH];
	uint32_t idx, fidx, n, i, nf = 0, other;

	if (budget > XSK_RX_BATCH)
		budget = XSK_RX_BATCH;
	n = xsk_ring_cons__peek(&s->rx, budget, &idx);
	if (!n)
		return 0;
	other = s->slot == MXW_SLOT_OUTSIDE ? MXW_SLOT_INSIDE :
					      MXW_SLOT_OUTSIDE;
	for (i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&s->rx,
								  idx + i);
		/* aligned mode: the address points past the XDP headroom
		 * inside its chunk; the fill ring takes the chunk start */
		uint64_t base = d->addr & ~((uint64_t)s->fsize - 1);
		struct ctl_xsk_frame f;

		if (base < (uint64_t)s->ring * s->fsize)
			addrs[nf++] = base;
		/* The kernel wrote the descriptor; a frame crossing its
		 * chunk or outside the RX half would still be a bug we
		 * refuse to read through. */
		if (base >= (uint64_t)s->ring * s->fsize ||
		    d->addr + d->len > base + s->fsize) {
			CNT_ADD(x->dropped, 1);
			continue;
		}
		f.data = xsk_umem__get_data(s->area, d->addr);
		f.len = d->len;
		f.slot = s->slot;
		f.queue = s->queue;
		CNT_ADD(x->rx, 1);
		if (cb(ctx, &f) == CTL_XSK_FORWARD) {
			struct xsk_sock *t = tx_sock(x, other, s->queue);

			if (t)
				tx_copy(x, t, f.data, f.len);
		} else {
			CNT_ADD(x->dropped, 1);
		}
	}
	xsk_ring_cons__release(&s->rx, n);
	/* Every RX chunk of this socket is on the fill ring, in the rx ring,
	 * or in this batch, and the fill ring holds them all: the
	 * reservation cannot come up short. */
	if (xsk_ring_prod__reserve(&s->fill, nf, &fidx) == nf) {
		for (i = 0; i < nf; i++)
			*xsk_ring_prod__fill_addr(&s->fill, fidx + i) =
				addrs[i];
		xsk_ring_prod__submit(&s->fill, nf);
	} else {
		log_error("xsk: fill ring of queue %u short, %u chunks lost",
			  s->queue, nf);
	}
	if (xsk_ring_prod__needs_wakeup(&s->fill))
		recvfrom(s->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
	return n;
}

unsigned ctl_xsk_poll(struct ctl_xsk *x, ctl_xsk_cb cb, void *ctx,
		      unsigned budget)
{
	unsigned done = 0, got;
	uint32_t i, k;
	bool more = true;

	if (!x->n_all)
		return 0;
	/* Round robin in batches, starting after the socket served first
	 * last time, so one busy queue cannot starve the others. */
	while (more && done < budget) {
		more = false;
		for (k = 0; k < x->n_all && done < budget; k++) {
			i = (x->next + k) % x->n_all;
			got = rx_batch(x, x->all[i], cb, ctx, budget - done);
			done += got;
			if (got)
				more = true;
		}
	}
	x->next = (x->next + 1) % x->n_all;
	for (i = 0; i < x->n_all; i++) {
		tx_kick(x->all[i]);
		reap_completions(x->all[i]);
	}
	return done;
}

int ctl_xsk_send(struct ctl_xsk *x, enum mxw_port_slot slot,
		 const void *frame, uint32_t len)
{
	struct xsk_sock *s = tx_sock(x, (unsigned)slot, 0);
	int err;

	if (!s)
		return -EINVAL;
	err = tx_copy(x, s, frame, len);
	if (err)
		return err;
	CNT_ADD(x->sent_local, 1);
	tx_kick(s);
	reap_completions(s);
	return 0;
}

uint32_t ctl_xsk_backlog(struct ctl_xsk *x)
{
	uint64_t sum = 0;
	uint32_t i;

	/* producer written by the kernel, consumer by us: read-only here */
	for (i = 0; i < x->n_all; i++) {
		struct xsk_sock *s = x->all[i];

		sum += __atomic_load_n(s->rx.producer, __ATOMIC_ACQUIRE) -
		       __atomic_load_n(s->rx.consumer, __ATOMIC_RELAXED);
	}
	return sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
}

void ctl_xsk_stats(struct ctl_xsk *x, struct ctl_xsk_stats *out)
{
	uint32_t i;
	bool zc = x->n_all > 0;

	memset(out, 0, sizeof(*out));
	out->rx = CNT_GET(x->rx);
	out->tx = CNT_GET(x->tx);
	out->dropped = CNT_GET(x->dropped);
	out->tx_full = CNT_GET(x->tx_full);
	out->sent_local = CNT_GET(x->sent_local);
	out->sockets = x->n_all;
	for (i = 0; i < x->n_all; i++) {
		struct xdp_statistics st;
		socklen_t len = sizeof(st);

		zc = zc && x->all[i]->zerocopy;
		if (getsockopt(x->all[i]->fd, SOL_XDP, XDP_STATISTICS, &st,
			       &len))
			continue;
		out->k_rx_dropped += st.rx_dropped;
		out->k_rx_invalid += st.rx_invalid_descs;
		out->k_tx_invalid += st.tx_invalid_descs;
		out->k_rx_ring_full += st.rx_ring_full;
		out->k_fill_empty += st.rx_fill_ring_empty_descs;
		out->k_tx_ring_empty += st.tx_ring_empty_descs;
	}
	out->zerocopy = zc;
}
