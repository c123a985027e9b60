/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mxw_table.h - the fast path's own hash tables, laid out in plain ARRAY
 * maps (docs/fastpath.md, "Tables").  Pure inline code shared by the XDP
 * program, the userspace (DPDK) build of the verdict, mxwalld and the
 * tests; the layouts live in mxwall_shared.h.
 *
 * Why not the kernel's HASH / LRU_HASH: a lookup there is a call that
 * hashes the key with jhash and walks a bucket list under RCU, about
 * 34 ns per lookup on the development machine (docs/benchmarks.md), more
 * than the whole budget of a dropped packet.  An ARRAY lookup is inlined
 * by the verifier into a bounds check and an address computation, so a
 * table made of an array of fixed-size buckets, hashed by our own
 * multilinear hash, costs a few nanoseconds.
 *
 * Decisions:
 *  - Keys are hashed with a 64-bit seed (mxw_data.cfg.hash_seed, random per
 *    pin set), so an attacker cannot aim addresses at one bucket.
 *  - Every bucket / set opens with one 32-bit tag per slot: 0 = empty,
 *    1 = being written (MXW_TAG_BUSY), otherwise high bits of the key's
 *    hash with bit 1 set; the keys and values follow.
 *    A reader compares the tag, then the full key, then the tag again: a
 *    slot rewritten during the read is taken for a miss, never for a
 *    mixture of two keys.  Writers fill key and value first and publish
 *    the tag last (a compiler barrier; stores are ordered on x86, the one
 *    architecture this firmware targets).
 *  - Lists (allow / block exact): written only by mxwalld, through a
 *    mmap of the array, under its list lock; the fast path only reads.
 *    Two candidate buckets per key ("power of two choices") of
 *    MXW_LIST_WAYS slots each; an insert takes the emptier one.  Entries
 *    never move, so a reader cannot miss an entry that stays.  Sized at
 *    twice the configured capacity, no bucket overflows in practice; if
 *    one does, mxwalld stores the address as a /128 in the list's prefix
 *    trie instead (same meaning, slower path).
 *  - State the fast path creates (SYN buckets with connection counts,
 *    inbound mail flows, return-path entries): set-associative caches of
 *    MXW_SRC_WAYS / MXW_FLOW_WAYS slots, one candidate bucket.  A miss
 *    claims a victim slot with a compare-and-swap of its tag (so two CPUs
 *    never write one slot), preferring an empty or expired slot, then the
 *    least recently refilled bucket / the earliest expiring flow.  Memory
 *    is fixed; attack traffic can evict only state of its own kind, never
 *    a list entry.
 */
#ifndef MXW_TABLE_H
#define MXW_TABLE_H

#include "mxwall_shared.h"

#ifndef MXW_INLINE
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#define MXW_INLINE static __always_inline
#endif
#ifndef MXW_UNROLL
#if defined(__clang__)
#define MXW_UNROLL _Pragma("unroll")
#else
#define MXW_UNROLL _Pragma("GCC unroll 16")
#endif
#endif

#define MXW_TAG_EMPTY           0u
#define MXW_TAG_BUSY            1u

#define MXW_READ_ONCE32(x)      (*(const volatile __u32 *)&(x))
#define MXW_WRITE_ONCE32(x, v)  (*(volatile __u32 *)&(x) = (v))
#define MXW_BARRIER()           __asm__ __volatile__("" ::: "memory")
#ifndef MXW_CMPXCHG32
#define MXW_CMPXCHG32(p, o, n)  __sync_val_compare_and_swap(p, o, n)
#endif

/* ---- hashing ------------------------------------------------------------ */
/*
 * Multilinear: each 64-bit word, xored with the seed, times its own odd
 * constant, summed; then the high half folded into the low, a multiply,
 * and a fold again, so that the bucket index (low bits) and the tag (high
 * bits) both depend on every input bit.  The products are independent, so
 * the CPU overlaps them: about a dozen cycles of latency for any key
 * length here, where a chain of word-by-word mixing costs three times
 * that (measured: docs/benchmarks.md).
 */
