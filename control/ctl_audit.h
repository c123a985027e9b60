/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctl_audit.h - findings about the protected servers (the `audit`
 * command): the engine's passive audit events (banner or EHLO version
 * leaks, VRFY answered, relay accepted) folded into one finding per
 * server address and check, with first / last seen, a count and one
 * example.  Bounded: at most CTL_AUDIT_MAX findings; events for a new
 * (server, check) beyond that are counted in `overflow` only.
 */
#ifndef CTL_AUDIT_H
#define CTL_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CTL_AUDIT_MAX           256
#define CTL_AUDIT_TEXT_MAX      96      /* check, command, example excerpt */

struct ctl_audit;

struct ctl_audit *ctl_audit_new(void);
void ctl_audit_free(struct ctl_audit *a);

/* Fold one "audit" event object (ctl_event_violation() of an audit
 * kind).  Objects without a string "server" and "check" are ignored
 * (returns -EINVAL); 0 when recorded, -ENOSPC when counted in overflow. */
int ctl_audit_note(struct ctl_audit *a, const json_t *ev);

/* {"findings": [...], "overflow": N}, findings oldest first. */
json_t *ctl_audit_json(const struct ctl_audit *a);

#endif /* CTL_AUDIT_H */
