// SPDX-License-Identifier: GPL-2.0-only
/*
 * smtp_mailbox.c - POP3 (RFC 1939, 2449, 5034) and IMAP (RFC 9051) login
 * inspection: clear-text credentials and failed logins, nothing more.
 *
 * Decisions a reader would otherwise reverse-engineer:
 *  - Only the login dialogue is followed.  POP3 replies are matched to
 *    commands through the same FIFO as SMTP; multi-line POP3 answers
 *    (RETR, TOP, LIST, UIDL, CAPA) are skipped to their "." so message
 *    text is never taken for a reply.  IMAP follows one tagged login
 *    command at a time and skips literals ({n}) in both directions.
 *  - STLS / STARTTLS answered positively make the flow opaque, as in SMTP.
 *  - Passwords never reach an event: USER and LOGIN report the user name,
 *    AUTH / AUTHENTICATE the mechanism.
 */
#include <string.h>

#include "smtp_int.h"

#define POP3_PF_MULTI   (1u << 4)       /* answer is multi-line on +OK */
#define SMTP_MF_MULTI   (1u << 8)       /* POP3: inside a multi-line answer */
#define SMTP_MF_IMAPCONT (1u << 9)      /* IMAP: line continues a literal */

static size_t tok(const uint8_t *p, size_t n, size_t i, size_t *st)
{
	while (i < n && p[i] == ' ')
		i++;
	*st = i;
	while (i < n && p[i] != ' ')
		i++;
	return i;
}

static bool word_is(const uint8_t *p, size_t n, const char *w)
{
	return strlen(w) == n && smtp_prefix_ci(p, n, w);
}

/* Mechanisms that carry the password itself (RFC 4616, draft LOGIN). */
static bool mech_cleartext(const uint8_t *p, size_t n)
{
	return word_is(p, n, "PLAIN") || word_is(p, n, "LOGIN");
}

/* "{123}" or "{123+}" at the end of a line: IMAP literal length. */
static bool imap_literal(const uint8_t *p, size_t n, uint64_t *len)
{
	size_t i;
	uint64_t v = 0;

	if (n < 3 || p[n - 1] != '}')
		return false;
	i = n - 2;
	if (p[i] == '+' || p[i] == '-')
		i--;
	if (p[i] < '0' || p[i] > '9')
		return false;
	while (i > 0 && p[i] >= '0' && p[i] <= '9')
		i--;
	if (p[i] != '{')
		return false;
	for (i++; p[i] >= '0' && p[i] <= '9'; i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (p[i] - '0');
	}
	*len = v;
	return true;
}

static void pop_push(struct smtp_session *s, uint8_t cmd, uint8_t flags)
{
	if (s->pend_len == SMTP_PEND_MAX) {
		s->pend_untracked++;
		return;
	}
	s->pend[(s->pend_head + s->pend_len) % SMTP_PEND_MAX] =
		(struct smtp_pending){ cmd, flags };
	s->pend_len++;
}

static void pop3_client(struct smtp_session *s, const struct smtp_sink *sink,
			const struct smtp_line *l)
{
	size_t vs, ve = tok(l->p, l->len, 0, &vs), as, ae;
	struct smtp_evinfo info = { 0 };
	uint8_t cmd = SMTP_C_UNKNOWN, fl = 0;

	if (s->cmode == SMTP_CM_AUTH) {     /* SASL continuation */
		s->cmode = SMTP_CM_CMD;
		return;
	}
	s->commands++;
	ae = tok(l->p, l->len, ve, &as);
	info.arg = l->p + as;
	info.arglen = ae - as;
	if (word_is(l->p + vs, ve - vs, "USER")) {
		info.cmd = "USER";
		cmd = SMTP_C_USER;
		smtp_ev(s, sink, SMTP_R_POP3_CLEARTEXT, SMTP_DIR_C2S, &info);
	} else if (word_is(l->p + vs, ve - vs, "PASS")) {
		cmd = SMTP_C_PASS;
	} else if (word_is(l->p + vs, ve - vs, "AUTH")) {
		cmd = SMTP_C_AUTH;
		if (mech_cleartext(info.arg, info.arglen)) {
			info.cmd = "AUTH";
			smtp_ev(s, sink, SMTP_R_POP3_CLEARTEXT, SMTP_DIR_C2S, &info);
		}
		if (!info.arglen)
			fl = POP3_PF_MULTI;     /* bare AUTH lists mechanisms */
	} else if (word_is(l->p + vs, ve - vs, "STLS")) {
		cmd = SMTP_C_STLS;
	} else if (word_is(l->p + vs, ve - vs, "RETR") ||
		   word_is(l->p + vs, ve - vs, "TOP") ||
		   word_is(l->p + vs, ve - vs, "CAPA") ||
		   ((word_is(l->p + vs, ve - vs, "LIST") ||
		     word_is(l->p + vs, ve - vs, "UIDL")) && !info.arglen)) {
		fl = POP3_PF_MULTI;
	}
	pop_push(s, cmd, fl);
}

