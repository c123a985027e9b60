// SPDX-License-Identifier: GPL-2.0-only
/*
 * smtp.c - the SMTP inspection engine: both directions of one session in,
 * events and an action out.  POP3 and IMAP logins live in smtp_mailbox.c.
 *
 * Decisions a reader would otherwise reverse-engineer:
 *  - We interpret the stream the way the server will.  Lines end at LF
 *    (Postfix does so; a CR before it is stripped); a bare CR is data.  A
 *    BDAT chunk is skipped only if the server advertised CHUNKING, since a
 *    server without it answers 500 and reads the chunk as commands.  DATA
 *    mode starts on the server's 354, not on the client's DATA.
 *  - Client bytes sent after DATA but before its reply violate RFC 2920
 *    3.1; we read them as message text (what a server that answers 354
 *    does) and report DATA DESYNC if the server then refuses DATA, because
 *    it will read that text as commands.
 *  - The line limit is checked before a byte is appended, so the packet
 *    that carries the 513th octet of a command is the one judged.
 *  - Replies are matched to commands through a FIFO of outstanding
 *    commands (pipelining, RFC 2920); past SMTP_PEND_MAX outstanding
 *    commands only a count is kept, FIFO order is preserved.
 *  - An idle session holds no heap memory: a line is parsed straight from
 *    the delivered bytes, and copied only while split across deliveries.
 *  - Argument excerpts of credentials (AUTH initial response, PASS, IMAP
 *    LOGIN password) are never copied into events.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "smtp.h"
#include "smtp_int.h"

#define REASON_TABLE(id, name, kw, kind, act) { name, kw, kind, act },
static const struct {
	const char *name;
	const char *keyword;
	uint8_t kind;
	uint8_t def_action;
} reason_tab[SMTP_R__COUNT] = {
	SMTP_REASONS(REASON_TABLE)
};
#undef REASON_TABLE

const char *smtp_reason_name(enum smtp_reason r)
{
	return (unsigned)r < SMTP_R__COUNT ? reason_tab[r].name : "unknown";
}

const char *smtp_reason_keyword(enum smtp_reason r)
{
	return (unsigned)r < SMTP_R__COUNT ? reason_tab[r].keyword : "UNKNOWN";
}

enum smtp_kind smtp_reason_kind(enum smtp_reason r)
{
	return (unsigned)r < SMTP_R__COUNT ? reason_tab[r].kind : SMTP_K_INFO;
}

const char *smtp_action_name(enum smtp_action a)
{
	static const char *const names[] = { "allow", "score", "deny", "kill" };

	return (unsigned)a <= SMTP_A_KILL ? names[a] : "unknown";
}

void smtp_config_default(struct smtp_config *cfg)
{
	unsigned i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < SMTP_R__COUNT; i++)
		cfg->action[i] = reason_tab[i].def_action;
	cfg->cmd_line_max = 512;
	cfg->mail_line_max = 1024;
	cfg->auth_line_max = 12288;
	cfg->data_line_max = 1000;
	cfg->reply_line_max = 512;
	cfg->error_limit = 20;
	cfg->junk_limit = 100;
	cfg->rcpt_limit = 1000;
}

size_t smtp_escape(char *out, size_t outsz, const uint8_t *in, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	if (!outsz)
		return 0;
	for (i = 0; i < n; i++) {
		uint8_t c = in[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			if (o + 1 >= outsz)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= outsz)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return o;
}

static void addr_text(char *out, size_t outsz, const struct mxw_addr *a)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (!memcmp(a->a, mapped, sizeof(mapped)))
		inet_ntop(AF_INET, a->a + 12, out, (socklen_t)outsz);
	else
		inet_ntop(AF_INET6, a->a, out, (socklen_t)outsz);
}

int smtp_event_format(char *out, size_t outsz, const struct smtp_event *ev)
{
	char c[INET6_ADDRSTRLEN], s[INET6_ADDRSTRLEN];

	addr_text(c, sizeof(c), &ev->client);
	addr_text(s, sizeof(s), &ev->server);
	return snprintf(out, outsz, "%s from [%s]:%u to [%s]:%u%s%s%s%s%s%s",
			smtp_reason_keyword(ev->reason), c, ev->client_port, s,
			ev->server_port, ev->command[0] ? " cmd=" : "",
			ev->command, ev->arg[0] ? " arg=\"" : "", ev->arg,
			ev->arg[0] ? "\"" : "",
			ev->action >= SMTP_A_DENY ? (ev->action == SMTP_A_KILL ?
						     " action=kill" : " action=deny") : "");
}

void smtp_session_init(struct smtp_session *s, const struct smtp_config *cfg,
		       struct mxi_mem *mem, enum smtp_proto proto,
		       bool midstream)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->mem = mem;
	s->proto = proto;
	s->cmode = SMTP_CM_CMD;
	if (midstream) {
		/* Unknown history: assume the server offered everything and
		 * judge nothing until a reply shows where the dialogue is. */
		s->flags |= SMTP_SF_MIDSTREAM | SMTP_SF_GREETED |
			    SMTP_SF_HELO | SMTP_SF_TALKED;
		if (proto == SMTP_P_SMTP)
			s->flags |= SMTP_SF_UNSYNCED;
		s->caps = SMTP_CAP_ALL;
	}
}

static void linebuf_reset(struct smtp_session *s, struct smtp_linebuf *lb)
{
	if (lb->buf)
		mxi_mem_free(s->mem, lb->buf, SMTP_LINE_KEEP);
	memset(lb, 0, sizeof(*lb));
}

void smtp_session_release(struct smtp_session *s)
{
	linebuf_reset(s, &s->line[0]);
	linebuf_reset(s, &s->line[1]);
}

/* Raise a check: count it, emit its event, apply its action. */
enum smtp_action smtp_ev(struct smtp_session *s, const struct smtp_sink *sink,
			 enum smtp_reason r, enum smtp_dir dir,
			 const struct smtp_evinfo *info)
{
	enum smtp_action act = s->cfg->action[r];
	struct smtp_event ev;

	if (sink && sink->reason_count)
		sink->reason_count[r]++;
	if (act == SMTP_A_ALLOW)
		return act;
	if (sink && sink->emit) {
		memset(&ev, 0, sizeof(ev));
		ev.session_id = sink->session_id;
		ev.time_ns = sink->now_ns;
		if (sink->client)
			ev.client = *sink->client;
		if (sink->server)
			ev.server = *sink->server;
		ev.client_port = sink->client_port;
		ev.server_port = sink->server_port;
		ev.reason = (uint16_t)r;
		ev.kind = reason_tab[r].kind;
		ev.action = (uint8_t)act;
		ev.dir = (uint8_t)dir;
		ev.proto = s->proto;
		if (info) {
			ev.reply_code = info->code;
			ev.value = info->value;
			if (info->cmd) {
				strncpy(ev.command, info->cmd, sizeof(ev.command) - 1);
			}
			if (info->arg)
				smtp_escape(ev.arg, sizeof(ev.arg), info->arg,
					    info->arglen);
		}
		ev.commands = s->commands;
		ev.errors = s->errors;
		ev.junk = s->junk;
		ev.rcpts = s->rcpts;
		ev.messages = s->messages;
		sink->emit(sink->ctx, &ev);
	}
	if (act > s->call_max)
		s->call_max = (uint8_t)act;
	if (act >= SMTP_A_DENY) {
		s->flags |= SMTP_SF_TERMINAL;
		if (act > s->term_action)
			s->term_action = (uint8_t)act;
	}
	return act;
}

