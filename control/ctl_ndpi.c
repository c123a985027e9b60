// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctl_ndpi.c - nDPI 4.2 classification of inspected TCP sessions
 * (ctl_ndpi.h, docs/inspection.md "nDPI").
 *
 * Decisions:
 *  - Memory is bounded by max_flows: a fixed slot array, a chained hash on
 *    the session id and an LRU list; a new session at the cap evicts the
 *    least recently fed one.  nDPI's flow state (SIZEOF_FLOW_STRUCT, zeroed)
 *    is allocated when a session is first fed and released as soon as it
 *    is decided; the slot stays, so a decided session answers 0 without
 *    asking nDPI again until it is forgotten or evicted.
 *  - A packet is checked before nDPI sees it: IPv4 or IPv6 without
 *    extension headers, TCP, every length field within the buffer.  nDPI
 *    gets the IP datagram only (total length, not the caller's buffer, so
 *    Ethernet padding never reaches it).
 *  - Mail sessions are not decided on first detection: nDPI sets
 *    NDPI_CLEAR_TEXT_CREDENTIALS only when it sees the password (POP3 PASS,
 *    IMAP LOGIN, SMTP AUTH), a few packets after it named the protocol.  A
 *    session detected as mail stays open while nDPI says extra dissection
 *    is possible, up to CTL_NDPI_MAIL_PKTS packets; whatever nDPI knows then
 *    is the result.
 *  - Giving up after CTL_NDPI_GIVEUP_PKTS undetected packets calls
 *    ndpi_detection_giveup() with guessing.  Only a session that showed
 *    payload from both sides and got no guess at all is "not mail": a
 *    quiet session, or one nDPI can only guess at, is never flagged.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ndpi/ndpi_api.h>

#include "ctl_ndpi.h"

#define CTL_NDPI_GIVEUP_PKTS    16      /* undetected packets before giving up */
#define CTL_NDPI_MAIL_PKTS      32      /* packets a mail session is watched */
#define CTL_NDPI_IP_MAX         65535   /* nDPI takes an unsigned short length */

/* Implicit-TLS mail ports (RFC 8314 SMTPS, IMAPS, POP3S): TLS there is mail
 * even when nDPI does not name the mail protocol inside.
 * XXX: fixed list; configured tls_ports are not known here. */
static const uint16_t ctl_ndpi_tls_ports[] = { 465, 993, 995 };

#define CTL_NDPI_SIDE_CLIENT    1u
#define CTL_NDPI_SIDE_SERVER    2u

struct ctl_ndpi_flow {
	uint64_t id;
	struct ndpi_flow_struct *f;     /* NULL once decided */
	uint32_t hnext;                 /* hash chain or free list: slot + 1 */
	uint32_t prev, next;            /* LRU, most recent first: slot + 1 */
	uint16_t pkts;                  /* packets given to nDPI */
	uint16_t server_port;
	uint8_t sides;                  /* CTL_NDPI_SIDE_* that sent payload */
	bool used, decided;
};

struct ctl_ndpi {
	struct ndpi_detection_module_struct *mod;
	struct ctl_ndpi_flow *slot;
	uint32_t *bucket;               /* slot + 1, 0 = empty */
	uint32_t mask;                  /* buckets - 1 */
	uint32_t max;
	uint32_t lru_head, lru_tail;    /* slot + 1 */
	uint32_t free_head;             /* slot + 1 */
};

/* What the packet check finds out. */
struct ctl_ndpi_pkt {
	uint32_t ip_len;                /* the datagram's own length */
	uint32_t payload;               /* TCP payload bytes */
	uint16_t sport, dport;
};

static uint32_t ctl_ndpi_hash(const struct ctl_ndpi *n, uint64_t id)
{
	/* splitmix64 finaliser: session ids may be sequential */
	id ^= id >> 30;
	id *= 0xbf58476d1ce4e5b9ull;
	id ^= id >> 27;
	id *= 0x94d049bb133111ebull;
	id ^= id >> 31;
	return (uint32_t)id & n->mask;
}

static uint16_t ctl_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* IPv4 / IPv6 (no extension headers) carrying a whole TCP header, every
 * length within len.  0 or -EINVAL. */
