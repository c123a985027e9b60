/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mxwall_shared.h - the one definition of every map name, key and value
 * layout shared by the XDP program (bpf/mxwall.bpf.c), the userspace loader
 * (control/mxwalld) and, later, the DPDK dataplane.  There is no second copy.
 *
 * Decisions a reader would otherwise reverse-engineer:
 *  - Every address is stored as 16 bytes.  IPv4 addresses are IPv4-mapped
 *    IPv6 (::ffff:a.b.c.d, RFC 4291 2.5.5.2), so one hash and one LPM trie
 *    serve both families and userspace has one code path.  An IPv4 /N prefix
 *    is the mapped /(96+N) prefix.
 *  - Exact addresses live in our own hash tables over ARRAY maps
 *    (bpf/mxw_table.h: O(1), cost flat in the number of entries, inlined
 *    lookups); prefixes live in LPM tries.  Only the control plane writes
 *    the allow/block tables, so attack traffic can never evict an entry.
 *    Per-source state that attack traffic does create (token buckets,
 *    connection counts, flow entries) lives in fixed-size set-associative
 *    caches, sized in the config.
 *  - Times are CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns()); 0 means
 *    "never expires".  The fast path reads the same clock at tick
 *    resolution (bpf_ktime_get_coarse_ns(), once per tick and CPU, cached
 *    in mxw_clock), so an expiry takes effect up to two ticks late.  The state file stores wall-clock times and the loader
 *    converts them at restore.
 *  - Byte order is stated per field: "be" fields are network order, all
 *    others host order.
 */
#ifndef MXWALL_SHARED_H
#define MXWALL_SHARED_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/*
 * Maps of bpf/mxwall.bpf.c (all pinned by name under the pin directory):
 *   mxw_data         the data section .data.mxw (an mmapable ARRAY of one
 *                    struct mxw_data: config, list hints, global buckets,
 *                    port flags), addressed directly by the program
 *   mxw_protected    LPM_TRIE        struct mxw_lpm_key -> __u8 (1)
 *   mxw_allow_exact  ARRAY, mmapable u32 bucket -> struct mxw_list_bucket
 *   mxw_allow_lpm    LPM_TRIE        struct mxw_lpm_key -> struct mxw_list_entry
 *   mxw_block_exact  ARRAY, mmapable u32 bucket -> struct mxw_list_bucket
 *   mxw_allow_exact_occ, mxw_block_exact_occ
 *                    ARRAY, mmapable u32 word -> __u64: occupancy bits of
 *                    the exact tables (below)
 *   mxw_block_lpm    LPM_TRIE        struct mxw_lpm_key -> struct mxw_list_entry
 *   mxw_src_bucket   ARRAY, mmapable u32 set -> struct mxw_src_set
 *   mxw_pfx_bucket   ARRAY, mmapable u32 set -> struct mxw_src_set
 *   mxw_ct           ARRAY, mmapable u32 set -> struct mxw_flow_set
 *   mxw_conn         ARRAY, mmapable u32 set -> struct mxw_flow_set
 *   mxw_stats        PERCPU_ARRAY    u32 enum mxw_reason -> struct mxw_counter
 *   mxw_tx_ports     DEVMAP[2]       u32 enum mxw_port_slot -> ifindex
 *   mxw_xsks         XSKMAP[128]     u32 mxw_xsk_key(slot, queue) -> AF_XDP socket
 *   mxw_insp         ARRAY[1]        u32 0 -> struct mxw_insp_state
 *   mxw_bypass       ARRAY, mmapable u32 set -> struct mxw_flow_set (client->server keys)
 *   mxw_clock        PERCPU_ARRAY[1] u32 0 -> struct mxw_clock (not pinned)
 * The ARRAY-backed hash tables are bpf/mxw_table.h's: buckets of slots,
 * hashed with mxw_data.cfg.hash_seed, a bucket's index masked with the
 * table's mask_* in mxw_data.cfg (max_entries - 1, a power of two).
 * A map's max_entries may be resized by the loader before load; the
 * MXW_*_MAX values below are the defaults.
 */