enum smtp_action smtp_raise(struct smtp_session *s, const struct smtp_sink *sink,
			    enum smtp_reason r, enum smtp_dir dir,
			    uint32_t value)
{
	struct smtp_evinfo info = { .value = value };

	if ((unsigned)r >= SMTP_R__COUNT)
		return SMTP_A_ALLOW;
	s->call_max = 0;
	smtp_ev(s, sink, r, dir, &info);
	return (enum smtp_action)s->call_max;
}

/* Raise once per session: SMTP_RF_* bit in s->reported. */
static void ev_once(struct smtp_session *s, const struct smtp_sink *sink,
		    enum smtp_reason r, enum smtp_dir dir,
		    const struct smtp_evinfo *info)
{
	uint64_t bit = 1ull << (r & 63);

	if (r < 64) {
		if (s->reported & bit)
			return;
		s->reported |= bit;
	}
	smtp_ev(s, sink, r, dir, info);
}

void smtp_count_error(struct smtp_session *s, const struct smtp_sink *sink,
		      enum smtp_dir dir)
{
	s->errors++;
	if (s->cfg->error_limit && s->errors >= s->cfg->error_limit &&
	    !(s->flags & SMTP_SF_ERRLIM)) {
		struct smtp_evinfo info = { .value = s->errors };

		s->flags |= SMTP_SF_ERRLIM;
		smtp_ev(s, sink, SMTP_R_ERROR_LIMIT, dir, &info);
	}
}

static void count_junk(struct smtp_session *s, const struct smtp_sink *sink,
		       const char *cmd)
{
	s->junk++;
	if (s->cfg->junk_limit && s->junk > s->cfg->junk_limit &&
	    !(s->flags & SMTP_SF_JUNKLIM)) {
		struct smtp_evinfo info = { .cmd = cmd, .value = s->junk };

		s->flags |= SMTP_SF_JUNKLIM;
		smtp_ev(s, sink, SMTP_R_JUNK_LIMIT, SMTP_DIR_C2S, &info);
	}
}

static void end_txn(struct smtp_session *s);

/* ---- outstanding commands (RFC 2920 reply matching) ------------------ */

static void pend_push(struct smtp_session *s, uint8_t cmd, uint8_t flags)
{
	if (s->pend_untracked || s->pend_len == SMTP_PEND_MAX) {
		s->pend_untracked++;
		return;
	}
	s->pend[(s->pend_head + s->pend_len) % SMTP_PEND_MAX] =
		(struct smtp_pending){ cmd, flags };
	s->pend_len++;
}

/* The command the next reply answers; SMTP_C_NONE if none is known. */
static struct smtp_pending pend_peek(const struct smtp_session *s)
{
	if (s->pend_len)
		return s->pend[s->pend_head];
	return (struct smtp_pending){ SMTP_C_NONE, 0 };
}

static void pend_pop(struct smtp_session *s)
{
	if (s->pend_len) {
		s->pend_head = (s->pend_head + 1) % SMTP_PEND_MAX;
		s->pend_len--;
	} else if (s->pend_untracked) {
		s->pend_untracked--;
	}
}

static bool pend_any(const struct smtp_session *s)
{
	return s->pend_len || s->pend_untracked;
}

/* The most recent outstanding command, if tracked. */
static const struct smtp_pending *pend_last(const struct smtp_session *s)
{
	if (s->pend_untracked || !s->pend_len)
		return NULL;
	return &s->pend[(s->pend_head + s->pend_len - 1) % SMTP_PEND_MAX];
}

/* ---- small parsing helpers ------------------------------------------- */

static inline uint8_t up(uint8_t c)
{
	return (c >= 'a' && c <= 'z') ? c - 32 : c;
}


static size_t skip_sp(const uint8_t *p, size_t n, size_t i)
{
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i;
}

/* Reply text looks like it names a software version ("Exim 4.96",
 * "Sendmail 8.15.2/8.15.2", "Version: 10.0.17763.1"): a token holding
 * digit '.' digit that is not a dotted-quad address or a [literal]. */
bool smtp_text_has_version(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t st, en, k;
		unsigned dots = 0, digits_only = 1, dv = 0;

		while (i < n && (p[i] == ' ' || p[i] == '(' || p[i] == ')' ||
				 p[i] == ';' || p[i] == ',' || p[i] == '\t'))
			i++;
		st = i;
		while (i < n && p[i] != ' ' && p[i] != '(' && p[i] != ')' &&
		       p[i] != ';' && p[i] != ',' && p[i] != '\t')
			i++;
		en = i;
		if (en == st || p[st] == '[')
			continue;
		for (k = st; k < en; k++) {
			if (p[k] == '.')
				dots++;
			else if (p[k] < '0' || p[k] > '9')
				digits_only = 0;
			if (k > st && k + 1 < en && p[k] == '.' &&
			    p[k - 1] >= '0' && p[k - 1] <= '9' &&
			    p[k + 1] >= '0' && p[k + 1] <= '9')
				dv = 1;
		}
		if (!dv)
			continue;
		if (digits_only && dots == 3 && en - st <= 15) {
			/* a dotted quad (groups of 1-3 digits) is an address */
			size_t g = 0, maxg = 0;

			for (k = st; k < en; k++) {
				g = p[k] == '.' ? 0 : g + 1;
				maxg = g > maxg ? g : maxg;
			}
			if (maxg <= 3)
				continue;
		}
		return true;
	}
	return false;
}

/* Domain of a forward-path, after the last '@' (source routes skipped);
 * empty for "<postmaster>".  Returns false on a syntax error. */
static bool rcpt_domain(const uint8_t *a, size_t n, const uint8_t **dom,
			size_t *dlen)
{
	size_t i = 0, st, en, at = (size_t)-1, k;

	i = skip_sp(a, n, i);
	if (i < n && a[i] == '<') {
		i++;
		st = i;
		while (i < n && a[i] != '>')
			i++;
		if (i >= n)
			return false;
		en = i;
	} else {
		st = i;
		while (i < n && a[i] != ' ')
			i++;
		en = i;
	}
	if (st < en && a[st] == '@') {      /* RFC 5321 4.1.2 source route */
		for (k = st; k < en && a[k] != ':'; k++)
			;
		st = k < en ? k + 1 : en;
	}
	for (k = st; k < en; k++)
		if (a[k] == '@')
			at = k;
	if (st == en)
		return false;
	if (at == (size_t)-1) {
		*dom = a + en;
		*dlen = 0;
		return true;
	}
	*dom = a + at + 1;
	*dlen = en - at - 1;
	while (*dlen && (*dom)[*dlen - 1] == '.')
		(*dlen)--;
	return true;
}