static int ctl_ndpi_check(const uint8_t *ip, uint32_t len,
			  struct ctl_ndpi_pkt *pk)
{
	const uint8_t *tcp;
	uint32_t hl, l4, doff;

	if (len < 20)
		return -EINVAL;
	switch (ip[0] >> 4) {
	case 4:
		hl = (uint32_t)(ip[0] & 0x0f) * 4;
		pk->ip_len = ctl_be16(ip + 2);
		if (hl < 20 || pk->ip_len < hl || pk->ip_len > len ||
		    ip[9] != IPPROTO_TCP)
			return -EINVAL;
		/* a fragment has no TCP header of its own to judge */
		if (ctl_be16(ip + 6) & 0x3fff)
			return -EINVAL;
		break;
	case 6:
		hl = 40;
		if (len < hl)
			return -EINVAL;
		pk->ip_len = hl + ctl_be16(ip + 4);
		if (pk->ip_len > len || ip[6] != IPPROTO_TCP)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	l4 = pk->ip_len - hl;
	if (l4 < 20)
		return -EINVAL;
	tcp = ip + hl;
	doff = (uint32_t)(tcp[12] >> 4) * 4;
	if (doff < 20 || doff > l4)
		return -EINVAL;
	pk->payload = l4 - doff;
	pk->sport = ctl_be16(tcp);
	pk->dport = ctl_be16(tcp + 2);
	return 0;
}

struct ctl_ndpi *ctl_ndpi_new(uint32_t max_flows, char *err, size_t errlen)
{
	NDPI_PROTOCOL_BITMASK all;
	struct ctl_ndpi *n;
	uint32_t nb = 1;

