// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_smtp.c - table-driven tests of the SMTP/POP3/IMAP engine.
 *
 * Each row is {label, protocol, config tweak, dialogue, expected events,
 * expected worst action}.  Every check has a violating row and rows of
 * legitimate traffic that resembles it and must raise nothing.  Each row
 * runs three ways and must give the same events every time:
 *   1. each dialogue step delivered whole;
 *   2. for every step and every byte offset, that step split in two;
 *   3. every step delivered one byte at a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"

#define MAX_STEPS   64
#define MAX_EVENTS  64
#define END         (-1)

struct step {
	char dir;               /* 'C' client, 'S' server, 0 = end */
	const char *data;
	size_t len;
};

#define C(s) { 'C', s, sizeof(s) - 1 }
#define S(s) { 'S', s, sizeof(s) - 1 }

/* config tweaks */
enum tweak {
	TW_NONE = 0,
	TW_LOCAL = 1 << 0,          /* local domains example.org, .example.net */
	TW_SCORE_ALL = 1 << 1,      /* every check at SCORE (see all events) */
	TW_RCPT3 = 1 << 2,          /* rcpt_limit 3 */
	TW_JUNK3 = 1 << 3,          /* junk_limit 3 */
	TW_QUIET_AUTH = 1 << 4,     /* cleartext_auth ALLOW */
	TW_MIDSTREAM = 1 << 5,      /* session picked up mid-way */
	TW_ERR5 = 1 << 6,           /* error_limit 5 */
};

struct tcase {
	const char *label;
	enum smtp_proto proto;
	unsigned tweak;
	struct step steps[MAX_STEPS];
	int expect[MAX_EVENTS];     /* reasons in order, END-terminated */
	enum smtp_action worst;
};

#define GREET   S("220 mx.example.org ESMTP\r\n")
#define EHLO_PIPE \
	C("EHLO client.example.com\r\n"), \
	S("250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n" \
	  "250-8BITMIME\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n250-STARTTLS\r\n" \
	  "250-AUTH PLAIN LOGIN\r\n250 ENHANCEDSTATUSCODES\r\n")
#define EHLO_PLAIN \
	C("EHLO client.example.com\r\n"), \
	S("250-mx.example.org\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n")

#define L600 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
/* 505 octets: "NOOP " + 505 + CRLF = 512, the exact RFC 5321 limit */
#define L505 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxx"
/* 998 octets: the longest legal DATA line (RFC 5322 2.1.1) */
#define L998 L600 \
	"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy" \
	"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy" \
	"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy" \
	"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"

