// SPDX-License-Identifier: GPL-2.0-only
/*
 * mxwall.bpf.c - the XDP fast path (DESIGN.md 2.1).
 * SKELETON: maps are the contract (see mxwall_shared.h); the verdict logic
 * is being written.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "mxwall_shared.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mxw_config);
} mxw_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MXW_MAX_PORTS);
	__type(key, __u32);
	__type(value, __u8);
} mxw_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MXW_PROTECTED_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mxw_lpm_key);
	__type(value, __u8);
} mxw_protected SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MXW_LIST_EXACT_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mxw_addr);
	__type(value, struct mxw_list_entry);
} mxw_allow_exact SEC(".maps"), mxw_block_exact SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MXW_LIST_PREFIX_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mxw_lpm_key);
	__type(value, struct mxw_list_entry);
} mxw_allow_lpm SEC(".maps"), mxw_block_lpm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MXW_BUCKET_MAX);
	__type(key, struct mxw_addr);
	__type(value, struct mxw_bucket);
} mxw_src_bucket SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MXW_PFX_BUCKET_MAX);
	__type(key, struct mxw_addr);
	__type(value, struct mxw_bucket);
} mxw_pfx_bucket SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MXW_CT_MAX);
	__type(key, struct mxw_flow_key);
	__type(value, struct mxw_flow_val);
} mxw_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MXW_CONN_MAX);
	__type(key, struct mxw_flow_key);
	__type(value, struct mxw_flow_val);
} mxw_conn SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MXW_BUCKET_MAX);
	__type(key, struct mxw_addr);
	__type(value, __u32);
} mxw_conn_count SEC(".maps");

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

SEC("xdp")
int mxw_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