static void pop3_server(struct smtp_session *s, const struct smtp_sink *sink,
			const struct smtp_line *l)
{
	struct smtp_pending p;
	bool ok = l->len >= 3 && smtp_prefix_ci(l->p, 3, "+OK");
	bool err = l->len >= 4 && smtp_prefix_ci(l->p, 4, "-ERR");

	if (s->msg_flags & SMTP_MF_MULTI) {
		if (l->len == 1 && l->p[0] == '.')
			s->msg_flags &= ~SMTP_MF_MULTI;
		return;
	}
	if (!(s->flags & SMTP_SF_GREETED)) {
		s->flags |= SMTP_SF_GREETED;
		s->flags &= ~SMTP_SF_UNSYNCED;
		return;
	}
	p = s->pend_len ? s->pend[s->pend_head] :
			  (struct smtp_pending){ SMTP_C_NONE, 0 };
	if (p.cmd == SMTP_C_AUTH && l->len >= 1 && l->p[0] == '+' && !ok) {
		s->cmode = SMTP_CM_AUTH;        /* "+ challenge" */
		return;
	}
	if (!ok && !err)
		return;
	if (s->pend_len) {
		s->pend_head = (s->pend_head + 1) % SMTP_PEND_MAX;
		s->pend_len--;
	} else if (s->pend_untracked) {
		s->pend_untracked--;
	}
	s->cmode = SMTP_CM_CMD;
	if (ok && (p.flags & POP3_PF_MULTI))
		s->msg_flags |= SMTP_MF_MULTI;
	if (err && (p.cmd == SMTP_C_PASS || p.cmd == SMTP_C_AUTH)) {
		struct smtp_evinfo info = { .cmd = p.cmd == SMTP_C_PASS ?
					    "PASS" : "AUTH", .arg = l->p,
					    .arglen = l->len };

		smtp_ev(s, sink, SMTP_R_LOGIN_FAILED, SMTP_DIR_S2C, &info);
	}
	if (ok && p.cmd == SMTP_C_STLS) {
		s->flags |= SMTP_SF_OPAQUE;
		s->cmode = SMTP_CM_OPAQUE;
		smtp_ev(s, sink, SMTP_R_OPAQUE, SMTP_DIR_S2C, NULL);
	}
}

