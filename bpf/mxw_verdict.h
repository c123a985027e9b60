/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mxw_verdict.h - the fast path's verdict (DESIGN.md 2.1), as pure inline
 * functions shared by the XDP program and a userspace (DPDK) build.
 * docs/fastpath.md explains the order, the maps and the flood design.
 *
 * Tables are reached only through macros the includer defines, named after
 * the maps of mxwall_shared.h (the first argument is the map's name); the
 * ARRAY-backed hash tables are read and written by bpf/mxw_table.h's code
 * on the buckets these return:
 *   MXW_TBL_LOOKUP(table, key)              -> pointer to value or NULL
 *   MXW_DATA()                              -> struct mxw_data * (never NULL)
 *   MXW_NOW_NS()                            -> CLOCK_MONOTONIC ns
 *   MXW_ATOMIC_ADD32(ptr, v)                -> atomic *ptr += v (u32)
 * The caller points mxw_vctx.cfg at MXW_DATA()->cfg.
 * Lookups return pointers into the table that stay valid for the packet
 * (RCU in the kernel); writes through them are plain stores.
 *
 * Concurrency: no locks.  Token buckets and expiry refreshes are plain
 * read-modify-write on shared values; two CPUs racing on one bucket can
 * grant one token each where one was left (bounded by the number of CPUs,
 * and only for one refill step).  Table slots are claimed with a
 * compare-and-swap (mxw_table.h).  Connection counts use atomic adds, and a
 * count is decremented only by the CPU whose removal of the flow succeeded.
 */
#ifndef MXW_VERDICT_H
#define MXW_VERDICT_H

#include "mxw_parse.h"
#include "mxw_table.h"

#if !defined(MXW_TBL_LOOKUP) || !defined(MXW_NOW_NS) || \
    !defined(MXW_ATOMIC_ADD32) || !defined(MXW_DATA)
#error "define MXW_TBL_LOOKUP, MXW_DATA, MXW_NOW_NS and MXW_ATOMIC_ADD32 first"
#endif

#define MXW_NSEC                1000000000ull
/* A bucket idle this long is full (keeps elapsed * rate within 64 bits). */
#define MXW_REFILL_CAP_NS       (64ull * MXW_NSEC)
/* Flow expiry is rewritten at most once per this interval per flow. */
#define MXW_REFRESH_SLACK_NS    MXW_NSEC
/* A bypassed flow after a FIN or RST: idle deadline (docs/fastpath.md,
 * "Inspection path"). */
#define MXW_BYPASS_CLOSE_NS     (60ull * MXW_NSEC)

enum mxw_dir {
	MXW_DIR_IN = 0,         /* outside port -> inside port */
	MXW_DIR_OUT = 1,        /* inside port -> outside port */
};

struct mxw_vctx {
	const struct mxw_config *cfg;
	__u64 now;              /* read lazily: 0 until first needed */
	__u64 src_h;            /* mxw_hash_addr(pkt.src), once src_h_ok */
	__u64 src_sum;          /* mxw_hash_addr_sum(pkt.src), likewise */
	__u8 src_h_ok;
	struct mxw_pkt pkt;
	__u32 hints;            /* MXW_HE_*: read by mxw_inbound, and by
				 * mxw_inspect for a server's segment */
	__u8 shadow;            /* a shadow (MXW_LF_SHADOW) block matched */
};

MXW_INLINE __u64 mxw_now(struct mxw_vctx *v)
{
	if (!v->now)
		v->now = MXW_NOW_NS();
	return v->now;
}

/* Reasons whose frame is forwarded to the other port. */
MXW_INLINE int mxw_reason_passes(__u32 r)
{
	switch (r) {
	case MXW_R_PASS_OUTBOUND:
	case MXW_R_PASS_ARP:
	case MXW_R_PASS_ND:
	case MXW_R_PASS_ETHERTYPE:
	case MXW_R_PASS_ALLOW:
	case MXW_R_PASS_RETURN:
	case MXW_R_PASS_ICMP:
	case MXW_R_PASS_FRAG:
	case MXW_R_PASS_MAIL_SYN:
	case MXW_R_PASS_MAIL:
	case MXW_R_PASS_V6EXT:
	case MXW_R_PASS_UNINSPECTED:
	case MXW_R_PASS_BYPASS:
		return 1;
	default:
		return 0;
	}
}

/* k = a under the key mask m (mxw_config.src6_mask / pfx6_mask). */
MXW_INLINE void mxw_key_masked(struct mxw_addr *k, const struct mxw_addr *a,
			       const __u64 m[2])
{
	k->w[0] = a->w[0] & m[0];
	k->w[1] = a->w[1] & m[1];
}

/* The per-source key: IPv4 /32, IPv6 /src6_len. */
MXW_INLINE void mxw_source_key(struct mxw_addr *k, const struct mxw_addr *a,
			       const struct mxw_config *cfg, __u8 family)
{
	if (family == 4)
		*k = *a;
	else
		mxw_key_masked(k, a, cfg->src6_mask);
}

/* Whether the per-source key of a family is the whole address (IPv4
 * /32, IPv6 /128: mxw_source_key). */
MXW_INLINE int mxw_source_is_addr(const struct mxw_config *cfg, __u8 family)
{
	return family == 4 || cfg->src6_len >= 128;
}

/* The per-prefix key: IPv4 /pfx4_len (mapped: 96 + len), IPv6 /pfx6_len.
 * The masks come precomputed in the config rather than built from the
 * lengths here: about 20 instructions fewer on every SYN
 * (docs/benchmarks.md). */
MXW_INLINE void mxw_prefix_key(struct mxw_addr *k, const struct mxw_addr *a,
			       const struct mxw_config *cfg, __u8 family)
{
	if (family == 4) {
		k->w[0] = a->w[0];
		k->w[1] = a->w[1] & cfg->pfx4_mask_w1;
	} else {
		mxw_key_masked(k, a, cfg->pfx6_mask);
	}
}

/* mxw_flow_key.tail as one word (sport, dport, proto, zero padding),
 * stored whole: see mxw_word. */
_Static_assert(__builtin_offsetof(struct mxw_flow_key, sport) == 32 &&
	       __builtin_offsetof(struct mxw_flow_key, dport) == 34 &&
	       __builtin_offsetof(struct mxw_flow_key, proto) == 36 &&
	       sizeof(struct mxw_flow_key) == 40, "mxw_flow_tail's layout");

MXW_INLINE __u64 mxw_flow_tail(__be16 sport, __be16 dport, __u8 proto)
{
	return mxw_word((__u32)sport | (__u32)dport << 16, proto);
}

/* The packet's own tuple (inbound flows, and return-path lookups). */
MXW_INLINE void mxw_flow_key_fwd(struct mxw_flow_key *k, const struct mxw_pkt *p)
{
	k->src.w[0] = p->src.w[0];
	k->src.w[1] = p->src.w[1];
	k->dst.w[0] = p->dst.w[0];
	k->dst.w[1] = p->dst.w[1];
	k->tail = mxw_flow_tail(p->sport, p->dport, p->proto);
}

/* The tuple a reply to this packet will carry.  ICMP echo keeps (id, 0). */
MXW_INLINE void mxw_flow_key_reply(struct mxw_flow_key *k, const struct mxw_pkt *p)
{
	k->src.w[0] = p->dst.w[0];
	k->src.w[1] = p->dst.w[1];
	k->dst.w[0] = p->src.w[0];
	k->dst.w[1] = p->src.w[1];
	if (p->flags & MXW_PF_ECHO)
		k->tail = mxw_flow_tail(p->sport, 0, p->proto);
	else
		k->tail = mxw_flow_tail(p->dport, p->sport, p->proto);
}

MXW_INLINE __u64 mxw_ct_timeout(const struct mxw_config *cfg, __u8 proto)
{
	if (proto == MXW_IPPROTO_TCP)
		return cfg->ct_tcp_timeout_ns ? cfg->ct_tcp_timeout_ns :
						MXW_CT_TCP_TIMEOUT_DEFAULT_NS;
	return cfg->ct_udp_timeout_ns ? cfg->ct_udp_timeout_ns :
					MXW_CT_UDP_TIMEOUT_DEFAULT_NS;
}

/* A bucket's capacity in fixed point (a burst of 0 counts as 1). */
MXW_INLINE __u64 mxw_bucket_cap(__u32 burst)
{
	return (__u64)(burst ? burst : 1) << MXW_TOKEN_SHIFT;
}

/*
 * Token bucket: tok, the count the caller read from b, refilled for the
 * time since b->last_ns, which becomes now (the caller tested now >
 * b->last_ns).  A zeroed bucket counts as full, so a new bucket starts
 * with `burst` tokens.  rate is clamped to MXW_RATE_MAX so elapsed (<
 * 2^36 ns) * rate stays below 2^60.
 */
MXW_INLINE __u64 mxw_bucket_refill(struct mxw_bucket *b, __u64 tok, __u64 now,
				   __u32 rate, __u32 burst)
{
	__u64 cap = mxw_bucket_cap(burst), elapsed = now - b->last_ns, x;

	if (rate > MXW_RATE_MAX)
		rate = MXW_RATE_MAX;
	/* never refilled (zeroed): full, also in the first minute after
	 * boot, when the clock is still small */
	if (elapsed >= MXW_REFILL_CAP_NS || b->last_ns == 0) {
		tok = cap;
	} else {
		x = elapsed * rate;     /* tokens * 1e9 */
		tok += ((x / MXW_NSEC) << MXW_TOKEN_SHIFT) +
		       (((x % MXW_NSEC) << MXW_TOKEN_SHIFT) / MXW_NSEC);
		if (tok > cap)
			tok = cap;
	}
	b->last_ns = now;
	return tok;
}

/*
 * Take one token from bucket b at now.  Returns 1 if a token was taken.
 * Within one clock tick (the usual case: the clock is coarse) there is
 * nothing to refill, and a take is a compare and a store.
 */
MXW_INLINE int mxw_bucket_take(struct mxw_bucket *b, __u64 now, __u32 rate,
			       __u32 burst)
{
	const __u64 one = 1ull << MXW_TOKEN_SHIFT;
	__u64 tok = b->tokens;

	if (now > b->last_ns)
		tok = mxw_bucket_refill(b, tok, now, rate, burst);
	if (tok < one) {
		b->tokens = tok;
		return 0;
	}
	b->tokens = tok - one;
	return 1;
}

/*
 * A source's take from the bucket of its slot s, whose top byte holds its
 * prefix credits.  Returns -1 without a token, 1 when a credit pays the
 * SYN's prefix, 0 when the prefix is still to be paid.  Credits end with
 * the clock tick they were paid in: a refill (the source's first SYN in a
 * later tick) voids them, so a source cannot bank them (docs/fastpath.md,
 * "Prefix credits").  The update is one store, as for any bucket.
 */
MXW_INLINE int mxw_src_take(struct mxw_src_slot *s, __u64 now, __u32 rate,
			    __u32 burst)
{
	const __u64 one = 1ull << MXW_TOKEN_SHIFT;
	__u64 w = s->b.tokens, tok = w & MXW_TOKEN_MASK;
	__u64 cr = w >> MXW_CREDIT_SHIFT;
	int paid;

	if (now > s->b.last_ns) {
		tok = mxw_bucket_refill(&s->b, tok, now, rate, burst);
		cr = 0;
	}
	if (tok < one) {
		s->b.tokens = tok | (cr << MXW_CREDIT_SHIFT);
		return -1;
	}
	paid = cr != 0;
	s->b.tokens = (tok - one) | ((cr - (__u64)paid) << MXW_CREDIT_SHIFT);
	return paid;
}

/*
 * After source slot s paid prefix slot ps for a SYN: pay ahead for as
 * many more SYNs as s has just sent (the whole tokens its bucket is below
 * full, this SYN's not counted), at most MXW_CREDIT_MAX and the tokens s
 * has left, and only while ps keeps half its burst after: the lower half
 * of a prefix's burst is spent one SYN at a time.  A source that sends
 * one SYN now and then (every flood's spoofed source) is never paid
 * ahead for.  s holds no credit here: it has just paid.
 */
MXW_INLINE void mxw_credit_grant(struct mxw_src_slot *s,
				 struct mxw_src_slot *ps,
				 const struct mxw_config *cfg)
{
	__u64 tok = s->b.tokens & MXW_TOKEN_MASK;
	__u64 cap = mxw_bucket_cap(cfg->src_burst), g;

	if (tok >= cap)
		return;
	g = (cap - tok) >> MXW_TOKEN_SHIFT;
	if (g <= 1)
		return;
	g -= 1;
	if (g > MXW_CREDIT_MAX)
		g = MXW_CREDIT_MAX;
	if (g > tok >> MXW_TOKEN_SHIFT)
		g = tok >> MXW_TOKEN_SHIFT;
	if (!g || ps->b.tokens < (mxw_bucket_cap(cfg->pfx_burst) >> 1) +
				 (g << MXW_TOKEN_SHIFT))
		return;
	ps->b.tokens -= g << MXW_TOKEN_SHIFT;
	s->b.tokens = tok | (g << MXW_CREDIT_SHIFT);
}

/* The family of a stored address: IPv4-mapped (::ffff:0:0/96) or not. */
MXW_INLINE __u8 mxw_addr_family(const struct mxw_addr *a)
{
	__u64 hi;
	__u32 mid;

	__builtin_memcpy(&hi, a->a, 8);
	__builtin_memcpy(&mid, a->a + 8, 4);
	return hi == 0 && mid == bpf_htonl(0xffff) ? 4 : 6;
}

/* The set of a key with hash h in a cache table (mxw_src_bucket,
 * mxw_pfx_bucket, mxw_conn, mxw_ct), and its tag.  NULL when the index is
 * outside the map (a mask the map does not match): the caller goes on
 * without state. */
#define MXW_CACHE_SET(table, mask, h, tag) ({                            \
	__u64 h_ = (h);                                                  \
	__u32 i_ = mxw_hash_idx1(h_, mask);                              \
	*(tag) = mxw_hash_tag(h_);                                       \
	MXW_TBL_LOOKUP(table, &i_);                                      \
})

