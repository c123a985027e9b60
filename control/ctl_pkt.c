// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctl_pkt.c - frames of the inspection path: parse an Ethernet frame into
 * the engine's struct mxi_pkt, build the RSTs that kill a session.  Pure
 * code (no I/O): unit-tested in tests/control/test_pkt.c and fuzzed by
 * tests/fuzz/control/fuzz_pkt.c.
 *
 * Decisions a reader would otherwise have to reverse-engineer:
 *  - The parser follows the fast path (bpf/mxw_parse.h) wherever the two
 *    could disagree, so that no segment is judged as one thing by the XDP
 *    program and as another here: the same VLAN depth, the same IPv6
 *    extension headers (AH included) walked to MXW_IPV6_EXT_MAX,
 *    IPv4-mapped addresses inside an IPv6 header refused (they would alias
 *    IPv4 sources in every table).
 *  - Atomic fragments (offset 0, no more-fragments bit: RFC 6946 for IPv6,
 *    the same bits in IPv4) are whole packets for every TCP stack, so they
 *    are parsed as TCP.  Answering NOT_TCP would let a client wrap each
 *    segment in a fragment header and walk past the inspection.
 *  - Checksums are verified before anything is trusted: the engine must
 *    only see segments the receiver will accept (docs/engine.md).
 *  - RSTs carry a plain IPv4 header (no options) or a bare IPv6 header (no
 *    extension headers): options of the killed frame (source routes!)
 *    must not be replayed.  They are padded to the Ethernet minimum.
 */
#include <string.h>

#include "ctl_pkt.h"
#include "tcpr.h"

#define PKT_ETH_HLEN            14
#define PKT_VLAN_HLEN           4
#define PKT_ETH_P_IP            0x0800
#define PKT_ETH_P_IPV6          0x86DD
#define PKT_ETH_P_8021Q         0x8100
#define PKT_ETH_P_8021AD        0x88A8
#define PKT_IP4_HLEN            20
#define PKT_IP6_HLEN            40
#define PKT_TCP_HLEN            20
#define PKT_IPPROTO_TCP         6
#define PKT_IPPROTO_HOPOPTS     0
#define PKT_IPPROTO_ROUTING     43
#define PKT_IPPROTO_FRAGMENT    44
#define PKT_IPPROTO_AH          51
#define PKT_IPPROTO_DSTOPTS     60
#define PKT_IP4_MF              0x2000
#define PKT_IP4_OFFSET          0x1fff
#define PKT_IP6_MF              0x0001
#define PKT_IP6_OFFSET          0xfff8
#define PKT_TCP_FIN             0x01
#define PKT_TCP_SYN             0x02
#define PKT_TCP_RST             0x04
#define PKT_TCP_PSH             0x08
#define PKT_TCP_ACK             0x10
#define PKT_ETH_ZLEN            60      /* minimum frame without FCS */
#define PKT_RST_TTL             64

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

/* RFC 1071 sum of 16-bit big-endian words, not folded; an odd last byte
 * is padded with zero. */
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Pseudo-header sum (RFC 793 3.1, RFC 8200 8.1) for TCP over l3. */
static uint64_t pseudo_sum(const uint8_t *l3, bool ipv6, uint32_t tcp_len)
{
	uint64_t sum;

	if (ipv6)
		sum = csum_add(0, l3 + 8, 32);
	else
		sum = csum_add(0, l3 + 12, 8);
	return sum + (tcp_len >> 16) + (tcp_len & 0xffff) + PKT_IPPROTO_TCP;
}

static void addr_mapped4(struct mxw_addr *a, const uint8_t *v4)
{
	memset(a->a, 0, 10);
	a->a[10] = 0xff;
	a->a[11] = 0xff;
	memcpy(a->a + 12, v4, 4);
}

static bool addr_is_mapped(const uint8_t *a)
{
	static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					0xff, 0xff};

	return memcmp(a, pfx, sizeof(pfx)) == 0;
}

