/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mxw_parse.h - packet parsing for the fast path, as pure inline functions
 * over (data, data_end).  No maps, no helpers: the same code compiles into
 * the XDP object (bpf/mxwall.bpf.c) and into a userspace C build (the DPDK
 * dataplane, the tests).
 *
 * Decisions:
 *  - Header layouts are our own (mxw_*hdr) so neither vmlinux.h nor the
 *    libc/uapi headers are needed, and no bitfields are involved.
 *  - Every pointer is checked against data_end before it is dereferenced,
 *    and every length field against its minimum and against the enclosing
 *    length (IPv4 total length, IPv6 payload length), as the verifier and
 *    the hostile wire both demand.
 *  - Loops are bounded by MXW_VLAN_MAX_DEPTH and MXW_IPV6_EXT_MAX.
 *  - Addresses come out as 16 bytes, IPv4 mapped (mxwall_shared.h).
 *  - The parser reports facts (struct mxw_pkt); policy lives in
 *    mxw_verdict.h.
 */
#ifndef MXW_PARSE_H
#define MXW_PARSE_H

#include "mxwall_shared.h"
#include <bpf/bpf_endian.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#define MXW_INLINE static __always_inline
/* Bounded loops are unrolled for the verifier (clang) and for speed (gcc). */
#if defined(__clang__)
#define MXW_UNROLL _Pragma("unroll")
#else
#define MXW_UNROLL _Pragma("GCC unroll 16")
#endif
/* Byte arithmetic on packet pointers without GNU void* arithmetic. */
#define MXW_PTR_ADD(ptr, n)     ((void *)((__u8 *)(ptr) + (n)))

/* ---- wire constants (vmlinux.h has no macros; uapi would clash) -------- */
#define MXW_ETH_P_IP            0x0800
#define MXW_ETH_P_ARP           0x0806
#define MXW_ETH_P_8021Q         0x8100
#define MXW_ETH_P_8021AD        0x88A8
#define MXW_ETH_P_QINQ1         0x9100  /* pre-standard QinQ, seen in the wild */
#define MXW_ETH_P_IPV6          0x86DD

#define MXW_IPPROTO_HOPOPTS     0
#define MXW_IPPROTO_ICMP        1
#define MXW_IPPROTO_TCP         6
#define MXW_IPPROTO_UDP         17
#define MXW_IPPROTO_ROUTING     43
#define MXW_IPPROTO_FRAGMENT    44
#define MXW_IPPROTO_ESP         50
#define MXW_IPPROTO_AH          51
#define MXW_IPPROTO_ICMPV6      58
#define MXW_IPPROTO_NONE        59
#define MXW_IPPROTO_DSTOPTS     60

#define MXW_TCP_FIN             0x01
#define MXW_TCP_SYN             0x02
#define MXW_TCP_RST             0x04
#define MXW_TCP_PSH             0x08
#define MXW_TCP_ACK             0x10
#define MXW_TCP_URG             0x20

#define MXW_IP4_MF              0x2000
#define MXW_IP4_OFFSET          0x1fff
#define MXW_IP6_FRAG_OFFSET     0xfff8
#define MXW_IP6_FRAG_MF         0x0001

/* ---- wire headers ------------------------------------------------------ */
/*
 * Headers sit at any offset in a frame (IPv4 after a 14-byte Ethernet
 * header is only 2-byte aligned).  In userspace they are packed, so reading
 * them is defined C (UBSan checks it); the layouts have no padding either
 * way.  The BPF target keeps natural alignment for word-sized loads: the
 * verifier permits unaligned packet access on this architecture.
 */
#ifdef __BPF__
#define MXW_WIRE
#else
#define MXW_WIRE __attribute__((packed))
#endif

struct MXW_WIRE mxw_ethhdr {
	__u8 dst[6];
	__u8 src[6];
	__be16 proto;
};

struct MXW_WIRE mxw_vlanhdr {
	__be16 tci;
	__be16 proto;           /* encapsulated ethertype */
};

struct MXW_WIRE mxw_arphdr {             /* fixed part, RFC 826 */
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 oper;
};

struct MXW_WIRE mxw_iphdr {
	__u8 ver_ihl;           /* version << 4 | ihl (32-bit words) */
	__u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;        /* flags << 13 | offset (8-byte units) */
	__u8 ttl;
	__u8 protocol;
	__u16 check;
	__be32 saddr;
	__be32 daddr;
};

struct MXW_WIRE mxw_ip6hdr {
	__be32 vtc_flow;        /* version << 28 | class | flow label */
	__be16 payload_len;
	__u8 nexthdr;
	__u8 hop_limit;
	__u8 saddr[16];
	__u8 daddr[16];
};

struct MXW_WIRE mxw_ip6ext {             /* hop-by-hop, routing, dest opts, AH */
	__u8 nexthdr;
	__u8 hdrlen;
};

