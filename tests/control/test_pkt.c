// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_pkt.c - frame parsing and RST building (control/ctl_pkt.c).
 *  - two frames made by Scapy (golden: their checksums come from another
 *    implementation than ours);
 *  - a table of frames built here ({label, spec, expected status}): v4/v6,
 *    VLAN stacks, IPv4 and TCP options, IPv6 extension chains, fragments,
 *    lying lengths, bad checksums;
 *  - every OK frame cut at every length (never OK), and padded (same
 *    result: Ethernet padding past the IP length is ignored);
 *  - every byte of every OK frame's IP/TCP part flipped (never OK with the
 *    same fields: a checksum or a length must catch it);
 *  - RSTs of every OK frame, both directions: checked field by field
 *    against the frame, checksums recomputed here, re-parsed OK.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ctl_pkt.h"
#include "ctltest.h"
#include "tcpr.h"

/* ---- golden frames (Scapy) ---------------------------------------------- */

/* 802.1Q vid 5, IPv4 with 4 NOP options, TCP MSS+NOP+NOP, PSH|ACK,
 * 198.51.100.7:51234 -> 192.0.2.25:25 seq 0x11223344 ack 0x55667788,
 * window 502, payload "EHLO x\r\n". */
static const uint8_t golden4[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x81, 0x00, 0x00, 0x05, 0x08, 0x00, 0x46, 0x00, 0x00, 0x3c, 0x00, 0x01,
	0x00, 0x00, 0x40, 0x06, 0x8b, 0x65, 0xc6, 0x33, 0x64, 0x07, 0xc0, 0x00,
	0x02, 0x19, 0x01, 0x01, 0x01, 0x01, 0xc8, 0x22, 0x00, 0x19, 0x11, 0x22,
	0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x70, 0x18, 0x01, 0xf6, 0x00, 0x0f,
	0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x00, 0x00, 0x45, 0x48,
	0x4c, 0x4f, 0x20, 0x78, 0x0d, 0x0a,
};

/* IPv6 2001:db8::7 -> 2001:db8:1::25 hop limit 60, destination options
 * header, TCP 40000 -> 587 FIN|ACK seq 0xfffffff0 ack 1 window 1000,
 * payload "QUIT\r\n". */
static const uint8_t golden6[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x86, 0xdd, 0x60, 0x00, 0x00, 0x00, 0x00, 0x22, 0x3c, 0x3c, 0x20, 0x01,
	0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x07, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x25, 0x06, 0x00, 0x01, 0x04, 0x00, 0x00,
	0x00, 0x00, 0x9c, 0x40, 0x02, 0x4b, 0xff, 0xff, 0xff, 0xf0, 0x00, 0x00,
	0x00, 0x01, 0x50, 0x11, 0x03, 0xe8, 0x0a, 0x16, 0x00, 0x00, 0x51, 0x55,
	0x49, 0x54, 0x0d, 0x0a,
};

static void test_golden(void)
{
	struct mxi_pkt p;
	struct ctl_pkt_info in;
	static const uint8_t m4src[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
					  0xff, 198, 51, 100, 7};
	static const uint8_t m4dst[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
					  0xff, 192, 0, 2, 25};

	CHECK(ctl_pkt_parse(golden4, sizeof(golden4), &p, &in) == CTL_PKT_OK,
	      "golden4");
	CHECK(memcmp(p.src.a, m4src, 16) == 0, "golden4 src mapped");
	CHECK(memcmp(p.dst.a, m4dst, 16) == 0, "golden4 dst mapped");
	CHECK(p.sport == 51234 && p.dport == 25, "golden4 ports");
	CHECK(p.seq == 0x11223344 && p.ack == 0x55667788, "golden4 seq/ack");
	CHECK(p.tcp_flags == (TCPR_F_PSH | TCPR_F_ACK), "golden4 flags");
	CHECK(p.len == 8 && memcmp(p.payload, "EHLO x\r\n", 8) == 0,
	      "golden4 payload");
	CHECK(p.payload == golden4 + 70, "golden4 payload points into frame");
	CHECK(in.l3_off == 18 && in.l4_off == 42 && in.payload_off == 70,
	      "golden4 offsets");
	CHECK(in.n_vlan == 1 && in.ipv6 == 0 && in.window == 502 &&
	      in.ip_len == 60, "golden4 info");

	CHECK(ctl_pkt_parse(golden6, sizeof(golden6), &p, &in) == CTL_PKT_OK,
	      "golden6");
	CHECK(memcmp(p.src.a, golden6 + 22, 16) == 0, "golden6 src");
	CHECK(memcmp(p.dst.a, golden6 + 38, 16) == 0, "golden6 dst");
	CHECK(p.sport == 40000 && p.dport == 587, "golden6 ports");
	CHECK(p.seq == 0xfffffff0u && p.ack == 1, "golden6 seq/ack");
	CHECK(p.tcp_flags == (TCPR_F_FIN | TCPR_F_ACK), "golden6 flags");
	CHECK(p.len == 6 && memcmp(p.payload, "QUIT\r\n", 6) == 0,
	      "golden6 payload");
	CHECK(in.l3_off == 14 && in.l4_off == 62 && in.payload_off == 82,
	      "golden6 offsets");
	CHECK(in.n_vlan == 0 && in.ipv6 == 1 && in.window == 1000 &&
	      in.ip_len == 74, "golden6 info");
}

