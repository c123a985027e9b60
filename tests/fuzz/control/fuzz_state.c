// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_state.c - libFuzzer target for the state file decoder
 * (control/ctl_state.c): a file on disk is input too.  Property: what
 * decodes re-encodes and decodes to the same entries.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_state st, back;
	char err[256];
	char *text;

	if (ctl_state_decode((const char *)data, size, &st, err,
			     sizeof(err)) < 0)
		return 0;
	text = ctl_state_encode(&st, 1795400000);
	if (!text)
		abort();
	if (ctl_state_decode(text, strlen(text), &back, err, sizeof(err)) < 0 ||
	    back.n != st.n)
		abort();
	for (size_t i = 0; i < st.n; i++)
		if (memcmp(&st.e[i], &back.e[i], sizeof(st.e[i])) != 0)
			abort();
	free(text);
	ctl_state_free(&back);
	ctl_state_free(&st);
	return 0;
}