static const struct tcase cases[] = {
	/* ---- legitimate sessions: nothing may trigger ---------------- */
	{ "legit: plain session, one message", SMTP_P_SMTP, TW_LOCAL, {
		GREET, EHLO_PLAIN,
		C("MAIL FROM:<alice@client.example.com>\r\n"), S("250 2.1.0 Ok\r\n"),
		C("RCPT TO:<bob@example.org>\r\n"), S("250 2.1.5 Ok\r\n"),
		C("DATA\r\n"), S("354 End data with <CR><LF>.<CR><LF>\r\n"),
		C("Subject: hi\r\n\r\nhello\r\n..leading dot stuffed\r\n.\r\n"),
		S("250 2.0.0 Ok: queued as 1234\r\n"),
		C("QUIT\r\n"), S("221 2.0.0 Bye\r\n") },
	  { END }, SMTP_A_ALLOW },
	{ "legit: pipelined big sender, many recipients, two messages",
	  SMTP_P_SMTP, TW_LOCAL, {
		GREET, EHLO_PIPE,
		C("MAIL FROM:<list@big.example> SIZE=1234 BODY=8BITMIME\r\n"
		  "RCPT TO:<a@example.org>\r\nRCPT TO:<b@example.org>\r\n"
		  "RCPT TO:<c@sub.example.net> NOTIFY=NEVER\r\nDATA\r\n"),
		S("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
		  "250 2.1.5 Ok\r\n354 go\r\n"),
		C("Subject: caf\xc3\xa9\r\n\r\n8bit body \xe2\x82\xac\r\n.\r\n"
		  "RSET\r\nMAIL FROM:<list@big.example>\r\n"
		  "RCPT TO:<d@example.org>\r\nDATA\r\n"),
		S("250 2.0.0 queued\r\n250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n"
		  "250 2.1.5 Ok\r\n354 go\r\n"),
		C("body\r\n.\r\nQUIT\r\n"),
		S("250 2.0.0 queued\r\n221 Bye\r\n") },
	  { END }, SMTP_A_ALLOW },
	{ "legit: bounce with null sender (default allow)", SMTP_P_SMTP, TW_LOCAL, {
		GREET, EHLO_PLAIN,
		C("MAIL FROM:<>\r\n"), S("250 Ok\r\n"),
		C("RCPT TO:<bob@example.org>\r\n"), S("250 Ok\r\n") },
	  { END }, SMTP_A_ALLOW },
	{ "legit: SMTPUTF8 addresses", SMTP_P_SMTP, TW_NONE, {
		GREET, EHLO_PIPE,
		C("MAIL FROM:<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a> SMTPUTF8\r\n"),
		S("250 Ok\r\n"),
		C("RCPT TO:<j\xc3\xb6rg@b\xc3\xbc" "cher.example>\r\n"), S("250 Ok\r\n") },
	  { END }, SMTP_A_ALLOW },
	{ "legit: 512-octet command line and long MAIL after EHLO",
	  SMTP_P_SMTP, TW_NONE, {
		GREET, EHLO_PIPE,
		C("NOOP " L505 "\r\n"), S("250 Ok\r\n"),
		C("MAIL FROM:<" L600 "@example.com>\r\n"), S("250 Ok\r\n") },
	  { END }, SMTP_A_ALLOW },
	{ "legit: 998-octet DATA line", SMTP_P_SMTP, TW_SCORE_ALL, {
		GREET, EHLO_PIPE,
		C("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n"),
		S("250 Ok\r\n250 Ok\r\n354 go\r\n"),
		C(L998 "\r\n.\r\n"), S("250 Ok\r\n") },
	  { END }, SMTP_A_ALLOW },
	{ "legit: AUTH LOGIN with base64 continuations (auth quiet)",
	  SMTP_P_SMTP, TW_LOCAL | TW_QUIET_AUTH, {
		GREET, EHLO_PIPE,
		C("AUTH LOGIN\r\n"), S("334 VXNlcm5hbWU6\r\n"),
		C("dXNlcg==\r\n"), S("334 UGFzc3dvcmQ6\r\n"),
		C("cGFzc3dvcmQ=\r\n"), S("235 2.7.0 Authentication successful\r\n"),
		C("MAIL FROM:<user@example.org>\r\n"), S("250 Ok\r\n"),
		C("RCPT TO:<friend@elsewhere.example>\r\n"), S("250 Ok\r\n") },
	  { END }, SMTP_A_ALLOW },
	{ "legit: multi-line replies", SMTP_P_SMTP, TW_NONE, {
		S("220-mx.example.org ESMTP\r\n220-no UCE\r\n220 welcome\r\n"),
		EHLO_PIPE,
		C("HELP\r\n"), S("214-Commands:\r\n214 HELO EHLO MAIL\r\n"),
		C("QUIT\r\n"), S("221 Bye\r\n") },
	  { END }, SMTP_A_ALLOW },
	{ "legit: BDAT chunks hold dots and commands", SMTP_P_SMTP, TW_NONE, {
		GREET, EHLO_PIPE,
		C("MAIL FROM:<a@b.example> BODY=BINARYMIME\r\n"
		  "RCPT TO:<c@d.example>\r\n"),
		S("250 Ok\r\n250 Ok\r\n"),
		C("BDAT 18\r\nx\r\n.\r\nMAIL FROM:\r\nBDAT 7 LAST\r\n\x00\x01\n.\n\r\r"),
		S("250 2.0.0 18 octets\r\n250 2.0.0 queued\r\n"),
		C("QUIT\r\n"), S("221 Bye\r\n") },
	  { END }, SMTP_A_ALLOW },
	{ "legit: STARTTLS then opaque bytes", SMTP_P_SMTP, TW_NONE, {
		GREET, EHLO_PIPE,
		C("STARTTLS\r\n"), S("220 2.0.0 Ready to start TLS\r\n"),
		C("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\n\n.\n"),
		S("\x16\x03\x03\x00\x7a\x02\x00\x00\x76"),
		C("GET / HTTP/1.1\r\n") },
	  { END }, SMTP_A_ALLOW },
	{ "legit: one mistyped recipient is only reported", SMTP_P_SMTP, TW_LOCAL, {
		GREET, EHLO_PIPE,
		C("MAIL FROM:<a@b.example>\r\nRCPT TO:<bbo@example.org>\r\n"
		  "RCPT TO:<bob@example.org>\r\nDATA\r\n"),
		S("250 Ok\r\n550 5.1.1 <bbo@example.org>: Recipient address rejected\r\n"
		  "250 Ok\r\n354 go\r\n"),
		C("hi\r\n.\r\n"), S("250 queued\r\n") },
	  { SMTP_R_INVALID_RCPT, END }, SMTP_A_SCORE },
	{ "legit: policy rejection 550 5.7.1 is no invalid recipient",
	  SMTP_P_SMTP, TW_NONE, {
		GREET, EHLO_PIPE,
		C("MAIL FROM:<a@b.example>\r\n"), S("250 Ok\r\n"),
		C("RCPT TO:<c@d.example>\r\n"), S("550 5.7.1 Relay access denied\r\n") },
	  { END }, SMTP_A_ALLOW },
	{ "legit: banner without version", SMTP_P_SMTP, TW_NONE, {
		S("220 mx1.example.org ESMTP Postfix (Debian/GNU)\r\n"),
		C("EHLO c.example\r\n"),
		S("250-mx1.example.org Hello [192.0.2.1]\r\n250 PIPELINING\r\n") },
	  { END }, SMTP_A_ALLOW },

	/* ---- violations --------------------------------------------- */
	{ "pregreet: client talks before the banner", SMTP_P_SMTP, TW_NONE, {
		C("EHLO fast.example\r\n"), GREET,
		S("250 mx\r\n") },
	  { SMTP_R_PREGREET, END }, SMTP_A_SCORE },
	{ "command line of 513 octets", SMTP_P_SMTP, TW_NONE, {
		GREET, EHLO_PIPE,
		C("NOOP " L505 "x\r\n") },
	  { SMTP_R_CMD_TOO_LONG, END }, SMTP_A_KILL },
	{ "overflow attempt without line end", SMTP_P_SMTP, TW_NONE, {
		GREET, C("HELO " L600) },
	  { SMTP_R_CMD_TOO_LONG, END }, SMTP_A_KILL },
	{ "DATA line of 1001 octets (scored)", SMTP_P_SMTP, TW_SCORE_ALL, {
		GREET, EHLO_PIPE,
		C("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n"),
		S("250 Ok\r\n250 Ok\r\n354 go\r\n"),
		C(L998 "z\r\n.\r\n"), S("250 Ok\r\n") },
	  { SMTP_R_DATA_LINE_LONG, END }, SMTP_A_SCORE },
	{ "unknown commands up to the error limit", SMTP_P_SMTP, TW_ERR5, {
		GREET,
		C("XYZZY\r\n"), S("500 5.5.2 Error: command not recognized\r\n"),
		C("FOO\r\n"), S("500 5.5.2 Error\r\n"),
		C("BAR\r\n"), S("500 5.5.2 Error\r\n"),
		C("BAZ\r\n"), S("500 5.5.2 Error\r\n"),
		C("QUX\r\n"), S("500 5.5.2 Error\r\n") },
	  { SMTP_R_UNKNOWN_CMD, SMTP_R_UNKNOWN_CMD, SMTP_R_UNKNOWN_CMD,
	    SMTP_R_UNKNOWN_CMD, SMTP_R_UNKNOWN_CMD, SMTP_R_ERROR_LIMIT, END },
	  SMTP_A_KILL },
	{ "server error replies count towards the limit", SMTP_P_SMTP, TW_ERR5, {
		GREET, EHLO_PIPE,
		C("MAIL FROM:<a@b.example>\r\n"), S("250 Ok\r\n"),
		C("RCPT TO:<x@d.example>\r\n"), S("554 5.7.1 no\r\n"),
		C("RCPT TO:<y@d.example>\r\n"), S("554 5.7.1 no\r\n"),
		C("RCPT TO:<z@d.example>\r\n"), S("554 5.7.1 no\r\n"),
		C("RCPT TO:<w@d.example>\r\n"), S("554 5.7.1 no\r\n"),
		C("RCPT TO:<v@d.example>\r\n"), S("554 5.7.1 no\r\n") },
	  { SMTP_R_ERROR_LIMIT, END }, SMTP_A_KILL },
	{ "bad syntax: MAIL without FROM:", SMTP_P_SMTP, TW_NONE, {
		GREET, EHLO_PIPE, C("MAIL <a@b>\r\n"), S("501 5.5.4 Syntax\r\n") },
	  { SMTP_R_BAD_SYNTAX, END }, SMTP_A_SCORE },
	{ "junk: NOOP flood", SMTP_P_SMTP, TW_JUNK3, {
		GREET, EHLO_PIPE,
		C("NOOP\r\n"), S("250 Ok\r\n"), C("NOOP\r\n"), S("250 Ok\r\n"),
		C("RSET\r\n"), S("250 Ok\r\n"), C("NOOP\r\n"), S("250 Ok\r\n") },
	  { SMTP_R_JUNK_LIMIT, END }, SMTP_A_KILL },
	{ "junk: EHLO repeats", SMTP_P_SMTP, TW_JUNK3, {
		GREET, EHLO_PIPE, EHLO_PIPE, EHLO_PIPE, EHLO_PIPE, EHLO_PIPE },
	  { SMTP_R_JUNK_LIMIT, END }, SMTP_A_KILL },
	{ "legit: RSET between messages resets the junk count", SMTP_P_SMTP,
	  TW_JUNK3, {
		GREET, EHLO_PIPE,
		C("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n"),
		S("250 Ok\r\n250 Ok\r\n354 go\r\n"),
		C("x\r\n.\r\nRSET\r\nNOOP\r\n"),
		S("250 queued\r\n250 Ok\r\n250 Ok\r\n"),
		C("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n"),
		S("250 Ok\r\n250 Ok\r\n354 go\r\n"),
		C("x\r\n.\r\nRSET\r\nNOOP\r\n"),
		S("250 queued\r\n250 Ok\r\n250 Ok\r\n"),
		C("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n"),
		S("250 Ok\r\n250 Ok\r\n354 go\r\n"),
		C("x\r\n.\r\nRSET\r\nQUIT\r\n") },
	  { END }, SMTP_A_ALLOW },
	{ "VRFY probe answered with 250", SMTP_P_SMTP, TW_NONE, {
		GREET, EHLO_PIPE,
		C("VRFY postmaster\r\n"), S("250 <postmaster@example.org>\r\n"),
		C("EXPN staff\r\n"), S("252 2.0.0 staff\r\n") },
	  { SMTP_R_VRFY, SMTP_R_AUDIT_VRFY, SMTP_R_EXPN, END }, SMTP_A_SCORE },
	{ "null sender when scored", SMTP_P_SMTP, TW_SCORE_ALL, {
		GREET, EHLO_PIPE, C("MAIL FROM: <>\r\n"), S("250 Ok\r\n") },
	  { SMTP_R_NULL_SENDER, END }, SMTP_A_SCORE },
	{ "relay attempt without AUTH", SMTP_P_SMTP, TW_LOCAL, {
		GREET, EHLO_PIPE,
		C("MAIL FROM:<spam@spammer.example>\r\n"), S("250 Ok\r\n"),
		C("RCPT TO:<postmaster>\r\n"), S("250 Ok\r\n"),
		C("RCPT TO:<victim@elsewhere.example>\r\n") },
	  { SMTP_R_RELAY_ATTEMPT, END }, SMTP_A_KILL },
	{ "relay via source route", SMTP_P_SMTP, TW_LOCAL, {
		GREET, EHLO_PIPE,
		C("MAIL FROM:<a@b.example>\r\n"), S("250 Ok\r\n"),
		C("RCPT TO:<@example.org:victim@elsewhere.example>\r\n") },
	  { SMTP_R_RELAY_ATTEMPT, END }, SMTP_A_KILL },
	{ "relay accepted by the server (audit)", SMTP_P_SMTP,
	  TW_LOCAL | TW_SCORE_ALL, {
		GREET, EHLO_PIPE,
		C("MAIL FROM:<a@b.example>\r\n"), S("250 Ok\r\n"),
		C("RCPT TO:<victim@elsewhere.example>\r\n"), S("250 Ok\r\n") },
	  { SMTP_R_RELAY_ATTEMPT, SMTP_R_AUDIT_RELAY, END }, SMTP_A_SCORE },
	{ "AUTH failure (535) and clear-text AUTH", SMTP_P_SMTP, TW_NONE, {
		GREET, EHLO_PIPE,
		C("AUTH LOGIN\r\n"), S("334 VXNlcm5hbWU6\r\n"),
		C("YWRtaW4=\r\n"), S("334 UGFzc3dvcmQ6\r\n"),
		C("MTIzNDU2\r\n"), S("535 5.7.8 Error: authentication failed\r\n"),
		C("AUTH PLAIN AHBvc3RtYXN0ZXIAcGFzc3dvcmQ=\r\n"),
		S("535 5.7.8 Error: authentication failed\r\n") },
	  { SMTP_R_CLEARTEXT_AUTH, SMTP_R_AUTH_FAILED, SMTP_R_CLEARTEXT_AUTH,
	    SMTP_R_AUTH_FAILED, END }, SMTP_A_SCORE },
	{ "unadvertised pipelining", SMTP_P_SMTP, TW_NONE, {
		GREET, EHLO_PLAIN,
		C("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"),
		S("250 Ok\r\n250 Ok\r\n") },
	  { SMTP_R_UNADV_PIPELINING, END }, SMTP_A_SCORE },
	{ "pipelining after a group-ending command (NOOP)", SMTP_P_SMTP, TW_NONE, {
		GREET, EHLO_PIPE,
		C("NOOP\r\nMAIL FROM:<a@b.example>\r\n"), S("250 Ok\r\n250 Ok\r\n") },
	  { SMTP_R_PIPELINING_GROUP, END }, SMTP_A_SCORE },
	{ "message text before 354, then accepted", SMTP_P_SMTP, TW_NONE, {
		GREET, EHLO_PIPE,
		C("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n"
		  "Subject: early\r\n\r\nbody\r\n.\r\n"),
		S("250 Ok\r\n250 Ok\r\n354 go\r\n250 queued\r\n") },
	  { SMTP_R_PIPELINING_GROUP, END }, SMTP_A_SCORE },
	{ "message text before a refused DATA: desync", SMTP_P_SMTP, TW_NONE, {
		GREET, EHLO_PIPE,
		C("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n"
		  "RCPT TO:<hidden@d.example>\r\n"),
		S("250 Ok\r\n550 5.1.1 no such user\r\n554 5.5.1 no valid recipients\r\n") },
	  { SMTP_R_PIPELINING_GROUP, SMTP_R_INVALID_RCPT, SMTP_R_DATA_DESYNC, END },
	  SMTP_A_KILL },
	{ "STARTTLS command injection", SMTP_P_SMTP, TW_NONE, {
		GREET, EHLO_PIPE,
		C("STARTTLS\r\nRSET\r\n") },
	  { SMTP_R_STARTTLS_INJECTION, END }, SMTP_A_KILL },
	{ "bare LF in a command and in DATA", SMTP_P_SMTP, TW_NONE, {
		GREET, C("EHLO lf.example\n"),
		S("250-mx\r\n250 PIPELINING\r\n"),
		C("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n"),
		S("250 Ok\r\n250 Ok\r\n354 go\r\n"),
		C("line one\nline two\r\n.\r\n"), S("250 queued\r\n") },
	  { SMTP_R_BARE_LF, SMTP_R_BARE_LF, END }, SMTP_A_SCORE },
	{ "smuggling: <LF>.<LF>", SMTP_P_SMTP, TW_NONE, {
		GREET, EHLO_PIPE,
		C("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n"),
		S("250 Ok\r\n250 Ok\r\n354 go\r\n"),
		C("hello\n.\nMAIL FROM:<admin@bank.example>\r\n") },
	  { SMTP_R_BARE_LF, SMTP_R_SMUGGLE_LF, END }, SMTP_A_KILL },
	{ "smuggling: <CR><LF>.<LF>", SMTP_P_SMTP, TW_NONE, {
		GREET, EHLO_PIPE,
		C("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n"),
		S("250 Ok\r\n250 Ok\r\n354 go\r\n"),
		C("hello\r\n.\nMAIL FROM:<admin@bank.example>\r\n") },
	  { SMTP_R_SMUGGLE_LF, END }, SMTP_A_KILL },
	{ "smuggling: <CR>.<CR>", SMTP_P_SMTP, TW_NONE, {
		GREET, EHLO_PIPE,
		C("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n"),
		S("250 Ok\r\n250 Ok\r\n354 go\r\n"),
		C("hello\r.\rMAIL FROM:<admin@bank.example>\r\n") },
	  { SMTP_R_BARE_CR, SMTP_R_SMUGGLE_CR, END }, SMTP_A_KILL },
	{ "smuggling: <LF>.<CR> without LF", SMTP_P_SMTP, TW_NONE, {
		GREET, EHLO_PIPE,
		C("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n"),
		S("250 Ok\r\n250 Ok\r\n354 go\r\n"),
		C("hello\r\n.\rMAIL FROM:<admin@bank.example>\r\n") },
	  { SMTP_R_SMUGGLE_CR, END }, SMTP_A_KILL },
	{ "legit: dot-stuffed lines and lone CR-free dots", SMTP_P_SMTP, TW_NONE, {
		GREET, EHLO_PIPE,
		C("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n"),
		S("250 Ok\r\n250 Ok\r\n354 go\r\n"),
		C("..\r\n...\r\n.x\r\n. \r\nend. \r\n.\r\n"), S("250 queued\r\n") },
	  { END }, SMTP_A_ALLOW },
	{ "HTTP request on port 25", SMTP_P_SMTP, TW_NONE, {
		GREET, C("GET / HTTP/1.1\r\nHost: mx.example.org\r\n\r\n") },
	  { SMTP_R_NON_SMTP_HTTP, END }, SMTP_A_KILL },
	{ "HTTP CONNECT proxy probe", SMTP_P_SMTP, TW_NONE, {
		GREET, C("CONNECT 198.51.100.1:25 HTTP/1.0\r\n\r\n") },
	  { SMTP_R_NON_SMTP_HTTP, END }, SMTP_A_KILL },
	{ "TLS ClientHello without STARTTLS", SMTP_P_SMTP, TW_NONE, {
		GREET, C("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03") },
	  { SMTP_R_NON_SMTP_TLS, END }, SMTP_A_KILL },
	{ "binary garbage", SMTP_P_SMTP, TW_NONE, {
		GREET, C("\x00\x01\x02\x03garbage\r\n") },
	  { SMTP_R_NON_SMTP_BINARY, END }, SMTP_A_KILL },
	{ "too many recipients", SMTP_P_SMTP, TW_RCPT3, {
		GREET, EHLO_PIPE,
		C("MAIL FROM:<a@b.example>\r\nRCPT TO:<1@d.example>\r\n"
		  "RCPT TO:<2@d.example>\r\nRCPT TO:<3@d.example>\r\n"
		  "RCPT TO:<4@d.example>\r\n") },
	  { SMTP_R_TOO_MANY_RCPT, END }, SMTP_A_SCORE },
	{ "out of sequence: RCPT before MAIL, DATA without RCPT",
	  SMTP_P_SMTP, TW_NONE, {
		GREET, EHLO_PIPE,
		C("RCPT TO:<c@d.example>\r\n"), S("503 5.5.1 need MAIL\r\n"),
		C("MAIL FROM:<a@b.example>\r\n"), S("250 Ok\r\n"),
		C("DATA\r\n"), S("554 5.5.1 no valid recipients\r\n") },
	  { SMTP_R_OUT_OF_SEQUENCE, SMTP_R_OUT_OF_SEQUENCE, END }, SMTP_A_SCORE },
	{ "BDAT without CHUNKING: read as commands", SMTP_P_SMTP, TW_NONE, {
		GREET, EHLO_PLAIN,
		C("BDAT 10\r\n"), S("500 5.5.1 unknown\r\n"),
		C("XXXX\r\n") },
	  { SMTP_R_UNKNOWN_CMD, SMTP_R_UNKNOWN_CMD, END }, SMTP_A_SCORE },
	{ "audit: version in banner, EHLO and HELP", SMTP_P_SMTP, TW_NONE, {
		S("220 mx.example.org ESMTP Exim 4.96 Mon, 23 Nov 2026 12:00:00 +0000\r\n"),
		C("EHLO c.example\r\n"),
		S("250-mx.example.org Microsoft ESMTP MAIL Service, Version: 10.0.17763.1\r\n"
		  "250 PIPELINING\r\n"),
		C("HELP\r\n"), S("214-This is Sendmail version 8.15.2\r\n214 End\r\n") },
	  { SMTP_R_AUDIT_BANNER, SMTP_R_AUDIT_EHLO, SMTP_R_AUDIT_HELP, END },
	  SMTP_A_SCORE },
	{ "midstream pickup inside DATA, then a command", SMTP_P_SMTP, TW_MIDSTREAM, {
		C("MAIL FROM:<looks@like.command>\r\nmore text\r\n.\r\n"),
		S("250 2.0.0 queued\r\n"),
		C("RSET\r\nFROB\r\n") },
	  { SMTP_R_UNKNOWN_CMD, END }, SMTP_A_SCORE },

	{ "legit midstream: long text line before sync, 354 of an unseen DATA",
	  SMTP_P_SMTP, TW_MIDSTREAM, {
		C(L998 L600 "\r\nRCPT TO:<x@elsewhere.example>\r\nDATA\r\n"),
		S("250 2.1.5 Ok\r\n"),
		S("354 go ahead\r\n"),
		C("GET / HTTP/1.0\r\nXYZZY\r\n.\r\n"), S("250 queued\r\n"),
		C("QUIT\r\n"), S("221 Bye\r\n") },
	  { END }, SMTP_A_ALLOW },

	/* ---- POP3 / IMAP -------------------------------------------- */
	{ "POP3 clear-text USER/PASS, failed", SMTP_P_POP3, TW_NONE, {
		S("+OK POP3 ready\r\n"),
		C("USER alice\r\n"), S("+OK\r\n"),
		C("PASS secret\r\n"), S("-ERR [AUTH] invalid login\r\n") },
	  { SMTP_R_POP3_CLEARTEXT, SMTP_R_LOGIN_FAILED, END }, SMTP_A_SCORE },
	{ "legit POP3: STLS, and -ERR inside a message is no failure",
	  SMTP_P_POP3, TW_NONE, {
		S("+OK POP3 ready\r\n"),
		C("CAPA\r\n"), S("+OK\r\nSTLS\r\nUSER\r\n.\r\n"),
		C("APOP alice c4c9334bac560ecc979e58001b3e22fb\r\n"), S("+OK\r\n"),
		C("RETR 1\r\n"), S("+OK 20 octets\r\n-ERR fake\r\n.\r\n"),
		C("PASS x\r\n"), S("+OK\r\n"),
		C("STLS\r\n"), S("+OK Begin TLS\r\n"),
		C("USER bob\r\n") },
	  { END }, SMTP_A_ALLOW },
	{ "POP3 AUTH PLAIN with continuation", SMTP_P_POP3, TW_NONE, {
		S("+OK ready\r\n"), C("AUTH PLAIN\r\n"), S("+ \r\n"),
		C("AGFsaWNlAHNlY3JldA==\r\n"), S("-ERR auth failed\r\n") },
	  { SMTP_R_POP3_CLEARTEXT, SMTP_R_LOGIN_FAILED, END }, SMTP_A_SCORE },
	{ "IMAP LOGIN in clear, failed", SMTP_P_IMAP, TW_NONE, {
		S("* OK IMAP4rev1 ready\r\n"),
		C("a1 CAPABILITY\r\n"), S("* CAPABILITY IMAP4rev1 STARTTLS\r\na1 OK\r\n"),
		C("a2 LOGIN alice secret\r\n"),
		S("a2 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n") },
	  { SMTP_R_IMAP_CLEARTEXT, SMTP_R_LOGIN_FAILED, END }, SMTP_A_SCORE },
	{ "IMAP AUTHENTICATE PLAIN, literal login", SMTP_P_IMAP, TW_NONE, {
		S("* OK ready\r\n"),
		C("b1 AUTHENTICATE PLAIN\r\n"), S("+ \r\n"),
		C("AGFsaWNlAHNlY3JldA==\r\n"), S("b1 OK done\r\n"),
		C("b2 LOGIN {5}\r\n"), S("+ go\r\n"),
		C("alice {6}\r\n"), S("+ go\r\n"),
		C("secret\r\n"), S("b2 BAD already\r\n") },
	  { SMTP_R_IMAP_CLEARTEXT, SMTP_R_IMAP_CLEARTEXT, SMTP_R_LOGIN_FAILED, END },
	  SMTP_A_SCORE },
	{ "legit IMAP: STARTTLS then opaque", SMTP_P_IMAP, TW_NONE, {
		S("* OK ready\r\n"),
		C("t1 STARTTLS\r\n"), S("t1 OK Begin TLS\r\n"),
		C("t2 LOGIN alice secret\r\n") },
	  { END }, SMTP_A_ALLOW },
};

