// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_config.c - libFuzzer target for the config parser
 * (control/ctl_config.c).  Besides "no crash, no leak", one property:
 * a config that parses is re-emitted by ctl_config_to_json() (config.get)
 * as JSON that parses again to the same fast path values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CTL_ERR_MAX];
	struct ctl_config *c, *c2;
	json_t *j;
	char *text;

	c = ctl_config_parse((const char *)data, size, err, sizeof(err));
	if (!c) {
		if (!err[0])
			abort();        /* every rejection has a message */
		return 0;
	}
	j = ctl_config_to_json(c);
	if (!j)
		abort();
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!text)
		abort();
	c2 = ctl_config_parse(text, strlen(text), err, sizeof(err));
	if (!c2 || memcmp(&c->fp, &c2->fp, sizeof(c->fp)) != 0 ||
	    ctl_config_restart_key(c, c2) != NULL)
		abort();
	free(text);
	ctl_config_free(c2);
	ctl_config_free(c);
	return 0;
}