static bool domain_is_local(const struct smtp_config *cfg, const uint8_t *d,
			    size_t n)
{
	uint32_t i;

	if (!n)
		return true;            /* <postmaster>: RFC 5321 4.5.1 */
	for (i = 0; i < cfg->n_local_domains && i < SMTP_LOCAL_DOMAINS_MAX; i++) {
		const char *ld = cfg->local_domains[i];
		size_t l, k;
		bool sub;

		if (!ld)
			continue;
		sub = ld[0] == '.';
		l = strlen(ld);
		if (sub) {
			if (n <= l - 1)
				continue;
			/* ".example.org" matches "mx.example.org" */
			d += n - l;
			for (k = 0; k < l && up(d[k]) == up((uint8_t)ld[k]); k++)
				;
			d -= n - l;
			if (k == l)
				return true;
		} else if (l == n) {
			for (k = 0; k < l && up(d[k]) == up((uint8_t)ld[k]); k++)
				;
			if (k == l)
				return true;
		}
	}
	return false;
}

/* ---- SMTP client commands -------------------------------------------- */

static void h_helo(struct smtp_session *s, struct smtp_cmdctx *c,
		   const struct smtp_sink *sink)
{
	if (s->flags & SMTP_SF_HELO && !(s->flags & SMTP_SF_UNSYNCED))
		count_junk(s, sink, c->name);
	if (!c->arglen) {
		struct smtp_evinfo info = { .cmd = c->name };

		smtp_ev(s, sink, SMTP_R_BAD_SYNTAX, SMTP_DIR_C2S, &info);
		c->counted = 1;
		smtp_count_error(s, sink, SMTP_DIR_C2S);
	}
	s->flags |= SMTP_SF_HELO;
	s->flags &= ~SMTP_SF_MAIL;      /* RFC 5321 4.1.4: EHLO resets */
	s->rcpts = 0;
}

static void h_mail(struct smtp_session *s, struct smtp_cmdctx *c,
		   const struct smtp_sink *sink)
{
	struct smtp_evinfo info = { .cmd = c->name, .arg = c->arg,
				    .arglen = c->arglen };
	size_t i;

	if (!smtp_prefix_ci(c->arg, c->arglen, "FROM:")) {
		smtp_ev(s, sink, SMTP_R_BAD_SYNTAX, SMTP_DIR_C2S, &info);
		c->counted = 1;
		smtp_count_error(s, sink, SMTP_DIR_C2S);
		return;
	}
	i = skip_sp(c->arg, c->arglen, 5);
	if (i == c->arglen) {           /* "MAIL FROM:" and nothing */
		smtp_ev(s, sink, SMTP_R_BAD_SYNTAX, SMTP_DIR_C2S, &info);
		c->counted = 1;
		smtp_count_error(s, sink, SMTP_DIR_C2S);
		return;
	}
	if (s->flags & SMTP_SF_MAIL && !(s->flags & SMTP_SF_MIDSTREAM))
		smtp_ev(s, sink, SMTP_R_OUT_OF_SEQUENCE, SMTP_DIR_C2S, &info);
	if (c->arglen - i >= 2 && c->arg[i] == '<' && c->arg[i + 1] == '>')
		smtp_ev(s, sink, SMTP_R_NULL_SENDER, SMTP_DIR_C2S, &info);
	s->flags |= SMTP_SF_MAIL;
	s->rcpts = 0;
}

static void h_rcpt(struct smtp_session *s, struct smtp_cmdctx *c,
		   const struct smtp_sink *sink)
{
	struct smtp_evinfo info = { .cmd = c->name, .arg = c->arg,
				    .arglen = c->arglen };
	const uint8_t *dom;
	size_t dlen;

	if (!smtp_prefix_ci(c->arg, c->arglen, "TO:") ||
	    !rcpt_domain(c->arg + 3, c->arglen - 3, &dom, &dlen)) {
		smtp_ev(s, sink, SMTP_R_BAD_SYNTAX, SMTP_DIR_C2S, &info);
		c->counted = 1;
		smtp_count_error(s, sink, SMTP_DIR_C2S);
		return;
	}
	if (!(s->flags & (SMTP_SF_MAIL | SMTP_SF_MIDSTREAM)))
		smtp_ev(s, sink, SMTP_R_OUT_OF_SEQUENCE, SMTP_DIR_C2S, &info);
	s->rcpts++;
	if (s->cfg->rcpt_limit && s->rcpts == s->cfg->rcpt_limit + 1) {
		info.value = s->rcpts;
		smtp_ev(s, sink, SMTP_R_TOO_MANY_RCPT, SMTP_DIR_C2S, &info);
	}
	/* XXX: "user%elsewhere@local" (percent hack) is judged by its last
	 * domain, as Postfix does with allow_percent_hack's rewrite off. */
	if (s->cfg->n_local_domains && !(s->flags & SMTP_SF_AUTHED) &&
	    !domain_is_local(s->cfg, dom, dlen)) {
		c->pflags |= SMTP_PF_FOREIGN;
		smtp_ev(s, sink, SMTP_R_RELAY_ATTEMPT, SMTP_DIR_C2S, &info);
	}
}

static void h_data(struct smtp_session *s, struct smtp_cmdctx *c,
		   const struct smtp_sink *sink)
{
	struct smtp_evinfo info = { .cmd = c->name };

	if (!(s->flags & SMTP_SF_MIDSTREAM) &&
	    (!(s->flags & SMTP_SF_MAIL) || !s->rcpts))
		smtp_ev(s, sink, SMTP_R_OUT_OF_SEQUENCE, SMTP_DIR_C2S, &info);
	s->cmode = SMTP_CM_DATA_WAIT;
}

static bool parse_u64(const uint8_t *p, size_t n, size_t *i, uint64_t *out)
{
	uint64_t v = 0;
	size_t k = *i;

	if (k >= n || p[k] < '0' || p[k] > '9')
		return false;
	for (; k < n && p[k] >= '0' && p[k] <= '9'; k++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (p[k] - '0');
	}
	*i = k;
	*out = v;
	return true;
}