/* ---- harness ------------------------------------------------------- */

struct rec {
	int n;
	int reason[MAX_EVENTS];
	int leaked;                 /* a credential reached an excerpt */
	struct smtp_event last;
};

static void rec_emit(void *ctx, const struct smtp_event *ev)
{
	struct rec *r = ctx;

	if (r->n < MAX_EVENTS)
		r->reason[r->n] = ev->reason;
	r->n++;
	r->last = *ev;
	if (strstr(ev->arg, "AHVzZXI") || strstr(ev->arg, "hunter"))
		r->leaked = 1;
}

static void make_config(struct smtp_config *cfg, unsigned tw)
{
	unsigned i;

	smtp_config_default(cfg);
	if (tw & TW_LOCAL) {
		cfg->local_domains[0] = "example.org";
		cfg->local_domains[1] = ".example.net";
		cfg->n_local_domains = 2;
	}
	if (tw & TW_SCORE_ALL)
		for (i = 0; i < SMTP_R__COUNT; i++)
			cfg->action[i] = SMTP_A_SCORE;
	if (tw & TW_RCPT3)
		cfg->rcpt_limit = 3;
	if (tw & TW_JUNK3)
		cfg->junk_limit = 3;
	if (tw & TW_QUIET_AUTH)
		cfg->action[SMTP_R_CLEARTEXT_AUTH] = SMTP_A_ALLOW;
	if (tw & TW_ERR5)
		cfg->error_limit = 5;
}