/* Take a token from the bucket of slot s.  Without a slot for the key
 * (another CPU was writing the victim) the key is new, and a new bucket
 * starts full (burst >= 1): the take succeeds. */
MXW_INLINE int mxw_slot_take(struct mxw_src_slot *s, __u64 now, __u32 rate,
			     __u32 burst)
{
	return !s || mxw_bucket_take(&s->b, now, rate, burst);
}

/* idx: an enum mxw_global_bucket constant. */
MXW_INLINE int mxw_global_take(struct mxw_vctx *v, __u32 idx, __u32 rate,
			       __u32 burst)
{
	return mxw_bucket_take(&MXW_DATA()->global[idx % MXW_GB_MAX],
			       mxw_now(v), rate, burst);
}

/* A list entry applies if present and not expired. */
MXW_INLINE int mxw_list_live(struct mxw_vctx *v, const struct mxw_list_entry *e)
{
	if (!e)
		return 0;
	return e->expires_ns == 0 || e->expires_ns > mxw_now(v);
}

/* The exact-list entry of addr (hash h) in table (two candidate
 * buckets, mxw_table.h), or NULL.  Nothing is read of a first bucket
 * whose occupancy bit (table##_occ) is clear; the second bucket is read
 * only when the first says some of its keys went there.  Without the
 * bits' word (a map sized short) the bucket is read. */