/* ---- frame builder ------------------------------------------------------ */

#define FB_MAX 600

struct spec {
	int family;             /* 4 or 6 */
	int vlans;              /* 0..3 tags */
	uint16_t tpid0;         /* first tag's TPID, 0 = 0x88a8 when 2 tags */
	int ip_opt;             /* IPv4 option bytes (multiple of 4) */
	uint8_t ext[8];         /* IPv6 extension chain */
	int n_ext;
	uint16_t frag;          /* IPv4 flags+offset / IPv6 frag off+M */
	uint8_t l4proto;        /* 0 = TCP */
	int tcp_opt;            /* TCP option bytes (multiple of 4) */
	int payload;
	uint8_t flags;          /* TCP flags, 0 = PSH|ACK */
	/* mutations */
	int ipver;              /* version nibble override */
	int ihl;                /* IHL override (words) */
	int doff;               /* data offset override (words) */
	int len_adj;            /* added to tot_len / payload_len */
	int bad_ipcsum, bad_tcpcsum;
	int mapped6;            /* IPv4-mapped source in an IPv6 header */
	int ext_len;            /* last extension header's length byte */
};

static uint32_t t_sum(const uint8_t *p, size_t n, uint32_t s)
{
	size_t i;

	for (i = 0; i < n; i++)
		s += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	return s;
}

