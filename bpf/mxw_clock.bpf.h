/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mxw_clock.bpf.h - the fast path's clock (BPF only): CLOCK_MONOTONIC at
 * tick resolution, as bpf_ktime_get_coarse_ns(), for the price of the
 * inlined bpf_jiffies64() and a per-CPU array read.  The helper itself
 * (a call, ~21 ns here) runs when this CPU sees a new jiffy.  Jiffies and
 * the coarse clock advance in the same tick handler; a read between the
 * two caches a value one tick old for the rest of that tick.  Shared by
 * mxwall.bpf.c and the benchmark's per-operation program, so the bench
 * times this code, not a copy.
 */
#ifndef MXW_CLOCK_BPF_H
#define MXW_CLOCK_BPF_H

/* map: a PERCPU_ARRAY of one struct mxw_clock (mxwall_shared.h). */
static __always_inline __u64 mxw_clock_read(void *map)
{
	__u32 zero = 0;
	struct mxw_clock *c = bpf_map_lookup_elem(map, &zero);
	__u64 j = bpf_jiffies64();

	if (!c)
		return bpf_ktime_get_coarse_ns();
	if (c->jiffies != j) {
		c->ns = bpf_ktime_get_coarse_ns();
		c->jiffies = j;
	}
	return c->ns;
}

#endif /* MXW_CLOCK_BPF_H */
