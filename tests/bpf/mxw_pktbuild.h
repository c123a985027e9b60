/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mxw_pktbuild.h - builds the Ethernet frames of the fast-path fixtures
 * from a declarative spec (struct pspec), including the malformed ones:
 * bad IHL / data offset / version, lengths that lie, cut frames, VLAN
 * stacks, IPv6 extension chains, fragments.  Shared by the BPF_PROG_TEST_RUN
 * test, the userspace verdict test and the benchmark.  Checksums are left
 * zero: the fast path never reads them.
 */
#ifndef MXW_PKTBUILD_H
#define MXW_PKTBUILD_H

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PB_MAX_FRAME    2048
#define PB_MAX_EXT      10

enum { PB_TCP = 6, PB_UDP = 17, PB_ICMP = 1, PB_ICMP6 = 58, PB_ESP = 50,
       PB_HOP = 0, PB_RT = 43, PB_FRAG = 44, PB_AH = 51, PB_DST = 60,
       PB_NONE = 59 };
enum { F_FIN = 0x01, F_SYN = 0x02, F_RST = 0x04, F_PSH = 0x08,
       F_ACK = 0x10, F_URG = 0x20, F_ECE = 0x40, F_CWR = 0x80 };

struct pspec {
	uint16_t ethertype;     /* non-IP frame when set (ARP, LLDP, ...) */
	int vlans;              /* number of tags, TPIDs in tpid[] */
	uint16_t tpid[4];
	int family;             /* 4 or 6 */
	const char *src, *dst;  /* addresses as text */
	uint8_t proto;          /* 0 = TCP */
	uint16_t sport, dport;
	uint8_t flags;          /* TCP flags */
	uint8_t icmp_type, icmp_code;
	uint16_t icmp_id;
	int payload;            /* L4 payload bytes */
	int ttl;                /* TTL / hop limit, 0 = 64 */
	uint8_t ext[PB_MAX_EXT]; /* IPv6 extension chain, in order */
	int next;
	int ext_bad_len;        /* last extension header claims 2 KiB */
	uint16_t frag_off;      /* fragment offset, 8-byte units */
	int mf;                 /* more fragments */
	/* mutations */
	int ihl;                /* IPv4 IHL words, 0 = 5 */
	int doff;               /* TCP data offset words, 0 = 5 */
	int ipver;              /* version nibble, 0 = family */
	int len_adj;            /* added to IPv4 tot_len / IPv6 payload_len */
	int l4_cut;             /* keep only this many L4 bytes (in IP length) */
	int trunc;              /* cut the frame to this many bytes */
};

static inline void pb_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline void pb_addr(int family, const char *txt, uint8_t *out)
{
	if (inet_pton(family == 4 ? AF_INET : AF_INET6, txt, out) != 1) {
		fprintf(stderr, "pktbuild: bad address %s\n", txt);
		exit(2);
	}
}

/* L4 header + payload into p; returns its length. */
static inline size_t pb_l4(const struct pspec *s, uint8_t *p, uint8_t proto)
{
	size_t hl;

	if (proto == PB_TCP) {
		int doff = s->doff ? (s->doff & 0xf) : 5;

		hl = 20;
		pb_put16(p, s->sport);
		pb_put16(p + 2, s->dport);
		p[4] = 0x12; /* seq */
		p[12] = (uint8_t)(doff << 4);
		p[13] = s->flags;
		pb_put16(p + 14, 65535);
		/* real options when the offset says so (MSS, NOPs) */
		if (doff > 5 && doff <= 15) {
			hl = (size_t)doff * 4;
			memset(p + 20, 1, hl - 20);
			p[20] = 2;
			p[21] = 4;
			pb_put16(p + 22, 1460);
		}
	} else if (proto == PB_UDP) {
		hl = 8;
		pb_put16(p, s->sport);
		pb_put16(p + 2, s->dport);
		pb_put16(p + 4, (uint16_t)(8 + s->payload));
	} else if (proto == PB_ICMP || proto == PB_ICMP6) {
		hl = 8;
		p[0] = s->icmp_type;
		p[1] = s->icmp_code;
		pb_put16(p + 4, s->icmp_id);
		pb_put16(p + 6, 1);
	} else {
		hl = 8; /* ESP SPI + seq, or anything else */
	}
	memset(p + hl, 'x', (size_t)s->payload);
	return hl + (size_t)s->payload;
}

