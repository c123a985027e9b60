/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * smtp.h - SMTP (and POP3/IMAP login) inspection of one session, both
 * directions, as a pure state machine: bytes in, events and an action out.
 * No I/O, no clock (time comes in through the sink), no globals.
 * docs/engine.md describes the states, checks and their defaults.
 */
#ifndef SMTP_H
#define SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mxi_mem.h"
#include "mxwall_shared.h"
#include "smtp_reasons.h"

/* Actions, ordered by severity: a larger value wins. */
enum smtp_action {
	SMTP_A_ALLOW = 0,   /* counted only, no event */
	SMTP_A_SCORE = 1,   /* event for the policy layer, traffic untouched */
	SMTP_A_DENY = 2,    /* event; this packet and every later one of the
			     * session dropped, no RST (the session stalls) */
	SMTP_A_KILL = 3,    /* event; packet dropped, RST both ways */
};

enum smtp_kind {
	SMTP_K_VIOLATION = 0,   /* client misbehaviour */
	SMTP_K_AUDIT = 1,       /* finding about the protected server */
	SMTP_K_EVASION = 2,     /* transport-level anomaly or limit */
	SMTP_K_INFO = 3,
	SMTP_K_OBSERVATION = 4, /* ordinary once (a mistyped recipient, one
				 * failed login): counted across sessions
				 * by the policy, a violation only in bulk */
};

#define SMTP_REASON_ENUM(id, name, kw, kind, act) id,
enum smtp_reason {
	SMTP_REASONS(SMTP_REASON_ENUM)
	SMTP_R__COUNT
};
#undef SMTP_REASON_ENUM

enum smtp_proto {
	SMTP_P_SMTP = 0,
	SMTP_P_POP3 = 1,
	SMTP_P_IMAP = 2,
};

enum smtp_dir {
	SMTP_DIR_C2S = 0,       /* client to server */
	SMTP_DIR_S2C = 1,
};

#define SMTP_LOCAL_DOMAINS_MAX  64
#define SMTP_EXCERPT_MAX        80      /* escaped argument excerpt, + NUL */
#define SMTP_CMD_NAME_MAX       12
#define SMTP_LINE_KEEP          1040    /* bytes of a line kept for parsing */

struct smtp_config {
	uint8_t action[SMTP_R__COUNT];      /* enum smtp_action per check */
	uint32_t cmd_line_max;      /* RFC 5321 4.5.3.1.4: 512 incl. CRLF */
	uint32_t mail_line_max;     /* MAIL/RCPT after EHLO (RFC 1869 4.1.2
				     * lets extensions raise the limit) */
	uint32_t auth_line_max;     /* RFC 4954 4: 12288 for AUTH lines */
	uint32_t data_line_max;     /* RFC 5321 4.5.3.1.6: 1000 incl. CRLF */
	uint32_t reply_line_max;    /* longest server line kept; longer truncated */
	uint32_t error_limit;       /* like Postfix smtpd_hard_error_limit */
	uint32_t junk_limit;        /* RSET/NOOP/VRFY/EXPN/HELO repeats */
	uint32_t rcpt_limit;        /* recipients per transaction */
	uint32_t n_local_domains;   /* 0 disables the relay check */
	/* Caller-owned strings, must outlive every session using this
	 * config.  "example.org" matches exactly, ".example.org" any
	 * subdomain (as Postfix's parent_domain_matches_subdomains). */
	const char *local_domains[SMTP_LOCAL_DOMAINS_MAX];
};

/* One event: fixed size, no pointers into engine memory. */
struct smtp_event {
	uint64_t session_id;
	uint64_t time_ns;               /* as passed in by the caller */
	struct mxw_addr client;         /* IPv4-mapped like mxwall_shared.h */
	struct mxw_addr server;
	uint16_t client_port;           /* host order */
	uint16_t server_port;
	uint16_t reason;                /* enum smtp_reason */
	uint8_t kind;                   /* enum smtp_kind */
	uint8_t action;                 /* enum smtp_action applied */
	uint8_t dir;                    /* enum smtp_dir of the trigger */
	uint8_t proto;                  /* enum smtp_proto */
	uint16_t reply_code;            /* server reply involved, or 0 */
	char command[SMTP_CMD_NAME_MAX];    /* upper-case verb, NUL-ended */
	char arg[SMTP_EXCERPT_MAX];     /* escaped excerpt, NUL-ended */
	/* counters of the session at the time of the event */
	uint32_t commands;
	uint32_t errors;
	uint32_t junk;
	uint32_t rcpts;                 /* in the current transaction */
	uint32_t messages;
	uint32_t value;                 /* check-specific: line length, ... */
};

typedef void (*smtp_emit_fn)(void *ctx, const struct smtp_event *ev);

/* Where events go, and what they are stamped with. */
struct smtp_sink {
	smtp_emit_fn emit;              /* may be NULL */
	void *ctx;
	uint64_t session_id;
	uint64_t now_ns;
	const struct mxw_addr *client, *server;
	uint16_t client_port, server_port;
	uint64_t *reason_count;         /* [SMTP_R__COUNT] or NULL */
};

/* Partial line of one direction, allocated only while a line is split
 * across deliveries (an idle session holds no buffer). */
struct smtp_linebuf {
	uint8_t *buf;
	uint32_t kept;                  /* bytes in buf (<= SMTP_LINE_KEEP) */
	uint32_t total;                 /* length of the line so far */
	uint8_t over;                   /* limit reported for this line */
	uint8_t last;                   /* last byte appended */
};

#define SMTP_PEND_MAX 32