#define MXW_LIST_EXACT(table, mask, addr, h) ({                          \
	__u32 t_ = mxw_hash_tag(h);                                      \
	__u32 i_ = mxw_hash_idx1(h, mask);                               \
	__u32 w_ = i_ >> 6;                                              \
	const __u64 *o_ = MXW_TBL_LOOKUP(table##_occ, &w_);              \
	const struct mxw_list_bucket *b_ = 0;                            \
	int s_ = -1;                                                     \
	if (!o_ || ((MXW_READ_ONCE64(*o_) >> (i_ & 63)) & 1)) {          \
		b_ = MXW_TBL_LOOKUP(table, &i_);                         \
		s_ = mxw_list_find(b_, t_, addr);                        \
	}                                                                \
	if (s_ < 0 && b_ && MXW_READ_ONCE32(b_->n_second)) {             \
		i_ = mxw_hash_idx2(h, mask);                             \
		b_ = MXW_TBL_LOOKUP(table, &i_);                         \
		s_ = mxw_list_find(b_, t_, addr);                        \
	}                                                                \
	(b_ && s_ >= 0) ? &b_->slot[s_ & (MXW_LIST_WAYS - 1)].e :        \
			  (const struct mxw_list_entry *)0;              \
})

/* The trie key of a single address (/128 of the mapped form), built only
 * where a trie is looked up. */
MXW_INLINE void mxw_lpm_host(struct mxw_lpm_key *k, const struct mxw_addr *a)
{
	k->prefixlen = 128;
	__builtin_memcpy(k->a, a->a, 16);
}

/*
 * The prefix entry of addr in trie lpm that applies: the longest live
 * enforced prefix, else the longest live shadow one, else NULL.  The
 * trie answers with the longest prefix only; behind a shadow or expired
 * (not yet reaped) one, the next lookup asks for a prefix one bit
 * shorter than it (its length is in its flags, MXW_LF_PLEN_*), so a
 * shadow /24 escalation inside a blocked /16 does not open the /24, nor
 * does a /24 that expired a moment ago.  At most MXW_LPM_WALK lookups,
 * and one when the first answer is live and enforced or absent.
 * XXX: a live enforced prefix behind MXW_LPM_WALK shadow or expired ones
 * nested in each other, or behind an entry without its length (written
 * by an mxwalld before the length was recorded, until the next start),
 * is not found.
 */
#define MXW_LPM_MATCH(v, lpm, addr) ({                                   \
	const struct mxw_list_entry *r_ = 0, *q_;                        \
	struct mxw_lpm_key lk_;                                          \
	int pl_;                                                         \
	mxw_lpm_host(&lk_, addr);                                        \
	MXW_UNROLL                                                       \
	for (int n_ = 0; n_ < MXW_LPM_WALK; n_++) {                      \
		q_ = MXW_TBL_LOOKUP(lpm, &lk_);                          \
		if (!q_)                                                 \
			break;                                           \
		if (mxw_list_live(v, q_)) {                              \
			if (!(q_->flags & MXW_LF_SHADOW)) {              \
				r_ = q_;                                 \
				break;                                   \
			}                                                \
			if (!r_)                                         \
				r_ = q_;                                 \
		}                                                        \
		pl_ = mxw_lpm_shorter(q_->flags, lk_.prefixlen);         \
		if (pl_ < 0)                                             \
			break;                                           \
		lk_.prefixlen = (__u32)pl_;                              \
	}                                                                \
	r_;                                                              \
})

