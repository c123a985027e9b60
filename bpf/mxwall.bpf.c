// SPDX-License-Identifier: GPL-2.0-only
/*
 * mxwall.bpf.c - the XDP fast path (DESIGN.md 2.1, docs/fastpath.md).
 *
 * One program per port of the inline bridge: mxw_xdp_in on the outside
 * port, mxw_xdp_out on the inside port, so the port a frame came in on
 * (its direction) is a constant of the program that runs; frames not
 * dropped leave unchanged on the other port through the mxw_tx_ports
 * devmap.  Parsing and the verdict are the pure functions of
 * mxw_parse.h / mxw_verdict.h, shared with the DPDK dataplane; this file
 * only declares the maps and mxw_data, binds the table macros to them and
 * counts.
 *
 * Maps: exact allow/block lists and the state attack traffic creates
 * (SYN buckets, connection counts, flows) are bpf/mxw_table.h's hash
 * tables over ARRAY maps: lookups inlined, no lock, fixed memory, and only
 * mxwalld writes the lists, so attack traffic can never evict an entry.
 * Prefixes are LPM tries.  The ARRAYs are mmapable: mxwalld writes the
 * lists and reads the flows through a mapping.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "mxwall_shared.h"
#include "mxw_clock.bpf.h"

#define MXW_TBL_LOOKUP(t, k)            bpf_map_lookup_elem(&t, k)
/* Coarse CLOCK_MONOTONIC, cached per CPU and jiffy (mxw_clock.bpf.h). */
#define MXW_NOW_NS()                    mxw_clock_read(&mxw_clock)
#define MXW_ATOMIC_ADD32(p, v)          __sync_fetch_and_add(p, v)

/* Config, list hints, global buckets and port flags (struct mxw_data):
 * a global in its own data section, addressed directly.  Not static, so
 * the compiler cannot take its (zero) initial value for a constant. */
struct mxw_data mxw_data SEC(".data.mxw");
#define MXW_DATA()                      (&mxw_data)

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MXW_PROTECTED_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mxw_lpm_key);
	__type(value, __u8);
} mxw_protected SEC(".maps");

/* max_entries of the table maps count buckets; mxwalld sizes them from
 * fastpath.table_sizes (ctl_bpf.c).  These defaults serve the tests. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * MXW_ALLOW_EXACT_MAX / MXW_LIST_WAYS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct mxw_list_bucket);
} mxw_allow_exact SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * MXW_BLOCK_EXACT_MAX / MXW_LIST_WAYS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct mxw_list_bucket);
} mxw_block_exact SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MXW_LIST_PREFIX_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mxw_lpm_key);
	__type(value, struct mxw_list_entry);
} mxw_allow_lpm SEC(".maps"), mxw_block_lpm SEC(".maps");

/* Occupancy bits of the exact tables (mxwall_shared.h); mxwalld sizes
 * them with the tables. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MXW_LIST_OCC_WORDS(2 * MXW_ALLOW_EXACT_MAX / MXW_LIST_WAYS));
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} mxw_allow_exact_occ SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MXW_LIST_OCC_WORDS(2 * MXW_BLOCK_EXACT_MAX / MXW_LIST_WAYS));
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} mxw_block_exact_occ SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MXW_BUCKET_MAX / MXW_SRC_WAYS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct mxw_src_set);
} mxw_src_bucket SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MXW_PFX_BUCKET_MAX / MXW_SRC_WAYS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct mxw_src_set);
} mxw_pfx_bucket SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MXW_CT_MAX / MXW_FLOW_WAYS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct mxw_flow_set);
} mxw_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MXW_CONN_MAX / MXW_FLOW_WAYS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct mxw_flow_set);
} mxw_conn SEC(".maps");

/* Per CPU: the coarse clock at the last jiffy seen (struct mxw_clock).
 * Not pinned (mxwalld skips it): a cache, valid for any instance. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mxw_clock);
} mxw_clock SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MXW_R_MAX);
	__type(key, __u32);
	__type(value, struct mxw_counter);
} mxw_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, MXW_SLOT_MAX);
	__type(key, __u32);
	__type(value, __u32);
} mxw_tx_ports SEC(".maps");

/* AF_XDP sockets of the inspection path, one per (port, rx queue).  Not
 * pinned: sockets belong to the running daemon and leave the map when it
 * closes them, so a restarted daemon starts from an empty map. */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, MXW_XSK_KEYS);
	__type(key, __u32);
	__type(value, __u32);
} mxw_xsks SEC(".maps");

