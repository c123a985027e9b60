/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * smtp_int.h - internals shared by smtp.c and smtp_mailbox.c; not API.
 */
#ifndef SMTP_INT_H
#define SMTP_INT_H

#include <string.h>

#include "smtp.h"

/* What the client side of the parser is reading. */
enum smtp_cmode {
	SMTP_CM_CMD = 0,        /* command lines */
	SMTP_CM_AUTH,           /* one AUTH continuation line (after 334/+) */
	SMTP_CM_DATA_WAIT,      /* DATA sent, its reply not seen yet */
	SMTP_CM_DATA,           /* message text until end of data */
	SMTP_CM_BDAT,           /* skipping bdat_left chunk octets */
	SMTP_CM_LITERAL,        /* IMAP: skipping lit_left[0] octets */
	SMTP_CM_OPAQUE,         /* TLS: nothing more to read */
};

/* DATA scanner: where in a line of message text we are. */
enum smtp_dstate {
	SMTP_D_BOL = 0,         /* at the start of a line */
	SMTP_D_DOT,             /* "." at line start */
	SMTP_D_DOT_CR,          /* ".<CR>" at line start */
	SMTP_D_MID,             /* inside a line, last byte ordinary */
	SMTP_D_CR,              /* inside a line, last byte CR */
	SMTP_D_CR_DOT,          /* bare CR then "." */
};

/* Commands, as kept in the outstanding-command FIFO. */
enum smtp_cmd {
	SMTP_C_NONE = 0,
	SMTP_C_UNKNOWN,
	SMTP_C_HELO, SMTP_C_EHLO, SMTP_C_MAIL, SMTP_C_RCPT, SMTP_C_DATA,
	SMTP_C_DATA_END, SMTP_C_BDAT, SMTP_C_RSET, SMTP_C_NOOP, SMTP_C_VRFY,
	SMTP_C_EXPN, SMTP_C_HELP, SMTP_C_QUIT, SMTP_C_STARTTLS, SMTP_C_AUTH,
	SMTP_C_TURN, SMTP_C_ETRN,
	/* POP3 / IMAP */
	SMTP_C_USER, SMTP_C_PASS, SMTP_C_LOGIN, SMTP_C_STLS,
};

/* Flags of an outstanding command */
#define SMTP_PF_COUNTED     (1u << 0)   /* error already counted */
#define SMTP_PF_FOREIGN     (1u << 1)   /* RCPT outside local domains */
#define SMTP_PF_GROUP_END   (1u << 2)   /* RFC 2920: must end a group */
#define SMTP_PF_LAST        (1u << 3)   /* BDAT ... LAST */

/* Per-message flags (reset at each DATA) */
#define SMTP_MF_BARE_LF     (1u << 0)
#define SMTP_MF_BARE_CR     (1u << 1)
#define SMTP_MF_LONG        (1u << 2)
#define SMTP_MF_BOL_BARE    (1u << 3)   /* last line ended in bare LF */

/* Command table flags */
#define SMTP_CF_GROUP_END   (1u << 0)   /* RFC 2920 3.1 */
#define SMTP_CF_LONG        (1u << 1)   /* mail_line_max applies */
#define SMTP_CF_AUTHLINE    (1u << 2)   /* auth_line_max applies */
#define SMTP_CF_ENDS        (1u << 3)   /* handler may end the session */

/* A complete line as the parser sees it (terminator stripped). */
struct smtp_line {
	const uint8_t *p;
	size_t len;             /* bytes at p (a prefix if truncated) */
	uint32_t total;         /* real length incl. terminator */
	bool bare_lf;           /* ended in LF without CR */
};

struct smtp_evinfo {
	const char *cmd;
	const uint8_t *arg;
	size_t arglen;
	uint16_t code;
	uint32_t value;
};

struct smtp_cmdctx {
	const char *name;       /* upper-case verb */
	const uint8_t *arg;     /* after the first space */
	size_t arglen;
	uint8_t id;             /* enum smtp_cmd */
	uint8_t pflags;         /* SMTP_PF_* for the FIFO entry */
	uint8_t counted;        /* the handler counted an error */
};

struct smtp_cmd_def {
	const char *name;
	uint8_t len;            /* strlen(name) */
	uint8_t id;
	void (*handler)(struct smtp_session *s, struct smtp_cmdctx *c,
			const struct smtp_sink *sink);
	uint32_t flags;         /* SMTP_CF_* */
};

enum smtp_action smtp_ev(struct smtp_session *s, const struct smtp_sink *sink,
			 enum smtp_reason r, enum smtp_dir dir,
			 const struct smtp_evinfo *info);
void smtp_count_error(struct smtp_session *s, const struct smtp_sink *sink,
		      enum smtp_dir dir);
/* p starts with word (upper case), ignoring case.  Inline so that
 * strlen() of a literal folds to a constant. */
static inline bool smtp_prefix_ci(const uint8_t *p, size_t n, const char *word)
{
	size_t i, wl = strlen(word);

	if (n < wl)
		return false;
	for (i = 0; i < wl; i++) {
		uint8_t c = p[i];

		if (c >= 'a' && c <= 'z')
			c -= 32;
		if (c != (uint8_t)word[i])
			return false;
	}
	return true;
}
bool smtp_text_has_version(const uint8_t *p, size_t n);
void smtp_data_begin(struct smtp_session *s);
bool smtp_client_line_checks(struct smtp_session *s, const struct smtp_sink *sink,
			     const struct smtp_line *l);
void smtp_mailbox_line(struct smtp_session *s, enum smtp_dir dir,
		       const struct smtp_sink *sink, const struct smtp_line *l);

#endif /* SMTP_INT_H */
