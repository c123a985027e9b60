/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctl_xsk.h - the AF_XDP sockets of the inspection path (libxdp xsk API):
 * one socket per rx queue of each of the two ports, registered in the
 * fast path's mxw_xsks map at mxw_xsk_key(slot, queue).  A received frame
 * goes to a callback that decides; frames it forwards are sent out of the
 * OTHER port unchanged (copied into that port's UMEM, TX, kicked).
 *
 * Threading: all calls from one thread (the inspection worker), except
 * ctl_xsk_stats(), which reads counters that may be a poll behind.
 * ctl_xsk_send() may be called from inside the callback (a KILL verdict
 * sends its RSTs at once): it touches only TX rings.
 */
#ifndef CTL_XSK_H
#define CTL_XSK_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mxwall_shared.h"

struct ctl_xsk_opts {
	int ifindex[MXW_SLOT_MAX];      /* by enum mxw_port_slot */
	uint32_t queues[MXW_SLOT_MAX];  /* rx queues to bind; 0 = all the
					 * device has (channels) */
	uint32_t ring_size;             /* rx/tx/fill/completion entries,
					 * power of two, default 2048 */
	uint32_t frame_size;            /* UMEM chunk, 2048 or 4096 */
	int xskmap_fd;                  /* mxw_xsks */
	bool zerocopy;                  /* ask for zero-copy, fall back to
					 * copy mode when refused */
};

/* One received frame, valid during the callback only. */
struct ctl_xsk_frame {
	uint8_t *data;
	uint32_t len;
	uint8_t slot;                   /* ingress port, enum mxw_port_slot */
	uint32_t queue;                 /* rx queue it arrived on */
};

enum ctl_xsk_act {
	CTL_XSK_FORWARD = 0,            /* out of the other port, unchanged */
	CTL_XSK_DROP = 1,
};

typedef enum ctl_xsk_act (*ctl_xsk_cb)(void *ctx,
					const struct ctl_xsk_frame *f);

struct ctl_xsk_stats {
	uint64_t rx, tx, dropped;       /* frames: received, sent, dropped
					 * by the callback */
	uint64_t tx_full;               /* forward failed: TX ring or UMEM
					 * of the other port full */
	uint64_t sent_local;            /* frames from ctl_xsk_send() */
	/* kernel XDP_STATISTICS summed over sockets */
	uint64_t k_rx_dropped, k_rx_invalid, k_tx_invalid;
	uint64_t k_rx_ring_full, k_fill_empty, k_tx_ring_empty;
	uint32_t sockets;
	bool zerocopy;
};

struct ctl_xsk;

/* Create the UMEMs and sockets, fill the fill rings, register every socket
 * in opts->xskmap_fd.  NULL with a message in err on failure (nothing left
 * registered). */
struct ctl_xsk *ctl_xsk_open(const struct ctl_xsk_opts *opts, char *err,
			     size_t errlen);
/* Unregister from the map and close (the fast path then bridges itself). */
void ctl_xsk_close(struct ctl_xsk *x);

/* pollfds of every socket (POLLIN); returns how many were written. */
size_t ctl_xsk_pollfds(struct ctl_xsk *x, struct pollfd *pfd, size_t max);

/* Receive up to budget frames over all sockets, call cb for each, forward
 * or drop, refill, reap completions.  Returns frames handled (0 = none
 * waiting). */
unsigned ctl_xsk_poll(struct ctl_xsk *x, ctl_xsk_cb cb, void *ctx,
		      unsigned budget);

/* Send a frame built locally (a RST) out of port slot.  0 or -errno. */
int ctl_xsk_send(struct ctl_xsk *x, enum mxw_port_slot slot,
		 const void *frame, uint32_t len);

/* Frames waiting in rx rings, for overload detection (sum, approximate). */
uint32_t ctl_xsk_backlog(struct ctl_xsk *x);

void ctl_xsk_stats(struct ctl_xsk *x, struct ctl_xsk_stats *out);

#endif /* CTL_XSK_H */