/* RFC 3030: "BDAT <size> [LAST]", then exactly <size> octets. */
static void h_bdat(struct smtp_session *s, struct smtp_cmdctx *c,
		   const struct smtp_sink *sink)
{
	struct smtp_evinfo info = { .cmd = c->name, .arg = c->arg,
				    .arglen = c->arglen };
	uint64_t size;
	size_t i = 0;

	if (!(s->caps & SMTP_CAP_CHUNKING)) {
		/* the server answers 500 and reads the chunk as commands */
		smtp_ev(s, sink, SMTP_R_UNKNOWN_CMD, SMTP_DIR_C2S, &info);
		c->counted = 1;
		smtp_count_error(s, sink, SMTP_DIR_C2S);
		return;
	}
	if (!parse_u64(c->arg, c->arglen, &i, &size) ||
	    (i = skip_sp(c->arg, c->arglen, i),
	     i < c->arglen && !(c->arglen - i == 4 &&
				smtp_prefix_ci(c->arg + i, 4, "LAST")))) {
		smtp_ev(s, sink, SMTP_R_BAD_SYNTAX, SMTP_DIR_C2S, &info);
		c->counted = 1;
		smtp_count_error(s, sink, SMTP_DIR_C2S);
		return;
	}
	if (!(s->flags & SMTP_SF_MIDSTREAM) &&
	    (!(s->flags & SMTP_SF_MAIL) || !s->rcpts))
		smtp_ev(s, sink, SMTP_R_OUT_OF_SEQUENCE, SMTP_DIR_C2S, &info);
	if (i < c->arglen) {
		c->pflags |= SMTP_PF_LAST;
		end_txn(s);     /* the last chunk ends the transaction */
	}
	s->bdat_left = size;
	if (size)
		s->cmode = SMTP_CM_BDAT;
}

static void h_rset(struct smtp_session *s, struct smtp_cmdctx *c,
		   const struct smtp_sink *sink)
{
	count_junk(s, sink, c->name);
	s->flags &= ~SMTP_SF_MAIL;
	s->rcpts = 0;
}

static void h_junk(struct smtp_session *s, struct smtp_cmdctx *c,
		   const struct smtp_sink *sink)
{
	count_junk(s, sink, c->name);
}

static void h_vrfy(struct smtp_session *s, struct smtp_cmdctx *c,
		   const struct smtp_sink *sink)
{
	struct smtp_evinfo info = { .cmd = c->name, .arg = c->arg,
				    .arglen = c->arglen };

	smtp_ev(s, sink, c->id == SMTP_C_VRFY ? SMTP_R_VRFY : SMTP_R_EXPN,
		SMTP_DIR_C2S, &info);
	if (!(s->flags & SMTP_SF_TERMINAL))
		count_junk(s, sink, c->name);
}

static void h_none(struct smtp_session *s, struct smtp_cmdctx *c,
		   const struct smtp_sink *sink)
{
}

static void h_quit(struct smtp_session *s, struct smtp_cmdctx *c,
		   const struct smtp_sink *sink)
{
	s->flags |= SMTP_SF_QUIT;
}

/* RFC 4954: every AUTH we can see is in clear text (after STARTTLS the
 * flow is opaque).  The initial response is a credential: not logged. */
static void h_auth(struct smtp_session *s, struct smtp_cmdctx *c,
		   const struct smtp_sink *sink)
{
	size_t m = 0;
	struct smtp_evinfo info = { .cmd = c->name, .arg = c->arg };

	while (m < c->arglen && c->arg[m] != ' ')
		m++;
	info.arglen = m;
	if (!m) {
		smtp_ev(s, sink, SMTP_R_BAD_SYNTAX, SMTP_DIR_C2S, &info);
		c->counted = 1;
		smtp_count_error(s, sink, SMTP_DIR_C2S);
		return;
	}
	smtp_ev(s, sink, SMTP_R_CLEARTEXT_AUTH, SMTP_DIR_C2S, &info);
}

/* Postscreen-style command table: {name, id, handler, flags}.  ENDS marks
 * handlers that raise checks, any of which may be configured to end the
 * session: the caller stops touching the session after those. */
#define GE SMTP_CF_GROUP_END
#define EN SMTP_CF_ENDS
#define CMD(name, id, h, f) { name, sizeof(name) - 1, id, h, f }
static const struct smtp_cmd_def smtp_cmds[] = {
	CMD("HELO",     SMTP_C_HELO,     h_helo,  GE | EN),
	CMD("EHLO",     SMTP_C_EHLO,     h_helo,  GE | EN),
	CMD("MAIL",     SMTP_C_MAIL,     h_mail,  SMTP_CF_LONG | EN),
	CMD("RCPT",     SMTP_C_RCPT,     h_rcpt,  SMTP_CF_LONG | EN),
	CMD("DATA",     SMTP_C_DATA,     h_data,  GE | EN),
	CMD("BDAT",     SMTP_C_BDAT,     h_bdat,  EN),
	CMD("RSET",     SMTP_C_RSET,     h_rset,  EN),
	CMD("NOOP",     SMTP_C_NOOP,     h_junk,  GE | EN),
	CMD("VRFY",     SMTP_C_VRFY,     h_vrfy,  GE | EN),
	CMD("EXPN",     SMTP_C_EXPN,     h_vrfy,  GE | EN),
	CMD("HELP",     SMTP_C_HELP,     h_none,  GE),
	CMD("QUIT",     SMTP_C_QUIT,     h_quit,  GE),
	CMD("STARTTLS", SMTP_C_STARTTLS, h_none,  GE),
	CMD("AUTH",     SMTP_C_AUTH,     h_auth,  GE | SMTP_CF_AUTHLINE | EN),
	CMD("TURN",     SMTP_C_TURN,     h_none,  GE),
	CMD("ETRN",     SMTP_C_ETRN,     h_junk,  EN),
};
#undef CMD
#undef GE
#undef EN

static const struct smtp_cmd_def *find_cmd(const uint8_t *v, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(smtp_cmds) / sizeof(smtp_cmds[0]); i++)
		if (smtp_cmds[i].len == n && smtp_prefix_ci(v, n, smtp_cmds[i].name))
			return &smtp_cmds[i];
	return NULL;
}

/* HTTP and proxy requests on a mail port (postscreen's
 * postscreen_forbidden_commands, plus header-like lines). */
static bool is_http_verb(const uint8_t *v, size_t n)
{
	static const char *const verbs[] = {
		"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT",
		"TRACE", "PATCH", "PROXY",
	};
	size_t i;

	if (n > 1 && v[n - 1] == ':')
		return true;
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strlen(verbs[i]) == n && smtp_prefix_ci(v, n, verbs[i]))
			return true;
	return false;
}

/* C0 controls other than TAB, or DEL: not SMTP text. */
static bool has_binary(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\r') || p[i] == 0x7f)
			return true;
	return false;
}

/*
 * Common line-level checks of a client line (any protocol): bare CR,
 * bare LF, binary garbage.  Returns false if the session ended.
 */
bool smtp_client_line_checks(struct smtp_session *s, const struct smtp_sink *sink,
			     const struct smtp_line *l)
{
	struct smtp_evinfo info = { .arg = l->p, .arglen = l->len };

	if (l->bare_lf)
		smtp_ev(s, sink, SMTP_R_BARE_LF, SMTP_DIR_C2S, &info);
	if (memchr(l->p, '\r', l->len))
		smtp_ev(s, sink, SMTP_R_BARE_CR, SMTP_DIR_C2S, &info);
	if (has_binary(l->p, l->len))
		ev_once(s, sink, SMTP_R_NON_SMTP_BINARY, SMTP_DIR_C2S, &info);
	return !(s->flags & SMTP_SF_TERMINAL);
}