/*
 * Exact table first (O(1) whatever its size), then the LPM trie; a table
 * whose mxw_data.hints bit (he_exact, he_lpm) says it is empty is not looked
 * up at all.  h is addr's hash (mxw_hash_addr with the config's seed).
 * The trie is read also behind a live shadow exact entry, and a live
 * enforced prefix there wins over it: a shadow address inside a blocked
 * (allowed) prefix stays blocked (allowed).  Otherwise the live entry
 * found, shadow or not.
 */
#define MXW_LIST_MATCH(v, exact, mask, lpm, addr, h, he_exact, he_lpm) ({ \
	const struct mxw_list_entry *e_ = 0, *p_;                        \
	if (!((v)->hints & (he_exact)))                                  \
		e_ = MXW_LIST_EXACT(exact, mask, addr, h);               \
	if (!mxw_list_live(v, e_))                                       \
		e_ = 0;                                                  \
	if ((!e_ || (e_->flags & MXW_LF_SHADOW)) &&                      \
	    !((v)->hints & (he_lpm))) {                                  \
		p_ = MXW_LPM_MATCH(v, lpm, addr);                        \
		if (p_ && (!e_ || !(p_->flags & MXW_LF_SHADOW)))         \
			e_ = p_;                                         \
	}                                                                \
	e_;                                                              \
})

/* The hash of the packet's source address and its sum before mixing
 * (mxw_hash_addr_sum), computed once for the lists, the source's slot
 * and the flow fingerprint. */
MXW_INLINE void mxw_src_hashes(struct mxw_vctx *v)
{
	if (!v->src_h_ok) {
		v->src_sum = mxw_hash_addr_sum(&v->pkt.src, v->cfg->hash_seed);
		v->src_h = mxw_hash_fin(v->src_sum);
		v->src_h_ok = 1;
	}
}

MXW_INLINE __u64 mxw_src_hash(struct mxw_vctx *v)
{
	mxw_src_hashes(v);
	return v->src_h;
}

MXW_INLINE __u64 mxw_src_sum(struct mxw_vctx *v)
{
	mxw_src_hashes(v);
	return v->src_sum;
}

/* The empty-list promises of mxw_data.hints (0: none, look everything
 * up). */
MXW_INLINE __u32 mxw_list_hints(void)
{
	return MXW_READ_ONCE32(MXW_DATA()->hints.empty);
}

/* The MXW_PORT_* flags of a TCP port (network order). */
MXW_INLINE __u8 mxw_port_flags(__be16 port)
{
	return MXW_DATA()->ports[bpf_ntohs(port) & (MXW_MAX_PORTS - 1)];
}

/* ND (RS/RA/NS/NA/redirect) must carry hop limit 255 (RFC 4861 6.1);
 * MLD (RFC 2710, 3810) hop limit 1.  Anything else is not link control. */
MXW_INLINE int mxw_is_nd(const struct mxw_pkt *p)
{
	if (p->family != 6 || p->proto != MXW_IPPROTO_ICMPV6 ||
	    !(p->flags & MXW_PF_L4) || (p->flags & MXW_PF_FRAG))
		return 0;
	if (p->icmp_type >= 133 && p->icmp_type <= 137)
		return p->hop_limit == 255;
	if ((p->icmp_type >= 130 && p->icmp_type <= 132) || p->icmp_type == 143)
		return p->hop_limit == 1;
	return 0;
}

/* Destination unreachable (incl. fragmentation needed), time exceeded;
 * ICMPv6: unreachable, packet too big, time exceeded. */
MXW_INLINE int mxw_is_essential_icmp(const struct mxw_pkt *p)
{
	if (p->family == 4)
		return p->icmp_type == 3 || p->icmp_type == 11;
	return p->icmp_type >= 1 && p->icmp_type <= 3;
}

/* Give back one connection of the source of client (an address as the
 * flows store it), for the flow with fingerprint fp, which its slot then
 * forgets.  Signed view: a count rewritten by mxwalld's repair while a
 * flow closes may go below 0, which only loosens the cap. */
MXW_INLINE void mxw_conn_uncount(struct mxw_vctx *v, const struct mxw_addr *client,
				 __u32 fp)
{
	const struct mxw_config *cfg = v->cfg;
	struct mxw_src_set *set;
	struct mxw_src_slot *ss;
	struct mxw_addr sk;
	__u32 tag;

	mxw_source_key(&sk, client, cfg, mxw_addr_family(client));
	set = MXW_CACHE_SET(mxw_src_bucket, cfg->mask_src,
			    mxw_hash_addr(&sk, cfg->hash_seed), &tag);
	ss = set ? MXW_SLOT(set, mxw_src_find(set, tag, &sk), MXW_SRC_WAYS) : 0;
	if (!ss)
		return;
	if (MXW_READ_ONCE32(ss->syn_fp) == fp)
		MXW_WRITE_ONCE32(ss->syn_fp, 0);
	if ((__s32)ss->conns > 0)
		MXW_ATOMIC_ADD32(&ss->conns, (__u32)-1);
}

/*
 * Release the connection slot of flow fk (client = its source) on FIN or
 * RST from either side.  Only the CPU whose removal succeeds decrements,
 * so a FIN seen twice decrements once.
 */
MXW_INLINE void mxw_conn_release(struct mxw_vctx *v, const struct mxw_flow_key *fk,
				 const struct mxw_addr *client)
{
	const struct mxw_config *cfg = v->cfg;
	struct mxw_flow_set *set;
	__u64 sum = mxw_hash_tuple(&fk->src, &fk->dst, fk->tail, cfg->hash_seed);
	__u32 tag, counted;
	int i;

	set = MXW_CACHE_SET(mxw_conn, cfg->mask_conn, mxw_hash_fin(sum), &tag);
	if (!set)
		return;
	i = mxw_flow_find(set, tag, fk);
	if (i < 0)
		return;
	counted = set->slot[i & (MXW_FLOW_WAYS - 1)].flags & MXW_FF_COUNTED;
	if (!mxw_flow_remove(set, i, tag) || !counted)
		return;
	mxw_conn_uncount(v, client, mxw_syn_fp(sum));
}

