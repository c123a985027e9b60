/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctl_bpf.h - mxwalld's side of the XDP program: load with pinned maps,
 * write the configuration maps, attach (atomically replacing a previous
 * instance), and the list / stats operations the control socket needs.
 * The only file of mxwalld that includes the skeleton.
 */
#ifndef CTL_BPF_H
#define CTL_BPF_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "ctl_addr.h"
#include "ctl_config.h"
#include "mxw_table.h"
#include "mxwall_shared.h"

struct mxwall_bpf;

enum ctl_list {
	CTL_LIST_ALLOW = 0,
	CTL_LIST_BLOCK = 1,
};

/* A table map mmap'ed once after the load (BPF_F_MMAPABLE). */
struct ctl_bpf_mmap {
	void *p;
	size_t len;
	uint32_t n;             /* max_entries: buckets / sets */
};

struct ctl_bpf {
	struct mxwall_bpf *skel;
	int fd_exact[2];        /* by enum ctl_list */
	int fd_lpm[2];
	int fd_protected, fd_tx, fd_stats;
	int fd_conn, fd_src;    /* flows, per-source slots (reconcile) */
	/* The program's struct mxw_data (config, hints, global buckets,
	 * port flags), written in place through the skeleton's mapping. */
	struct mxw_data *data;
	/* bpf/mxw_table.h: the seed of every table, kept for the life of the
	 * pins (read back from the pinned mxw_data, or from a pin of an
	 * earlier layout, else random), and each table's mask
	 * (max_entries - 1), by enum ctl_table. */
	uint64_t seed;
	uint32_t mask[CTL_T_MAX];
	struct ctl_bpf_mmap m_exact[2], m_conn, m_src, m_bypass;
	struct ctl_bpf_mmap m_occ[2];   /* the exact tables' occupancy bits */
	struct mxw_list_tab tab[2];     /* exact lists on m_exact */
	int fd_xsks;            /* mxw_xsks: for ctl_xsk, not pinned */
	int fd_insp, fd_bypass; /* inspection heartbeat, bypassed flows */
	bool pins_reused;       /* list maps came from existing pins */
	int ifindex[MXW_SLOT_MAX];
	uint32_t xdp_flags;     /* XDP_FLAGS_DRV_MODE or _SKB_MODE */
	bool attached[MXW_SLOT_MAX];
	uint32_t generation;
	/* Entries as the operator sees them, kept by every write under
	 * hints_lock: n_exact counts addresses wherever they are stored,
	 * n_lpm prefixes; n_spill the addresses of n_exact stored as /128 in
	 * the trie because both buckets of the table were full.  So the exact
	 * table holds n_exact - n_spill entries, the trie n_lpm + n_spill. */
	uint64_t n_exact[2], n_lpm[2], n_spill[2];
	uint32_t max_exact[2], max_lpm[2];
	bool spill_logged[2];
	/* hints_lock is the list writer lock (the main thread and the
	 * inspection worker both write lists; mxw_list_tab has one writer at
	 * a time).  mxw_data.hints (mxwall_shared.h): writes hold it from
	 * the hint's clear to the insert, and from the delete to the hint's
	 * set, so "bit set => map empty" holds.  hints mirrors the value. */
	pthread_mutex_t hints_lock;
	uint32_t hints;
	uint32_t hints_counted; /* MXW_HE_* whose n_* counter is exact */
};

/* Open the skeleton, size the maps from cfg, reuse or create the pins
 * under cfg->pin_dir, load, pick or keep the hash seed, map the tables,
 * and rebuild a list table laid out by another seed.  Logs and returns
 * -errno on failure. */
int ctl_bpf_open(struct ctl_bpf *b, const struct ctl_config *cfg);

/* max_entries of table t's map for a size of n entries: buckets of a
 * hash table (a power of two, at least 1), entries of a prefix trie. */
uint32_t ctl_bpf_table_buckets(enum ctl_table t, uint32_t n);

/* Write mxw_data (config, port flags), mxw_protected, mxw_tx_ports and
 * the static allow / block entries of cfg (removing static entries it no
 * longer lists).  Resolves interface names in the current network namespace. */
int ctl_bpf_apply(struct ctl_bpf *b, const struct ctl_config *cfg);

/* Attach to both ports; an attached program is replaced atomically. */
int ctl_bpf_attach(struct ctl_bpf *b);

