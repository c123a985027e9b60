/* SPDX-License-Identifier: GPL-2.0-only */
/* ctltest.h - minimal checks for the control unit tests: a failed CHECK
 * prints the location and the row label and makes the test exit 1. */
#ifndef CTLTEST_H
#define CTLTEST_H

#include <stdio.h>

static int ctltest_failures;
static int ctltest_checks;

#define CHECK(cond, label) do {                                          \
	ctltest_checks++;                                                \
	if (!(cond)) {                                                   \
		ctltest_failures++;                                      \
		fprintf(stderr, "%s:%d: %s: check failed: %s\n",         \
			__FILE__, __LINE__, (label), #cond);             \
	}                                                                \
} while (0)

static inline int ctltest_done(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, ctltest_checks,
	       ctltest_failures);
	return ctltest_failures ? 1 : 0;
}

#endif