static void imap_client(struct smtp_session *s, const struct smtp_sink *sink,
			const struct smtp_line *l)
{
	size_t ts, te, vs, ve, as, ae;
	struct smtp_evinfo info = { 0 };
	uint64_t lit;
	bool cont = s->msg_flags & SMTP_MF_IMAPCONT;

	s->msg_flags &= ~SMTP_MF_IMAPCONT;
	if (l->len == l->total - 1 - !l->bare_lf && imap_literal(l->p, l->len, &lit)
	    && lit) {
		s->lit_left[0] = lit;
		s->cmode = SMTP_CM_LITERAL;
		s->msg_flags |= SMTP_MF_IMAPCONT;
	}
	if (s->cmode == SMTP_CM_AUTH) {
		s->cmode = SMTP_CM_CMD;
		return;
	}
	if (cont)
		return;             /* rest of a command after a literal */
	s->commands++;
	te = tok(l->p, l->len, 0, &ts);
	ve = tok(l->p, l->len, te, &vs);
	ae = tok(l->p, l->len, ve, &as);
	info.arg = l->p + as;
	info.arglen = ae - as;
	if (word_is(l->p + vs, ve - vs, "LOGIN")) {
		info.cmd = "LOGIN";
		if (info.arglen && info.arg[info.arglen - 1] == '}')
			info.arglen = 0;    /* user name is a literal */
		smtp_ev(s, sink, SMTP_R_IMAP_CLEARTEXT, SMTP_DIR_C2S, &info);
		s->pend[0].cmd = SMTP_C_LOGIN;
	} else if (word_is(l->p + vs, ve - vs, "AUTHENTICATE")) {
		info.cmd = "AUTHENTICATE";
		if (mech_cleartext(info.arg, info.arglen))
			smtp_ev(s, sink, SMTP_R_IMAP_CLEARTEXT, SMTP_DIR_C2S, &info);
		s->pend[0].cmd = SMTP_C_AUTH;
	} else if (word_is(l->p + vs, ve - vs, "STARTTLS")) {
		s->pend[0].cmd = SMTP_C_STARTTLS;
	} else {
		return;
	}
	s->tag_len = (uint8_t)(te - ts < sizeof(s->tag) ? te - ts : 0);
	memcpy(s->tag, l->p + ts, s->tag_len);
}

static void imap_server(struct smtp_session *s, const struct smtp_sink *sink,
			const struct smtp_line *l)
{
	size_t ts, te, vs, ve;
	uint64_t lit;

	if (l->len == l->total - 1 - !l->bare_lf && imap_literal(l->p, l->len, &lit))
		s->lit_left[1] = lit;
	if (!(s->flags & SMTP_SF_GREETED)) {
		s->flags |= SMTP_SF_GREETED;
		s->flags &= ~SMTP_SF_UNSYNCED;
		return;
	}
	if (!s->tag_len)
		return;
	if (l->len >= 1 && l->p[0] == '+') {
		if (s->pend[0].cmd == SMTP_C_AUTH)
			s->cmode = SMTP_CM_AUTH;
		return;
	}
	te = tok(l->p, l->len, 0, &ts);
	if (te - ts != s->tag_len || memcmp(l->p + ts, s->tag, s->tag_len))
		return;
	ve = tok(l->p, l->len, te, &vs);
	if (s->pend[0].cmd == SMTP_C_STARTTLS) {
		if (word_is(l->p + vs, ve - vs, "OK")) {
			s->flags |= SMTP_SF_OPAQUE;
			s->cmode = SMTP_CM_OPAQUE;
			smtp_ev(s, sink, SMTP_R_OPAQUE, SMTP_DIR_S2C, NULL);
		}
	} else if (word_is(l->p + vs, ve - vs, "NO") ||
		   word_is(l->p + vs, ve - vs, "BAD")) {
		struct smtp_evinfo info = {
			.cmd = s->pend[0].cmd == SMTP_C_LOGIN ? "LOGIN" :
							       "AUTHENTICATE",
			.arg = l->p + vs, .arglen = l->len - vs };

		smtp_ev(s, sink, SMTP_R_LOGIN_FAILED, SMTP_DIR_S2C, &info);
	}
	s->cmode = s->flags & SMTP_SF_OPAQUE ? SMTP_CM_OPAQUE : SMTP_CM_CMD;
	s->tag_len = 0;
	s->pend[0].cmd = SMTP_C_NONE;
}

void smtp_mailbox_line(struct smtp_session *s, enum smtp_dir dir,
		       const struct smtp_sink *sink, const struct smtp_line *l)
{
	if (s->proto == SMTP_P_POP3) {
		if (dir == SMTP_DIR_C2S)
			pop3_client(s, sink, l);
		else
			pop3_server(s, sink, l);
	} else {
		if (dir == SMTP_DIR_C2S)
			imap_client(s, sink, l);
		else
			imap_server(s, sink, l);
	}
}