#define MXW_HASH_K1             0x9e3779b97f4a7c15ull
#define MXW_HASH_K2             0xc2b2ae3d27d4eb4full
#define MXW_HASH_K3             0x165667b19e3779f9ull
#define MXW_HASH_K4             0xd6e8feb86659fd93ull
#define MXW_HASH_K5             0xff51afd7ed558ccdull
#define MXW_HASH_KF             0xc4ceb9fe1a85ec53ull

MXW_INLINE __u64 mxw_hash_fin(__u64 h)
{
	h ^= h >> 32;
	h *= MXW_HASH_KF;
	return h ^ (h >> 29);
}

/* The multilinear sum of an address's words, before mxw_hash_fin; also
 * the first terms of its flows' sums (mxw_hash_tuple). */
MXW_INLINE __u64 mxw_hash_addr_sum(const struct mxw_addr *a, __u64 seed)
{
	return (a->w[0] ^ seed) * MXW_HASH_K1 + (a->w[1] ^ seed) * MXW_HASH_K2;
}

MXW_INLINE __u64 mxw_hash_addr(const struct mxw_addr *a, __u64 seed)
{
	return mxw_hash_fin(mxw_hash_addr_sum(a, seed));
}

/* The terms of a flow's sum after its source's (mxw_hash_tuple). */
MXW_INLINE __u64 mxw_hash_tuple_rest(const struct mxw_addr *dst, __u64 tail,
				     __u64 seed)
{
	return (dst->w[0] ^ seed) * MXW_HASH_K3 +
	       (dst->w[1] ^ seed) * MXW_HASH_K4 +
	       (tail ^ seed) * MXW_HASH_K5;
}

/* The multilinear sum of a flow's words, before mxw_hash_fin: the fast
 * path also takes a flow's fingerprint from it (mxw_syn_fp), adding the
 * rest to its source's sum, which it has already. */
MXW_INLINE __u64 mxw_hash_tuple(const struct mxw_addr *src,
				const struct mxw_addr *dst, __u64 tail,
				__u64 seed)
{
	return mxw_hash_addr_sum(src, seed) + mxw_hash_tuple_rest(dst, tail, seed);
}

/*
 * The fingerprint of an inbound mail flow in its source's slot
 * (mxw_src_slot.syn_fp), from the flow's hash sum (mxw_hash_tuple): the
 * whole 4-tuple, since a slot may stand for many clients (an IPv6 /64,
 * or any source prefix shorter than the address), keyed by the secret
 * seed, never 0.  A SYN whose fingerprint is the one its source's slot
 * holds is a retransmission of that counted flow and needs no
 * connection-table read (docs/fastpath.md, "Concurrent connections per
 * source").  Another flow of the same source has the same fingerprint
 * with chance 2^-32, which a sender cannot aim at without the seed; such
 * a flow would pass uncounted, as one whose slot another CPU held does.
 */
MXW_INLINE __u32 mxw_syn_fp(__u64 sum)
{
	return (__u32)(sum >> 32) | 1u;
}

/* The fingerprint of flow k (client as src), from its key. */
MXW_INLINE __u32 mxw_flow_fp(const struct mxw_flow_key *k, __u64 seed)
{
	return mxw_syn_fp(mxw_hash_tuple(&k->src, &k->dst, k->tail, seed));
}

MXW_INLINE __u64 mxw_hash_flow(const struct mxw_flow_key *k, __u64 seed)
{
	return mxw_hash_fin(mxw_hash_tuple(&k->src, &k->dst, k->tail, seed));
}

MXW_INLINE __u32 mxw_hash_tag(__u64 h)
{
	return (__u32)(h >> 32) | 2u;
}

/* The first and second candidate buckets (lists); caches use the first. */
MXW_INLINE __u32 mxw_hash_idx1(__u64 h, __u32 mask)
{
	return (__u32)h & mask;
}

MXW_INLINE __u32 mxw_hash_idx2(__u64 h, __u32 mask)
{
	return (__u32)((h * 0x2545f4914f6cdd1dull) >> 40) & mask;
}