/* RFC 2920 3.1: may this command be sent now? */
static void pipelining_check(struct smtp_session *s, const struct smtp_sink *sink,
			     const struct smtp_cmd_def *d, const char *name)
{
	const struct smtp_pending *last = pend_last(s);
	struct smtp_evinfo info = { .cmd = name };

	if (!pend_any(s) || (s->flags & SMTP_SF_UNSYNCED))
		return;
	if (last && last->cmd == SMTP_C_STARTTLS) {
		/* CVE-2011-0411: text pipelined after STARTTLS */
		smtp_ev(s, sink, SMTP_R_STARTTLS_INJECTION, SMTP_DIR_C2S, &info);
		return;
	}
	if (!(s->caps & SMTP_CAP_PIPELINING)) {
		ev_once(s, sink, SMTP_R_UNADV_PIPELINING, SMTP_DIR_C2S, &info);
		return;
	}
	if (last && (last->flags & SMTP_PF_GROUP_END))
		ev_once(s, sink, SMTP_R_PIPELINING_GROUP, SMTP_DIR_C2S, &info);
}

static void smtp_client_line(struct smtp_session *s, const struct smtp_sink *sink,
			     const struct smtp_line *l)
{
	const struct smtp_cmd_def *d;
	struct smtp_cmdctx c;
	size_t vl = 0, i;
	char name[SMTP_CMD_NAME_MAX];

	if (s->flags & SMTP_SF_UNSYNCED)
		return;     /* midstream: maybe message text, judge nothing */
	if (s->cmode == SMTP_CM_AUTH) {
		/* RFC 4954 4: a base64 continuation (or "*"), not a command */
		s->cmode = SMTP_CM_CMD;
		if (l->bare_lf) {
			struct smtp_evinfo info = { .cmd = "AUTH" };

			smtp_ev(s, sink, SMTP_R_BARE_LF, SMTP_DIR_C2S, &info);
		}
		return;
	}
	if (!smtp_client_line_checks(s, sink, l))
		return;
	s->commands++;

	while (vl < l->len && l->p[vl] != ' ')
		vl++;
	for (i = 0; i < vl && i < sizeof(name) - 1; i++)
		name[i] = (char)up(l->p[i]);
	name[i] = '\0';
	if (has_binary((const uint8_t *)name, i))
		name[0] = '\0';
	memset(&c, 0, sizeof(c));
	c.name = name;
	i = vl < l->len ? vl + 1 : vl;
	c.arg = l->p + i;
	c.arglen = l->len - i;

	d = find_cmd(l->p, vl);
	if (!d) {
		struct smtp_evinfo info = { .cmd = name, .arg = l->p,
					    .arglen = l->len };

		if (is_http_verb(l->p, vl))
			ev_once(s, sink, SMTP_R_NON_SMTP_HTTP, SMTP_DIR_C2S, &info);
		else
			smtp_ev(s, sink, SMTP_R_UNKNOWN_CMD, SMTP_DIR_C2S, &info);
		if (s->flags & SMTP_SF_TERMINAL)
			return;
		pipelining_check(s, sink, NULL, name);
		pend_push(s, SMTP_C_UNKNOWN, SMTP_PF_COUNTED);
		smtp_count_error(s, sink, SMTP_DIR_C2S);
		return;
	}
	c.id = d->id;
	pipelining_check(s, sink, d, name);
	if (s->flags & SMTP_SF_TERMINAL)
		return;
	d->handler(s, &c, sink);
	if ((d->flags & SMTP_CF_ENDS) && (s->flags & SMTP_SF_TERMINAL))
		return;
	pend_push(s, d->id, (uint8_t)(c.pflags | (c.counted ? SMTP_PF_COUNTED : 0) |
			((d->flags & SMTP_CF_GROUP_END) ? SMTP_PF_GROUP_END : 0)));
}

/* ---- SMTP server replies --------------------------------------------- */

static void end_txn(struct smtp_session *s)
{
	s->flags &= ~SMTP_SF_MAIL;
	s->rcpts = 0;
}

/* "5.1.1"-style enhanced status code (RFC 3463) at the start of text. */
static bool enhanced_is(const uint8_t *t, size_t n, char cls, char sub)
{
	return n >= 3 && t[0] == (uint8_t)cls && t[1] == '.' &&
	       t[2] == (uint8_t)sub;
}

static void ehlo_capability(struct smtp_session *s, const uint8_t *t, size_t n)
{
#define CAP(kw, cap) { kw, sizeof(kw) - 1, cap }
	static const struct { const char *kw; uint8_t len; uint16_t cap; } caps[] = {
		CAP("PIPELINING", SMTP_CAP_PIPELINING),
		CAP("CHUNKING", SMTP_CAP_CHUNKING),
		CAP("STARTTLS", SMTP_CAP_STARTTLS),
		CAP("AUTH", SMTP_CAP_AUTH),
		CAP("SMTPUTF8", SMTP_CAP_SMTPUTF8),
		CAP("8BITMIME", SMTP_CAP_8BITMIME),
		CAP("SIZE", SMTP_CAP_SIZE),
		CAP("BINARYMIME", SMTP_CAP_BINARYMIME),
	};
#undef CAP
	size_t i, kl = 0;

	while (kl < n && t[kl] != ' ' && t[kl] != '=')
		kl++;
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		if (caps[i].len == kl && smtp_prefix_ci(t, kl, caps[i].kw))
			s->caps_new |= caps[i].cap;
}