struct MXW_WIRE mxw_ip6frag {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;        /* offset << 3 | M */
	__be32 id;
};

struct MXW_WIRE mxw_tcphdr {
	__be16 source;
	__be16 dest;
	__be32 seq;
	__be32 ack_seq;
	__u8 doff_res;          /* data offset << 4 (32-bit words) */
	__u8 flags;             /* MXW_TCP_* */
	__be16 window;
	__u16 check;
	__be16 urg_ptr;
};

struct MXW_WIRE mxw_udphdr {
	__be16 source;
	__be16 dest;
	__be16 len;
	__u16 check;
};

struct MXW_WIRE mxw_icmphdr {            /* ICMP and ICMPv6 share the first 8 bytes */
	__u8 type;
	__u8 code;
	__u16 check;
	__be16 id;              /* echo request / reply only */
	__be16 seq;
};

/* ---- parse result ------------------------------------------------------ */
enum mxw_parse_res {
	MXW_PR_IP = 0,          /* IPv4 / IPv6 parsed into struct mxw_pkt */
	MXW_PR_ARP,
	MXW_PR_OTHER,           /* another ethertype (mxw_pkt.ethertype) */
	MXW_PR_MALFORMED,
	MXW_PR_VLAN_DEPTH,      /* more than MXW_VLAN_MAX_DEPTH tags */
};

#define MXW_PF_FRAG             (1u << 0)   /* any fragment */
#define MXW_PF_FRAG_LATER       (1u << 1)   /* non-first: no L4 header */
#define MXW_PF_V6EXT_BOUND      (1u << 2)   /* chain past MXW_IPV6_EXT_MAX */
#define MXW_PF_L4               (1u << 3)   /* ports / flags / type valid */
#define MXW_PF_ECHO             (1u << 4)   /* ICMP(v6) echo: sport = id */

struct mxw_pkt {
	struct mxw_addr src;    /* be, IPv4 mapped */
	struct mxw_addr dst;
	__u32 len;              /* frame bytes */
	__u32 l4_payload;       /* bytes after the L4 header (IP length) */
	__be16 sport;           /* TCP/UDP ports; ICMP echo: id */
	__be16 dport;
	__u16 ethertype;        /* host order, innermost */
	__u8 family;            /* 4 or 6 */
	__u8 proto;             /* last next-header / protocol seen */
	__u8 tcp_flags;         /* MXW_TCP_* */
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 hop_limit;         /* IPv4 TTL / IPv6 hop limit */
	__u8 flags;             /* MXW_PF_* */
	__u8 vlan_depth;
	__u8 _pad[2];
};

MXW_INLINE int mxw_is_vlan(__u16 ethertype)
{
	return ethertype == MXW_ETH_P_8021Q || ethertype == MXW_ETH_P_8021AD ||
	       ethertype == MXW_ETH_P_QINQ1;
}

MXW_INLINE int mxw_is_v6ext(__u8 nh)
{
	return nh == MXW_IPPROTO_HOPOPTS || nh == MXW_IPPROTO_ROUTING ||
	       nh == MXW_IPPROTO_FRAGMENT || nh == MXW_IPPROTO_DSTOPTS ||
	       nh == MXW_IPPROTO_AH;
}

/*
 * Keys are written as the 64-bit words they are read as (hashing and
 * comparing go by mxw_addr.w and mxw_flow_key.tail).  A load that spans
 * several smaller stores still in the store buffer cannot be forwarded
 * and waits for them to retire, a dozen cycles or more: a profile of the
 * fast path put its largest stalls at the first read of an address built
 * from 2- and 4-byte stores (docs/fastpath.md, "Tables").
 * mxw_word(lo, hi) is the word whose memory holds lo, then hi.
 */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "mxw_word assumes a little-endian target (x86, bpfel)"
#endif

MXW_INLINE __u64 mxw_word(__u32 lo, __u32 hi)
{
	return (__u64)lo | (__u64)hi << 32;
}

MXW_INLINE void mxw_addr_from4(struct mxw_addr *a, __be32 v4)
{
	a->w[0] = 0;
	a->w[1] = mxw_word(bpf_htonl(0x0000ffff), v4);
}

/* From a 16-byte address on the wire (4-byte loads: the IPv6 header keeps
 * its addresses 4-byte aligned relative to itself). */
MXW_INLINE void mxw_addr_from6(struct mxw_addr *a, const __u8 *w)
{
	__u32 x0, x1, x2, x3;

	__builtin_memcpy(&x0, w, 4);
	__builtin_memcpy(&x1, w + 4, 4);
	__builtin_memcpy(&x2, w + 8, 4);
	__builtin_memcpy(&x3, w + 12, 4);
	a->w[0] = mxw_word(x0, x1);
	a->w[1] = mxw_word(x2, x3);
}

