// SPDX-License-Identifier: GPL-2.0-only
/*
 * xsk_redirect.bpf.c - test stand-in for the fast path (tests/control/
 * test_xsk.c): every frame goes to the AF_XDP socket at
 * mxw_xsk_key(ingress slot, rx queue), as mxwall.bpf.c does for the
 * segments it inspects.  A frame with no socket there is dropped and
 * counted, so the test sees when ctl_xsk_close() has emptied the map.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "mxwall_shared.h"

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, MXW_XSK_KEYS);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

/* index slot * 2 + 0: redirected, slot * 2 + 1: no socket (dropped) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MXW_SLOT_MAX * 2);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

const volatile __u32 inside_ifindex = 0;

SEC("xdp")
int xsk_redirect(struct xdp_md *ctx)
{
	__u32 slot = ctx->ingress_ifindex == inside_ifindex ?
		     MXW_SLOT_INSIDE : MXW_SLOT_OUTSIDE;
	__u32 q = ctx->rx_queue_index, key, ci = slot * 2;
	__u64 *c;
	long rc = XDP_DROP;

	if (q < MXW_XSK_QUEUES_MAX) {
		key = mxw_xsk_key(slot, q);
		if (bpf_map_lookup_elem(&xsks, &key))
			rc = bpf_redirect_map(&xsks, key, XDP_DROP);
	}
	if (rc != XDP_REDIRECT)
		ci++;
	c = bpf_map_lookup_elem(&counts, &ci);
	if (c)
		__sync_fetch_and_add(c, 1);
	return (int)rc;
}

char LICENSE[] SEC("license") = "GPL";