/* A complete reply (its last line): match it to its command. */
static void smtp_reply_done(struct smtp_session *s, const struct smtp_sink *sink,
			    unsigned code, const uint8_t *t, size_t n)
{
	struct smtp_pending p;
	struct smtp_evinfo info = { .code = (uint16_t)code, .arg = t,
				    .arglen = n };
	unsigned cls = code / 100;

	if (s->flags & SMTP_SF_UNSYNCED) {
		/* midstream: the first complete reply puts us at a command
		 * boundary, except 354 which opens a message. */
		s->flags &= ~SMTP_SF_UNSYNCED;
		s->pend_len = 0;
		s->pend_untracked = 0;
		s->cmode = code == 354 ? SMTP_CM_DATA : SMTP_CM_CMD;
		if (code == 354)
			smtp_data_begin(s);
		return;
	}
	if (!(s->flags & SMTP_SF_GREETED)) {
		s->flags |= SMTP_SF_GREETED;
		return;
	}
	p = pend_peek(s);
	if (p.cmd == SMTP_C_AUTH && code == 334) {
		s->cmode = SMTP_CM_AUTH;    /* command still outstanding */
		return;
	}
	pend_pop(s);
	if (code == 354 && p.cmd != SMTP_C_DATA && s->cmode != SMTP_CM_DATA) {
		/* the server reads message text now, whatever we thought the
		 * command was (e.g. a DATA sent before a midstream pickup) */
		s->cmode = SMTP_CM_DATA;
		smtp_data_begin(s);
		return;
	}
	if ((cls == 4 || cls == 5) && !(p.flags & SMTP_PF_COUNTED))
		smtp_count_error(s, sink, SMTP_DIR_S2C);
	if (s->flags & SMTP_SF_TERMINAL)
		return;

	switch (p.cmd) {
	case SMTP_C_EHLO:
		if (cls == 2) {
			s->caps = s->caps_new;
			s->flags |= SMTP_SF_EHLO;
		}
		break;
	case SMTP_C_HELO:
		if (cls == 2)
			s->caps = 0;        /* HELO: no extensions */
		break;
	case SMTP_C_MAIL:
		if (cls != 2)
			end_txn(s);
		break;
	case SMTP_C_RCPT:
		info.cmd = "RCPT";
		if (cls == 2 && (p.flags & SMTP_PF_FOREIGN))
			smtp_ev(s, sink, SMTP_R_AUDIT_RELAY, SMTP_DIR_S2C, &info);
		if ((code == 550 || code == 551 || code == 553) &&
		    enhanced_is(t, n, '5', '1'))
			smtp_ev(s, sink, SMTP_R_INVALID_RCPT, SMTP_DIR_S2C, &info);
		break;
	case SMTP_C_DATA:
		if (code == 354) {
			if (s->cmode == SMTP_CM_DATA_WAIT) {
				s->cmode = SMTP_CM_DATA;
				smtp_data_begin(s);
			}
		} else if (s->flags & SMTP_SF_EARLY_DATA) {
			info.cmd = "DATA";
			smtp_ev(s, sink, SMTP_R_DATA_DESYNC, SMTP_DIR_S2C, &info);
		} else if (s->cmode == SMTP_CM_DATA_WAIT) {
			s->cmode = SMTP_CM_CMD;
		}
		s->flags &= ~SMTP_SF_EARLY_DATA;
		break;
	case SMTP_C_DATA_END:
	case SMTP_C_BDAT:
		/* The transaction already ended when the message did (a
		 * pipelining client may have opened the next one): only
		 * count the delivery. */
		if (cls == 2 && (p.cmd == SMTP_C_DATA_END ||
				 (p.flags & SMTP_PF_LAST))) {
			s->messages++;
			s->junk = 0;    /* junk counts per delivered message */
		}
		break;
	case SMTP_C_VRFY:
	case SMTP_C_EXPN:
		if (code == 250 || code == 251) {
			info.cmd = p.cmd == SMTP_C_VRFY ? "VRFY" : "EXPN";
			smtp_ev(s, sink, SMTP_R_AUDIT_VRFY, SMTP_DIR_S2C, &info);
		}
		break;
	case SMTP_C_AUTH:
		s->cmode = SMTP_CM_CMD;
		if (code == 235)
			s->flags |= SMTP_SF_AUTHED;
		else if (code == 535) {
			info.cmd = "AUTH";
			smtp_ev(s, sink, SMTP_R_AUTH_FAILED, SMTP_DIR_S2C, &info);
		}
		break;
	case SMTP_C_STARTTLS:
		if (code == 220) {
			/* RFC 3207: TLS starts now, both directions opaque */
			s->flags |= SMTP_SF_OPAQUE;
			s->cmode = SMTP_CM_OPAQUE;
			smtp_ev(s, sink, SMTP_R_OPAQUE, SMTP_DIR_S2C, &info);
		}
		break;
	default:
		break;
	}
}

static void smtp_server_line(struct smtp_session *s, const struct smtp_sink *sink,
			     const struct smtp_line *l)
{
	const uint8_t *p = l->p;
	unsigned code;
	bool last;
	const uint8_t *t;
	size_t tn;
	struct smtp_pending pk;

	if (l->len < 3 || p[0] < '2' || p[0] > '5' || p[1] < '0' ||
	    p[1] > '9' || p[2] < '0' || p[2] > '9')
		return;     /* not a reply line; servers are not judged */
	code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	last = l->len == 3 || p[3] != '-';
	t = l->len > 4 ? p + 4 : p + l->len;
	tn = l->len > 4 ? l->len - 4 : 0;
	pk = pend_peek(s);

	if (!(s->flags & (SMTP_SF_GREETED | SMTP_SF_UNSYNCED))) {
		if (code == 220 && smtp_text_has_version(t, tn)) {
			struct smtp_evinfo info = { .code = 220, .arg = t,
						    .arglen = tn };

			ev_once(s, sink, SMTP_R_AUDIT_BANNER, SMTP_DIR_S2C, &info);
		}
	} else if (pk.cmd == SMTP_C_EHLO && code == 250) {
		if (!s->reply_code) {
			/* first line: "250-host greeting", no capability */
			s->caps_new = 0;
			if (smtp_text_has_version(t, tn)) {
				struct smtp_evinfo info = { .code = 250,
					.cmd = "EHLO", .arg = t, .arglen = tn };

				ev_once(s, sink, SMTP_R_AUDIT_EHLO, SMTP_DIR_S2C,
					&info);
			}
		} else {
			ehlo_capability(s, t, tn);
		}
	} else if (pk.cmd == SMTP_C_HELP && code == 214 &&
		   smtp_text_has_version(t, tn)) {
		struct smtp_evinfo info = { .code = 214, .cmd = "HELP",
					    .arg = t, .arglen = tn };

		ev_once(s, sink, SMTP_R_AUDIT_HELP, SMTP_DIR_S2C, &info);
	}
	if (!s->reply_code)
		s->reply_code = (uint16_t)code;
	if (last) {
		s->reply_code = 0;
		smtp_reply_done(s, sink, code, t, tn);
	}
}

/* ---- DATA: transparency and end of data (RFC 5321 4.5.2) ------------- */

void smtp_data_begin(struct smtp_session *s)
{
	s->dstate = SMTP_D_BOL;
	s->dl_len = 0;
	s->msg_flags = 0;
}

static void data_end(struct smtp_session *s, const struct smtp_sink *sink,
		     bool bare)
{
	if (bare || (s->msg_flags & SMTP_MF_BOL_BARE)) {
		struct smtp_evinfo info = { .cmd = "DATA" };

		/* <LF>.<LF> and mixtures: SMTP smuggling (CVE-2023-51766) */
		smtp_ev(s, sink, SMTP_R_SMUGGLE_LF, SMTP_DIR_C2S, &info);
	}
	s->cmode = SMTP_CM_CMD;
	end_txn(s);
	pend_push(s, SMTP_C_DATA_END, 0);
}

static void data_line_end(struct smtp_session *s, const struct smtp_sink *sink,
			  bool bare)
{
	if (bare && !(s->msg_flags & SMTP_MF_BARE_LF)) {
		struct smtp_evinfo info = { .cmd = "DATA" };

		s->msg_flags |= SMTP_MF_BARE_LF;
		smtp_ev(s, sink, SMTP_R_BARE_LF, SMTP_DIR_C2S, &info);
	}
	if (s->dl_len > s->cfg->data_line_max && !(s->msg_flags & SMTP_MF_LONG)) {
		struct smtp_evinfo info = { .cmd = "DATA", .value = s->dl_len };

		s->msg_flags |= SMTP_MF_LONG;
		smtp_ev(s, sink, SMTP_R_DATA_LINE_LONG, SMTP_DIR_C2S, &info);
	}
	s->dl_len = 0;
	s->dstate = SMTP_D_BOL;
	if (bare)
		s->msg_flags |= SMTP_MF_BOL_BARE;
	else
		s->msg_flags &= ~SMTP_MF_BOL_BARE;
}