/* ::ffff:0:0/96 - IPv4-mapped; never valid on an IPv6 wire (RFC 4291
 * 2.5.5.2), and in our tables it would alias the IPv4 entries. */
MXW_INLINE int mxw_addr_is_mapped(const __u8 *a)
{
	__u64 hi;
	__u32 mid;

	__builtin_memcpy(&hi, a, 8);
	__builtin_memcpy(&mid, a + 8, 4);
	return hi == 0 && mid == bpf_htonl(0x0000ffff);
}

/*
 * L4 header at l4, l4len bytes of it inside the IP length.  Unknown
 * protocols are not an error: the verdict decides about them.
 */
MXW_INLINE int mxw_parse_l4(void *l4, __u32 l4len, void *data_end,
			    struct mxw_pkt *p)
{
	if (p->proto == MXW_IPPROTO_TCP) {
		struct mxw_tcphdr *th = l4;
		__u32 doff;

		if ((void *)(th + 1) > data_end || l4len < sizeof(*th))
			return MXW_PR_MALFORMED;
		doff = (__u32)(th->doff_res >> 4) * 4;
		if (doff < sizeof(*th) || doff > l4len)
			return MXW_PR_MALFORMED;
		p->sport = th->source;
		p->dport = th->dest;
		p->tcp_flags = th->flags;
		p->l4_payload = l4len - doff;
		p->flags |= MXW_PF_L4;
	} else if (p->proto == MXW_IPPROTO_UDP) {
		struct mxw_udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end || l4len < sizeof(*uh))
			return MXW_PR_MALFORMED;
		p->sport = uh->source;
		p->dport = uh->dest;
		p->l4_payload = l4len - sizeof(*uh);
		p->flags |= MXW_PF_L4;
	} else if ((p->proto == MXW_IPPROTO_ICMP && p->family == 4) ||
		   (p->proto == MXW_IPPROTO_ICMPV6 && p->family == 6)) {
		struct mxw_icmphdr *ih = l4;

		if ((void *)(ih + 1) > data_end || l4len < sizeof(*ih))
			return MXW_PR_MALFORMED;
		p->icmp_type = ih->type;
		p->icmp_code = ih->code;
		p->l4_payload = l4len - sizeof(*ih);
		p->flags |= MXW_PF_L4;
		/* echo request/reply: v4 8/0, v6 128/129; the id is the "port" */
		if ((p->family == 4 && (ih->type == 8 || ih->type == 0)) ||
		    (p->family == 6 && (ih->type == 128 || ih->type == 129))) {
			p->sport = ih->id;
			p->dport = 0;
			p->flags |= MXW_PF_ECHO;
		}
	}
	return MXW_PR_IP;
}

MXW_INLINE int mxw_parse_ip4(void *l3, void *data_end, struct mxw_pkt *p)
{
	struct mxw_iphdr *ip = l3;
	__u32 ihl, tot;
	__u16 frag;

	if ((void *)(ip + 1) > data_end)
		return MXW_PR_MALFORMED;
	if ((ip->ver_ihl >> 4) != 4)
		return MXW_PR_MALFORMED;
	ihl = (__u32)(ip->ver_ihl & 0x0f) * 4;
	if (ihl < sizeof(*ip))
		return MXW_PR_MALFORMED;
	tot = bpf_ntohs(ip->tot_len);
	/* Ethernet padding after tot_len is fine; a frame shorter is not. */
	if (tot < ihl || MXW_PTR_ADD(l3, tot) > data_end)
		return MXW_PR_MALFORMED;
	p->family = 4;
	p->proto = ip->protocol;
	p->hop_limit = ip->ttl;
	mxw_addr_from4(&p->src, ip->saddr);
	mxw_addr_from4(&p->dst, ip->daddr);
	frag = bpf_ntohs(ip->frag_off);
	if (frag & (MXW_IP4_MF | MXW_IP4_OFFSET)) {
		p->flags |= MXW_PF_FRAG;
		if (frag & MXW_IP4_OFFSET) {
			p->flags |= MXW_PF_FRAG_LATER;
			return MXW_PR_IP;
		}
		/* XXX: a first fragment must hold the whole L4 header here
		 * (else malformed, RFC 1858 tiny fragments), but nothing
		 * stops a later fragment from overlapping it (RFC 3128);
		 * fragments are dropped by default for that reason. */
	}
	return mxw_parse_l4(MXW_PTR_ADD(l3, ihl), tot - ihl, data_end, p);
}