/* ---- limits, defined once ------------------------------------------- */
#define MXW_VLAN_MAX_DEPTH      2       /* 802.1Q / 802.1ad tags parsed */
#define MXW_IPV6_EXT_MAX        6       /* IPv6 extension headers walked */
#define MXW_MAX_PORTS           65536   /* mxw_data.ports size */
#define MXW_ALLOW_EXACT_MAX     (1u << 16)  /* exact allowlist entries */
#define MXW_BLOCK_EXACT_MAX     (1u << 20)  /* exact blocklist entries */
#define MXW_LIST_PREFIX_MAX     65536   /* prefix allow/block entries */
#define MXW_PROTECTED_MAX       1024    /* protected destination prefixes */
#define MXW_BUCKET_MAX          (1u << 20)  /* per-source SYN buckets + counts */
#define MXW_PFX_BUCKET_MAX      (1u << 18)  /* per-prefix SYN buckets */
#define MXW_CT_MAX              (1u << 18)  /* return-path entries */
#define MXW_CONN_MAX            (1u << 19)  /* inbound mail flows */
#define MXW_BYPASS_MAX          (1u << 18)  /* flows exempt from inspection */
#define MXW_XSK_QUEUES_MAX      64          /* rx queues per port with a socket */
#define MXW_REASON_TEXT_MAX     32

/* Defaults the fast path applies when a config field is 0. */
#define MXW_SRC6_LEN_DEFAULT    64
#define MXW_PFX4_LEN_DEFAULT    24
#define MXW_PFX6_LEN_DEFAULT    48
#define MXW_CT_TCP_TIMEOUT_DEFAULT_NS (3600ull * 1000000000ull)
#define MXW_CT_UDP_TIMEOUT_DEFAULT_NS (60ull * 1000000000ull)
/* Rates above this are clamped (keeps the bucket arithmetic in 64 bits). */
#define MXW_RATE_MAX            (1u << 24)

/* Pin directory under bpffs; each map is pinned as <dir>/<map name>. */
#define MXW_PIN_DIR_DEFAULT     "/sys/fs/bpf/mxwall"

/* ---- addresses -------------------------------------------------------- */
/* w: the same bytes as two words, which also makes the struct 8-byte
 * aligned, so the fast path (bpf/mxw_table.h) hashes and compares it with
 * two 64-bit loads instead of sixteen byte loads. */
struct mxw_addr {
	union {
		__u8 a[16];     /* be: IPv6, or IPv4-mapped ::ffff:a.b.c.d */
		__u64 w[2];
	};
};

/* LPM trie key: prefixlen counts bits of the 128-bit mapped address. */
struct mxw_lpm_key {
	__u32 prefixlen;        /* host order, 0..128 */
	__u8 a[16];             /* be */
};

/* ---- allow / block lists ---------------------------------------------- */
/* Value of mxw_allow_exact, mxw_allow_lpm, mxw_block_exact, mxw_block_lpm. */
struct mxw_list_entry {
	__u64 expires_ns;       /* CLOCK_MONOTONIC; 0 = permanent */
	__u64 created_ns;       /* CLOCK_MONOTONIC */
	__u32 reason;           /* enum mxw_list_reason */
	__u32 flags;            /* MXW_LF_* */
};

enum mxw_list_reason {
	MXW_LR_MANUAL = 0,      /* added over the control socket */
	MXW_LR_POLICY = 1,      /* score crossed the threshold */
	MXW_LR_ESCALATED = 2,   /* prefix escalation */
	MXW_LR_CONFIG = 3,      /* from the config file */
};

#define MXW_LF_SHADOW           (1u << 0)   /* recorded, not enforced */
/* A trie entry's own prefix length, as plen + 1 in bits 8..15 of its
 * flags (0: not recorded, as an mxwalld before this field wrote them;
 * it records them at start).  The fast path reads it to look past a
 * shadow or expired prefix to the next shorter one (MXW_LIST_MATCH).
 * Not part of the entry's meaning: mxwalld's list output and state file
 * leave it out.  Only mxwalld (and the tests) write it, through
 * mxw_list_trie_flags. */
#define MXW_LF_PLEN_SHIFT       8
#define MXW_LF_PLEN_MASK        (0xffu << MXW_LF_PLEN_SHIFT)
/* Trie lookups one match may make (MXW_LPM_MATCH, ctl_bpf_list_match). */
#define MXW_LPM_WALK            4

static inline __u32 mxw_list_trie_flags(__u32 flags, __u32 plen)
{
	return (flags & ~MXW_LF_PLEN_MASK) |
	       ((plen > 128 ? 0 : plen + 1) << MXW_LF_PLEN_SHIFT);
}