	if (max_flows == 0 || max_flows > CTL_NDPI_FLOWS_MAX) {
		snprintf(err, errlen, "nDPI flows: %u out of range 1..%u",
			 max_flows, CTL_NDPI_FLOWS_MAX);
		return NULL;
	}
	while (nb < max_flows)
		nb <<= 1;
	n = calloc(1, sizeof(*n));
	if (!n)
		goto nomem;
	n->max = max_flows;
	n->mask = nb - 1;
	n->slot = calloc(max_flows, sizeof(*n->slot));
	n->bucket = calloc(nb, sizeof(*n->bucket));
	if (!n->slot || !n->bucket)
		goto nomem;
	for (uint32_t i = 0; i < max_flows; i++)
		n->slot[i].hnext = i + 2 <= max_flows ? i + 2 : 0;
	n->free_head = 1;
	/* The order ENVIRONMENT.md found to work with nDPI 4.2. */
	n->mod = ndpi_init_detection_module(ndpi_no_prefs);
	if (!n->mod) {
		snprintf(err, errlen, "nDPI: cannot initialise the detection module");
		ctl_ndpi_free(n);
		return NULL;
	}
	NDPI_BITMASK_SET_ALL(all);
	ndpi_set_protocol_detection_bitmask2(n->mod, &all);
	ndpi_finalize_initialization(n->mod);
	return n;
nomem:
	snprintf(err, errlen, "nDPI: out of memory for %u flows", max_flows);
	ctl_ndpi_free(n);
	return NULL;
}

static void ctl_ndpi_release(struct ctl_ndpi_flow *fl)
{
	if (fl->f) {
		/* ndpi_free_flow(): the flow's own allocations, then the
		 * flow (ndpi_flow_malloc'ed) */
		ndpi_free_flow(fl->f);
		fl->f = NULL;
	}
}

void ctl_ndpi_free(struct ctl_ndpi *n)
{
	if (!n)
		return;
	if (n->slot)
		for (uint32_t i = 0; i < n->max; i++)
			ctl_ndpi_release(&n->slot[i]);
	if (n->mod)
		ndpi_exit_detection_module(n->mod);
	free(n->slot);
	free(n->bucket);
	free(n);
}

static void ctl_lru_unlink(struct ctl_ndpi *n, uint32_t s)
{
	struct ctl_ndpi_flow *fl = &n->slot[s - 1];

	if (fl->prev)
		n->slot[fl->prev - 1].next = fl->next;
	else
		n->lru_head = fl->next;
	if (fl->next)
		n->slot[fl->next - 1].prev = fl->prev;
	else
		n->lru_tail = fl->prev;
	fl->prev = fl->next = 0;
}

static void ctl_lru_push(struct ctl_ndpi *n, uint32_t s)
{
	struct ctl_ndpi_flow *fl = &n->slot[s - 1];

	fl->prev = 0;
	fl->next = n->lru_head;
	if (n->lru_head)
		n->slot[n->lru_head - 1].prev = s;
	else
		n->lru_tail = s;
	n->lru_head = s;
}

/* Slot + 1 of session id, 0 if unknown. */
static uint32_t ctl_ndpi_find(const struct ctl_ndpi *n, uint64_t id)
{
	uint32_t s = n->bucket[ctl_ndpi_hash(n, id)];

	while (s && n->slot[s - 1].id != id)
		s = n->slot[s - 1].hnext;
	return s;
}

/* Take slot s (slot + 1) out of its hash chain and the LRU, free it. */
static void ctl_ndpi_drop(struct ctl_ndpi *n, uint32_t s)
{
	struct ctl_ndpi_flow *fl = &n->slot[s - 1];
	uint32_t *pp = &n->bucket[ctl_ndpi_hash(n, fl->id)];

	while (*pp && *pp != s)
		pp = &n->slot[*pp - 1].hnext;
	if (*pp)
		*pp = fl->hnext;
	ctl_lru_unlink(n, s);
	ctl_ndpi_release(fl);
	memset(fl, 0, sizeof(*fl));
	fl->hnext = n->free_head;
	n->free_head = s;
}

/* Find or create session id, most recent in the LRU; slot + 1. */
static uint32_t ctl_ndpi_get(struct ctl_ndpi *n, uint64_t id)
{
	uint32_t s = ctl_ndpi_find(n, id), h;
	struct ctl_ndpi_flow *fl;

	if (s) {
		ctl_lru_unlink(n, s);
		ctl_lru_push(n, s);
		return s;
	}
	if (!n->free_head)
		ctl_ndpi_drop(n, n->lru_tail);  /* the cap: oldest goes */
	s = n->free_head;
	fl = &n->slot[s - 1];
	n->free_head = fl->hnext;
	memset(fl, 0, sizeof(*fl));
	fl->id = id;
	fl->used = true;
	h = ctl_ndpi_hash(n, id);
	fl->hnext = n->bucket[h];
	n->bucket[h] = s;
	ctl_lru_push(n, s);
	return s;
}

void ctl_ndpi_forget(struct ctl_ndpi *n, uint64_t session_id)
{
	uint32_t s;

	if (!n)
		return;
	s = ctl_ndpi_find(n, session_id);
	if (s)
		ctl_ndpi_drop(n, s);
}

static bool ctl_ndpi_is_mail(uint16_t p)
{
	switch (p) {
	case NDPI_PROTOCOL_MAIL_SMTP:
	case NDPI_PROTOCOL_MAIL_SMTPS:
	case NDPI_PROTOCOL_MAIL_POP:
	case NDPI_PROTOCOL_MAIL_POPS:
	case NDPI_PROTOCOL_MAIL_IMAP:
	case NDPI_PROTOCOL_MAIL_IMAPS:
		return true;
	default:
		return false;
	}
}

static bool ctl_ndpi_tls_port(uint16_t port)
{
	for (size_t i = 0; i < sizeof(ctl_ndpi_tls_ports) /
			       sizeof(ctl_ndpi_tls_ports[0]); i++)
		if (ctl_ndpi_tls_ports[i] == port)
			return true;
	return false;
}

/*
 * nDPI 4.2 reports the protocol it recognised in the payload as
 * app_protocol; master_protocol is either a container (TLS, HTTP, with
 * the service in app) or, for some dissectors, a guess from the port:
 * HTTP on port 25 comes back as master SMTP, app HTTP.  So a mail master
 * counts only when app names nothing else.
 */
static bool ctl_ndpi_container(uint16_t p)
{
	return p == NDPI_PROTOCOL_TLS || p == NDPI_PROTOCOL_HTTP;
}

/* Mail by nDPI's name for it, or TLS on an implicit-TLS port. */
static bool ctl_ndpi_mail(ndpi_protocol p, uint16_t server_port)
{
	if (ctl_ndpi_is_mail(p.app_protocol))
		return true;
	if (p.master_protocol == NDPI_PROTOCOL_TLS ||
	    p.app_protocol == NDPI_PROTOCOL_TLS)
		return ctl_ndpi_tls_port(server_port);
	return p.app_protocol == NDPI_PROTOCOL_UNKNOWN &&
	       ctl_ndpi_is_mail(p.master_protocol);
}

static void ctl_ndpi_fill(struct ctl_ndpi *n, struct ctl_ndpi_flow *fl,
			  ndpi_protocol p, struct ctl_ndpi_result *res)
{
	const char *name;

	memset(res, 0, sizeof(*res));
	/* The name of what is in the payload: the container when nDPI
	 * names a service on top (TLS.Google gives TLS), else the app. */
	if (ctl_ndpi_container(p.master_protocol) ||
	    p.app_protocol == NDPI_PROTOCOL_UNKNOWN)
		res->proto_id = p.master_protocol;
	else
		res->proto_id = p.app_protocol;
	name = ndpi_get_proto_name(n->mod, res->proto_id);
	snprintf(res->proto, sizeof(res->proto), "%s", name ? name : "Unknown");
	res->cleartext_creds = ndpi_isset_risk(n->mod, fl->f,
					       NDPI_CLEAR_TEXT_CREDENTIALS) != 0;
}

int ctl_ndpi_feed(struct ctl_ndpi *n, uint64_t session_id, const uint8_t *ip,
		  uint32_t len, bool from_client, uint64_t now_ms,
		  struct ctl_ndpi_result *res)
{
	struct ctl_ndpi_pkt pk;
	struct ctl_ndpi_flow *fl;
	ndpi_protocol p;
	uint8_t guessed = 0;
	uint32_t s;