/* Release; with detach, first take our program off both ports. */
void ctl_bpf_close(struct ctl_bpf *b, bool detach);

/* List operations, -errno on failure.  put: without replace an existing
 * entry gives -EEXIST; *created tells whether the entry is new. */
int ctl_bpf_list_put(struct ctl_bpf *b, enum ctl_list l,
		     const struct ctl_prefix *p,
		     const struct mxw_list_entry *v, bool replace,
		     bool *created);
int ctl_bpf_list_get(struct ctl_bpf *b, enum ctl_list l,
		     const struct ctl_prefix *p, struct mxw_list_entry *v);
int ctl_bpf_list_del(struct ctl_bpf *b, enum ctl_list l,
		     const struct ctl_prefix *p);

/* Whether address a has a live, enforced (not shadow) entry on list l,
 * as the fast path judges it: exact table, then longest prefix.  No lock
 * and, for the exact table, no system call (its mmap). */
bool ctl_bpf_list_match(struct ctl_bpf *b, enum ctl_list l,
			const struct mxw_addr *a, uint64_t now_ns);

/* Walk exact entries, then prefixes.  cb returns non-zero to stop. */
typedef int (*ctl_list_cb)(const struct ctl_prefix *p,
			   const struct mxw_list_entry *v, void *ctx);
int ctl_bpf_list_walk(struct ctl_bpf *b, enum ctl_list l, ctl_list_cb cb,
		      void *ctx);

/* Delete entries with 0 < expires_ns <= now_ns; returns how many.  The
 * earliest expiry still ahead lowers *next_ns (0 = none known). */
long ctl_bpf_list_expire(struct ctl_bpf *b, enum ctl_list l,
			 uint64_t now_ns, uint64_t *next_ns);
/* The same, calling on_removed (its return value ignored) for each entry
 * actually deleted, with the entry as it was: unblock events. */
long ctl_bpf_list_expire_cb(struct ctl_bpf *b, enum ctl_list l,
			    uint64_t now_ns, uint64_t *next_ns,
			    ctl_list_cb on_removed, void *ctx);

/* Recount entries and recompute mxw_data.hints from the maps themselves
 * (at start, pins reused or not). */
int ctl_bpf_list_count(struct ctl_bpf *b);

/* One connection-count reconciliation pass (ctl_reconcile.h): free
 * expired flow slots of mxw_conn, recount, repair stable differences in
 * the conns of mxw_src_bucket's slots.  Adds to the counters given. */
struct ctl_rc;
struct ctl_rc_totals {
	uint64_t passes, flows_expired, counts_fixed;
};
int ctl_bpf_reconcile(struct ctl_bpf *b, struct ctl_rc *rc,
		      unsigned src6_len, uint64_t now_ns,
		      struct ctl_rc_totals *tot);

/*
 * Inspection path (mxwall_shared.h).  insp_alive is safe from any
 * thread; bypass_add wants one caller at a time (the inspection worker:
 * two concurrent puts of one key could both insert it).  bypass_add
 * puts flow k (oriented client -> server, proto TCP, else -EINVAL) on
 * mxw_bypass with idle deadline expires_ns (CLOCK_MONOTONIC), through the
 * table's mapping and the fast path's slot claim (mxw_flow_tab_put); the
 * fast path pushes the deadline forward while the flow carries traffic,
 * and the entry is forgotten when the client opens a new session on the
 * same 4-tuple.  -EBUSY: the victim slot stayed busy (three tries).
 * insp_alive writes the heartbeat (a map update):
 * the fast path hands segments to the sockets while now < alive_until_ns
 * and flags lack MXW_IF_OVERLOAD; 0 turns the path off (fail mode).
 * Both return 0 or -errno.
 */
int ctl_bpf_bypass_add(struct ctl_bpf *b, const struct mxw_flow_key *k,
		       uint64_t expires_ns);
int ctl_bpf_insp_alive(struct ctl_bpf *b, uint64_t alive_until_ns,
		       uint32_t flags);

/* Per-reason counters summed over CPUs. */
int ctl_bpf_stats(struct ctl_bpf *b, struct mxw_counter out[MXW_R_MAX]);

extern const char *const ctl_stat_names[MXW_R_MAX];

#endif /* CTL_BPF_H */