/*
 * Run a case.  split_step/split_at: that step is delivered in two parts
 * (split_at bytes first); bytewise: every step one byte at a time.
 */
static enum smtp_action run(const struct tcase *tc, struct rec *r, int split_step,
			    size_t split_at, int bytewise, struct mxi_mem *mem)
{
	struct smtp_config cfg;
	struct smtp_session s;
	struct smtp_sink sink = { .emit = rec_emit, .ctx = r, .session_id = 7 };
	enum smtp_action worst = SMTP_A_ALLOW, a;
	int i;

	make_config(&cfg, tc->tweak);
	memset(r, 0, sizeof(*r));
	smtp_session_init(&s, &cfg, mem, tc->proto, tc->tweak & TW_MIDSTREAM);
	for (i = 0; i < MAX_STEPS && tc->steps[i].dir; i++) {
		const struct step *st = &tc->steps[i];
		enum smtp_dir dir = st->dir == 'C' ? SMTP_DIR_C2S : SMTP_DIR_S2C;
		const uint8_t *d = (const uint8_t *)st->data;
		size_t k;

		if (bytewise) {
			for (k = 0; k < st->len; k++) {
				a = smtp_feed(&s, dir, d + k, 1, &sink);
				worst = a > worst ? a : worst;
			}
		} else if (i == split_step) {
			a = smtp_feed(&s, dir, d, split_at, &sink);
			worst = a > worst ? a : worst;
			a = smtp_feed(&s, dir, d + split_at, st->len - split_at, &sink);
			worst = a > worst ? a : worst;
		} else {
			a = smtp_feed(&s, dir, d, st->len, &sink);
			worst = a > worst ? a : worst;
		}
	}
	smtp_session_release(&s);
	return worst;
}