MXW_INLINE int mxw_addr_eq(const struct mxw_addr *x, const struct mxw_addr *y)
{
	return x->w[0] == y->w[0] && x->w[1] == y->w[1];
}

MXW_INLINE int mxw_flow_eq(const struct mxw_flow_key *x,
			   const struct mxw_flow_key *y)
{
	return mxw_addr_eq(&x->src, &y->src) && mxw_addr_eq(&x->dst, &y->dst) &&
	       x->tail == y->tail;
}

/*
 * Searching a set: the tags are read two per 64-bit word and compared
 * with the wanted tag all at once (SWAR: a lane of x = word ^ tag-pair is
 * zero where the tags match; (x - lo) & ~x & hi is non-zero exactly when
 * some lane is zero).  A miss, the common case for the lists, costs a few
 * loads and no branch per slot.  On a candidate, the first matching lane's
 * key is compared inline; anything else (a second candidate, a 32-bit tag
 * collision) goes to the slow search.
 *
 * The slow searches and the claims are global functions in the BPF object
 * (MXW_TABLE_FN): the verifier checks each once, on its own, instead of
 * once per path through every caller, which their loops over 4-8 slots at
 * a dozen call sites would multiply past its 1M-instruction limit.  A
 * global function cannot return a pointer, so they return a slot index
 * (-1: none), and their pointer arguments may be NULL (checked).  In
 * userspace they are plain static inlines.
 */
#ifdef __BPF__
#define MXW_TABLE_FN            __attribute__((noinline))
#else
#define MXW_TABLE_FN            MXW_INLINE
#endif

/* Word by word: a struct copy may go through the (scarce) BPF stack. */
MXW_INLINE void mxw_flow_copy(struct mxw_flow_key *d, const struct mxw_flow_key *s)
{
	d->src.w[0] = s->src.w[0];
	d->src.w[1] = s->src.w[1];
	d->dst.w[0] = s->dst.w[0];
	d->dst.w[1] = s->dst.w[1];
	d->tail = s->tail;
}

#define MXW_LANE_LO             0x0000000100000001ull
#define MXW_LANE_HI             0x8000000080000000ull
#define MXW_READ_ONCE64(x)      (*(const volatile __u64 *)&(x))

/* Non-zero iff a 32-bit lane of w equals the tag in both lanes of tt. */
MXW_INLINE __u64 mxw_lanes_eq(__u64 w, __u64 tt)
{
	__u64 x = w ^ tt;

	return (x - MXW_LANE_LO) & ~x & MXW_LANE_HI;
}

/* The lowest lane flagged in z[0..n-1] (two lanes per word), without a
 * branch: from the last lane down, i moves to every flagged lane.  The
 * flag of a lane above a matching one may be false (a borrow), the
 * lowest never is.  Caller knows some lane is flagged.  (Gathering the
 * flags into a mask and finding its lowest bit by a de Bruijn multiply
 * and a table in a constant was measured slower through the JIT: allowed
 * SYN 87-88 ns against 80-84 with this loop.) */
MXW_INLINE int mxw_lanes_first(const __u64 *z, int n)
{
	__u64 b;
	int i = 2 * n - 1;

	MXW_UNROLL
	for (int k = 2 * n - 2; k >= 0; k--) {
		b = (z[k / 2] >> ((k & 1) ? 63 : 31)) & 1;
		i -= (int)b * (i - k);
	}
	return i;
}

#define MXW_TAG_PAIR(t)         (((__u64)(t) << 32) | (t))

/* Slot i of set s, whose tag was seen to be t, holds key k: the key
 * compared, then the tag read again, so a slot rewritten meanwhile reads
 * as a miss, never as a mixture of two keys. */
#define MXW_SLOT_CONFIRM(s, i, t, k, eq) ({                              \
	int c_ = eq(&(s)->slot[i].key, k);                               \
	if (c_) {                                                        \
		MXW_BARRIER();                                           \
		c_ = MXW_READ_ONCE32((s)->tag[i]) == (t);                \
	}                                                                \
	c_;                                                              \
})

