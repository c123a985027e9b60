/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctl_pkt.h - frames of the inspection path, as pure functions (no I/O, so
 * they are unit-tested and fuzzed alone): parse an Ethernet frame (up to
 * two VLAN tags, IPv4 / IPv6 with extension headers) into the engine's
 * struct mxi_pkt with the TCP checksum verified, and build the RST frames
 * that kill a session.
 */
#ifndef CTL_PKT_H
#define CTL_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "insp.h"

enum ctl_pkt_status {
	CTL_PKT_OK = 0,         /* TCP, checksum good, *out filled */
	CTL_PKT_NOT_TCP,        /* not (IPv4|IPv6)/TCP, or a fragment */
	CTL_PKT_MALFORMED,      /* truncated, bad lengths or offsets */
	CTL_PKT_BAD_CSUM,       /* IPv4 header or TCP checksum wrong */
};

/* Where things are in a parsed frame (offsets from the frame start). */
struct ctl_pkt_info {
	uint16_t l3_off;        /* IPv4 / IPv6 header */
	uint16_t l4_off;        /* TCP header */
	uint16_t payload_off;
	uint8_t ipv6;           /* 1: IPv6, 0: IPv4 */
	uint8_t n_vlan;         /* tags before l3 */
	uint16_t window;        /* TCP window, host order */
	uint32_t ip_len;        /* IP packet length from its header */
	uint8_t tcp_flags;      /* the raw TCP flag byte: URG, ECE, CWR
				 * too, which struct mxi_pkt does not carry.
				 * URG matters: Linux hands the urgent byte
				 * out of band (SO_OOBINLINE is off in
				 * Postfix), so the server's stream lacks a
				 * byte the engine sees; ctl_insp.c drops
				 * such segments (docs/inspection.md) */
};
#define CTL_PKT_TCP_URG 0x20

/* Parse frame[0..len).  On CTL_PKT_OK, *out points into frame (payload)
 * and *info tells the layout.  Ethernet padding past the IP length is
 * ignored. */
enum ctl_pkt_status ctl_pkt_parse(const uint8_t *frame, size_t len,
				  struct mxi_pkt *out,
				  struct ctl_pkt_info *info);

const char *ctl_pkt_status_name(enum ctl_pkt_status s);

/*
 * Build the two RSTs that end the session of a killed frame (frame/info as
 * parsed; the frame came from the client side when from_client):
 *   to_server: same addresses and VLAN stack as the frame, seq = the
 *              client's sequence number of the frame (the server's next
 *              expected byte), ACK set;
 *   to_client: MACs, addresses and ports swapped, seq = the frame's ack
 *              number (the client's next expected byte), ACK = the
 *              frame's seq + its length (SYN and FIN count one).
 * A frame without ACK (a bare SYN) has no ack number: to_server then
 * carries no ACK either, and to_client gets seq 0 (RFC 793 3.4).
 * When the killed frame came from the server side the roles swap.  Each
 * buffer must hold CTL_PKT_RST_MAX bytes; lengths are returned through
 * *len_server / *len_client.  Checksums are complete.  Returns 0, or -1
 * when the frame is not a parsed TCP frame.
 */
#define CTL_PKT_RST_MAX 128
int ctl_pkt_build_rsts(const uint8_t *frame, const struct ctl_pkt_info *info,
		       bool from_client,
		       uint8_t *to_server, size_t *len_server,
		       uint8_t *to_client, size_t *len_client);

/*
 * A frame's link-layer header (Ethernet and up to MXW_VLAN_MAX_DEPTH
 * tags), kept with its flow (struct mxi_result.user) so that the flow can
 * be reset later without a frame of it at hand: a blocked source's other
 * sessions (ctl_insp.c).  set is 0 until ctl_pkt_l2_save filled it.
 */
#define CTL_PKT_L2_MAX  (14 + 4 * MXW_VLAN_MAX_DEPTH)
struct ctl_pkt_l2 {
	uint8_t set;
	uint8_t from_client;    /* the frame it came from */
	uint8_t ipv6;
	uint8_t len;            /* 14 + 4 per tag */
	uint8_t hdr[CTL_PKT_L2_MAX];
};

_Static_assert(sizeof(struct ctl_pkt_l2) <= MXI_USER_BYTES,
	       "struct ctl_pkt_l2 fits a flow's user bytes");

/* Keep the link-layer header of a frame as parsed (info). */
void ctl_pkt_l2_save(struct ctl_pkt_l2 *l2, const uint8_t *frame,
		     const struct ctl_pkt_info *info, bool from_client);

/*
 * The two RSTs of ctl_pkt_build_rsts for a session known by its tuple and
 * the next sequence number each side will send (client_next,
 * server_next): to_server carries seq client_next, to_client seq
 * server_next, both with ACK; the link-layer header is l2's, MACs swapped
 * for the direction l2 did not come from.  Returns 0, or -1 when l2 is
 * not set or does not fit.
 */
int ctl_pkt_build_flow_rsts(const struct ctl_pkt_l2 *l2,
			    const struct mxw_addr *client,
			    const struct mxw_addr *server,
			    uint16_t cport, uint16_t sport,
			    uint32_t client_next, uint32_t server_next,
			    uint8_t *to_server, size_t *len_server,
			    uint8_t *to_client, size_t *len_client);

#endif /* CTL_PKT_H */