static void bare_cr(struct smtp_session *s, const struct smtp_sink *sink)
{
	if (!(s->msg_flags & SMTP_MF_BARE_CR)) {
		struct smtp_evinfo info = { .cmd = "DATA" };

		s->msg_flags |= SMTP_MF_BARE_CR;
		smtp_ev(s, sink, SMTP_R_BARE_CR, SMTP_DIR_C2S, &info);
	}
}

static void smuggle_cr(struct smtp_session *s, const struct smtp_sink *sink)
{
	struct smtp_evinfo info = { .cmd = "DATA" };

	smtp_ev(s, sink, SMTP_R_SMUGGLE_CR, SMTP_DIR_C2S, &info);
}

/* Offset of the first CR or LF in p[0..n), or n.  The hot loop of DATA
 * scanning: SSE2 compares 16 bytes per step where available. */
static size_t find_cr_lf(const uint8_t *p, size_t n)
{
	size_t i = 0;
#ifdef __SSE2__
	const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');

	for (; i + 16 <= n; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		int m = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, cr),
						       _mm_cmpeq_epi8(v, lf)));

		if (m)
			return i + (size_t)__builtin_ctz((unsigned)m);
	}
#endif
	for (; i < n; i++)
		if (p[i] == '\r' || p[i] == '\n')
			return i;
	return n;
}

/*
 * Scan message text; returns bytes consumed (less than n only when the
 * end of data was found or the session ended).  Runs of ordinary bytes
 * are skipped 16 at a time: the per-byte state machine only sees CR, LF
 * and the first bytes of a line.
 */
static size_t data_scan(struct smtp_session *s, const struct smtp_sink *sink,
			const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c;

		if (s->flags & SMTP_SF_TERMINAL)
			return n;
		if (s->dstate == SMTP_D_MID) {
			size_t stop = i + find_cr_lf(p + i, n - i);

			s->dl_len += (uint32_t)(stop - i);
			i = stop;
			if (i == n)
				break;
		}
		c = p[i++];
		s->dl_len++;
		switch (s->dstate) {
		case SMTP_D_BOL:
			if (c == '.')
				s->dstate = SMTP_D_DOT;
			else if (c == '\r')
				s->dstate = SMTP_D_CR;
			else if (c == '\n')
				data_line_end(s, sink, true);
			else
				s->dstate = SMTP_D_MID;
			break;
		case SMTP_D_DOT:
			if (c == '\n') {
				data_end(s, sink, true);
				return i;
			}
			s->dstate = c == '\r' ? SMTP_D_DOT_CR : SMTP_D_MID;
			break;
		case SMTP_D_DOT_CR:
			if (c == '\n') {
				data_end(s, sink, false);
				return i;
			}
			/* <LF>.<CR> not followed by <LF>: a CR-terminated
			 * end-of-data for servers that accept bare CR */
			smuggle_cr(s, sink);
			s->dstate = c == '\r' ? SMTP_D_CR : SMTP_D_MID;
			break;
		case SMTP_D_MID:
			if (c == '\r')
				s->dstate = SMTP_D_CR;
			else if (c == '\n')
				data_line_end(s, sink, true);
			break;
		case SMTP_D_CR:
			if (c == '\n') {
				data_line_end(s, sink, false);
				break;
			}
			bare_cr(s, sink);
			if (c == '.')
				s->dstate = SMTP_D_CR_DOT;
			else if (c != '\r')
				s->dstate = SMTP_D_MID;
			break;
		case SMTP_D_CR_DOT:
			if (c == '\r' || c == '\n') {
				/* <CR>.<CR> or <CR>.<LF> */
				smuggle_cr(s, sink);
				if (c == '\r')
					s->dstate = SMTP_D_CR;
				else
					data_line_end(s, sink, true);
			} else {
				s->dstate = SMTP_D_MID;
			}
			break;
		}
	}
	return i;
}

/* ---- line assembly --------------------------------------------------- */

/* Longest acceptable line for what this line starts with. */
static uint32_t line_limit(const struct smtp_session *s, enum smtp_dir dir,
			   const uint8_t *p, size_t n)
{
	const struct smtp_config *cfg = s->cfg;

	if (dir == SMTP_DIR_S2C || (s->flags & SMTP_SF_UNSYNCED))
		return 0;           /* server lines are truncated, not judged;
				     * unsynced: maybe message text */
	const struct smtp_cmd_def *d;
	size_t vl = 0;

	if (s->proto != SMTP_P_SMTP || s->cmode == SMTP_CM_AUTH)
		return cfg->auth_line_max;
	/* the verb, if these first bytes already hold it whole */
	while (vl < n && p[vl] != ' ')
		vl++;
	if (vl == n || !(d = find_cmd(p, vl)))
		return cfg->cmd_line_max;
	if ((d->flags & SMTP_CF_LONG) && (s->flags & SMTP_SF_EHLO))
		return cfg->mail_line_max;
	if (d->flags & SMTP_CF_AUTHLINE)
		return cfg->auth_line_max;
	return cfg->cmd_line_max;
}

static void line_dispatch(struct smtp_session *s, enum smtp_dir dir,
			  const struct smtp_sink *sink, const struct smtp_line *l)
{
	if (s->proto == SMTP_P_SMTP) {
		if (dir == SMTP_DIR_C2S)
			smtp_client_line(s, sink, l);
		else
			smtp_server_line(s, sink, l);
	} else {
		smtp_mailbox_line(s, dir, sink, l);
	}
}

/*
 * Take bytes of one line (to and including LF, or all of p if no LF);
 * returns bytes consumed.  The limit is checked before the bytes are
 * appended, so the violating packet is the one judged.
 */
