/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctl_ndpi.h - nDPI classification of inspected sessions (DESIGN.md 1,
 * "clear-text POP3/IMAP/SMTP AUTH"; docs/inspection.md, "nDPI"): is this
 * flow on a mail port really mail, and did it carry credentials in clear.
 * One classifier per thread: no locking inside.  Built only with nDPI
 * (MXW_HAVE_NDPI).
 */
#ifndef CTL_NDPI_H
#define CTL_NDPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_NDPI_FLOWS_MAX      (1u << 20)  /* bound on max_flows */

struct ctl_ndpi;
struct ctl_ndpi_result {
	uint16_t proto_id;          /* nDPI master/app protocol id */
	char proto[32];             /* nDPI's name, e.g. "SMTP", "HTTP" */
	bool mail;                  /* SMTP/SMTPS/POP3/POP3S/IMAP/IMAPS (or unknown-yet-TLS on a TLS port) */
	bool cleartext_creds;       /* nDPI risk NDPI_CLEAR_TEXT_CREDENTIALS */
};
struct ctl_ndpi *ctl_ndpi_new(uint32_t max_flows, char *err, size_t errlen);
void ctl_ndpi_free(struct ctl_ndpi *n);
/* Feed one IP packet (IPv4/IPv6 header first) of session id.  Returns 1 when
 * classification completed with this packet (*res filled), 0 while still
 * undecided or already decided earlier (no repeat), -1 on error.  Gives up
 * (returns 1 with proto "Unknown", mail=false only if payload was seen from both
 * sides and nDPI still has no guess after 16 packets; otherwise mail=true so that
 * legitimate mail is never flagged on a guess) */
int ctl_ndpi_feed(struct ctl_ndpi *n, uint64_t session_id, const uint8_t *ip,
		  uint32_t len, bool from_client, uint64_t now_ms,
		  struct ctl_ndpi_result *res);
void ctl_ndpi_forget(struct ctl_ndpi *n, uint64_t session_id);

#endif /* CTL_NDPI_H */