/* The daemon's heartbeat and overload flag (struct mxw_insp_state). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mxw_insp_state);
} mxw_insp SEC(".maps");

/* Flows bridged without inspection (mxwall_shared.h): a cache like mxw_ct,
 * filled by mxwalld through a mapping; an evicted entry only sends its
 * flow back to inspection. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MXW_BYPASS_MAX / MXW_FLOW_WAYS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct mxw_flow_set);
} mxw_bypass SEC(".maps");

#include "mxw_verdict.h"

static __always_inline void mxw_count(__u32 reason, __u32 bytes)
{
	struct mxw_counter *c = bpf_map_lookup_elem(&mxw_stats, &reason);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

/* Parsing over the context's packet pointers. */
static __always_inline int mxw_parse_xdp(struct xdp_md *ctx, struct mxw_pkt *p)
{
	return mxw_parse((void *)(long)ctx->data, (void *)(long)ctx->data_end, p);
}

/* Stamp the arrival time in front of a frame going to an AF_XDP socket
 * (struct mxw_xsk_meta): mxwalld measures block latency from it.  Taken
 * just before the redirect, so it is late by this program's own run time
 * (~100 ns).  Returns the bytes to give back if the redirect fails, or 0
 * when the driver has no metadata room (mxwalld then uses its own
 * receive time). */
static __always_inline int mxw_stamp_meta(struct xdp_md *ctx)
{
	const int sz = (int)sizeof(struct mxw_xsk_meta);
	struct mxw_xsk_meta *m;

	if (bpf_xdp_adjust_meta(ctx, -sz))
		return 0;
	m = (void *)(long)ctx->data_meta;
	if ((void *)(m + 1) > (void *)(long)ctx->data)
		return sz;
	m->rx_ns = bpf_ktime_get_ns();
	m->magic = MXW_XSK_META_MAGIC;
	m->_pad = 0;
	return sz;
}

/*
 * The program of one port, for frames arriving in direction dir: the
 * outside port's frames go in (MXW_DIR_IN) and leave on the inside port,
 * the inside port's go out.  The direction is a constant of each program,
 * not a test of ctx->ingress_ifindex (three dependent loads on every
 * frame, docs/benchmarks.md), and each program holds only its own
 * direction's verdict.
 */
static __always_inline int mxw_port_prog(struct xdp_md *ctx, enum mxw_dir dir)
{
	/* the slot the frame leaves by; the other is the one it came in on */
	const __u32 slot = dir == MXW_DIR_IN ? MXW_SLOT_INSIDE : MXW_SLOT_OUTSIDE;
	struct mxw_vctx v = {};
	enum mxw_reason r;
	__u32 len, queue;
	int act, pr;

	v.cfg = &mxw_data.cfg;
	len = ctx->data_end - ctx->data;
	pr = mxw_parse_xdp(ctx, &v.pkt);
	r = mxw_verdict_parsed(&v, pr, dir);
	if (v.shadow)
		mxw_count(MXW_R_SHADOW_BLOCK, len);
	if (r == MXW_R_TO_INSPECT) {
		/* The socket of the port and queue the frame came in on (the
		 * ingress slot is the other one than the egress slot).  With
		 * flags 0 an empty slot gives XDP_ABORTED, not a pass. */
		queue = ctx->rx_queue_index;
		if (queue < MXW_XSK_QUEUES_MAX) {
			int meta = mxw_stamp_meta(ctx);

			act = bpf_redirect_map(&mxw_xsks,
					       mxw_xsk_key(slot ^ 1, queue), 0);
			if (act == XDP_REDIRECT) {
				mxw_count(r, len);
				return act;
			}
			if (meta)
				bpf_xdp_adjust_meta(ctx, meta);
		}
		mxw_count(MXW_R_ERR_XSK, len);
		r = mxw_uninspected(v.cfg);
	}
	mxw_count(r, len);
	if (!mxw_reason_passes(r))
		return XDP_DROP;
	act = bpf_redirect_map(&mxw_tx_ports, slot, 0);
	if (act != XDP_REDIRECT)
		mxw_count(MXW_R_ERR_REDIRECT, len);
	return act;
}

/* Attached to the outside port (mxw_data.cfg.outside_ifindex). */
SEC("xdp")
int mxw_xdp_in(struct xdp_md *ctx)
{
	return mxw_port_prog(ctx, MXW_DIR_IN);
}

/* Attached to the inside port, towards the servers' side. */
SEC("xdp")
int mxw_xdp_out(struct xdp_md *ctx)
{
	return mxw_port_prog(ctx, MXW_DIR_OUT);
}

char LICENSE[] SEC("license") = "GPL";