/*
 * MXW_DEFINE_FIND(name, set type, ways, key type, key equality) defines
 * name##_slow, the search of every slot (a global function in BPF), and
 * name, the search that is fast for a miss and a single candidate: both
 * return the slot of set s holding key k with tag t, or -1.
 */
#define MXW_DEFINE_FIND(name, set_t, ways, key_t, eq)                    \
MXW_TABLE_FN int name##_slow(const set_t *s, __u32 t, const key_t *k)    \
{                                                                        \
	if (!s || !k)                                                    \
		return -1;                                               \
	MXW_UNROLL                                                       \
	for (int i = 0; i < (ways); i++) {                               \
		if (MXW_READ_ONCE32(s->tag[i]) == t &&                   \
		    MXW_SLOT_CONFIRM(s, i, t, k, eq))                    \
			return i;                                        \
	}                                                                \
	return -1;                                                       \
}                                                                        \
MXW_INLINE int name(const set_t *s, __u32 t, const key_t *k)            \
{                                                                        \
	__u64 tt = MXW_TAG_PAIR(t), z[(ways) / 2], any = 0;              \
	int i;                                                           \
									 \
	if (!s)                                                          \
		return -1;                                               \
	MXW_UNROLL                                                       \
	for (int j = 0; j < (ways) / 2; j++) {                           \
		z[j] = mxw_lanes_eq(MXW_READ_ONCE64(s->tagw[j]), tt);    \
		any |= z[j];                                             \
	}                                                                \
	if (!any)                                                        \
		return -1;                                               \
	i = mxw_lanes_first(z, (ways) / 2) & ((ways) - 1);               \
	if (MXW_SLOT_CONFIRM(s, i, t, k, eq))                            \
		return i;                                                \
	return name##_slow(s, t, k);                                     \
}

/* The home way of tag t in a cache set of `ways` slots: an insert takes
 * it when it is free (mxw_src_claim, mxw_flow_insert), so a lookup tries
 * it first (MXW_DEFINE_CACHE_FIND).  Tag bits 2.., hash bits the set
 * index does not use. */
#define MXW_HOME_WAY(t, ways)   ((int)(((t) >> 2) & ((ways) - 1)))

/*
 * MXW_DEFINE_CACHE_FIND(name, set type, ways, key type, key equality):
 * name, for the caches, where lookups mostly hit: the key's home way
 * first (a tag, a key and the tag again), then name##_search, the search
 * of MXW_DEFINE_FIND.
 */