static uint16_t t_fold(uint32_t s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* TCP checksum over the segment at l4 (computed by the test, with a
 * different loop from ctl_pkt.c's). */
static uint16_t t_tcp_csum(const uint8_t *l3, int v6, const uint8_t *l4,
			   size_t len)
{
	uint32_t s = v6 ? t_sum(l3 + 8, 32, 0) : t_sum(l3 + 12, 8, 0);

	s += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff) + 6;
	return t_fold(t_sum(l4, len, s));
}

static size_t build(const struct spec *sp, uint8_t *f)
{
	static const uint8_t smac[6] = {0x02, 0, 0, 0, 0, 0x0a};
	static const uint8_t dmac[6] = {0x02, 0, 0, 0, 0, 0x0b};
	size_t off = 12, l3, l4, iph, tcplen;
	int doff = 5 + sp->tcp_opt / 4;
	uint8_t *ip, *th;
	int i;

	memset(f, 0, FB_MAX);
	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	for (i = 0; i < sp->vlans; i++) {
		uint16_t tpid = 0x8100;

		if (i == 0 && sp->tpid0)
			tpid = sp->tpid0;
		else if (i == 0 && sp->vlans >= 2)
			tpid = 0x88a8;
		f[off] = tpid >> 8;
		f[off + 1] = tpid & 0xff;
		f[off + 2] = 0x00;
		f[off + 3] = (uint8_t)(10 + i);
		off += 4;
	}
	f[off] = sp->family == 6 ? 0x86 : 0x08;
	f[off + 1] = sp->family == 6 ? 0xdd : 0x00;
	l3 = off + 2;
	ip = f + l3;
	tcplen = (size_t)doff * 4 + sp->payload;
	if (sp->family == 4) {
		iph = 20 + sp->ip_opt;
		l4 = l3 + iph;
		ip[0] = (uint8_t)((sp->ipver ? sp->ipver : 4) << 4 |
				  (sp->ihl ? sp->ihl : (int)iph / 4));
		ip[2] = (uint8_t)((iph + tcplen + sp->len_adj) >> 8);
		ip[3] = (uint8_t)((iph + tcplen + sp->len_adj) & 0xff);
		ip[4] = 0x12;
		ip[6] = sp->frag >> 8;
		ip[7] = sp->frag & 0xff;
		ip[8] = 64;
		ip[9] = sp->l4proto ? sp->l4proto : 6;
		memcpy(ip + 12, (uint8_t[]){203, 0, 113, 9}, 4);
		memcpy(ip + 16, (uint8_t[]){192, 0, 2, 25}, 4);
		for (i = 0; i < sp->ip_opt; i++)
			ip[20 + i] = 1;         /* NOP */
	} else {
		size_t e = l3 + 40;
		uint8_t *nhp = ip + 6;

		ip[0] = (uint8_t)((sp->ipver ? sp->ipver : 6) << 4);
		ip[7] = 64;
		memcpy(ip + 8, (uint8_t[]){0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
					   0, 0, 0, 0, 0, 0, 0, 9}, 16);
		if (sp->mapped6)
			memcpy(ip + 8, (uint8_t[]){0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
						   0xff, 0xff, 203, 0, 113, 9},
			       16);
		memcpy(ip + 24, (uint8_t[]){0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0,
					    0, 0, 0, 0, 0, 0, 0, 0x25}, 16);
		for (i = 0; i < sp->n_ext; i++) {
			size_t elen = 8;

			*nhp = sp->ext[i];
			nhp = f + e;
			if (sp->ext[i] == 44) {
				f[e + 2] = sp->frag >> 8;
				f[e + 3] = sp->frag & 0xff;
			} else if (sp->ext[i] == 51) {
				f[e + 1] = 2;   /* (2 + 2) * 4 = 16 */
				elen = 16;
			} else if (i == sp->n_ext - 1 && sp->ext_len) {
				/* claims more than the 8 bytes it has */
				f[e + 1] = (uint8_t)sp->ext_len;
			} else {
				f[e + 2] = 1;   /* PadN */
				f[e + 3] = 4;
			}
			e += elen;
		}
		*nhp = sp->l4proto ? sp->l4proto : 6;
		l4 = e;
		iph = l4 - l3;
		ip[4] = (uint8_t)((iph - 40 + tcplen + sp->len_adj) >> 8);
		ip[5] = (uint8_t)((iph - 40 + tcplen + sp->len_adj) & 0xff);
	}
	th = f + l4;
	th[0] = 0x9c;                   /* 40000 */
	th[1] = 0x40;
	th[2] = 0;
	th[3] = 25;
	memcpy(th + 4, (uint8_t[]){0xde, 0xad, 0xbe, 0xef}, 4);
	memcpy(th + 8, (uint8_t[]){0x01, 0x02, 0x03, 0x04}, 4);
	th[12] = (uint8_t)((sp->doff ? sp->doff : doff) << 4);
	th[13] = sp->flags ? sp->flags : 0x18;
	th[14] = 0x10;
	th[15] = 0x00;
	for (i = 0; i < sp->tcp_opt; i++)
		th[20 + i] = 1;
	for (i = 0; i < sp->payload; i++)
		th[doff * 4 + i] = (uint8_t)('a' + i % 26);
	if (sp->family == 4) {
		uint16_t c = t_fold(t_sum(ip, iph, 0));

		ip[10] = c >> 8;
		ip[11] = c & 0xff;
		if (sp->bad_ipcsum)
			ip[11] ^= 0x01;
	}
	{
		uint16_t c = t_tcp_csum(ip, sp->family == 6, th, tcplen);

		th[16] = c >> 8;
		th[17] = c & 0xff;
		if (sp->bad_tcpcsum)
			th[17] ^= 0x40;
	}
	return l4 + tcplen;
}

struct pcase {
	const char *label;
	struct spec sp;
	enum ctl_pkt_status want;
};

#define V4(...) {.family = 4, __VA_ARGS__}
#define V6(...) {.family = 6, __VA_ARGS__}

static const struct pcase cases[] = {
	{"v4 plain", V4(.payload = 10), CTL_PKT_OK},
	{"v4 no payload", V4(.flags = 0x10), CTL_PKT_OK},
	{"v4 SYN", V4(.flags = 0x02), CTL_PKT_OK},
	{"v4 SYN-ACK", V4(.flags = 0x12, .tcp_opt = 20), CTL_PKT_OK},
	{"v4 FIN|URG|ECE", V4(.flags = 0x61, .payload = 3), CTL_PKT_OK},
	{"v4 odd payload", V4(.payload = 7), CTL_PKT_OK},
	{"v4 ip options", V4(.ip_opt = 40, .payload = 33), CTL_PKT_OK},
	{"v4 tcp options", V4(.tcp_opt = 40, .payload = 1), CTL_PKT_OK},
	{"v4 one vlan", V4(.vlans = 1, .payload = 12), CTL_PKT_OK},
	{"v4 qinq", V4(.vlans = 2, .payload = 12), CTL_PKT_OK},
	{"v4 two 8021q", V4(.vlans = 2, .tpid0 = 0x8100, .payload = 5),
	 CTL_PKT_OK},
	{"v4 three vlans", V4(.vlans = 3, .payload = 5), CTL_PKT_NOT_TCP},
	{"v4 atomic DF", V4(.frag = 0x4000, .payload = 4), CTL_PKT_OK},
	{"v4 first fragment", V4(.frag = 0x2000, .payload = 8),
	 CTL_PKT_NOT_TCP},
	{"v4 later fragment", V4(.frag = 0x0003, .payload = 8),
	 CTL_PKT_NOT_TCP},
	{"v4 udp", V4(.l4proto = 17, .payload = 8), CTL_PKT_NOT_TCP},
	{"v4 version 5", V4(.ipver = 5, .payload = 8), CTL_PKT_MALFORMED},
	{"v4 ihl 4", V4(.ihl = 4, .payload = 8), CTL_PKT_MALFORMED},
	{"v4 ihl past total", V4(.ihl = 15, .payload = 8), CTL_PKT_MALFORMED},
	{"v4 tot_len short of tcp", V4(.len_adj = -10, .payload = 4),
	 CTL_PKT_MALFORMED},
	{"v4 tot_len past frame", V4(.len_adj = 1, .payload = 4),
	 CTL_PKT_MALFORMED},
	{"v4 tot_len hides payload", V4(.len_adj = -3, .payload = 4),
	 CTL_PKT_BAD_CSUM},
	{"v4 doff 4", V4(.doff = 4, .payload = 8), CTL_PKT_MALFORMED},
	{"v4 doff past segment", V4(.doff = 15, .payload = 8),
	 CTL_PKT_MALFORMED},
	{"v4 bad ip csum", V4(.bad_ipcsum = 1, .payload = 8), CTL_PKT_BAD_CSUM},
	{"v4 bad tcp csum", V4(.bad_tcpcsum = 1, .payload = 8),
	 CTL_PKT_BAD_CSUM},
	{"v4 vlan bad tcp csum", V4(.vlans = 2, .bad_tcpcsum = 1),
	 CTL_PKT_BAD_CSUM},
	{"v6 plain", V6(.payload = 10), CTL_PKT_OK},
	{"v6 odd payload", V6(.payload = 13, .tcp_opt = 12), CTL_PKT_OK},
	{"v6 qinq", V6(.vlans = 2, .payload = 3), CTL_PKT_OK},
	{"v6 hop dst rt", V6(.ext = {0, 60, 43}, .n_ext = 3, .payload = 9),
	 CTL_PKT_OK},
	{"v6 ah", V6(.ext = {51}, .n_ext = 1, .payload = 9), CTL_PKT_OK},
	{"v6 atomic fragment", V6(.ext = {44}, .n_ext = 1, .payload = 9),
	 CTL_PKT_OK},
	{"v6 six ext", V6(.ext = {0, 60, 43, 60, 43, 60}, .n_ext = 6,
			  .payload = 2), CTL_PKT_OK},
	{"v6 seven ext", V6(.ext = {0, 60, 43, 60, 43, 60, 60}, .n_ext = 7,
			    .payload = 2), CTL_PKT_NOT_TCP},
	{"v6 fragment", V6(.ext = {44}, .n_ext = 1, .frag = 0x0001,
			   .payload = 9), CTL_PKT_NOT_TCP},
	{"v6 later fragment", V6(.ext = {60, 44}, .n_ext = 2, .frag = 0x0008,
				 .payload = 9), CTL_PKT_NOT_TCP},
	{"v6 late hop-by-hop", V6(.ext = {60, 0}, .n_ext = 2, .payload = 9),
	 CTL_PKT_MALFORMED},
	{"v6 ext past packet", V6(.ext = {60}, .n_ext = 1, .ext_len = 4,
				  .payload = 9), CTL_PKT_MALFORMED},
	{"v6 no next header", V6(.l4proto = 59), CTL_PKT_NOT_TCP},
	{"v6 icmp", V6(.l4proto = 58, .payload = 8), CTL_PKT_NOT_TCP},
	{"v6 version 4", V6(.ipver = 4, .payload = 8), CTL_PKT_MALFORMED},
	{"v6 mapped source", V6(.mapped6 = 1, .payload = 8), CTL_PKT_MALFORMED},
	{"v6 plen past frame", V6(.len_adj = 1, .payload = 8),
	 CTL_PKT_MALFORMED},
	{"v6 plen short of tcp", V6(.len_adj = -10, .payload = 8),
	 CTL_PKT_MALFORMED},
	{"v6 jumbo plen 0", V6(.len_adj = -28, .payload = 8),
	 CTL_PKT_MALFORMED},
	{"v6 doff past segment", V6(.doff = 9, .payload = 8),
	 CTL_PKT_MALFORMED},
	{"v6 bad tcp csum", V6(.bad_tcpcsum = 1, .payload = 8),
	 CTL_PKT_BAD_CSUM},
};

/* Frames that are not IP at all. */
static void test_not_ip(void)
{
	uint8_t f[64] = {0};
	struct mxi_pkt p;
	struct ctl_pkt_info in;

	f[12] = 0x08;
	f[13] = 0x06;                   /* ARP */
	CHECK(ctl_pkt_parse(f, 42, &p, &in) == CTL_PKT_NOT_TCP, "arp");
	f[12] = 0x81;
	f[13] = 0x00;
	f[16] = 0x08;
	f[17] = 0x06;
	CHECK(ctl_pkt_parse(f, 46, &p, &in) == CTL_PKT_NOT_TCP, "vlan arp");
	CHECK(ctl_pkt_parse(f, 17, &p, &in) == CTL_PKT_MALFORMED,
	      "vlan cut");
	CHECK(ctl_pkt_parse(f, 0, &p, &in) == CTL_PKT_MALFORMED, "empty");
	CHECK(ctl_pkt_parse(NULL, 60, &p, &in) == CTL_PKT_MALFORMED, "NULL");
	CHECK(strcmp(ctl_pkt_status_name(CTL_PKT_BAD_CSUM), "bad_csum") == 0,
	      "status name");
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* One RST against the frame it kills.  same_dir: the RST travels in the
 * frame's direction.  Checks every header byte we own. */
static void check_rst(const char *label, const uint8_t *f,
		      const struct ctl_pkt_info *fi, const struct mxi_pkt *fp,
		      const uint8_t *r, size_t rlen, bool same_dir)
{
	struct mxi_pkt rp;
	struct ctl_pkt_info ri;
	const uint8_t *fl3 = f + fi->l3_off, *rl3 = r + fi->l3_off, *rth;
	size_t alen = fi->ipv6 ? 16 : 4, soff = fi->ipv6 ? 8 : 12;
	size_t iph = fi->ipv6 ? 40 : 20, want_len;
	uint32_t seglen = fp->len + !!(fp->tcp_flags & TCPR_F_SYN) +
			  !!(fp->tcp_flags & TCPR_F_FIN);
	bool fack = fp->tcp_flags & TCPR_F_ACK;

	want_len = fi->l3_off + iph + 20;
	if (want_len < 60)
		want_len = 60;
	CHECK(rlen == want_len, label);
	/* L2: MACs kept or swapped, VLAN stack and ethertype kept */
	CHECK(memcmp(r, f + (same_dir ? 0 : 6), 6) == 0, label);
	CHECK(memcmp(r + 6, f + (same_dir ? 6 : 0), 6) == 0, label);
	CHECK(memcmp(r + 12, f + 12, fi->l3_off - 12) == 0, label);
	/* L3 */
	if (fi->ipv6) {
		CHECK(rl3[0] == 0x60 && rl3[1] == 0 && rl3[2] == 0 &&
		      rl3[3] == 0, label);
		CHECK(rd16(rl3 + 4) == 20 && rl3[6] == 6 && rl3[7] == 64,
		      label);
	} else {
		CHECK(rl3[0] == 0x45 && rd16(rl3 + 2) == 40, label);
		CHECK(rd16(rl3 + 6) == 0x4000 && rl3[8] == 64 && rl3[9] == 6,
		      label);
		CHECK(t_fold(t_sum(rl3, 20, 0)) == 0, label);
	}
	CHECK(memcmp(rl3 + soff, fl3 + soff + (same_dir ? 0 : alen), alen) ==
	      0, label);
	CHECK(memcmp(rl3 + soff + alen, fl3 + soff + (same_dir ? alen : 0),
		     alen) == 0, label);
	/* L4 */
	rth = rl3 + iph;
	CHECK(rd16(rth) == (same_dir ? fp->sport : fp->dport), label);
	CHECK(rd16(rth + 2) == (same_dir ? fp->dport : fp->sport), label);
	if (same_dir) {
		CHECK(rd32(rth + 4) == fp->seq, label);
		CHECK(rd32(rth + 8) == (fack ? fp->ack : 0), label);
		CHECK(rth[13] == (fack ? 0x14 : 0x04), label);
	} else {
		CHECK(rd32(rth + 4) == (fack ? fp->ack : 0), label);
		CHECK(rd32(rth + 8) == fp->seq + seglen, label);
		CHECK(rth[13] == 0x14, label);
	}
	CHECK(rth[12] == 0x50 && rd16(rth + 14) == 0 && rd16(rth + 18) == 0,
	      label);
	CHECK(t_tcp_csum(rl3, fi->ipv6, rth, 20) == 0, label);
	/* padding is zero */
	for (size_t i = fi->l3_off + iph + 20; i < rlen; i++)
		CHECK(r[i] == 0, label);
	/* and ctl_pkt_parse() takes it */
	CHECK(ctl_pkt_parse(r, rlen, &rp, &ri) == CTL_PKT_OK, label);
	CHECK(rp.len == 0 && (rp.tcp_flags & TCPR_F_RST), label);
	CHECK(ri.n_vlan == fi->n_vlan && ri.ipv6 == fi->ipv6, label);
	CHECK(memcmp(&rp.src, same_dir ? &fp->src : &fp->dst,
		     sizeof(rp.src)) == 0, label);
}

static void test_rsts(const char *label, const uint8_t *f, size_t len)
{
	uint8_t a[CTL_PKT_RST_MAX], b[CTL_PKT_RST_MAX];
	size_t la = 0, lb = 0;
	struct mxi_pkt p;
	struct ctl_pkt_info in;
	char lbl[160];

	if (ctl_pkt_parse(f, len, &p, &in) != CTL_PKT_OK)
		return;
	/* from the client: a goes to the server in the frame's direction */
	snprintf(lbl, sizeof(lbl), "%s: rst from_client", label);
	CHECK(ctl_pkt_build_rsts(f, &in, true, a, &la, b, &lb) == 0, lbl);
	check_rst(lbl, f, &in, &p, a, la, true);
	check_rst(lbl, f, &in, &p, b, lb, false);
	snprintf(lbl, sizeof(lbl), "%s: rst from_server", label);
	CHECK(ctl_pkt_build_rsts(f, &in, false, a, &la, b, &lb) == 0, lbl);
	check_rst(lbl, f, &in, &p, b, lb, true);
	check_rst(lbl, f, &in, &p, a, la, false);
}

/* Every cut short of the IP packet is refused; padding changes nothing;
 * any changed byte from L3 on never yields the same segment. */
static void test_cuts_and_flips(const char *label, const uint8_t *f,
				size_t len)
{
	static uint8_t g[FB_MAX + 64];
	struct mxi_pkt p, q;
	struct ctl_pkt_info in, iq;
	char lbl[160];
	size_t k, end;

	if (ctl_pkt_parse(f, len, &p, &in) != CTL_PKT_OK)
		return;
	end = (size_t)in.l3_off + in.ip_len;
	CHECK(end == len, label);
	for (k = 0; k < end; k++) {
		enum ctl_pkt_status st = ctl_pkt_parse(f, k, &q, &iq);

		snprintf(lbl, sizeof(lbl), "%s: cut at %zu -> %s", label, k,
			 ctl_pkt_status_name(st));
		CHECK(st == CTL_PKT_MALFORMED, lbl);
	}
	memcpy(g, f, len);
	memset(g + len, 0xa5, 64);
	snprintf(lbl, sizeof(lbl), "%s: padded", label);
	CHECK(ctl_pkt_parse(g, len + 64, &q, &iq) == CTL_PKT_OK, lbl);
	CHECK(memcmp(&iq, &in, sizeof(in)) == 0 && q.len == p.len &&
	      q.seq == p.seq, lbl);
	for (k = in.l3_off; k < end; k++) {
		enum ctl_pkt_status st;

		memcpy(g, f, len);
		g[k] ^= 0x20;
		st = ctl_pkt_parse(g, len, &q, &iq);
		snprintf(lbl, sizeof(lbl), "%s: flip byte %zu -> %s", label,
			 k, ctl_pkt_status_name(st));
		/* A flip inside an IPv6 header field that no checksum covers
		 * (traffic class, flow label, hop limit) is harmless; every
		 * other one must be caught. */
		if (in.ipv6 && (k < (size_t)in.l3_off + 4 ||
				k == (size_t)in.l3_off + 7))
			CHECK(st == CTL_PKT_OK || k == in.l3_off, lbl);
		else if (in.ipv6 && k >= (size_t)in.l3_off + 40 &&
			 k < in.l4_off)
			/* extension header contents: options are not
			 * covered either; the chain itself must hold */
			CHECK(st != CTL_PKT_OK || q.seq == p.seq, lbl);
		else
			CHECK(st != CTL_PKT_OK, lbl);
	}
}

static void test_build_rst_refuses(void)
{
	uint8_t a[CTL_PKT_RST_MAX], b[CTL_PKT_RST_MAX];
	size_t la, lb;
	struct ctl_pkt_info in;

	memset(&in, 0, sizeof(in));
	CHECK(ctl_pkt_build_rsts(golden4, &in, true, a, &la, b, &lb) == -1,
	      "rst: zero info");
	in.l3_off = 200;
	in.l4_off = 240;
	in.payload_off = 260;
	in.ip_len = 60;
	CHECK(ctl_pkt_build_rsts(golden4, &in, true, a, &la, b, &lb) == -1,
	      "rst: l3 past the vlan stack");
	CHECK(ctl_pkt_build_rsts(NULL, &in, true, a, &la, b, &lb) == -1,
	      "rst: NULL frame");
}

/*
 * RSTs for a session known by its tuple and next sequence numbers, from a
 * saved link-layer header (a blocked source's other sessions): each RST
 * parses as TCP with the right addresses, ports, seq and ack, and its
 * MACs and VLAN tags are those of the saved frame, swapped for the
 * direction the frame did not come from.
 */
/* One RST of ctl_pkt_build_flow_rsts: addresses, ports, seq, ack, flags,
 * and the saved frame's link-layer header, its MACs as in the frame when
 * same_macs, else swapped. */
static void check_flow_rst(const char *lbl, const uint8_t *r, size_t rlen,
			   const uint8_t *f, size_t l3_off,
			   const struct mxw_addr *src, const struct mxw_addr *dst,
			   uint16_t sport, uint16_t dport, uint32_t seq,
			   uint32_t ack, bool same_macs)
{
	struct ctl_pkt_info ri;
	struct mxi_pkt rp;

	CHECK(ctl_pkt_parse(r, rlen, &rp, &ri) == CTL_PKT_OK, lbl);
	CHECK(memcmp(rp.src.a, src->a, 16) == 0 &&
	      memcmp(rp.dst.a, dst->a, 16) == 0 && rp.sport == sport &&
	      rp.dport == dport, lbl);
	CHECK(rp.seq == seq && rp.ack == ack &&
	      rp.tcp_flags == (TCPR_F_RST | TCPR_F_ACK) && rp.len == 0, lbl);
	CHECK(memcmp(r, f + (same_macs ? 0 : 6), 6) == 0 &&
	      memcmp(r + 6, f + (same_macs ? 6 : 0), 6) == 0 &&
	      memcmp(r + 12, f + 12, l3_off - 12) == 0, lbl);
}

static void test_flow_rsts(const char *label, const uint8_t *f, size_t len,
			   bool saved_from_client)
{
	uint8_t ts[CTL_PKT_RST_MAX], tc[CTL_PKT_RST_MAX];
	size_t ls = 0, lc = 0;
	struct ctl_pkt_l2 l2 = {0};
	struct ctl_pkt_info in;
	struct mxi_pkt p;
	const uint32_t cn = 0x01020304, sn = 0xfffffffe;
	char lbl[160];

	snprintf(lbl, sizeof(lbl), "%s: flow rsts, l2 from the %s", label,
		 saved_from_client ? "client" : "server");
	CHECK(ctl_pkt_parse(f, len, &p, &in) == CTL_PKT_OK, lbl);
	CHECK(ctl_pkt_build_flow_rsts(&l2, &p.src, &p.dst, p.sport, p.dport,
				      cn, sn, ts, &ls, tc, &lc) == -1, lbl);
	ctl_pkt_l2_save(&l2, f, &in, saved_from_client);
	CHECK(l2.set && l2.len == in.l3_off && l2.ipv6 == in.ipv6, lbl);
	/* the frame's source is the client here */
	CHECK(ctl_pkt_build_flow_rsts(&l2, &p.src, &p.dst, p.sport, p.dport,
				      cn, sn, ts, &ls, tc, &lc) == 0, lbl);
	check_flow_rst(lbl, ts, ls, f, in.l3_off, &p.src, &p.dst, p.sport,
		       p.dport, cn, sn, saved_from_client);
	check_flow_rst(lbl, tc, lc, f, in.l3_off, &p.dst, &p.src, p.dport,
		       p.sport, sn, cn, !saved_from_client);
	/* a header that cannot be one: refused */
	l2.len = 15;
	CHECK(ctl_pkt_build_flow_rsts(&l2, &p.src, &p.dst, p.sport, p.dport,
				      cn, sn, ts, &ls, tc, &lc) == -1, lbl);
}

int main(void)
{
	static uint8_t f[FB_MAX];
	size_t i;

	test_golden();
	test_not_ip();
	test_build_rst_refuses();
	test_rsts("golden4", golden4, sizeof(golden4));
	test_rsts("golden6", golden6, sizeof(golden6));
	test_flow_rsts("golden4", golden4, sizeof(golden4), true);
	test_flow_rsts("golden4", golden4, sizeof(golden4), false);
	test_flow_rsts("golden6", golden6, sizeof(golden6), true);
	test_flow_rsts("golden6", golden6, sizeof(golden6), false);
	test_cuts_and_flips("golden4", golden4, sizeof(golden4));
	test_cuts_and_flips("golden6", golden6, sizeof(golden6));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct pcase *c = &cases[i];
		size_t len = build(&c->sp, f);
		struct mxi_pkt p;
		struct ctl_pkt_info in;
		enum ctl_pkt_status st = ctl_pkt_parse(f, len, &p, &in);
		char lbl[160];

		snprintf(lbl, sizeof(lbl), "%s: got %s want %s", c->label,
			 ctl_pkt_status_name(st), ctl_pkt_status_name(c->want));
		CHECK(st == c->want, lbl);
		if (st != CTL_PKT_OK)
			continue;
		CHECK(p.sport == 40000 && p.dport == 25, c->label);
		CHECK(p.seq == 0xdeadbeef && p.ack == 0x01020304, c->label);
		CHECK(p.len == (uint32_t)c->sp.payload, c->label);
		CHECK(p.tcp_flags == ((c->sp.flags ? c->sp.flags : 0x18) & 0x1f),
		      c->label);
		CHECK(in.tcp_flags == (c->sp.flags ? c->sp.flags : 0x18),
		      c->label);
		CHECK(in.n_vlan == c->sp.vlans && in.window == 0x1000,
		      c->label);
		CHECK(in.payload_off == len - c->sp.payload &&
		      p.payload == f + in.payload_off, c->label);
		test_rsts(c->label, f, len);
		test_cuts_and_flips(c->label, f, len);
	}
	return ctltest_done("test_pkt");
}
