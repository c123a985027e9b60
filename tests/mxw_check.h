/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mxw_check.h - the one-line check of the C tests that report every
 * failure and go on: CHECK(cond, printf-format, ...) counts a check, and
 * on failure prints the line and the message to stderr and counts it.
 * main() returns mxw_failures != 0.
 */
#ifndef MXW_CHECK_H
#define MXW_CHECK_H

#include <stdio.h>

static int mxw_checks, mxw_failures;

#define CHECK(cond, ...) do {                                           \
	mxw_checks++;                                                   \
	if (!(cond)) {                                                  \
		mxw_failures++;                                         \
		fprintf(stderr, "FAIL line %d: ", __LINE__);            \
		fprintf(stderr, __VA_ARGS__);                           \
		fputc('\n', stderr);                                    \
	}                                                               \
} while (0)

#endif /* MXW_CHECK_H */