	if (!n || !ip || !res || len > CTL_NDPI_IP_MAX ||
	    ctl_ndpi_check(ip, len, &pk))
		return -1;
	s = ctl_ndpi_get(n, session_id);
	fl = &n->slot[s - 1];
	if (fl->decided)
		return 0;
	if (!fl->f) {
		fl->f = ndpi_flow_malloc(SIZEOF_FLOW_STRUCT);
		if (!fl->f) {
			ctl_ndpi_drop(n, s);
			return -1;
		}
		memset(fl->f, 0, SIZEOF_FLOW_STRUCT);
	}
	fl->server_port = from_client ? pk.dport : pk.sport;
	if (pk.payload)
		fl->sides |= from_client ? CTL_NDPI_SIDE_CLIENT :
					   CTL_NDPI_SIDE_SERVER;
	p = ndpi_detection_process_packet(n->mod, fl->f, ip,
					  (unsigned short)pk.ip_len, now_ms);
	fl->pkts++;

	if (p.master_protocol != NDPI_PROTOCOL_UNKNOWN ||
	    p.app_protocol != NDPI_PROTOCOL_UNKNOWN) {
		bool mail = ctl_ndpi_mail(p, fl->server_port);

		/* Wait for the password (or its absence) on mail sessions. */
		if (mail && fl->pkts < CTL_NDPI_MAIL_PKTS &&
		    ndpi_extra_dissection_possible(n->mod, fl->f) &&
		    !ndpi_isset_risk(n->mod, fl->f, NDPI_CLEAR_TEXT_CREDENTIALS))
			return 0;
		ctl_ndpi_fill(n, fl, p, res);
		res->mail = mail;
	} else if (fl->pkts >= CTL_NDPI_GIVEUP_PKTS) {
		p = ndpi_detection_giveup(n->mod, fl->f, 1, &guessed);
		ctl_ndpi_fill(n, fl, p, res);
		/* Not mail only when both sides talked and nDPI has not even
		 * a guess; otherwise legitimate mail must not be flagged. */
		res->mail = res->proto_id != NDPI_PROTOCOL_UNKNOWN ||
			    fl->sides != (CTL_NDPI_SIDE_CLIENT |
					  CTL_NDPI_SIDE_SERVER);
	} else {
		return 0;
	}
	fl->decided = true;
	ctl_ndpi_release(fl);
	return 1;
}