#define MXW_DEFINE_CACHE_FIND(name, set_t, ways, key_t, eq)              \
MXW_DEFINE_FIND(name##_search, set_t, ways, key_t, eq)                   \
MXW_INLINE int name(const set_t *s, __u32 t, const key_t *k)            \
{                                                                        \
	int w = MXW_HOME_WAY(t, ways);                                   \
									 \
	if (s && MXW_READ_ONCE32(s->tag[w]) == t &&                      \
	    MXW_SLOT_CONFIRM(s, w, t, k, eq))                            \
		return w;                                                \
	return name##_search(s, t, k);                                   \
}

/* Lists (mostly missed: no home way), per-source caches, flows. */
MXW_DEFINE_FIND(mxw_list_find, struct mxw_list_bucket, MXW_LIST_WAYS,
		struct mxw_addr, mxw_addr_eq)
MXW_DEFINE_CACHE_FIND(mxw_src_find, struct mxw_src_set, MXW_SRC_WAYS,
		      struct mxw_addr, mxw_addr_eq)
MXW_DEFINE_CACHE_FIND(mxw_flow_find, struct mxw_flow_set, MXW_FLOW_WAYS,
		      struct mxw_flow_key, mxw_flow_eq)

/* ---- caches: per-source state (mxw_src_bucket, mxw_pfx_bucket) ----------- */
/* Claim a slot by its tag: from its current value (kept in *old) to
 * MXW_TAG_BUSY, so no other CPU writes the slot until the caller
 * publishes the new tag.  -1 when another CPU holds it. */
MXW_INLINE int mxw_tag_claim(__u32 *tag, __u32 *old)
{
	__u32 o = MXW_READ_ONCE32(*tag);

	if (o == MXW_TAG_BUSY || MXW_CMPXCHG32(tag, o, MXW_TAG_BUSY) != o)
		return -1;
	*old = o;
	return 0;
}

/*
 * Claim a slot for key a (absent: the caller searched): an empty slot,
 * else the one refilled longest ago, preferring a source with no open
 * connection (its count would be lost with it).  The new slot starts with
 * a zeroed bucket (full, see mxw_bucket_take) and no connection.  -1 when
 * another CPU holds the victim: the caller goes on without state, as for
 * a new key.
 */
MXW_TABLE_FN int mxw_src_claim(struct mxw_src_set *s, __u32 t,
			       const struct mxw_addr *a)
{
	struct mxw_src_slot *v;
	__u64 best = ~0ull, age;
	__u32 old;
	int vi = -1, i, home = MXW_HOME_WAY(t, MXW_SRC_WAYS);

	if (!s || !a)
		return -1;
	MXW_UNROLL
	for (i = 0; i < MXW_SRC_WAYS; i++) {
		old = MXW_READ_ONCE32(s->tag[i]);
		if (old == MXW_TAG_BUSY)
			continue;
		age = old == MXW_TAG_EMPTY ? 0 : s->slot[i].b.last_ns >> 1;
		if (old != MXW_TAG_EMPTY && s->slot[i].conns)
			age |= 1ull << 63;
		/* of equals (empty slots), the home way */
		if (age < best || (age == best && i == home)) {
			best = age;
			vi = i;
		}
	}
	if (vi < 0)
		return -1;
	vi &= MXW_SRC_WAYS - 1;
	v = &s->slot[vi];
	if (mxw_tag_claim(&s->tag[vi], &old))
		return -1;
	v->key.w[0] = a->w[0];
	v->key.w[1] = a->w[1];
	v->conns = 0;
	v->syn_fp = 0;
	v->b.last_ns = 0;
	v->b.tokens = 0;
	MXW_BARRIER();
	MXW_WRITE_ONCE32(s->tag[vi], t);
	return vi;
}

/* The slot of key a, claimed if absent (mxw_src_claim). */
MXW_INLINE int mxw_src_get(struct mxw_src_set *s, __u32 t,
			   const struct mxw_addr *a)
{
	int i = mxw_src_find(s, t, a);

	return i >= 0 ? i : mxw_src_claim(s, t, a);
}

/* ---- caches: flows (mxw_conn, mxw_ct) ------------------------------------ */
/*
 * Insert flow k (absent: the caller looked it up) with tag t and the
 * deadline and flags in *io.  The victim is an empty slot, else an
 * expired one (by now), else the one that expires first.  On return
 * io->key and io->flags describe the live flow the victim held, if any
 * (io->flags 0 if none), so the caller can release what that flow held.
 * Returns the slot, or -1 when the victim is being written by another CPU
 * (the flow is then not recorded).  (One in-out struct: a global function
 * takes at most five arguments, and the BPF stack is 512 bytes for all
 * frames.)
 */
MXW_TABLE_FN int mxw_flow_insert(struct mxw_flow_set *s,
				 const struct mxw_flow_key *k,
				 struct mxw_flow_slot *io, __u32 t, __u64 now)
{
	struct mxw_flow_slot *v;
	__u64 best = ~0ull, e, exp;
	__u32 old, flags;
	int vi = -1, i, home = MXW_HOME_WAY(t, MXW_FLOW_WAYS);

	if (!io)
		return -1;
	exp = io->expires_ns;
	flags = io->flags;
	io->flags = 0;
	if (!s || !k)
		return -1;
	MXW_UNROLL
	for (i = 0; i < MXW_FLOW_WAYS; i++) {
		old = MXW_READ_ONCE32(s->tag[i]);
		if (old == MXW_TAG_BUSY)
			continue;
		e = s->slot[i].expires_ns;
		if (old == MXW_TAG_EMPTY || e <= now)
			e = 0;
		/* of equals (free slots), the home way */
		if (e < best || vi < 0 || (e == best && i == home)) {
			best = e;
			vi = i;
		}
	}
	if (vi < 0)
		return -1;
	vi &= MXW_FLOW_WAYS - 1;
	v = &s->slot[vi];
	if (mxw_tag_claim(&s->tag[vi], &old))
		return -1;
	if (old != MXW_TAG_EMPTY && v->expires_ns > now) {
		mxw_flow_copy(&io->key, &v->key);
		io->flags = v->flags;
	}
	mxw_flow_copy(&v->key, k);
	v->expires_ns = exp;
	v->flags = flags;
	MXW_BARRIER();
	MXW_WRITE_ONCE32(s->tag[vi], t);
	return vi;
}

/* Free slot i of set s, found with tag t; 1 for exactly one of
 * concurrent callers, 0 for the others. */
MXW_INLINE int mxw_flow_remove(struct mxw_flow_set *s, int i, __u32 t)
{
	return MXW_CMPXCHG32(&s->tag[i & (MXW_FLOW_WAYS - 1)], t,
			     MXW_TAG_EMPTY) == t;
}

/* Slot i of a set, or NULL for -1 (the index masked for the verifier).
 * i is evaluated once: callers pass a search (mxw_src_get(...)), whose
 * volatile tag reads the compiler may not merge, so a second evaluation
 * would search the set again (and could claim a second slot). */
#define MXW_SLOT(set, i, ways) ({                                        \
	int si_ = (i);                                                   \
	si_ >= 0 ? &(set)->slot[si_ & ((ways) - 1)] : 0;                 \
})

