/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * smtp_reasons.h - every check of the engine, once:
 *   X(enum, stable name, upper-case log keyword, event kind, default action)
 * The enum values and names are ABI for events, stats and the control
 * socket: append, never reorder.  Default actions are chosen so that
 * legitimate mail is never touched (docs/engine.md explains each one).
 */
#ifndef SMTP_REASONS_H
#define SMTP_REASONS_H

#define SMTP_REASONS(X) \
	X(SMTP_R_PREGREET,          "pregreet",           "PREGREET",                SMTP_K_VIOLATION, SMTP_A_SCORE) \
	X(SMTP_R_CMD_TOO_LONG,      "command_too_long",   "COMMAND TOO LONG",        SMTP_K_VIOLATION, SMTP_A_KILL)  \
	X(SMTP_R_DATA_LINE_LONG,    "data_line_too_long", "DATA LINE TOO LONG",      SMTP_K_VIOLATION, SMTP_A_ALLOW) \
	X(SMTP_R_UNKNOWN_CMD,       "unknown_command",    "UNKNOWN COMMAND",         SMTP_K_VIOLATION, SMTP_A_SCORE) \
	X(SMTP_R_BAD_SYNTAX,        "bad_syntax",         "BAD SYNTAX",              SMTP_K_VIOLATION, SMTP_A_SCORE) \
	X(SMTP_R_ERROR_LIMIT,       "error_limit",        "ERROR LIMIT",             SMTP_K_VIOLATION, SMTP_A_KILL)  \
	X(SMTP_R_JUNK_LIMIT,        "junk_limit",         "JUNK LIMIT",              SMTP_K_VIOLATION, SMTP_A_KILL)  \
	X(SMTP_R_VRFY,              "vrfy",               "VRFY",                    SMTP_K_VIOLATION, SMTP_A_SCORE) \
	X(SMTP_R_EXPN,              "expn",               "EXPN",                    SMTP_K_VIOLATION, SMTP_A_SCORE) \
	X(SMTP_R_NULL_SENDER,       "null_sender",        "NULL SENDER",             SMTP_K_VIOLATION, SMTP_A_ALLOW) \
	X(SMTP_R_RELAY_ATTEMPT,     "relay_attempt",      "RELAY ATTEMPT",           SMTP_K_VIOLATION, SMTP_A_KILL)  \
	X(SMTP_R_AUTH_FAILED,       "auth_failed",        "AUTH FAILED",             SMTP_K_OBSERVATION, SMTP_A_SCORE) \
	X(SMTP_R_INVALID_RCPT,      "invalid_recipient",  "INVALID RECIPIENT",       SMTP_K_OBSERVATION, SMTP_A_SCORE) \
	X(SMTP_R_UNADV_PIPELINING,  "unadvertised_pipelining", "UNADVERTISED PIPELINING", SMTP_K_VIOLATION, SMTP_A_SCORE) \
	X(SMTP_R_PIPELINING_GROUP,  "pipelining_group",   "PIPELINING GROUP",        SMTP_K_VIOLATION, SMTP_A_SCORE) \
	X(SMTP_R_STARTTLS_INJECTION,"starttls_injection", "STARTTLS INJECTION",      SMTP_K_VIOLATION, SMTP_A_KILL)  \
	X(SMTP_R_DATA_DESYNC,       "data_desync",        "DATA DESYNC",             SMTP_K_VIOLATION, SMTP_A_KILL)  \
	X(SMTP_R_BARE_LF,           "bare_lf",            "BARE LF",                 SMTP_K_VIOLATION, SMTP_A_SCORE) \
	X(SMTP_R_BARE_CR,           "bare_cr",            "BARE CR",                 SMTP_K_VIOLATION, SMTP_A_SCORE) \
	X(SMTP_R_SMUGGLE_LF,        "smuggling_lf",       "SMUGGLING LF",            SMTP_K_VIOLATION, SMTP_A_KILL)  \
	X(SMTP_R_SMUGGLE_CR,        "smuggling_cr",       "SMUGGLING CR",            SMTP_K_VIOLATION, SMTP_A_KILL)  \
	X(SMTP_R_NON_SMTP_HTTP,     "non_smtp_http",      "NON-SMTP HTTP",           SMTP_K_VIOLATION, SMTP_A_KILL)  \
	X(SMTP_R_NON_SMTP_TLS,      "non_smtp_tls",       "NON-SMTP TLS",            SMTP_K_VIOLATION, SMTP_A_KILL)  \
	X(SMTP_R_NON_SMTP_BINARY,   "non_smtp_binary",    "NON-SMTP BINARY",         SMTP_K_VIOLATION, SMTP_A_KILL)  \
	X(SMTP_R_CLEARTEXT_AUTH,    "cleartext_auth",     "CLEARTEXT AUTH",          SMTP_K_VIOLATION, SMTP_A_SCORE) \
	X(SMTP_R_TOO_MANY_RCPT,     "too_many_recipients","TOO MANY RECIPIENTS",     SMTP_K_VIOLATION, SMTP_A_SCORE) \
	X(SMTP_R_OUT_OF_SEQUENCE,   "out_of_sequence",    "OUT OF SEQUENCE",         SMTP_K_VIOLATION, SMTP_A_SCORE) \
	X(SMTP_R_POP3_CLEARTEXT,    "pop3_cleartext_login","POP3 CLEARTEXT LOGIN",   SMTP_K_VIOLATION, SMTP_A_SCORE) \
	X(SMTP_R_IMAP_CLEARTEXT,    "imap_cleartext_login","IMAP CLEARTEXT LOGIN",   SMTP_K_VIOLATION, SMTP_A_SCORE) \
	X(SMTP_R_LOGIN_FAILED,      "login_failed",       "LOGIN FAILED",            SMTP_K_OBSERVATION, SMTP_A_SCORE) \
	X(SMTP_R_AUDIT_BANNER,      "audit_banner_version","AUDIT BANNER VERSION",   SMTP_K_AUDIT,     SMTP_A_SCORE) \
	X(SMTP_R_AUDIT_EHLO,        "audit_ehlo_version", "AUDIT EHLO VERSION",      SMTP_K_AUDIT,     SMTP_A_SCORE) \
	X(SMTP_R_AUDIT_HELP,        "audit_help_version", "AUDIT HELP VERSION",      SMTP_K_AUDIT,     SMTP_A_SCORE) \
	X(SMTP_R_AUDIT_VRFY,        "audit_vrfy_answered","AUDIT VRFY ANSWERED",     SMTP_K_AUDIT,     SMTP_A_SCORE) \
	X(SMTP_R_AUDIT_RELAY,       "audit_relay_accepted","AUDIT RELAY ACCEPTED",   SMTP_K_AUDIT,     SMTP_A_SCORE) \
	X(SMTP_R_TCP_MISMATCH,      "tcp_overlap_mismatch","TCP OVERLAP MISMATCH",   SMTP_K_EVASION,   SMTP_A_KILL)  \
	X(SMTP_R_TCP_OOO_LIMIT,     "tcp_ooo_limit",      "TCP OOO LIMIT",           SMTP_K_EVASION,   SMTP_A_ALLOW) \
	X(SMTP_R_TCP_WINDOW,        "tcp_out_of_window",  "TCP OUT OF WINDOW",       SMTP_K_EVASION,   SMTP_A_ALLOW) \
	X(SMTP_R_RESOURCE_LIMIT,    "resource_limit",     "RESOURCE LIMIT",          SMTP_K_EVASION,   SMTP_A_KILL)  \
	X(SMTP_R_MIDSTREAM,         "midstream_pickup",   "MIDSTREAM PICKUP",        SMTP_K_INFO,      SMTP_A_ALLOW) \
	X(SMTP_R_OPAQUE,            "opaque",             "OPAQUE",                  SMTP_K_INFO,      SMTP_A_ALLOW) \
	X(SMTP_R_TABLE_FULL,        "table_full",         "TABLE FULL",              SMTP_K_INFO,      SMTP_A_ALLOW) \
	X(SMTP_R_TCP_UNCHECKED,     "tcp_retrans_unchecked","TCP RETRANSMISSION UNCHECKED", SMTP_K_EVASION, SMTP_A_ALLOW) \
	X(SMTP_R_NOT_MAIL_PROTO,    "non_mail_protocol",  "NON-MAIL PROTOCOL",       SMTP_K_VIOLATION, SMTP_A_KILL)  \
	X(SMTP_R_CLEARTEXT_CREDS,   "cleartext_credentials","CLEARTEXT CREDENTIALS", SMTP_K_VIOLATION, SMTP_A_SCORE)

#endif /* SMTP_REASONS_H */