/* The prefix length a trie walk asks for next behind an entry (its
 * flags) found by a lookup at length cur: one bit shorter than the
 * entry, or -1 when its length is not recorded, it is a /0, or it is not
 * shorter than cur. */
static inline int mxw_lpm_shorter(__u32 flags, __u32 cur)
{
	__u32 pl = (flags & MXW_LF_PLEN_MASK) >> MXW_LF_PLEN_SHIFT;

	return pl < 2 || pl - 2 >= cur ? -1 : (int)(pl - 2);
}

/* mxw_allow_exact / mxw_block_exact (bpf/mxw_table.h, "lists"): an ARRAY
 * of buckets; a key may sit in either of two buckets.  tag[i] describes
 * slot[i]: 0 empty, 1 being written, else mxw_hash_tag() of its key.
 * n_second counts the keys whose first bucket this is that sit in their
 * second: while it is 0, a miss here is a miss (one bucket read).  The
 * tags and n_second come first so a miss reads one cache line.  Capacity:
 * table_sizes.*_exact entries in 2 * entries / MXW_LIST_WAYS buckets.
 *
 * mxw_allow_exact_occ / mxw_block_exact_occ: occupancy bits, bit i of
 * word i / 64 for bucket i, set while the bucket holds a key or
 * n_second > 0 (mxw_table.h keeps them with every write, mxwalld
 * rebuilds them at start).  A lookup whose first bucket's bit is clear
 * misses without reading the bucket: one word of a map small enough to
 * stay in cache (32 KiB for 256k buckets) instead of a cold bucket line,
 * under a flood of new sources. */
#define MXW_LIST_OCC_WORDS(buckets)     (((buckets) + 63) / 64)
#define MXW_LIST_WAYS           8
struct mxw_list_slot {
	struct mxw_addr key;
	struct mxw_list_entry e;
};
struct mxw_list_bucket {
	union {
		__u32 tag[MXW_LIST_WAYS];
		__u64 tagw[MXW_LIST_WAYS / 2];  /* two tags per word */
	};
	__u32 n_second;
	__u32 _pad;
	struct mxw_list_slot slot[MXW_LIST_WAYS];
};

/*
 * mxw_data.hints: written by mxwalld only.  A set MXW_HE_* bit
 * promises that the list map it names holds no entry, so the fast path
 * skips that lookup (the usual case: no allowlist, no prefix blocks saves
 * three of the four list lookups per frame).  The invariant is
 * "bit set => map empty", kept by the writer's order: clear the bit
 * BEFORE inserting into the map, set it only AFTER a delete has left the
 * map empty, both under one lock.  For the LPM tries emptiness is
 * checked on the map itself; for the exact tables (ARRAYs, which are never
 * "empty" to the kernel) it is mxwalld's count of the table's entries,
 * exact because every write to them goes through that lock, recounted by
 * a scan at start (ctl_bpf.c).  A zeroed value (a fresh map, a writer that knows nothing of
 * hints) promises nothing: every lookup is made.  A daemon that dies
 * between the two steps leaves a bit clear, never a wrong one; a
 * restart recomputes all four bits from the maps.
 */
struct mxw_hints {
	__u32 empty;            /* MXW_HE_* */
	__u32 _pad;
};
#define MXW_HE_ALLOW_EXACT      (1u << 0)   /* mxw_allow_exact is empty */
#define MXW_HE_ALLOW_LPM        (1u << 1)   /* mxw_allow_lpm is empty */
#define MXW_HE_BLOCK_EXACT      (1u << 2)   /* mxw_block_exact is empty */
#define MXW_HE_BLOCK_LPM        (1u << 3)   /* mxw_block_lpm is empty */

/* ---- configuration (mxw_data.cfg) --------------------------------------- */
/* Flags in mxw_config.flags (mxw_data.cfg) */
#define MXW_CF_PASS_OTHER_ETHERTYPES (1u << 0) /* default: drop */
#define MXW_CF_FRAG_PASS        (1u << 1)   /* fragments towards servers */
#define MXW_CF_PROTECTED_ONLY   (1u << 2)   /* mail only to mxw_protected */
#define MXW_CF_FAIL_CLOSED      (1u << 3)   /* inspection absent => drop */
#define MXW_CF_V6EXT_PASS       (1u << 4)   /* past MXW_IPV6_EXT_MAX: pass */
#define MXW_CF_INSPECT          (1u << 5)   /* hand mail payload to AF_XDP */