static int check(const struct tcase *tc, const struct rec *r,
		 enum smtp_action worst, const char *how)
{
	int n = 0, ok = 1;

	while (n < MAX_EVENTS && tc->expect[n] != END)
		n++;
	if (r->n != n)
		ok = 0;
	for (int i = 0; ok && i < n; i++)
		if (r->reason[i] != tc->expect[i])
			ok = 0;
	if (worst != tc->worst)
		ok = 0;
	if (!ok) {
		printf("not ok - %s (%s): got %d events [", tc->label, how, r->n);
		for (int i = 0; i < r->n && i < MAX_EVENTS; i++)
			printf(" %s", smtp_reason_name(r->reason[i]));
		printf(" ] worst=%s, want %d events [", smtp_action_name(worst), n);
		for (int i = 0; i < n; i++)
			printf(" %s", smtp_reason_name(tc->expect[i]));
		printf(" ] worst=%s\n", smtp_action_name(tc->worst));
	}
	return ok;
}

/* Every event carries a NUL-terminated, escaped, bounded excerpt. */
static int check_event_format(void)
{
	static const struct tcase tc = { "excerpt", SMTP_P_SMTP, TW_NONE, {
		GREET, C("VRFY \"quoted\"\\\xff" L600 "\r\n") },
		{ END }, 0 };
	struct rec r;
	struct mxi_mem mem = { 0 };
	size_t i;

	run(&tc, &r, -1, 0, 0, &mem);
	if (r.n < 1)
		return 0;
	if (strcmp(r.last.command, "VRFY") != 0)
		return 0;
	if (memchr(r.last.arg, '\0', sizeof(r.last.arg)) == NULL)
		return 0;
	for (i = 0; r.last.arg[i]; i++)
		if ((unsigned char)r.last.arg[i] < 0x20 ||
		    (unsigned char)r.last.arg[i] >= 0x7f)
			return 0;
	if (strncmp(r.last.arg, "VRFY \\x22quoted\\x22\\x5c\\xffxxx", 30) != 0) {
		printf("# excerpt: %s\n", r.last.arg);
		return 0;
	}
	if (r.last.session_id != 7 || r.last.kind != SMTP_K_VIOLATION ||
	    strcmp(smtp_reason_keyword(r.last.reason), "COMMAND TOO LONG") != 0)
		return 0;
	return mem.used == 0;
}