/* What a segment due for inspection becomes when it cannot get there
 * (DESIGN.md 2.1): forwarded and counted, or dropped with fail-closed. */
MXW_INLINE enum mxw_reason mxw_uninspected(const struct mxw_config *cfg)
{
	return (cfg->flags & MXW_CF_FAIL_CLOSED) ? MXW_R_DROP_FAIL_CLOSED :
						   MXW_R_PASS_UNINSPECTED;
}

/* The slot of flow fk (client -> server) in mxw_bypass, or -1; *set
 * (NULL: none) and *tag for the caller's next step. */
MXW_INLINE int mxw_bypass_find(struct mxw_vctx *v, const struct mxw_flow_key *fk,
			       struct mxw_flow_set **set, __u32 *tag)
{
	*set = MXW_CACHE_SET(mxw_bypass, v->cfg->mask_bypass,
			     mxw_hash_flow(fk, v->cfg->hash_seed), tag);
	return *set ? mxw_flow_find(*set, *tag, fk) : -1;
}

/*
 * A segment of an inspected mail flow (mxwall_shared.h, "inspection
 * path"); fk is the flow oriented client -> server.  A live bypass entry
 * wins (its idle deadline refreshed like mxw_ct's); otherwise the segment
 * goes to the inspection path if the daemon's heartbeat is current and it
 * is not overloaded, else to the fail mode.  Two lookups (two more for
 * the allowlist on the server's side), only on this path.  The caller
 * (mxw_xdp) falls back to the fail mode as well when no socket takes the
 * frame.
 *
 * client: for the server's side, the client to look up in the allowlist
 * (the client's side was judged by step 1 of mxw_inbound already).  An
 * allowlisted client's flow is bridged both ways without inspection: the
 * engine would otherwise see the server's side alone and could judge the
 * session on half of it.
 */
MXW_INLINE enum mxw_reason mxw_inspect(struct mxw_vctx *v,
				       const struct mxw_flow_key *fk,
				       const struct mxw_addr *client)
{
	const struct mxw_list_entry *e;
	const struct mxw_insp_state *st;
	struct mxw_flow_slot *bv;
	struct mxw_flow_set *set;
	__u32 zero = 0, tag;
	__u64 now, exp;
	int i;

	/* A FIN or RST of a bypassed flow marks its entry closing
	 * (MXW_FF_FIN_SEEN) and brings its idle deadline down to
	 * MXW_BYPASS_CLOSE_NS, which later segments then extend by no
	 * more: after one side's FIN the other may still send, and the
	 * engine does not know the flow any more, so the entry is not
	 * removed; and an RST is not trusted to remove it either (no
	 * sequence check here: a spoofed one would send the rest of a live
	 * TLS session to the engine).  A new SYN on the 4-tuple forgets it
	 * (mxw_inbound).
	 * The clock is read only when there is something to compare it
	 * with: a bypass entry, a heartbeat.
	 * (Reading the exact clock here and reusing it for the arrival stamp
	 * was tried: the daemon-absent and no-socket cases gained, the
	 * to_inspection case lost ~17 ns, measured, not understood.) */
	i = mxw_bypass_find(v, fk, &set, &tag);
	bv = set ? MXW_SLOT(set, i, MXW_FLOW_WAYS) : 0;
	if (bv && bv->expires_ns > (now = mxw_now(v))) {
		if (v->pkt.tcp_flags & (MXW_TCP_FIN | MXW_TCP_RST)) {
			if (!(bv->flags & MXW_FF_FIN_SEEN))
				bv->flags |= MXW_FF_FIN_SEEN;
			exp = now + MXW_BYPASS_CLOSE_NS;
			if (bv->expires_ns > exp)
				bv->expires_ns = exp;
			return MXW_R_PASS_BYPASS;
		}
		exp = now + ((bv->flags & MXW_FF_FIN_SEEN) ? MXW_BYPASS_CLOSE_NS :
			     mxw_ct_timeout(v->cfg, MXW_IPPROTO_TCP));
		if (bv->expires_ns + MXW_REFRESH_SLACK_NS < exp)
			bv->expires_ns = exp;
		return MXW_R_PASS_BYPASS;
	}
	if (client) {
		/* the outbound path has not read the hints yet */
		v->hints = mxw_list_hints();
		e = MXW_LIST_MATCH(v, mxw_allow_exact, v->cfg->mask_allow,
				   mxw_allow_lpm, client,
				   mxw_hash_addr(client, v->cfg->hash_seed),
				   MXW_HE_ALLOW_EXACT, MXW_HE_ALLOW_LPM);
		if (e && !(e->flags & MXW_LF_SHADOW))
			return MXW_R_PASS_OUTBOUND;
	}
	st = MXW_TBL_LOOKUP(mxw_insp, &zero);
	if (st && st->alive_until_ns && !(st->flags & MXW_IF_OVERLOAD) &&
	    mxw_now(v) < st->alive_until_ns)
		return MXW_R_TO_INSPECT;
	return mxw_uninspected(v->cfg);
}

/* Forget the bypass entry of flow fk, if any (mxwall_shared.h). */
MXW_INLINE void mxw_bypass_forget(struct mxw_vctx *v,
				  const struct mxw_flow_key *fk)
{
	struct mxw_flow_set *set;
	__u32 tag;
	int i = mxw_bypass_find(v, fk, &set, &tag);

	if (set && i >= 0)
		mxw_flow_remove(set, i, tag);
}

/* The connection set of the SYN's flow: its key into *fk, its tag into
 * *tag; NULL when the index is outside the map. */
MXW_INLINE struct mxw_flow_set *mxw_syn_conn_set(struct mxw_vctx *v,
						 struct mxw_flow_key *fk,
						 __u32 *tag)
{
	mxw_flow_key_fwd(fk, &v->pkt);
	return MXW_CACHE_SET(mxw_conn, v->cfg->mask_conn,
			     mxw_hash_flow(fk, v->cfg->hash_seed), tag);
}