struct smtp_pending {
	uint8_t cmd;                    /* enum smtp_cmd (smtp.c) */
	uint8_t flags;                  /* SMTP_PF_* (smtp.c) */
};

struct smtp_session {
	const struct smtp_config *cfg;
	struct mxi_mem *mem;
	uint8_t proto;                  /* enum smtp_proto */
	uint8_t cmode;                  /* enum smtp_cmode: client parser */
	uint8_t dstate;                 /* enum smtp_dstate: DATA scanner */
	uint8_t term_action;            /* DENY/KILL once terminal, else 0 */
	uint8_t call_max;               /* most severe action in this call */
	uint32_t flags;                 /* SMTP_SF_* */
	uint16_t caps;                  /* SMTP_CAP_* advertised by server */
	uint16_t caps_new;              /* being collected from EHLO reply */
	uint32_t commands, errors, junk, rcpts, messages, helos;
	uint32_t dl_len;                /* length of current DATA line */
	uint32_t msg_flags;             /* SMTP_MF_*: per message, reset */
	uint64_t reported;              /* 1 << reason: once-per-session checks */
	uint64_t bdat_left;             /* BDAT chunk bytes still to skip */
	uint16_t reply_code;            /* multi-line reply being read */
	uint8_t reply_flags;
	uint8_t pend_head, pend_len;    /* ring of commands awaiting replies */
	uint32_t pend_untracked;        /* beyond the ring, FIFO after it */
	struct smtp_pending pend[SMTP_PEND_MAX];
	uint64_t lit_left[2];           /* IMAP literal bytes to skip */
	char tag[16];                   /* IMAP tag of a pending login */
	uint8_t tag_len;
	struct smtp_linebuf line[2];    /* per enum smtp_dir */
};

/* Session flags */
#define SMTP_SF_GREETED     (1u << 0)   /* server greeting complete */
#define SMTP_SF_EHLO        (1u << 1)   /* EHLO succeeded */
#define SMTP_SF_AUTHED      (1u << 2)   /* AUTH succeeded (235) */
#define SMTP_SF_MAIL        (1u << 3)   /* transaction open */
#define SMTP_SF_MIDSTREAM   (1u << 4)   /* picked up mid-way, unsynced */
#define SMTP_SF_OPAQUE      (1u << 5)   /* TLS started: nothing to see */
#define SMTP_SF_TERMINAL    (1u << 6)   /* denied or killed */
#define SMTP_SF_PREGREET    (1u << 7)   /* pre-greeting reported */
#define SMTP_SF_TALKED      (1u << 8)   /* client sent a first byte */
#define SMTP_SF_ERRLIM      (1u << 9)   /* error limit reported */
#define SMTP_SF_JUNKLIM     (1u << 10)
#define SMTP_SF_EARLY_DATA  (1u << 11)  /* bytes after DATA before 354 */
#define SMTP_SF_QUIT        (1u << 12)
#define SMTP_SF_HELO        (1u << 13)  /* any HELO/EHLO seen */
#define SMTP_SF_UNSYNCED    (1u << 14)  /* midstream: waiting for a reply */
#define SMTP_SF_UNINSPECTED (1u << 15)  /* resource limit: pass through */

/* Capabilities from the EHLO reply */
#define SMTP_CAP_PIPELINING (1u << 0)
#define SMTP_CAP_CHUNKING   (1u << 1)
#define SMTP_CAP_STARTTLS   (1u << 2)
#define SMTP_CAP_AUTH       (1u << 3)
#define SMTP_CAP_SMTPUTF8   (1u << 4)
#define SMTP_CAP_8BITMIME   (1u << 5)
#define SMTP_CAP_SIZE       (1u << 6)
#define SMTP_CAP_BINARYMIME (1u << 7)
#define SMTP_CAP_ALL        0xffff

void smtp_config_default(struct smtp_config *cfg);
void smtp_session_init(struct smtp_session *s, const struct smtp_config *cfg,
		       struct mxi_mem *mem, enum smtp_proto proto,
		       bool midstream);
/* Frees partial-line buffers; the struct may be re-initialised. */
void smtp_session_release(struct smtp_session *s);
/*
 * Feeds bytes of one direction, in stream order.  Returns the most severe
 * action raised during this call (SMTP_A_ALLOW if none); once a DENY/KILL
 * was raised the session is terminal and further calls return it at once.
 */
enum smtp_action smtp_feed(struct smtp_session *s, enum smtp_dir dir,
			   const uint8_t *data, size_t len,
			   const struct smtp_sink *sink);
/* Raise a check from outside the parser (reassembly anomalies). */
enum smtp_action smtp_raise(struct smtp_session *s, const struct smtp_sink *sink,
			    enum smtp_reason r, enum smtp_dir dir,
			    uint32_t value);

const char *smtp_reason_name(enum smtp_reason r);
const char *smtp_reason_keyword(enum smtp_reason r);
enum smtp_kind smtp_reason_kind(enum smtp_reason r);
const char *smtp_action_name(enum smtp_action a);
/* One log line in the postscreen manner, e.g.
 *   VRFY from [203.0.113.9]:51234 to [192.0.2.25]:25 cmd=VRFY arg="root"
 * IPv4-mapped addresses print as IPv4.  Returns snprintf's result. */
int smtp_event_format(char *out, size_t outsz, const struct smtp_event *ev);
/* Escape bytes for logs: printable ASCII kept except '"' and '\\';
 * others as \xHH; always NUL-terminated; returns bytes written. */
size_t smtp_escape(char *out, size_t outsz, const uint8_t *in, size_t n);

#endif /* SMTP_H */