/* IPv4 at frame[off..len): sets *tcp_off / *tcp_len / info->ip_len. */
static enum ctl_pkt_status parse_ip4(const uint8_t *frame, size_t len,
				     size_t off, struct mxi_pkt *out,
				     struct ctl_pkt_info *info,
				     size_t *tcp_off, uint32_t *tcp_len)
{
	const uint8_t *ip = frame + off;
	size_t ihl, tot;
	uint16_t frag;

	if (len - off < PKT_IP4_HLEN || (ip[0] >> 4) != 4)
		return CTL_PKT_MALFORMED;
	ihl = (size_t)(ip[0] & 0x0f) * 4;
	tot = get16(ip + 2);
	if (ihl < PKT_IP4_HLEN || tot < ihl || tot > len - off)
		return CTL_PKT_MALFORMED;
	if (csum_fold(csum_add(0, ip, ihl)) != 0)
		return CTL_PKT_BAD_CSUM;
	frag = get16(ip + 6);
	if ((frag & (PKT_IP4_MF | PKT_IP4_OFFSET)) || ip[9] != PKT_IPPROTO_TCP)
		return CTL_PKT_NOT_TCP;
	addr_mapped4(&out->src, ip + 12);
	addr_mapped4(&out->dst, ip + 16);
	info->ipv6 = 0;
	info->ip_len = (uint32_t)tot;
	*tcp_off = off + ihl;
	*tcp_len = (uint32_t)(tot - ihl);
	return CTL_PKT_OK;
}

/* IPv6 at frame[off..len) with its extension header chain (the fast
 * path's walk: hop-by-hop first only, routing, destination options, AH,
 * atomic fragments; a real fragment or a chain past MXW_IPV6_EXT_MAX is
 * not a TCP segment we can judge). */
static enum ctl_pkt_status parse_ip6(const uint8_t *frame, size_t len,
				     size_t off, struct mxi_pkt *out,
				     struct ctl_pkt_info *info,
				     size_t *tcp_off, uint32_t *tcp_len)
{
	const uint8_t *ip = frame + off;
	size_t cur, rem, elen;
	uint8_t nh;
	int i;

	if (len - off < PKT_IP6_HLEN || (ip[0] >> 4) != 6)
		return CTL_PKT_MALFORMED;
	rem = get16(ip + 4);
	/* XXX: jumbograms (payload length 0, RFC 2675) are malformed, as in
	 * the fast path: they cannot occur on Ethernet. */
	if (rem == 0 || rem > len - off - PKT_IP6_HLEN)
		return CTL_PKT_MALFORMED;
	if (addr_is_mapped(ip + 8) || addr_is_mapped(ip + 24))
		return CTL_PKT_MALFORMED;
	cur = off + PKT_IP6_HLEN;
	nh = ip[6];
	for (i = 0; ; i++) {
		const uint8_t *eh = frame + cur;

		if (nh == PKT_IPPROTO_TCP)
			break;
		if (nh != PKT_IPPROTO_HOPOPTS && nh != PKT_IPPROTO_ROUTING &&
		    nh != PKT_IPPROTO_DSTOPTS && nh != PKT_IPPROTO_AH &&
		    nh != PKT_IPPROTO_FRAGMENT)
			return CTL_PKT_NOT_TCP;
		if (i >= MXW_IPV6_EXT_MAX)
			return CTL_PKT_NOT_TCP;
		/* RFC 8200 4.1: hop-by-hop only right after the header;
		 * Linux answers a later one with a parameter problem. */
		if (nh == PKT_IPPROTO_HOPOPTS && i > 0)
			return CTL_PKT_MALFORMED;
		if (rem < 8)
			return CTL_PKT_MALFORMED;
		if (nh == PKT_IPPROTO_FRAGMENT) {
			if (get16(eh + 2) & (PKT_IP6_OFFSET | PKT_IP6_MF))
				return CTL_PKT_NOT_TCP;
			elen = 8;
		} else if (nh == PKT_IPPROTO_AH) {
			elen = ((size_t)eh[1] + 2) * 4;
		} else {
			elen = ((size_t)eh[1] + 1) * 8;
		}
		if (elen > rem)
			return CTL_PKT_MALFORMED;
		nh = eh[0];
		cur += elen;
		rem -= elen;
	}
	memcpy(out->src.a, ip + 8, 16);
	memcpy(out->dst.a, ip + 24, 16);
	info->ipv6 = 1;
	info->ip_len = (uint32_t)(PKT_IP6_HLEN + get16(ip + 4));
	*tcp_off = cur;
	*tcp_len = (uint32_t)rem;
	return CTL_PKT_OK;
}