struct mxw_config {
	__u32 outside_ifindex;  /* port facing the internet */
	__u32 inside_ifindex;   /* port facing the mail servers */
	__u32 flags;            /* MXW_CF_* */
	__u32 generation;       /* bumped by every (re)load, for stats */

	/* per-source SYN token bucket: IPv4 /32, IPv6 /src6_len */
	__u32 src_rate;         /* SYNs per second; 0 = unlimited */
	__u32 src_burst;        /* bucket depth in SYNs */
	/* per-prefix aggregate bucket: IPv4 /pfx4_len, IPv6 /pfx6_len */
	__u32 pfx_rate;
	__u32 pfx_burst;
	/* global new-connection cap over all sources */
	__u32 global_rate;
	__u32 global_burst;
	/* concurrent inbound mail connections per source; 0 = no cap */
	__u32 max_conns_per_src;
	/* essential ICMP/ICMPv6 towards the servers, global bucket */
	__u32 icmp_rate;
	__u32 icmp_burst;

	__u8 src6_len;          /* default 64 */
	__u8 pfx4_len;          /* default 24 */
	__u8 pfx6_len;          /* default 48 */
	__u8 _pad0;

	__u32 mask_bypass;      /* mxw_bypass (bpf/mxw_table.h, below) */
	__u64 ct_tcp_timeout_ns;    /* return-path / flow idle timeout, TCP */
	__u64 ct_udp_timeout_ns;    /* return-path idle timeout, UDP / ICMP */

	/* bpf/mxw_table.h: the hash seed (random, kept for the life of the
	 * pinned tables: the list tables are laid out by it) and each
	 * table's bucket mask, max_entries - 1. */
	__u64 hash_seed;
	__u32 mask_allow;       /* mxw_allow_exact */
	__u32 mask_block;       /* mxw_block_exact */
	__u32 mask_src;         /* mxw_src_bucket */
	__u32 mask_pfx;         /* mxw_pfx_bucket */
	__u32 mask_ct;          /* mxw_ct */
	__u32 mask_conn;        /* mxw_conn */

	/* The key masks, as the words of struct mxw_addr (network byte
	 * order in memory), from the lengths above by mxw_config_key_masks():
	 * IPv6 source and prefix keys, and the second word of an IPv4
	 * prefix key (the first word of a mapped address is 0).  The fast
	 * path only ANDs. */
	__u64 src6_mask[2];
	__u64 pfx6_mask[2];
	__u64 pfx4_mask_w1;
};

/* The mask of the first plen (0..128) bits of a struct mxw_addr, as its
 * two words (network byte order in memory). */
static inline void mxw_addr_mask_words(__u64 m[2], unsigned int plen)
{
	struct mxw_addr a;

	for (unsigned int i = 0; i < 16; i++) {
		unsigned int bits = plen > 8 * i ? plen - 8 * i : 0;

		a.a[i] = bits >= 8 ? 0xff : (__u8)(0xff00u >> bits);
	}
	m[0] = a.w[0];
	m[1] = a.w[1];
}

/* Fill c's key masks from src6_len, pfx4_len and pfx6_len (0: the
 * default; lengths past the family's width count as the whole address).
 * Every writer of mxw_data.cfg calls it: all-zero masks would put every
 * source into one bucket. */
static inline void mxw_config_key_masks(struct mxw_config *c)
{
	unsigned int s6 = c->src6_len ? c->src6_len : MXW_SRC6_LEN_DEFAULT;
	unsigned int p4 = c->pfx4_len ? c->pfx4_len : MXW_PFX4_LEN_DEFAULT;
	unsigned int p6 = c->pfx6_len ? c->pfx6_len : MXW_PFX6_LEN_DEFAULT;
	__u64 m4[2];

	mxw_addr_mask_words(c->src6_mask, s6 > 128 ? 128 : s6);
	mxw_addr_mask_words(c->pfx6_mask, p6 > 128 ? 128 : p6);
	mxw_addr_mask_words(m4, 96 + (p4 > 32 ? 32 : p4));
	c->pfx4_mask_w1 = m4[1];
}

/* mxw_data.ports[MXW_MAX_PORTS], indexed by host-order TCP dest port. */
#define MXW_PORT_MAIL           (1u << 0)   /* accept towards the servers */
#define MXW_PORT_INSPECT        (1u << 1)   /* payload goes to inspection */
#define MXW_PORT_IMPLICIT_TLS   (1u << 2)   /* 465/995/993: opaque */

