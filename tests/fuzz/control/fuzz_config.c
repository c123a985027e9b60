// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_config.c - libFuzzer target for the config parser
 * (control/ctl_config.c).  Besides "no crash, no leak", one property:
 * a config that parses is re-emitted by ctl_config_to_json() (config.get)
 * as JSON that parses again to the same fast path, inspection engine and
 * policy values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Engine configs equal but for where local_domains point. */
static int engine_equal(const struct ctl_config *a, const struct ctl_config *b)
{
	struct mxi_config ea = a->insp.engine, eb = b->insp.engine;

	for (uint32_t i = 0; i < ea.smtp.n_local_domains &&
			     i < SMTP_LOCAL_DOMAINS_MAX; i++)
		if (!eb.smtp.local_domains[i] ||
		    strcmp(ea.smtp.local_domains[i], eb.smtp.local_domains[i]))
			return 0;
	memset(ea.smtp.local_domains, 0, sizeof(ea.smtp.local_domains));
	memset(eb.smtp.local_domains, 0, sizeof(eb.smtp.local_domains));
	return memcmp(&ea, &eb, sizeof(ea)) == 0;
}

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
	    memcmp(&c->policy, &c2->policy, sizeof(c->policy)) != 0 ||
	    !engine_equal(c, c2) ||
	    ctl_config_restart_key(c, c2) != NULL)
		abort();
	free(text);
	ctl_config_free(c2);
	ctl_config_free(c);
	return 0;
}