enum ctl_pkt_status ctl_pkt_parse(const uint8_t *frame, size_t len,
				  struct mxi_pkt *out,
				  struct ctl_pkt_info *info)
{
	enum ctl_pkt_status st;
	const uint8_t *th;
	size_t off = PKT_ETH_HLEN, tcp_off, doff;
	uint32_t tcp_len;
	uint16_t proto;
	uint8_t nvlan = 0, fl;

	memset(out, 0, sizeof(*out));
	memset(info, 0, sizeof(*info));
	if (!frame || len < PKT_ETH_HLEN)
		return CTL_PKT_MALFORMED;
	/* Offsets are uint16_t in ctl_pkt_info: no frame of ours is longer
	 * (the UMEM chunk is 4096 at most), but say no rather than wrap. */
	if (len > UINT16_MAX)
		return CTL_PKT_MALFORMED;
	proto = get16(frame + 12);
	while (proto == PKT_ETH_P_8021Q || proto == PKT_ETH_P_8021AD) {
		if (nvlan >= MXW_VLAN_MAX_DEPTH)
			return CTL_PKT_NOT_TCP;
		if (len - off < PKT_VLAN_HLEN)
			return CTL_PKT_MALFORMED;
		proto = get16(frame + off + 2);
		off += PKT_VLAN_HLEN;
		nvlan++;
	}
	if (proto == PKT_ETH_P_IP)
		st = parse_ip4(frame, len, off, out, info, &tcp_off, &tcp_len);
	else if (proto == PKT_ETH_P_IPV6)
		st = parse_ip6(frame, len, off, out, info, &tcp_off, &tcp_len);
	else
		st = CTL_PKT_NOT_TCP;
	if (st != CTL_PKT_OK)
		goto fail;

	th = frame + tcp_off;
	st = CTL_PKT_MALFORMED;
	if (tcp_len < PKT_TCP_HLEN)
		goto fail;
	doff = (size_t)(th[12] >> 4) * 4;
	if (doff < PKT_TCP_HLEN || doff > tcp_len)
		goto fail;
	st = CTL_PKT_BAD_CSUM;
	if (csum_fold(csum_add(pseudo_sum(frame + off, info->ipv6, tcp_len),
			       th, tcp_len)) != 0)
		goto fail;

	fl = th[13];
	out->sport = get16(th);
	out->dport = get16(th + 2);
	out->seq = get32(th + 4);
	out->ack = get32(th + 8);
	out->tcp_flags = (fl & PKT_TCP_FIN ? TCPR_F_FIN : 0) |
			 (fl & PKT_TCP_SYN ? TCPR_F_SYN : 0) |
			 (fl & PKT_TCP_RST ? TCPR_F_RST : 0) |
			 (fl & PKT_TCP_PSH ? TCPR_F_PSH : 0) |
			 (fl & PKT_TCP_ACK ? TCPR_F_ACK : 0);
	out->payload = th + doff;
	out->len = (uint32_t)(tcp_len - doff);
	info->l3_off = (uint16_t)off;
	info->l4_off = (uint16_t)tcp_off;
	info->payload_off = (uint16_t)(tcp_off + doff);
	info->n_vlan = nvlan;
	info->window = get16(th + 14);
	info->tcp_flags = fl;
	return CTL_PKT_OK;
fail:
	/* Nothing half-filled leaks to a caller that ignores the status. */
	memset(out, 0, sizeof(*out));
	memset(info, 0, sizeof(*info));
	return st;
}

const char *ctl_pkt_status_name(enum ctl_pkt_status s)
{
	switch (s) {
	case CTL_PKT_OK:
		return "ok";
	case CTL_PKT_NOT_TCP:
		return "not_tcp";
	case CTL_PKT_MALFORMED:
		return "malformed";
	case CTL_PKT_BAD_CSUM:
		return "bad_csum";
	}
	return "unknown";
}

/* One RST into buf: L2 copied from the frame (MACs swapped when reversed),
 * a fresh IP header, a 20-byte TCP header.  src/dst are the frame's L3
 * address fields, in wire order for this RST. */