/* A mail port whose segments the inspection path reads: flagged
 * MXW_PORT_INSPECT and not implicit TLS (opaque from the first byte). */
MXW_INLINE int mxw_port_inspected(__u8 pf)
{
	return (pf & (MXW_PORT_INSPECT | MXW_PORT_IMPLICIT_TLS)) ==
	       MXW_PORT_INSPECT;
}

/*
 * A SYN to a mail port: the source, prefix and global buckets, then the
 * connection cap.  A SYN refused by the cap has spent its tokens: it was a
 * connection attempt all the same, and an over-rate SYN is dropped after a
 * single lookup.  The source's slot holds both its bucket and its count,
 * and the prefix credits that pay its prefix's bucket ahead
 * (mxw_credit_grant).
 */
MXW_INLINE enum mxw_reason mxw_new_conn(struct mxw_vctx *v)
{
	const struct mxw_config *cfg = v->cfg;
	const struct mxw_pkt *p = &v->pkt;
	struct mxw_src_slot *ss = 0, *ps;
	struct mxw_flow_slot io;
	struct mxw_src_set *set;
	struct mxw_flow_set *fset = 0;
	struct mxw_flow_key fk;
	struct mxw_addr sk, pk;
	__u32 tag, ftag = 0, fp;
	__u64 now = mxw_now(v);
	int i, paid = 0, fset_ok = 0;

	if (cfg->src_rate || cfg->max_conns_per_src) {
		mxw_source_key(&sk, &p->src, cfg, p->family);
		/* A key that is the address itself (IPv4 /32, IPv6 /128)
		 * has the hash the lists used already. */
		set = MXW_CACHE_SET(mxw_src_bucket, cfg->mask_src,
				    mxw_source_is_addr(cfg, p->family) ? mxw_src_hash(v) :
				    mxw_hash_addr(&sk, cfg->hash_seed), &tag);
		i = set ? mxw_src_find(set, tag, &sk) : -1;
		if (i < 0) {
			/* A new source (a spoofed flood's, mostly) opens a
			 * new flow: read its connection set now, so that
			 * this cache miss overlaps the source set's instead
			 * of following the buckets (docs/benchmarks.md,
			 * "Eighth session"). */
			if (cfg->max_conns_per_src) {
				fset = mxw_syn_conn_set(v, &fk, &ftag);
				if (fset)
					(void)MXW_READ_ONCE32(fset->tag[0]);
				fset_ok = 1;
			}
			i = mxw_src_claim(set, tag, &sk);
		}
		ss = set ? MXW_SLOT(set, i, MXW_SRC_WAYS) : 0;
		/* Without a slot the key is new, and a new bucket starts full
		 * (burst >= 1): the take succeeds. */
		if (cfg->src_rate && ss) {
			paid = mxw_src_take(ss, now, cfg->src_rate, cfg->src_burst);
			if (paid < 0)
				return MXW_R_DROP_SYN_SRC;
		}
	}
	/* A SYN a prefix credit paid for skips its prefix's bucket. */
	if (cfg->pfx_rate && !paid) {
		mxw_prefix_key(&pk, &p->src, cfg, p->family);
		set = MXW_CACHE_SET(mxw_pfx_bucket, cfg->mask_pfx,
				    mxw_hash_addr(&pk, cfg->hash_seed), &tag);
		ps = set ? MXW_SLOT(set, mxw_src_get(set, tag, &pk), MXW_SRC_WAYS) : 0;
		if (!mxw_slot_take(ps, now, cfg->pfx_rate, cfg->pfx_burst))
			return MXW_R_DROP_SYN_PFX;
		if (cfg->src_rate && ss && ps)
			mxw_credit_grant(ss, ps, cfg);
	}
	if (cfg->global_rate &&
	    !mxw_global_take(v, MXW_GB_SYN, cfg->global_rate, cfg->global_burst))
		return MXW_R_DROP_SYN_GLOBAL;
	if (!cfg->max_conns_per_src)
		return MXW_R_PASS_MAIL_SYN;

	/* A retransmitted SYN (flow known) is not counted again.  The
	 * source's slot remembers its last counted flow, so a retransmission
	 * of that one is known without the connection table. */
	fp = mxw_syn_fp(mxw_src_sum(v) +
			mxw_hash_tuple_rest(&p->dst,
					    mxw_flow_tail(p->sport, p->dport, p->proto),
					    cfg->hash_seed));
	if (ss && MXW_READ_ONCE32(ss->syn_fp) == fp)
		return MXW_R_PASS_MAIL_SYN;
	/* The flow's hash again, from its key: carrying the sum across the
	 * test above cost the retransmission 2 ns (docs/benchmarks.md). */
	if (!fset_ok)
		fset = mxw_syn_conn_set(v, &fk, &ftag);
	if (!fset)
		return MXW_R_PASS_MAIL_SYN;
	i = mxw_flow_find(fset, ftag, &fk);
	if (i >= 0) {
		if (ss && (fset->slot[i & (MXW_FLOW_WAYS - 1)].flags &
			   MXW_FF_COUNTED))
			MXW_WRITE_ONCE32(ss->syn_fp, fp);
		return MXW_R_PASS_MAIL_SYN;
	}
	if (ss && (__s32)ss->conns >= 0 && ss->conns >= cfg->max_conns_per_src)
		return MXW_R_DROP_CONN_LIMIT;
	/* Counted only with a slot to count in (none: another CPU was
	 * writing the victim; the flow passes uncounted, fail-open). */
	io.expires_ns = now + mxw_ct_timeout(cfg, MXW_IPPROTO_TCP);
	io.flags = ss ? MXW_FF_COUNTED : 0;
	io.key = fk;                            /* what gcc cannot prove */
	i = mxw_flow_insert(fset, &fk, &io, ftag, now);
	if (i >= 0 && ss)
		MXW_ATOMIC_ADD32(&ss->conns, 1);
	if (io.flags & MXW_FF_COUNTED)
		mxw_conn_uncount(v, &io.key.src,
				 mxw_flow_fp(&io.key, cfg->hash_seed));
	/* After the victim's release, which may have been this source's,
	 * with a flow of the same fingerprint. */
	if (i >= 0 && ss)
		MXW_WRITE_ONCE32(ss->syn_fp, fp);
	return MXW_R_PASS_MAIL_SYN;
}