/* ---- token buckets (internal to the fast path) --------------------------- */
struct mxw_bucket {
	__u64 last_ns;          /* last refill time */
	__u64 tokens;           /* fixed point: tokens << MXW_TOKEN_SHIFT; a
				 * per-source slot's top byte: its prefix
				 * credits (MXW_CREDIT_SHIFT) */
};
#define MXW_TOKEN_SHIFT         20
/* Prefix credits (docs/fastpath.md, "Prefix credits"): SYNs a source has
 * already paid its prefix's bucket for, in the top byte of its own
 * bucket's tokens.  Token counts stay below 2^52 (burst < 2^32). */
#define MXW_CREDIT_SHIFT        56
#define MXW_CREDIT_MAX          63u
#define MXW_TOKEN_MASK          ((1ull << MXW_CREDIT_SHIFT) - 1)

/* mxw_src_bucket / mxw_pfx_bucket (bpf/mxw_table.h, "caches"): sets of
 * MXW_SRC_WAYS slots, one set per key.  A per-source slot also counts the
 * source's open inbound mail connections (max_conns_per_src); mxwalld's
 * reconciliation rewrites conns.  tag[i] describes slot[i] as in
 * mxw_list_bucket. */
#define MXW_SRC_WAYS            4
struct mxw_src_slot {
	__u32 conns;            /* atomic; signed view, see mxw_conn_uncount */
	__u32 syn_fp;           /* per-source slot: the last counted flow whose
				 * SYN passed (mxw_syn_fp), 0 none; prefix: 0 */
	struct mxw_addr key;    /* masked source / prefix */
	struct mxw_bucket b;
};
struct mxw_src_set {
	union {
		__u32 tag[MXW_SRC_WAYS];
		__u64 tagw[MXW_SRC_WAYS / 2];
	};
	struct mxw_src_slot slot[MXW_SRC_WAYS];
};

/* mxw_clock: per CPU, the coarse clock read at one jiffy.  Reading
 * bpf_jiffies64() is inlined by the verifier; the clock helper costs a
 * call (~20 ns), so it is called once per tick and CPU. */
struct mxw_clock {
	__u64 jiffies;
	__u64 ns;
};

/* mxw_data.global: the buckets shared by all sources.  A zeroed
 * bucket (last_ns 0) counts as full.  Updated without a lock by every CPU:
 * concurrent updates race benignly (at most one extra token per CPU). */
enum mxw_global_bucket {
	MXW_GB_SYN = 0,         /* global_rate / global_burst */
	MXW_GB_ICMP = 1,        /* icmp_rate / icmp_burst */
	MXW_GB_MAX = 2,
};

/*
 * mxw_data: the fast path's small state, one global variable in the data
 * section .data.mxw of the XDP object.  libbpf backs the section with an
 * mmapable ARRAY of one element; the program addresses the variable
 * directly (no lookup, no key on the stack, no NULL test: 2-5 ns on an
 * allowed SYN, docs/benchmarks.md), mxwalld writes it through a mapping
 * and pins it as <pin_dir>/mxw_data.
 *  - cfg comes first, and hash_seed stays at offset 80 (asserted below):
 *    a starting mxwalld takes the seed, which the pinned list tables are
 *    laid out by, from a pin of another layout, this one's or the
 *    mxw_config map of earlier releases (ctl_bpf.c).
 *  - The global buckets, written by every CPU on every SYN, have cache
 *    lines of their own: the config and port flags every frame reads
 *    stay shared in all caches.
 */
struct mxw_data {
	struct mxw_config cfg;
	struct mxw_hints hints;
	struct mxw_bucket global[MXW_GB_MAX] __attribute__((aligned(64)));
	__u8 ports[MXW_MAX_PORTS] __attribute__((aligned(64)));
};
#define MXW_DATA_SEED_OFF       80
_Static_assert(__builtin_offsetof(struct mxw_data, cfg.hash_seed) ==
	       MXW_DATA_SEED_OFF, "the seed's offset is kept across releases");

/* ---- flows ------------------------------------------------------------- */
/* 5-tuple; for return-path entries it is the *expected reply* tuple, i.e.
 * src = the remote peer, dst = the inside host. */
struct mxw_flow_key {
	struct mxw_addr src;
	struct mxw_addr dst;
	union {
		struct {
			__be16 sport;
			__be16 dport;
			__u8 proto;     /* IPPROTO_TCP / UDP / ICMP / ICMPV6 */
			__u8 _pad[3];
		};
		__u64 tail;     /* the five fields above as one word */
	};
};