static size_t build_rst(uint8_t *buf, const uint8_t *frame,
			const struct ctl_pkt_info *info, bool reverse,
			uint16_t sport, uint16_t dport, uint32_t seq,
			uint32_t ack, bool with_ack)
{
	const uint8_t *l3 = frame + info->l3_off;
	size_t alen = info->ipv6 ? 16 : 4;
	const uint8_t *src = l3 + (info->ipv6 ? 8 : 12);
	const uint8_t *dst = src + alen, *t;
	uint8_t *ip = buf + info->l3_off, *th;
	size_t iplen = info->ipv6 ? PKT_IP6_HLEN : PKT_IP4_HLEN;
	size_t total = info->l3_off + iplen + PKT_TCP_HLEN;

	memset(buf, 0, CTL_PKT_RST_MAX);
	memcpy(buf, frame, info->l3_off);
	if (reverse) {
		/* swap the MACs in place (copying them from frame + 6 made
		 * GCC 12 with UBSan see an out-of-bounds memcpy) */
		for (int i = 0; i < 6; i++) {
			uint8_t m = buf[i];

			buf[i] = buf[6 + i];
			buf[6 + i] = m;
		}
		t = src;
		src = dst;
		dst = t;
	}
	if (info->ipv6) {
		ip[0] = 0x60;
		put16(ip + 4, PKT_TCP_HLEN);
		ip[6] = PKT_IPPROTO_TCP;
		ip[7] = PKT_RST_TTL;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
	} else {
		ip[0] = 0x45;
		put16(ip + 2, PKT_IP4_HLEN + PKT_TCP_HLEN);
		put16(ip + 6, 0x4000);          /* DF */
		ip[8] = PKT_RST_TTL;
		ip[9] = PKT_IPPROTO_TCP;
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst, 4);
		put16(ip + 10, csum_fold(csum_add(0, ip, PKT_IP4_HLEN)));
	}
	th = ip + iplen;
	put16(th, sport);
	put16(th + 2, dport);
	put32(th + 4, seq);
	put32(th + 8, with_ack ? ack : 0);
	th[12] = (PKT_TCP_HLEN / 4) << 4;
	th[13] = PKT_TCP_RST | (with_ack ? PKT_TCP_ACK : 0);
	/* window 0, urgent pointer 0 */
	put16(th + 16, csum_fold(csum_add(pseudo_sum(ip, info->ipv6,
						     PKT_TCP_HLEN),
					  th, PKT_TCP_HLEN)));
	return total < PKT_ETH_ZLEN ? PKT_ETH_ZLEN : total;
}

/*
 * The killed frame is dropped, so its receiver still expects the frame's
 * own sequence number: the RST in the frame's direction carries it
 * (RFC 5961 3.2: only an exact match resets, anything else in the window
 * draws a challenge ACK).  The frame's sender expects the frame's ack
 * number.  When the frame has no ACK (a bare SYN) there is nothing the
 * sender expects; RFC 793 3.4 then answers with seq 0 and ACK = the
 * frame's seq plus its length, which is what a SYN-SENT socket checks.
 */
int ctl_pkt_build_rsts(const uint8_t *frame, const struct ctl_pkt_info *info,
		       bool from_client,
		       uint8_t *to_server, size_t *len_server,
		       uint8_t *to_client, size_t *len_client)
{
	const uint8_t *th;
	uint32_t seq, ack, seglen;
	uint16_t sport, dport;
	size_t min_l4;
	uint8_t fl;
	uint8_t *fwd, *rev;
	size_t *fwd_len, *rev_len;
	bool has_ack;

	if (!frame || !info || !to_server || !to_client || !len_server ||
	    !len_client)
		return -1;
	/* info must look like ctl_pkt_parse() filled it: the RST headers are
	 * written at these offsets and must fit CTL_PKT_RST_MAX. */
	min_l4 = (size_t)info->l3_off + (info->ipv6 ? PKT_IP6_HLEN :
					 PKT_IP4_HLEN);
	if (info->l3_off < PKT_ETH_HLEN ||
	    info->l3_off != PKT_ETH_HLEN + info->n_vlan * PKT_VLAN_HLEN ||
	    info->n_vlan > MXW_VLAN_MAX_DEPTH || info->l4_off < min_l4 ||
	    info->payload_off < info->l4_off + PKT_TCP_HLEN ||
	    info->l3_off + info->ip_len < info->payload_off)
		return -1;

	th = frame + info->l4_off;
	sport = get16(th);
	dport = get16(th + 2);
	seq = get32(th + 4);
	ack = get32(th + 8);
	fl = th[13];
	has_ack = fl & PKT_TCP_ACK;
	seglen = info->l3_off + info->ip_len - info->payload_off +
		 !!(fl & PKT_TCP_SYN) + !!(fl & PKT_TCP_FIN);

	if (from_client) {
		fwd = to_server;
		fwd_len = len_server;
		rev = to_client;
		rev_len = len_client;
	} else {
		fwd = to_client;
		fwd_len = len_client;
		rev = to_server;
		rev_len = len_server;
	}
	*fwd_len = build_rst(fwd, frame, info, false, sport, dport, seq, ack,
			     has_ack);
	*rev_len = build_rst(rev, frame, info, true, dport, sport,
			     has_ack ? ack : 0, seq + seglen, true);
	return 0;
}