/* Inside -> outside: passes; remember what replies to expect. */
MXW_INLINE enum mxw_reason mxw_outbound(struct mxw_vctx *v)
{
	const struct mxw_pkt *p = &v->pkt;
	struct mxw_flow_slot *cv, io;
	struct mxw_flow_set *set;
	struct mxw_flow_key k;
	__u32 tag;
	__u64 exp;
	int open = 0;

	if (!(p->flags & MXW_PF_L4) || (p->flags & MXW_PF_FRAG))
		return MXW_R_PASS_OUTBOUND;
	if (p->proto == MXW_IPPROTO_TCP) {
		__u8 fl = p->tcp_flags;

		if ((fl & (MXW_TCP_SYN | MXW_TCP_ACK)) == MXW_TCP_SYN)
			open = 1;
		/* The server closing an inbound mail flow frees its slot. */
		if ((fl & (MXW_TCP_FIN | MXW_TCP_RST)) &&
		    v->cfg->max_conns_per_src) {
			mxw_flow_key_reply(&k, p);
			mxw_conn_release(v, &k, &p->dst);
		}
		/* The server's side of an inspected flow: its SYN-ACK (the
		 * engine learns both initial sequence numbers from it),
		 * payload, FIN, RST.  A SYN from a mail port (even one
		 * with data) opens an outbound flow and is not inspected. */
		if ((v->cfg->flags & MXW_CF_INSPECT) && !open &&
		    (p->l4_payload || (fl & (MXW_TCP_FIN | MXW_TCP_RST)) ||
		     (fl & (MXW_TCP_SYN | MXW_TCP_ACK)) ==
		     (MXW_TCP_SYN | MXW_TCP_ACK))) {
			if (mxw_port_inspected(mxw_port_flags(p->sport))) {
				mxw_flow_key_reply(&k, p);
				return mxw_inspect(v, &k, &p->dst);
			}
		}
	} else if (p->proto == MXW_IPPROTO_UDP) {
		open = 1;
	} else if (p->flags & MXW_PF_ECHO) {
		/* echo request: v4 8, v6 128 */
		open = p->icmp_type == 8 || p->icmp_type == 128;
	}
	if (!open)
		return MXW_R_PASS_OUTBOUND;

	mxw_flow_key_reply(&k, p);
	exp = mxw_now(v) + mxw_ct_timeout(v->cfg, p->proto);
	set = MXW_CACHE_SET(mxw_ct, v->cfg->mask_ct,
			    mxw_hash_flow(&k, v->cfg->hash_seed), &tag);
	if (!set)
		return MXW_R_PASS_OUTBOUND;
	cv = MXW_SLOT(set, mxw_flow_find(set, tag, &k), MXW_FLOW_WAYS);
	if (cv) {
		if (cv->expires_ns + MXW_REFRESH_SLACK_NS < exp)
			cv->expires_ns = exp;
	} else {
		io.expires_ns = exp;
		io.flags = 0;
		mxw_flow_insert(set, &k, &io, tag, v->now);
	}
	return MXW_R_PASS_OUTBOUND;
}

