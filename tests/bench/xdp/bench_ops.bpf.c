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

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MXW_LIST_EXACT_MAX);
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

volatile __u64 op_sink;

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
	struct mxw_pkt p = {};   /* as mxw_xdp's context */

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

char LICENSE[] SEC("license") = "GPL";