void ctl_pkt_l2_save(struct ctl_pkt_l2 *l2, const uint8_t *frame,
		     const struct ctl_pkt_info *info, bool from_client)
{
	if (!l2 || !frame || !info || info->l3_off < PKT_ETH_HLEN ||
	    info->l3_off > CTL_PKT_L2_MAX ||
	    info->l3_off != PKT_ETH_HLEN + info->n_vlan * PKT_VLAN_HLEN)
		return;
	memcpy(l2->hdr, frame, info->l3_off);
	l2->len = (uint8_t)info->l3_off;
	l2->ipv6 = info->ipv6;
	l2->from_client = from_client;
	l2->set = 1;
}

/* A segment as the side l2 came from would send it next: l2's header, a
 * fresh IP header, a bare ACK with that side's next sequence number;
 * then ctl_pkt_build_rsts answers it as a killed frame. */
int ctl_pkt_build_flow_rsts(const struct ctl_pkt_l2 *l2,
			    const struct mxw_addr *client,
			    const struct mxw_addr *server,
			    uint16_t cport, uint16_t sport,
			    uint32_t client_next, uint32_t server_next,
			    uint8_t *to_server, size_t *len_server,
			    uint8_t *to_client, size_t *len_client)
{
	uint8_t frame[CTL_PKT_L2_MAX + PKT_IP6_HLEN + PKT_TCP_HLEN];
	const struct mxw_addr *src, *dst;
	struct ctl_pkt_info info;
	size_t iplen;
	uint8_t *ip, *th;
	bool fc;

	if (!l2 || !l2->set || l2->len < PKT_ETH_HLEN ||
	    l2->len > CTL_PKT_L2_MAX ||
	    (l2->len - PKT_ETH_HLEN) % PKT_VLAN_HLEN || !client || !server)
		return -1;
	fc = l2->from_client;
	src = fc ? client : server;
	dst = fc ? server : client;
	iplen = l2->ipv6 ? PKT_IP6_HLEN : PKT_IP4_HLEN;
	memset(frame, 0, sizeof(frame));
	memcpy(frame, l2->hdr, l2->len);
	ip = frame + l2->len;
	if (l2->ipv6) {
		ip[0] = 0x60;
		put16(ip + 4, PKT_TCP_HLEN);
		ip[6] = PKT_IPPROTO_TCP;
		memcpy(ip + 8, src->a, 16);
		memcpy(ip + 24, dst->a, 16);
	} else {
		ip[0] = 0x45;
		put16(ip + 2, PKT_IP4_HLEN + PKT_TCP_HLEN);
		ip[9] = PKT_IPPROTO_TCP;
		memcpy(ip + 12, src->a + 12, 4);
		memcpy(ip + 16, dst->a + 12, 4);
	}
	th = ip + iplen;
	put16(th, fc ? cport : sport);
	put16(th + 2, fc ? sport : cport);
	put32(th + 4, fc ? client_next : server_next);
	put32(th + 8, fc ? server_next : client_next);
	th[12] = (PKT_TCP_HLEN / 4) << 4;
	th[13] = PKT_TCP_ACK;
	info = (struct ctl_pkt_info){
		.l3_off = l2->len,
		.l4_off = (uint16_t)(l2->len + iplen),
		.payload_off = (uint16_t)(l2->len + iplen + PKT_TCP_HLEN),
		.ipv6 = l2->ipv6,
		.n_vlan = (uint8_t)((l2->len - PKT_ETH_HLEN) / PKT_VLAN_HLEN),
		.ip_len = (uint32_t)(iplen + PKT_TCP_HLEN),
		.tcp_flags = PKT_TCP_ACK,
	};
	return ctl_pkt_build_rsts(frame, &info, fc, to_server, len_server,
				  to_client, len_client);
}