/* ---- lists: writer (mxwalld, tests; never the fast path) ----------------- */
#ifndef __BPF__
/*
 * A list table as the writer sees it: the mmap'ed ARRAY of nb buckets
 * (nb a power of two), the seed of mxw_data.cfg.hash_seed.  One writer at
 * a time (mxwalld's list lock); readers run concurrently.
 */
struct mxw_list_tab {
	struct mxw_list_bucket *b;
	__u32 mask;             /* nb - 1 */
	__u64 seed;
	__u64 *occ;             /* the table's occupancy bits (mxw_*_occ,
				 * mxwall_shared.h), or NULL for none */
};

/* Bucket i's occupancy bit: set before a key of its own or of its
 * n_second is published, so a reader that skips a bucket by its clear
 * bit misses nothing that was there before it looked. */
MXW_INLINE void mxw_list_occ_set(const struct mxw_list_tab *t, __u32 i)
{
	if (t->occ)
		__atomic_fetch_or(&t->occ[i >> 6], 1ull << (i & 63),
				  __ATOMIC_RELEASE);
}

MXW_INLINE unsigned mxw_list_used(const struct mxw_list_bucket *b)
{
	unsigned n = 0;

	for (int i = 0; i < MXW_LIST_WAYS; i++)
		n += b->tag[i] > MXW_TAG_BUSY;
	return n;
}

/* What bucket b's occupancy bit says: it holds a key, or a key whose
 * first bucket it is lives in its second. */
MXW_INLINE int mxw_list_occupied(const struct mxw_list_bucket *b)
{
	return mxw_list_used(b) || __atomic_load_n(&b->n_second, __ATOMIC_RELAXED);
}

/* Bucket i's bit from its content: cleared once it is not occupied any
 * more (after the tags are gone). */
MXW_INLINE void mxw_list_occ_sync(const struct mxw_list_tab *t, __u32 i)
{
	if (!t->occ)
		return;
	if (mxw_list_occupied(&t->b[i]))
		mxw_list_occ_set(t, i);
	else
		__atomic_fetch_and(&t->occ[i >> 6], ~(1ull << (i & 63)),
				   __ATOMIC_RELEASE);
}

/* Every bit from the table's content (a table filled or healed by other
 * means, or occupancy bits new to a reused table). */
