/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mxw_test_xsk.h - a real AF_XDP socket on a test veth, for tests and
 * benchmarks that run the XDP program with BPF_PROG_TEST_RUN: an XSKMAP
 * accepts only a bound socket, and only with one in mxw_xsks does
 * bpf_redirect_map() answer XDP_REDIRECT for to_inspection frames.  Copy
 * mode, libxdp's own XDP program inhibited (test_run delivers nothing;
 * only the map entry matters).  Needs libxdp (<xdp/xsk.h>).
 */
#ifndef MXW_TEST_XSK_H
#define MXW_TEST_XSK_H

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <linux/if_xdp.h>
#include <xdp/xsk.h>

#define MXW_TEST_XSK_FRAMES     64

struct mxw_test_xsk {
	struct xsk_socket *xsk;
	struct xsk_umem *umem;
	struct xsk_ring_prod fill, tx;
	struct xsk_ring_cons comp, rx;
	void *area;
};

static inline void mxw_test_xsk_close(struct mxw_test_xsk *x)
{
	if (x->xsk)
		xsk_socket__delete(x->xsk);
	if (x->umem)
		xsk_umem__delete(x->umem);
	if (x->area)
		munmap(x->area, (size_t)MXW_TEST_XSK_FRAMES *
		       XSK_UMEM__DEFAULT_FRAME_SIZE);
	memset(x, 0, sizeof(*x));
}

/* Bind a socket to queue 0 of ifname; 0 or -errno (nothing left open). */
static inline int mxw_test_xsk_open(struct mxw_test_xsk *x, const char *ifname)
{
	struct xsk_socket_config xc = {
		.rx_size = XSK_RING_CONS__DEFAULT_NUM_DESCS,
		.tx_size = XSK_RING_PROD__DEFAULT_NUM_DESCS,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY,
	};
	size_t size = (size_t)MXW_TEST_XSK_FRAMES * XSK_UMEM__DEFAULT_FRAME_SIZE;
	int err;

	memset(x, 0, sizeof(*x));
	x->area = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (x->area == MAP_FAILED) {
		x->area = NULL;
		return -errno;
	}
	err = xsk_umem__create(&x->umem, x->area, size, &x->fill, &x->comp, NULL);
	if (!err)
		err = xsk_socket__create(&x->xsk, ifname, 0, x->umem, &x->rx,
					 &x->tx, &xc);
	if (err)
		mxw_test_xsk_close(x);
	return err;
}

#endif /* MXW_TEST_XSK_H */