/* Credentials never appear in events. */
static int check_no_secrets(void)
{
	static const struct tcase tc = { "secrets", SMTP_P_SMTP, TW_NONE, {
		GREET, EHLO_PIPE,
		C("AUTH PLAIN AHVzZXIAaHVudGVyMg==\r\n"), S("535 5.7.8 no\r\n") },
		{ END }, 0 };
	struct rec r;
	struct mxi_mem mem = { 0 };
	struct smtp_config cfg;
	struct smtp_session s;
	struct smtp_sink sink = { .emit = rec_emit, .ctx = &r };
	int i;

	(void)tc;
	make_config(&cfg, TW_NONE);
	memset(&r, 0, sizeof(r));
	smtp_session_init(&s, &cfg, &mem, SMTP_P_SMTP, false);
	for (i = 0; tc.steps[i].dir; i++)
		smtp_feed(&s, tc.steps[i].dir == 'C' ? SMTP_DIR_C2S : SMTP_DIR_S2C,
			  (const uint8_t *)tc.steps[i].data, tc.steps[i].len, &sink);
	smtp_session_release(&s);
	/* first event is CLEARTEXT AUTH: its excerpt is the mechanism only */
	return r.n == 2 && r.reason[0] == SMTP_R_CLEARTEXT_AUTH && !r.leaked &&
	       mem.used == 0;
}

