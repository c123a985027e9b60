// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_ops.bpf.c - one XDP program per basic operation of the fast path,
 * each doing that operation once and dropping, so bench_xdp.c can give
 * the floor of every step (program time minus a bare XDP_DROP) measured
 * in the same run as the classes.  The maps have the key and value sizes
 * and flags of mxwall.bpf.c's; bench_xdp.c puts the all-zero key into
 * the hash maps so the lookups hit, as a blocked source or a known flow
 * does.  Results are kept alive through a volatile sink.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "mxwall_shared.h"
#include "mxw_parse.h"
#include "mxw_table.h"
#include "mxw_clock.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MXW_BLOCK_EXACT_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mxw_addr);
	__type(value, struct mxw_list_entry);
} op_exact SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MXW_CONN_MAX);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct mxw_flow_key);
	__type(value, struct mxw_flow_val);
} op_flow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MXW_R_MAX);
	__type(key, __u32);
	__type(value, struct mxw_counter);
} op_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, MXW_SLOT_MAX);
	__type(key, __u32);
	__type(value, __u32);
} op_tx SEC(".maps");

/* mxwall's own tables (bpf/mxw_table.h): a blocklist table and a flow
 * table, hashed with seed 0; bench_xdp.c puts the all-zero key in. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * MXW_BLOCK_EXACT_MAX / MXW_LIST_WAYS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct mxw_list_bucket);
} op_ltab SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MXW_CONN_MAX / MXW_FLOW_WAYS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct mxw_flow_set);
} op_ftab SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mxw_clock);
} op_clock SEC(".maps");

volatile __u64 op_sink;
/* Set by bench_xdp.c: keys the compiler cannot fold. */
volatile __u64 op_key0;

SEC("xdp")
int op_coarse_clock(struct xdp_md *ctx)
{
	op_sink = bpf_ktime_get_coarse_ns();
	return XDP_DROP;
}

SEC("xdp")
int op_exact_hit(struct xdp_md *ctx)
{
	struct mxw_addr k;

	__builtin_memset(&k, 0, sizeof(k));
	op_sink = (long)bpf_map_lookup_elem(&op_exact, &k);
	return XDP_DROP;
}

SEC("xdp")
int op_flow_hit(struct xdp_md *ctx)
{
	struct mxw_flow_key k;

	__builtin_memset(&k, 0, sizeof(k));
	op_sink = (long)bpf_map_lookup_elem(&op_flow, &k);
	return XDP_DROP;
}

SEC("xdp")
int op_count(struct xdp_md *ctx)
{
	__u32 r = MXW_R_DROP_BLOCK;
	struct mxw_counter *c = bpf_map_lookup_elem(&op_stats, &r);

	if (c) {
		c->packets++;
		c->bytes += ctx->data_end - ctx->data;
	}
	return XDP_DROP;
}

SEC("xdp")
int op_parse(struct xdp_md *ctx)
{
	struct mxw_pkt p = {};   /* as mxw_xdp_in's context */

	op_sink = mxw_parse((void *)(long)ctx->data,
			    (void *)(long)ctx->data_end, &p);
	op_sink = p.sport;
	return XDP_DROP;
}

SEC("xdp")
int op_redirect(struct xdp_md *ctx)
{
	return bpf_redirect_map(&op_tx, MXW_SLOT_INSIDE, 0);
}

SEC("xdp")
int op_jiffy_clock(struct xdp_md *ctx)
{
	op_sink = mxw_clock_read(&op_clock);
	return XDP_DROP;
}

/* A list lookup as mxw_verdict.h's MXW_LIST_EXACT does it, hitting in
 * the first bucket (hash, tag, one inlined array lookup, slot search). */
SEC("xdp")
int op_ltab_hit(struct xdp_md *ctx)
{
	struct mxw_addr k = { .w = { op_key0, op_key0 } };
	__u64 h = mxw_hash_addr(&k, 0);
	__u32 i = mxw_hash_idx1(h, 2 * MXW_BLOCK_EXACT_MAX / MXW_LIST_WAYS - 1);
	const struct mxw_list_bucket *b = bpf_map_lookup_elem(&op_ltab, &i);

	op_sink = mxw_list_find(b, mxw_hash_tag(h), &k);
	return XDP_DROP;
}

/* The same for an address not in the table, as MXW_LIST_EXACT: the
 * second bucket only if the first has keys there (not in this empty table). */