MXW_INLINE void mxw_list_occ_rebuild(const struct mxw_list_tab *t)
{
	if (!t->occ)
		return;
	for (__u64 w = 0; w <= (__u64)t->mask >> 6; w++) {
		__u64 bits = 0;

		for (__u32 j = 0; j < 64 && (w << 6) + j <= t->mask; j++)
			if (mxw_list_occupied(&t->b[(w << 6) + j]))
				bits |= 1ull << j;
		__atomic_store_n(&t->occ[w], bits, __ATOMIC_RELEASE);
	}
}

/* Where a (hash h) lives: its bucket and slot index, or -1. */
MXW_INLINE int mxw_list_tab_locate_h(const struct mxw_list_tab *t,
				     const struct mxw_addr *a, __u64 h,
				     struct mxw_list_bucket **bp)
{
	__u32 tag = mxw_hash_tag(h);
	struct mxw_list_bucket *b;

	for (int c = 0; c < 2; c++) {
		b = &t->b[c ? mxw_hash_idx2(h, t->mask) : mxw_hash_idx1(h, t->mask)];
		for (int i = 0; i < MXW_LIST_WAYS; i++) {
			if (b->tag[i] == tag && mxw_addr_eq(&b->slot[i].key, a)) {
				*bp = b;
				return i;
			}
		}
	}
	return -1;
}

/* Where a lives: its bucket and slot index, or -1. */
MXW_INLINE int mxw_list_tab_locate(const struct mxw_list_tab *t,
				   const struct mxw_addr *a,
				   struct mxw_list_bucket **bp)
{
	return mxw_list_tab_locate_h(t, a, mxw_hash_addr(a, t->seed), bp);
}

/* The entry of a, or NULL. */
MXW_INLINE struct mxw_list_entry *mxw_list_tab_get(const struct mxw_list_tab *t,
						   const struct mxw_addr *a)
{
	struct mxw_list_bucket *b;
	int i = mxw_list_tab_locate(t, a, &b);

	return i < 0 ? 0 : &b->slot[i].e;
}

/* Overwrite a live entry in place, field by field (each store is atomic;
 * a reader sees the old or the new value of each). */
MXW_INLINE void mxw_list_entry_store(struct mxw_list_entry *d,
				     const struct mxw_list_entry *v)
{
	__atomic_store_n(&d->expires_ns, v->expires_ns, __ATOMIC_RELAXED);
	__atomic_store_n(&d->created_ns, v->created_ns, __ATOMIC_RELAXED);
	__atomic_store_n(&d->reason, v->reason, __ATOMIC_RELAXED);
	__atomic_store_n(&d->flags, v->flags, __ATOMIC_RELAXED);
}

/*
 * Insert a (absent: the caller checked), the tag published last.  The
 * first bucket while it is less than MXW_LIST_FIRST_FILL full, else the
 * emptier of the two: at the usual loads a key sits in its first bucket
 * and a miss reads one bucket (n_second 0); near the designed capacity the
 * two choices still balance the load.  A key placed in its second bucket
 * counts in its first's n_second before its tag is published (a reader that
 * sees the tag also sees the count).  0, or -ENOSPC (-28) when both are
 * full: the caller keeps the entry elsewhere.
 */
#define MXW_LIST_FIRST_FILL     (MXW_LIST_WAYS - 2)

MXW_INLINE int mxw_list_tab_insert(const struct mxw_list_tab *t,
				   const struct mxw_addr *a,
				   const struct mxw_list_entry *v)
{
	__u64 h = mxw_hash_addr(a, t->seed);
	__u32 i1 = mxw_hash_idx1(h, t->mask), i2 = mxw_hash_idx2(h, t->mask);
	struct mxw_list_bucket *b1 = &t->b[i1], *b2 = &t->b[i2];
	unsigned u1 = mxw_list_used(b1);
	struct mxw_list_bucket *b = u1 < MXW_LIST_FIRST_FILL ||
				    u1 <= mxw_list_used(b2) ? b1 : b2;

	for (int i = 0; i < MXW_LIST_WAYS; i++) {
		if (b->tag[i] != MXW_TAG_EMPTY)
			continue;
		b->slot[i].key = *a;
		b->slot[i].e = *v;
		mxw_list_occ_set(t, i1);        /* readers start at b1 */
		if (b != b1) {
			mxw_list_occ_set(t, i2);
			__atomic_fetch_add(&b1->n_second, 1, __ATOMIC_RELEASE);
		}
		__atomic_store_n(&b->tag[i], mxw_hash_tag(h), __ATOMIC_RELEASE);
		return 0;
	}
	return -28;
}