/* Build the frame; returns its length. */
static inline size_t pb_build(const struct pspec *s, uint8_t *buf)
{
	static const uint8_t mac[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };
	uint8_t proto = s->proto ? s->proto : PB_TCP;
	uint8_t *p = buf;
	size_t len, l4len;
	int i;

	memset(buf, 0, PB_MAX_FRAME);
	memcpy(p, mac, 12);
	p += 12;
	for (i = 0; i < s->vlans; i++) {
		pb_put16(p, s->tpid[i] ? s->tpid[i] : 0x8100);
		pb_put16(p + 2, (uint16_t)(100 + i));
		p += 4;
	}
	if (s->ethertype) {
		pb_put16(p, s->ethertype);
		p += 2;
		if (s->ethertype == 0x0806) {   /* ARP request, Ethernet/IPv4 */
			pb_put16(p, 1);
			pb_put16(p + 2, 0x0800);
			p[4] = 6;
			p[5] = 4;
			pb_put16(p + 6, 1);
			p += 28;
		} else {
			p += 46;
		}
		len = (size_t)(p - buf);
		goto out;
	}
	if (s->family == 4) {
		int ihl = s->ihl ? (s->ihl & 0xf) : 5;
		uint8_t *ip = p + 2;
		size_t hl = (size_t)ihl * 4;

		pb_put16(p, 0x0800);
		if (hl < 20)
			hl = 20;        /* lie in the field, keep the layout */
		ip[0] = (uint8_t)(((s->ipver ? s->ipver : 4) << 4) | (ihl & 0xf));
		pb_put16(ip + 4, 0x1234);
		pb_put16(ip + 6, (uint16_t)((s->mf ? 0x2000 : 0) | (s->frag_off & 0x1fff)));
		ip[8] = (uint8_t)(s->ttl ? s->ttl : 64);
		ip[9] = proto;
		pb_addr(4, s->src, ip + 12);
		pb_addr(4, s->dst, ip + 16);
		l4len = pb_l4(s, ip + hl, proto);
		if (s->l4_cut)
			l4len = (size_t)s->l4_cut;
		pb_put16(ip + 2, (uint16_t)((int)(hl + l4len) + s->len_adj));
		len = (size_t)(ip + hl + l4len - buf);
	} else {
		uint8_t *ip6 = p + 2, *cur = ip6 + 40, *nhp = ip6 + 6;
		uint32_t vtc = (uint32_t)(s->ipver ? s->ipver : 6) << 28;

		pb_put16(p, 0x86DD);
		ip6[0] = vtc >> 24;
		ip6[7] = (uint8_t)(s->ttl ? s->ttl : 64);
		pb_addr(6, s->src, ip6 + 8);
		pb_addr(6, s->dst, ip6 + 24);
		for (i = 0; i < s->next; i++) {
			uint8_t t = s->ext[i];
			size_t el = 8;

			*nhp = t;
			nhp = cur;
			if (t == PB_FRAG) {
				pb_put16(cur + 2, (uint16_t)((s->frag_off << 3) | (s->mf ? 1 : 0)));
				cur[4] = 0xab;
			} else if (t == PB_AH) {
				cur[1] = 4;     /* (4 + 2) * 4 = 24 bytes */
				el = 24;
			} else {
				cur[1] = 0;     /* (0 + 1) * 8 = 8 bytes, PadN */
				cur[2] = 1;
				cur[3] = 4;
			}
			if (s->ext_bad_len && i == s->next - 1)
				cur[1] = 255;
			cur += el;
		}
		*nhp = proto;
		l4len = pb_l4(s, cur, proto);
		if (s->l4_cut)
			l4len = (size_t)s->l4_cut;
		pb_put16(ip6 + 4, (uint16_t)((int)(cur - ip6 - 40 + l4len) + s->len_adj));
		len = (size_t)(cur + l4len - buf);
	}
out:
	if (s->trunc && (size_t)s->trunc < len)
		len = (size_t)s->trunc;
	return len;
}

#endif /* MXW_PKTBUILD_H */