struct mxw_flow_val {
	__u64 expires_ns;       /* CLOCK_MONOTONIC */
	__u32 flags;            /* MXW_FF_* */
	__u32 _pad;
};
#define MXW_FF_COUNTED          (1u << 0)   /* counted in its source's conns */
#define MXW_FF_FIN_SEEN         (1u << 1)   /* mxw_bypass: the flow is closing */

/* mxw_conn / mxw_ct (bpf/mxw_table.h, "caches"): sets of MXW_FLOW_WAYS
 * slots.  The victim of an insert is an empty or expired slot, else the
 * slot expiring first; a counted flow evicted that way releases its
 * source's count at once.  tag[i] describes slot[i] as in
 * mxw_list_bucket. */
#define MXW_FLOW_WAYS           4
struct mxw_flow_slot {
	__u32 flags;            /* MXW_FF_* */
	__u32 _pad;
	__u64 expires_ns;       /* CLOCK_MONOTONIC */
	struct mxw_flow_key key;
};
struct mxw_flow_set {
	union {
		__u32 tag[MXW_FLOW_WAYS];
		__u64 tagw[MXW_FLOW_WAYS / 2];
	};
	struct mxw_flow_slot slot[MXW_FLOW_WAYS];
};

/* ---- devmap (mxw_tx_ports) --------------------------------------------- */
enum mxw_port_slot {
	MXW_SLOT_OUTSIDE = 0,
	MXW_SLOT_INSIDE = 1,
	MXW_SLOT_MAX = 2,
};

/* ---- inspection path (AF_XDP, DESIGN.md 2.2, docs/inspection.md) ----------
 * With MXW_CF_INSPECT set and the inspection path alive (mxw_insp), these
 * TCP segments of mail flows on ports flagged MXW_PORT_INSPECT and not
 * MXW_PORT_IMPLICIT_TLS go to mxwalld instead of the other port:
 *   outside -> inside: to a mail port, with payload, FIN or RST;
 *   inside -> outside: from a mail port, SYN-ACK, with payload, FIN or RST.
 * Bare ACKs and the client's SYN (after the SYN buckets) are bridged by the
 * fast path itself: the engine learns both initial sequence numbers from
 * the SYN-ACK.  A flow on mxw_bypass is bridged without inspection, and
 * so is a flow whose client is allowlisted (both sides: the server's side
 * is checked against the allowlist too).
 * The socket is the one of the port and rx queue the frame arrived on:
 * mxw_xsks key = mxw_xsk_key(ingress slot, rx_queue_index).  When no socket
 * is bound there, the daemon is not alive or says it is overloaded, the
 * segment is bridged uninspected (pass_uninspected) or, with
 * MXW_CF_FAIL_CLOSED, dropped (drop_fail_closed); so is a frame from an rx
 * queue >= MXW_XSK_QUEUES_MAX, which has no key of its own.  A client SYN
 * that passes the buckets deletes the bypass entry of its 4-tuple: a
 * reused client port starts a new session, inspected again. */
#define MXW_XSK_KEYS            (MXW_SLOT_MAX * MXW_XSK_QUEUES_MAX)
#define mxw_xsk_key(slot, queue) ((slot) * MXW_XSK_QUEUES_MAX + (queue))

struct mxw_insp_state {
	__u64 alive_until_ns;   /* CLOCK_MONOTONIC; the daemon refreshes it
				 * while its workers keep up; 0 = absent */
	__u32 flags;            /* MXW_IF_* */
	__u32 _pad;
};
#define MXW_IF_OVERLOAD         (1u << 0)   /* backlog: bridge uninspected */

/* Metadata in front of every frame handed to an AF_XDP socket
 * (bpf_xdp_adjust_meta; copy mode copies it too): the arrival time, so
 * mxwalld measures a block's latency from the offending frame's arrival. */
struct mxw_xsk_meta {
	__u64 rx_ns;            /* bpf_ktime_get_ns() at arrival */
	__u32 magic;            /* MXW_XSK_META_MAGIC */
	__u32 _pad;
};
#define MXW_XSK_META_MAGIC      0x6d786d74u

