// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_smtp.c - libFuzzer target for the SMTP/POP3/IMAP engine.
 *
 * Input: byte 0 picks the protocol (bits 0-1), mid-stream pickup (bit 2),
 * every check at SCORE so no event ends the session early (bit 3), and
 * relay checking with local domains (bit 4).  Then records of
 * [header][bytes]: header bit 7 = server to client, bits 0-6 = length.
 * Invariants checked: every event is well formed (NUL-terminated
 * excerpt, known reason, action as configured), and the memory budget is
 * back to zero after the session is released.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct smtp_config *fz_cfg;

static void fz_emit(void *ctx, const struct smtp_event *ev)
{
	unsigned *n = ctx;

	if (ev->reason >= SMTP_R__COUNT || ev->action != fz_cfg->action[ev->reason] ||
	    !memchr(ev->arg, '\0', sizeof(ev->arg)) ||
	    !memchr(ev->command, '\0', sizeof(ev->command)))
		abort();
	(*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_config cfg;
	struct smtp_session s;
	struct mxi_mem mem = { .limit = 1u << 20 };
	unsigned events = 0, i;
	struct smtp_sink sink = { .emit = fz_emit, .ctx = &events };
	size_t off = 1;
	uint8_t mode;

	if (size < 1)
		return 0;
	mode = data[0];
	smtp_config_default(&cfg);
	if (mode & 8)
		for (i = 0; i < SMTP_R__COUNT; i++)
			cfg.action[i] = SMTP_A_SCORE;
	if (mode & 16) {
		cfg.local_domains[0] = "example.org";
		cfg.local_domains[1] = ".example.net";
		cfg.n_local_domains = 2;
	}
	cfg.error_limit = 1000;
	fz_cfg = &cfg;
	smtp_session_init(&s, &cfg, &mem, (enum smtp_proto)((mode & 3) % 3),
			  mode & 4);
	while (off < size) {
		uint8_t h = data[off++];
		size_t len = h & 0x7f;

		if (len > size - off)
			len = size - off;
		smtp_feed(&s, (h & 0x80) ? SMTP_DIR_S2C : SMTP_DIR_C2S,
			  data + off, len, &sink);
		off += len;
	}
	smtp_session_release(&s);
	if (mem.used != 0)
		abort();
	mxi_mem_drain(&mem);
	return 0;
}