/* IPv6 with its extension header chain, walked to MXW_IPV6_EXT_MAX. */
MXW_INLINE int mxw_parse_ip6(void *l3, void *data_end, struct mxw_pkt *p)
{
	struct mxw_ip6hdr *ip6 = l3;
	void *cur;
	__u32 rem, len;
	__u8 nh;
	int i;

	if ((void *)(ip6 + 1) > data_end)
		return MXW_PR_MALFORMED;
	if ((bpf_ntohl(ip6->vtc_flow) >> 28) != 6)
		return MXW_PR_MALFORMED;
	rem = bpf_ntohs(ip6->payload_len);
	cur = ip6 + 1;
	/* XXX: jumbograms (payload_len 0, RFC 2675) are malformed here:
	 * they cannot occur on Ethernet. */
	if (MXW_PTR_ADD(cur, rem) > data_end)
		return MXW_PR_MALFORMED;
	if (mxw_addr_is_mapped(ip6->saddr) || mxw_addr_is_mapped(ip6->daddr))
		return MXW_PR_MALFORMED;
	p->family = 6;
	p->hop_limit = ip6->hop_limit;
	mxw_addr_from6(&p->src, ip6->saddr);
	mxw_addr_from6(&p->dst, ip6->daddr);
	nh = ip6->nexthdr;

	MXW_UNROLL
	for (i = 0; i < MXW_IPV6_EXT_MAX; i++) {
		if (nh == MXW_IPPROTO_FRAGMENT) {
			struct mxw_ip6frag *fh = cur;
			__u16 fo;

			if ((void *)(fh + 1) > data_end || rem < sizeof(*fh))
				return MXW_PR_MALFORMED;
			fo = bpf_ntohs(fh->frag_off);
			nh = fh->nexthdr;
			cur = fh + 1;
			rem -= sizeof(*fh);
			/* An atomic fragment (offset 0, M 0, RFC 6946) is
			 * a whole packet and is judged as one. */
			if (fo & (MXW_IP6_FRAG_OFFSET | MXW_IP6_FRAG_MF))
				p->flags |= MXW_PF_FRAG;
			if (fo & MXW_IP6_FRAG_OFFSET) {
				p->flags |= MXW_PF_FRAG_LATER;
				p->proto = nh;
				return MXW_PR_IP;
			}
		} else if (mxw_is_v6ext(nh)) {
			struct mxw_ip6ext *eh = cur;

			if ((void *)(eh + 1) > data_end)
				return MXW_PR_MALFORMED;
			if (nh == MXW_IPPROTO_AH)
				len = ((__u32)eh->hdrlen + 2) * 4;
			else
				len = ((__u32)eh->hdrlen + 1) * 8;
			if (len > rem)
				return MXW_PR_MALFORMED;
			nh = eh->nexthdr;
			cur = MXW_PTR_ADD(cur, len);
			rem -= len;
		} else {
			break;
		}
	}
	p->proto = nh;
	if (mxw_is_v6ext(nh)) {
		p->flags |= MXW_PF_V6EXT_BOUND;
		return MXW_PR_IP;
	}
	return mxw_parse_l4(cur, rem, data_end, p);
}

/* Ethernet, up to MXW_VLAN_MAX_DEPTH tags, then ARP / IPv4 / IPv6. */
MXW_INLINE int mxw_parse(void *data, void *data_end, struct mxw_pkt *p)
{
	struct mxw_ethhdr *eth = data;
	void *cur;
	__u16 proto;
	int i;

	p->len = (__u32)((__u8 *)data_end - (__u8 *)data);
	if ((void *)(eth + 1) > data_end)
		return MXW_PR_MALFORMED;
	proto = bpf_ntohs(eth->proto);
	cur = eth + 1;
	MXW_UNROLL
	for (i = 0; i < MXW_VLAN_MAX_DEPTH; i++) {
		struct mxw_vlanhdr *vh = cur;

		if (!mxw_is_vlan(proto))
			break;
		if ((void *)(vh + 1) > data_end)
			return MXW_PR_MALFORMED;
		proto = bpf_ntohs(vh->proto);
		cur = vh + 1;
		p->vlan_depth++;
	}
	/* A deeper stack is dropped, never skipped: a tag must not be a way
	 * around the filter. */
	if (mxw_is_vlan(proto))
		return MXW_PR_VLAN_DEPTH;
	p->ethertype = proto;
	if (proto == MXW_ETH_P_IP)
		return mxw_parse_ip4(cur, data_end, p);
	if (proto == MXW_ETH_P_IPV6)
		return mxw_parse_ip6(cur, data_end, p);
	if (proto == MXW_ETH_P_ARP) {
		if (MXW_PTR_ADD(cur, sizeof(struct mxw_arphdr)) > data_end)
			return MXW_PR_MALFORMED;
		return MXW_PR_ARP;
	}
	/* XXX: with MXW_CF_PASS_OTHER_ETHERTYPES, IP inside PPPoE, MPLS or
	 * other encapsulations passes unjudged; that is why it is off by
	 * default. */
	return MXW_PR_OTHER;
}

#endif /* MXW_PARSE_H */