/* Outside -> inside, in the order of DESIGN.md 2.1. */
MXW_INLINE enum mxw_reason mxw_inbound(struct mxw_vctx *v)
{
	const struct mxw_config *cfg = v->cfg;
	const struct mxw_pkt *p = &v->pkt;
	const struct mxw_list_entry *e;
	struct mxw_lpm_key lk;
	struct mxw_flow_key fk;
	struct mxw_flow_slot *cv;
	struct mxw_flow_set *set;
	enum mxw_reason r;
	__u8 pf = 0;
	__u32 tag;
	__u8 fl;
	int fresh, mail = 0;

	/* A TCP segment with neither ACK nor RST (a SYN, or a scan) is never
	 * a reply to inside-initiated traffic. */
	fresh = p->proto == MXW_IPPROTO_TCP && (p->flags & MXW_PF_L4) &&
		!(p->flags & MXW_PF_FRAG) &&
		!(p->tcp_flags & (MXW_TCP_ACK | MXW_TCP_RST));

	/* 1. allowlist, 2. blocklist (both with expiry) */
	v->hints = mxw_list_hints();
	e = MXW_LIST_MATCH(v, mxw_allow_exact, cfg->mask_allow, mxw_allow_lpm,
			   &p->src, mxw_src_hash(v),
			   MXW_HE_ALLOW_EXACT, MXW_HE_ALLOW_LPM);
	if (e && !(e->flags & MXW_LF_SHADOW))
		return MXW_R_PASS_ALLOW;
	/* The mail-port flag of a TCP destination port: one array read. */
	if (p->proto == MXW_IPPROTO_TCP && (p->flags & MXW_PF_L4)) {
		pf = mxw_port_flags(p->dport);
		mail = pf & MXW_PORT_MAIL;
	}
	/* Shortcut for the bulk of junk (scans, SYN floods to closed ports):
	 * a fresh segment to a non-mail port is dropped whatever the
	 * blocklist says, so skip its lookups; such a frame from a blocked
	 * source counts as drop_not_mail rather than drop_blocklist. */
	if (fresh && !mail)
		return MXW_R_DROP_NOT_MAIL;
	e = MXW_LIST_MATCH(v, mxw_block_exact, cfg->mask_block, mxw_block_lpm,
			   &p->src, mxw_src_hash(v),
			   MXW_HE_BLOCK_EXACT, MXW_HE_BLOCK_LPM);
	if (e) {
		if (!(e->flags & MXW_LF_SHADOW))
			return MXW_R_DROP_BLOCK;
		v->shadow = 1;
	}

	/* No L4 header to judge: the bound / fragment policies decide.
	 * Fragments skip the return-path and ICMP steps: a first fragment's
	 * ports say nothing about the fragments that follow it. */
	if (p->flags & MXW_PF_V6EXT_BOUND)
		return (cfg->flags & MXW_CF_V6EXT_PASS) ? MXW_R_PASS_V6EXT :
							  MXW_R_DROP_V6EXT;
	if (p->flags & MXW_PF_FRAG)
		return (cfg->flags & MXW_CF_FRAG_PASS) ? MXW_R_PASS_FRAG :
							 MXW_R_DROP_FRAG;
	if (!(p->flags & MXW_PF_L4))
		return MXW_R_DROP_NOT_MAIL;

	/* 3. return path of inside-initiated flows.  Not consulted for TCP
	 * to a mail port: inside hosts do not open connections from a mail
	 * port (their source ports are ephemeral), so such a segment belongs
	 * to an inbound mail flow, and every mail segment saves a lookup.
	 * XXX: an inside host that does connect out from, say, port 25 gets
	 * its replies judged as inbound mail (a SYN-ACK is then dropped). */
	if ((p->proto == MXW_IPPROTO_TCP && !fresh && !mail) ||
	    p->proto == MXW_IPPROTO_UDP || (p->flags & MXW_PF_ECHO)) {
		mxw_flow_key_fwd(&fk, p);
		set = MXW_CACHE_SET(mxw_ct, cfg->mask_ct,
				    mxw_hash_flow(&fk, cfg->hash_seed), &tag);
		cv = set ? MXW_SLOT(set, mxw_flow_find(set, tag, &fk), MXW_FLOW_WAYS) : 0;
		if (cv && cv->expires_ns > mxw_now(v)) {
			__u64 exp = v->now + mxw_ct_timeout(cfg, p->proto);

			if (cv->expires_ns + MXW_REFRESH_SLACK_NS < exp)
				cv->expires_ns = exp;
			return MXW_R_PASS_RETURN;
		}
	}

	/* 4. essential ICMP / ICMPv6, one global bucket.
	 * XXX: errors are not matched against a flow, so a spoofed
	 * "packet too big" within the rate can lower a server's PMTU. */
	if (p->proto == MXW_IPPROTO_ICMP || p->proto == MXW_IPPROTO_ICMPV6) {
		if (!mxw_is_essential_icmp(p))
			return MXW_R_DROP_ICMP_OTHER;
		if (cfg->icmp_rate &&
		    !mxw_global_take(v, MXW_GB_ICMP, cfg->icmp_rate, cfg->icmp_burst))
			return MXW_R_DROP_ICMP_RATE;
		return MXW_R_PASS_ICMP;
	}

	/* 5. TCP to a mail port (of a protected server) */
	if (p->proto != MXW_IPPROTO_TCP)
		return MXW_R_DROP_NOT_MAIL;
	if (!mail)
		return MXW_R_DROP_NOT_MAIL;
	if (cfg->flags & MXW_CF_PROTECTED_ONLY) {
		mxw_lpm_host(&lk, &p->dst);
		if (!MXW_TBL_LOOKUP(mxw_protected, &lk))
			return MXW_R_DROP_NOT_PROTECTED;
	}
	fl = p->tcp_flags;
	if (fl & MXW_TCP_SYN) {
		/* SYN+ACK here is unsolicited (replies matched in step 3);
		 * SYN+FIN / SYN+RST are scanner tricks.  ECE/CWR are fine. */
		if (fl & (MXW_TCP_ACK | MXW_TCP_FIN | MXW_TCP_RST))
			return MXW_R_DROP_TCP_FLAGS;
		r = mxw_new_conn(v);
		/* A new session on a 4-tuple that was bypassed earlier (the
		 * client reuses its port after a STARTTLS session) must be
		 * inspected again: forget the old bypass. */
		if (r == MXW_R_PASS_MAIL_SYN && (cfg->flags & MXW_CF_INSPECT) &&
		    mxw_port_inspected(pf)) {
			mxw_flow_key_fwd(&fk, p);
			mxw_bypass_forget(v, &fk);
		}
		return r;
	}
	/* Past the handshake every segment carries ACK, except a bare RST.
	 * Null, FIN and Xmas scans do not. */
	if (!(fl & (MXW_TCP_ACK | MXW_TCP_RST)))
		return MXW_R_DROP_TCP_FLAGS;
	/* XXX: mid-flow segments pass without state (flows opened before the
	 * filter loaded keep working); an ACK flood to a mail port reaches
	 * the server, which answers it with RSTs.  A flow's entry is not
	 * touched by its segments: it lives until FIN / RST, its deadline
	 * (SYN + tcp_timeout) or eviction by newer flows of its set. */
	if (cfg->max_conns_per_src && (fl & (MXW_TCP_FIN | MXW_TCP_RST))) {
		mxw_flow_key_fwd(&fk, p);
		mxw_conn_release(v, &fk, &p->src);
	}
	/* The client's side of an inspected flow: payload, FIN, RST.  Bare
	 * ACKs stay here: they carry nothing the engine reads. */
	if ((cfg->flags & MXW_CF_INSPECT) && mxw_port_inspected(pf) &&
	    (p->l4_payload || (fl & (MXW_TCP_FIN | MXW_TCP_RST)))) {
		mxw_flow_key_fwd(&fk, p);
		return mxw_inspect(v, &fk, 0);
	}
	return MXW_R_PASS_MAIL;
}

/* The verdict for a frame already parsed (pr = mxw_parse()'s result). */
MXW_INLINE enum mxw_reason mxw_verdict_parsed(struct mxw_vctx *v, int pr,
					      enum mxw_dir dir)
{
	if (pr == MXW_PR_ARP)
		return MXW_R_PASS_ARP;
	if (pr == MXW_PR_OTHER)
		return (v->cfg->flags & MXW_CF_PASS_OTHER_ETHERTYPES) ?
			MXW_R_PASS_ETHERTYPE : MXW_R_DROP_ETHERTYPE;
	if (pr == MXW_PR_VLAN_DEPTH)
		return MXW_R_DROP_VLAN_DEPTH;
	if (pr != MXW_PR_IP)
		return MXW_R_DROP_MALFORMED;
	if (mxw_is_nd(&v->pkt))
		return MXW_R_PASS_ND;
	if (dir == MXW_DIR_OUT)
		return mxw_outbound(v);
	return mxw_inbound(v);
}

/* The whole verdict for one frame arriving in direction dir. */
MXW_INLINE enum mxw_reason mxw_verdict(struct mxw_vctx *v, void *data,
				       void *data_end, enum mxw_dir dir)
{
	return mxw_verdict_parsed(v, mxw_parse(data, data_end, &v->pkt), dir);
}

#endif /* MXW_VERDICT_H */