/* Remove a: the tag goes first, so no reader matches the slot again, then
 * its count in its first bucket's n_second.  0, or -ENOENT (-2) when absent. */
MXW_INLINE int mxw_list_tab_delete(const struct mxw_list_tab *t,
				   const struct mxw_addr *a)
{
	__u64 h = mxw_hash_addr(a, t->seed);
	__u32 i1 = mxw_hash_idx1(h, t->mask);
	struct mxw_list_bucket *b, *b1 = &t->b[i1];
	int i = mxw_list_tab_locate_h(t, a, h, &b);

	if (i < 0)
		return -2;
	__atomic_store_n(&b->tag[i], MXW_TAG_EMPTY, __ATOMIC_RELEASE);
	if (b != b1)
		__atomic_fetch_sub(&b1->n_second, 1, __ATOMIC_RELEASE);
	mxw_list_occ_sync(t, (__u32)(b - t->b));
	if (b != b1)
		mxw_list_occ_sync(t, i1);
	return 0;
}

/* ---- flow caches: writer outside the fast path (mxwalld's mxw_bypass) ---- */
/* The set of flow k in a flow cache of mask + 1 sets, and its tag. */
MXW_INLINE struct mxw_flow_set *mxw_flow_tab_set(struct mxw_flow_set *sets,
						 __u32 mask, __u64 seed,
						 const struct mxw_flow_key *k,
						 __u32 *tag)
{
	__u64 h = mxw_hash_flow(k, seed);

	*tag = mxw_hash_tag(h);
	return &sets[mxw_hash_idx1(h, mask)];
}

/* The slot of flow k, or NULL. */
MXW_INLINE struct mxw_flow_slot *mxw_flow_tab_get(struct mxw_flow_set *sets,
						  __u32 mask, __u64 seed,
						  const struct mxw_flow_key *k)
{
	__u32 t;
	struct mxw_flow_set *s = mxw_flow_tab_set(sets, mask, seed, k, &t);
	int i = mxw_flow_find(s, t, k);

	return i < 0 ? 0 : &s->slot[i];
}

/*
 * Put flow k with deadline exp and flags 0 into a flow cache that the
 * fast path writes too: a present entry gets the new deadline in place,
 * an absent one a slot claimed as the fast path claims (mxw_flow_insert:
 * an empty or expired victim by now first).  The in-place store races
 * only with the fast path removing the entry (a new SYN on the 4-tuple);
 * if another flow claims the slot in between, that flow's deadline is
 * the one overwritten.  0, or -EBUSY (-16) when the victim slot was
 * being written (the caller may retry).
 */
MXW_INLINE int mxw_flow_tab_put(struct mxw_flow_set *sets, __u32 mask,
				__u64 seed, const struct mxw_flow_key *k,
				__u64 exp, __u64 now)
{
	__u32 t;
	struct mxw_flow_set *s = mxw_flow_tab_set(sets, mask, seed, k, &t);
	struct mxw_flow_slot io = { .expires_ns = exp };
	int i = mxw_flow_find(s, t, k);

	if (i >= 0) {
		__atomic_store_n(&s->slot[i].expires_ns, exp, __ATOMIC_RELAXED);
		return 0;
	}
	return mxw_flow_insert(s, k, &io, t, now) >= 0 ? 0 : -16;
}

#endif /* !__BPF__ */

#endif /* MXW_TABLE_H */