static size_t line_feed(struct smtp_session *s, enum smtp_dir dir,
			const struct smtp_sink *sink, const uint8_t *p, size_t n)
{
	struct smtp_linebuf *lb = &s->line[dir];
	const uint8_t *lf = memchr(p, '\n', n);
	size_t take = lf ? (size_t)(lf - p) + 1 : n;
	uint32_t limit;
	struct smtp_line l;

	/* the limit depends on the verb: look at the line's first bytes,
	 * which may be split between the kept prefix and p */
	{
		uint8_t probe[SMTP_CMD_NAME_MAX];
		size_t pk = lb->kept < sizeof(probe) ? lb->kept : sizeof(probe);
		size_t pn = take < sizeof(probe) - pk ? take : sizeof(probe) - pk;

		if (pk)
			memcpy(probe, lb->buf, pk);
		memcpy(probe + pk, p, pn);
		limit = line_limit(s, dir, probe, pk + pn);
		if (limit && !lb->over && (uint64_t)lb->total + take > limit) {
			char name[SMTP_CMD_NAME_MAX];
			size_t i;
			struct smtp_evinfo info = {
				.cmd = name,
				.arg = lb->total ? lb->buf : p,
				.arglen = lb->total ? lb->kept : take,
				.value = (uint32_t)(lb->total + take > UINT32_MAX ?
						    UINT32_MAX : lb->total + take),
			};

			for (i = 0; i < pk + pn && i < sizeof(name) - 1 &&
			     probe[i] > ' ' && probe[i] < 0x7f; i++)
				name[i] = (char)up(probe[i]);
			name[i] = '\0';
			lb->over = 1;
			smtp_ev(s, sink, SMTP_R_CMD_TOO_LONG, dir, &info);
			if (s->flags & SMTP_SF_TERMINAL)
				return n;
		}
	}

	/* the byte before LF decides CRLF or bare LF */
	l.bare_lf = !lf || (take >= 2 ? p[take - 2] : lb->total ? lb->last : 0) != '\r';
	if (!lf || lb->total) {
		/* keep a bounded prefix of a split line */
		if (!lb->buf) {
			lb->buf = mxi_mem_alloc(s->mem, SMTP_LINE_KEEP);
			if (!lb->buf) {
				smtp_ev(s, sink, SMTP_R_RESOURCE_LIMIT, dir, NULL);
				if (!(s->flags & SMTP_SF_TERMINAL))
					s->flags |= SMTP_SF_UNINSPECTED;
				return n;
			}
		}
		if (lb->kept < SMTP_LINE_KEEP) {
			size_t room = SMTP_LINE_KEEP - lb->kept;
			size_t c = take < room ? take : room;

			memcpy(lb->buf + lb->kept, p, c);
			lb->kept += (uint32_t)c;
		}
		lb->total = (uint32_t)((uint64_t)lb->total + take > UINT32_MAX ?
				       UINT32_MAX : lb->total + take);
		if (take)
			lb->last = p[take - 1];
		if (!lf)
			return take;
		l.p = lb->buf;
		l.total = lb->total;
		l.len = lb->kept;
	} else {
		l.p = p;
		l.len = take < SMTP_LINE_KEEP ? take : SMTP_LINE_KEEP;
		l.total = (uint32_t)take;
	}
	/* strip the terminator from what the parser sees */
	if (l.len == l.total) {
		l.len--;                    /* LF */
		if (!l.bare_lf && l.len)
			l.len--;            /* CR */
	}
	line_dispatch(s, dir, sink, &l);
	linebuf_reset(s, lb);
	return take;
}

/* First bytes of a client line: TLS or binary where a command belongs. */
static bool line_start_checks(struct smtp_session *s, const struct smtp_sink *sink,
			      const uint8_t *p, size_t n)
{
	struct smtp_evinfo info = { .arg = p, .arglen = n < 16 ? n : 16 };

	if (p[0] == 0x16 && (n == 1 || p[1] == 0x03)) {
		/* TLS handshake record: a ClientHello without STARTTLS */
		ev_once(s, sink, SMTP_R_NON_SMTP_TLS, SMTP_DIR_C2S, &info);
	} else if (has_binary(p, info.arglen) &&
		   !memchr(p, '\n', info.arglen)) {
		ev_once(s, sink, SMTP_R_NON_SMTP_BINARY, SMTP_DIR_C2S, &info);
	}
	return !(s->flags & SMTP_SF_TERMINAL);
}

static void client_bytes(struct smtp_session *s, const struct smtp_sink *sink,
			 const uint8_t *p, size_t n)
{
	if (!(s->flags & SMTP_SF_TALKED)) {
		s->flags |= SMTP_SF_TALKED;
		if (!(s->flags & SMTP_SF_GREETED)) {
			struct smtp_evinfo info = { .arg = p,
						    .arglen = n < 32 ? n : 32 };

			smtp_ev(s, sink, SMTP_R_PREGREET, SMTP_DIR_C2S, &info);
		}
	}
	while (n && !(s->flags & (SMTP_SF_TERMINAL | SMTP_SF_OPAQUE |
				  SMTP_SF_UNINSPECTED))) {
		size_t used;

		switch (s->cmode) {
		case SMTP_CM_DATA_WAIT:
			/* RFC 2920 3.1: DATA ends a group; we read what
			 * follows as text, as a 354-answering server will */
			{
				struct smtp_evinfo info = { .cmd = "DATA" };

				ev_once(s, sink, SMTP_R_PIPELINING_GROUP,
					SMTP_DIR_C2S, &info);
			}
			s->flags |= SMTP_SF_EARLY_DATA;
			s->cmode = SMTP_CM_DATA;
			smtp_data_begin(s);
			continue;
		case SMTP_CM_DATA:
			used = data_scan(s, sink, p, n);
			break;
		case SMTP_CM_BDAT:
			used = n < s->bdat_left ? n : (size_t)s->bdat_left;
			s->bdat_left -= used;
			if (!s->bdat_left)
				s->cmode = SMTP_CM_CMD;
			break;
		case SMTP_CM_LITERAL:
			used = n < s->lit_left[0] ? n : (size_t)s->lit_left[0];
			s->lit_left[0] -= used;
			if (!s->lit_left[0])
				s->cmode = SMTP_CM_CMD;
			break;
		case SMTP_CM_OPAQUE:
			return;
		default:
			if (!s->line[0].total && !(s->flags & SMTP_SF_UNSYNCED) &&
			    s->cmode != SMTP_CM_AUTH &&
			    !line_start_checks(s, sink, p, n))
				return;
			used = line_feed(s, SMTP_DIR_C2S, sink, p, n);
			break;
		}
		p += used;
		n -= used;
	}
}

static void server_bytes(struct smtp_session *s, const struct smtp_sink *sink,
			 const uint8_t *p, size_t n)
{
	while (n && !(s->flags & (SMTP_SF_TERMINAL | SMTP_SF_OPAQUE |
				  SMTP_SF_UNINSPECTED))) {
		size_t used;

		if (s->lit_left[1]) {
			used = n < s->lit_left[1] ? n : (size_t)s->lit_left[1];
			s->lit_left[1] -= used;
		} else {
			used = line_feed(s, SMTP_DIR_S2C, sink, p, n);
		}
		p += used;
		n -= used;
	}
}

enum smtp_action smtp_feed(struct smtp_session *s, enum smtp_dir dir,
			   const uint8_t *data, size_t len,
			   const struct smtp_sink *sink)
{
	if (s->flags & SMTP_SF_TERMINAL)
		return (enum smtp_action)s->term_action;
	s->call_max = SMTP_A_ALLOW;
	if (!len || (s->flags & (SMTP_SF_OPAQUE | SMTP_SF_UNINSPECTED)))
		return SMTP_A_ALLOW;
	if (dir == SMTP_DIR_C2S)
		client_bytes(s, sink, data, len);
	else
		server_bytes(s, sink, data, len);
	if (s->flags & SMTP_SF_TERMINAL)
		return (enum smtp_action)s->term_action;
	return (enum smtp_action)s->call_max;
}
