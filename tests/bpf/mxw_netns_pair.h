/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mxw_netns_pair.h - the two appliance ports for tests and benchmarks that
 * run the XDP program with BPF_PROG_TEST_RUN: a private network namespace
 * (the kernel deletes it with the process, whatever happens) holding a
 * veth pair OUT <-> IN, both up.  The devmap needs real ifindexes for
 * XDP_REDIRECT under test_run.
 */
#ifndef MXW_NETNS_PAIR_H
#define MXW_NETNS_PAIR_H

#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Returns 0, or 77 (meson: skipped) after saying why on stderr. */
static inline int mxw_netns_pair(const char *out, const char *in,
				 unsigned int *out_ifindex, unsigned int *in_ifindex)
{
	char cmd[256];

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "SKIP: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return 77;
	}
	snprintf(cmd, sizeof(cmd),
		 "ip link set lo up && ip link add %s type veth peer name %s"
		 " && ip link set %s up && ip link set %s up", out, in, out, in);
	if (system(cmd) != 0) {
		fprintf(stderr, "SKIP: cannot create the veth pair (iproute2 missing?)\n");
		return 77;
	}
	*out_ifindex = if_nametoindex(out);
	*in_ifindex = if_nametoindex(in);
	if (!*out_ifindex || !*in_ifindex) {
		fprintf(stderr, "SKIP: veth pair not found\n");
		return 77;
	}
	return 0;
}

#endif /* MXW_NETNS_PAIR_H */