int main(void)
{
	size_t ncases = sizeof(cases) / sizeof(cases[0]);
	unsigned fails = 0, runs = 0;
	size_t c;
	int ok;

	for (c = 0; c < ncases; c++) {
		const struct tcase *tc = &cases[c];
		struct mxi_mem mem = { 0 };
		struct rec r;
		enum smtp_action w;
		int i, good = 1;

		w = run(tc, &r, -1, 0, 0, &mem);
		good &= check(tc, &r, w, "whole");
		runs++;
		w = run(tc, &r, -1, 0, 1, &mem);
		good &= check(tc, &r, w, "bytewise");
		runs++;
		for (i = 0; good && i < MAX_STEPS && tc->steps[i].dir; i++) {
			size_t k;

			for (k = 1; good && k < tc->steps[i].len; k++) {
				char how[64];

				snprintf(how, sizeof(how), "step %d split at %zu", i, k);
				w = run(tc, &r, i, k, 0, &mem);
				good &= check(tc, &r, w, how);
				runs++;
			}
		}
		if (mem.used != 0) {
			printf("not ok - %s: %zu bytes leaked from the budget\n",
			       tc->label, mem.used);
			good = 0;
		}
		printf("%s - %s\n", good ? "ok" : "not ok", tc->label);
		fails += !good;
	}
	ok = check_event_format();
	printf("%s - event excerpt escaped, bounded, keyword stable\n",
	       ok ? "ok" : "not ok");
	fails += !ok;
	ok = check_no_secrets();
	printf("%s - AUTH credentials not logged\n", ok ? "ok" : "not ok");
	fails += !ok;
	printf("# %zu cases, %u runs, %u failed\n", ncases, runs, fails);
	return fails ? 1 : 0;
}