SEC("xdp")
int op_ltab_miss(struct xdp_md *ctx)
{
	struct mxw_addr k = { .w = { op_key0, op_key0 + 1 } };
	__u64 h = mxw_hash_addr(&k, 0);
	__u32 m = 2 * MXW_BLOCK_EXACT_MAX / MXW_LIST_WAYS - 1;
	__u32 i = mxw_hash_idx1(h, m);
	const struct mxw_list_bucket *b = bpf_map_lookup_elem(&op_ltab, &i);
	int r = mxw_list_find(b, mxw_hash_tag(h), &k);

	if (r < 0 && b && b->n_second) {
		i = mxw_hash_idx2(h, m);
		b = bpf_map_lookup_elem(&op_ltab, &i);
		r = mxw_list_find(b, mxw_hash_tag(h), &k);
	}
	op_sink = r;
	return XDP_DROP;
}

/* A flow lookup in a flow table, hit: the 40-byte key hashed, one set
 * of four slots searched. */
SEC("xdp")
int op_ftab_hit(struct xdp_md *ctx)
{
	struct mxw_flow_key k = { .src = { .w = { op_key0, op_key0 } } };
	__u64 h = mxw_hash_flow(&k, 0);
	__u32 i = mxw_hash_idx1(h, MXW_CONN_MAX / MXW_FLOW_WAYS - 1);
	const struct mxw_flow_set *s = bpf_map_lookup_elem(&op_ftab, &i);

	op_sink = mxw_flow_find(s, mxw_hash_tag(h), &k);
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

/* ---- new flows (bench_xdp.c, "new SYNs") ----------------------------------
 * test_run repeats one frame, so a class sees the same 4-tuple every
 * time.  These wrappers give each run a new one: they rewrite the IPv4
 * source address and the TCP source port of the bench's SYN (Ethernet,
 * IPv4 without options, TCP; checksums are not checked on the fast path)
 * from a per-CPU counter, then tail-call op_next[0]: mxw_xdp_in, or the bare
 * program as the baseline of the same rewrite and tail call. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} op_next SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} op_ctr SEC(".maps");

#define OP_SADDR_OFF    (14 + 12)
#define OP_SPORT_OFF    (14 + 20)

static __always_inline int op_rewrite(struct xdp_md *ctx, __u32 saddr,
				      __u16 sport)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__be32 a = bpf_htonl(saddr);
	__be16 p = bpf_htons(sport);

	if (data + OP_SPORT_OFF + 2 > end)
		return XDP_ABORTED;
	__builtin_memcpy(data + OP_SADDR_OFF, &a, 4);
	__builtin_memcpy(data + OP_SPORT_OFF, &p, 2);
	bpf_tail_call(ctx, &op_next, 0);
	return XDP_ABORTED;
}

static __always_inline __u64 op_tick(void)
{
	__u32 zero = 0;
	__u64 *c = bpf_map_lookup_elem(&op_ctr, &zero);

	return c ? (*c)++ : 0;
}

/* The same SYN every time, through the same tail call: the class. */
SEC("xdp")
int op_same_syn(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &op_next, 0);
	return XDP_ABORTED;
}

/* A new source every SYN, spread over 100.64.0.0/10 (4M addresses, so
 * mostly a new /24 too): a flood of spoofed sources. */
SEC("xdp")
int op_new_source(struct xdp_md *ctx)
{
	__u64 n = op_tick();

	return op_rewrite(ctx, 0x64400000u | ((__u32)(n * 2654435761u) & 0x3fffffu),
			  (__u16)(1024 + (n & 0x7fff)));
}

/* A new connection from one of 4096 recent sources (198.18.0.0/20, 16
 * /24s), a new source port each round: busy senders. */
SEC("xdp")
int op_new_port(struct xdp_md *ctx)
{
	__u64 n = op_tick();

	return op_rewrite(ctx, 0xc6120000u | (__u32)(n & 4095),
			  (__u16)(1024 + ((n >> 12) % 60000)));
}

/* A new source port every SYN from one source (192.0.2.13, not the
 * classes' SYN source, whose bucket stays untouched), over its rate: a
 * flood from one host, dropped by its source bucket. */
SEC("xdp")
int op_one_source(struct xdp_md *ctx)
{
	__u64 n = op_tick();

	return op_rewrite(ctx, 0xc000020du, (__u16)(1024 + (n % 60000)));
}