/* mxw_bypass: a cache like mxw_ct (sets of MXW_FLOW_WAYS struct
 * mxw_flow_slot), keys oriented client -> server (src = the client, sport
 * = its port, dport = the mail port), proto IPPROTO_TCP; expires_ns is
 * the idle deadline, refreshed by the fast path like mxw_ct's; flags 0.
 * Inserted by mxwalld through its mapping of the array when a flow turns
 * opaque (STARTTLS) or policy trusts it, with the fast path's claim
 * (bpf/mxw_table.h: a slot is written only by the CPU or thread that
 * swapped its tag to busy); a victim is an expired slot first, so an
 * evicted live entry only sends its flow back to inspection.  Removed by
 * the fast path when a new SYN reuses the 4-tuple.  Its mask is
 * mxw_data.cfg.mask_bypass; mxwalld sizes it from
 * fastpath.table_sizes.bypass (default MXW_BYPASS_MAX entries). */

/* ---- per-reason counters (mxw_stats, PERCPU_ARRAY[MXW_R_MAX]) ----------- */
struct mxw_counter {
	__u64 packets;
	__u64 bytes;
};

/*
 * X-macro: (enum name, stable text used in stats/metrics).  The order is
 * ABI for mxw_stats indices: append, never reorder.  Every frame counts
 * once in the reason of its verdict; shadow_blocklist, err_redirect and
 * err_xsk_redirect are counted in addition to it.
 */
#define MXW_REASONS(X) \
	X(MXW_R_PASS_OUTBOUND,     "pass_outbound")      \
	X(MXW_R_PASS_ARP,          "pass_arp")           \
	X(MXW_R_PASS_ND,           "pass_nd")            \
	X(MXW_R_PASS_ETHERTYPE,    "pass_ethertype")     \
	X(MXW_R_DROP_ETHERTYPE,    "drop_ethertype")     \
	X(MXW_R_PASS_ALLOW,        "pass_allowlist")     \
	X(MXW_R_DROP_BLOCK,        "drop_blocklist")     \
	X(MXW_R_PASS_RETURN,       "pass_return")        \
	X(MXW_R_PASS_ICMP,         "pass_icmp")          \
	X(MXW_R_DROP_ICMP_RATE,    "drop_icmp_rate")     \
	X(MXW_R_DROP_ICMP_OTHER,   "drop_icmp_other")    \
	X(MXW_R_DROP_FRAG,         "drop_fragment")      \
	X(MXW_R_PASS_FRAG,         "pass_fragment")      \
	X(MXW_R_PASS_MAIL_SYN,     "pass_mail_syn")      \
	X(MXW_R_PASS_MAIL,         "pass_mail")          \
	X(MXW_R_DROP_SYN_SRC,      "drop_syn_source_rate") \
	X(MXW_R_DROP_SYN_PFX,      "drop_syn_prefix_rate") \
	X(MXW_R_DROP_SYN_GLOBAL,   "drop_syn_global_rate") \
	X(MXW_R_DROP_CONN_LIMIT,   "drop_conn_limit")    \
	X(MXW_R_DROP_NOT_MAIL,     "drop_not_mail")      \
	X(MXW_R_DROP_NOT_PROTECTED,"drop_not_protected") \
	X(MXW_R_DROP_MALFORMED,    "drop_malformed")     \
	X(MXW_R_DROP_VLAN_DEPTH,   "drop_vlan_depth")    \
	X(MXW_R_DROP_V6EXT,        "drop_ipv6_ext_bound") \
	X(MXW_R_PASS_V6EXT,        "pass_ipv6_ext_bound") \
	X(MXW_R_DROP_NO_PORT,      "drop_unknown_ingress") \
	X(MXW_R_ERR_REDIRECT,      "err_redirect")       \
	X(MXW_R_PASS_UNINSPECTED,  "pass_uninspected")   \
	X(MXW_R_DROP_FAIL_CLOSED,  "drop_fail_closed")   \
	X(MXW_R_TO_INSPECT,        "to_inspection")      \
	X(MXW_R_SHADOW_BLOCK,      "shadow_blocklist")   \
	X(MXW_R_DROP_TCP_FLAGS,    "drop_tcp_flags")     \
	X(MXW_R_PASS_BYPASS,       "pass_bypass")        \
	X(MXW_R_ERR_XSK,           "err_xsk_redirect")

#define MXW_REASON_ENUM(name, text) name,
enum mxw_reason {
	MXW_REASONS(MXW_REASON_ENUM)
	MXW_R_MAX
};
#undef MXW_REASON_ENUM

#endif /* MXWALL_SHARED_H */
