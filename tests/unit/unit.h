/* SPDX-License-Identifier: BSD-3-Clause */
/* Small helpers shared by the unit tests. Include after <cmocka.h>. */
#ifndef VR_UNIT_H
#define VR_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Fail unless hay contains needle, showing both. */
#define assert_contains(hay, needle)                                                               \
	do {                                                                                       \
		const char *hay_ = (hay), *needle_ = (needle);                                     \
		if (strstr(hay_, needle_) == NULL)                                                 \
			fail_msg("'%s' does not contain '%s'", hay_, needle_);                     \
	} while (0)

/* A check that once failed through a bug now fixed: what names the bug, so
 * a regression reads as the bug it brings back. */
#define no_regression(cond, what)                                                                  \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fail_msg("regression (%s:%d): %s", __FILE__, __LINE__, what);              \
	} while (0)

/* Write text to a new temporary file; path receives its name (>= 64 bytes). */
static inline void
write_temp_file(char *path, size_t pathlen, const char *text)
{
	const char *dir = getenv("TMPDIR");
	size_t len = strlen(text);
	int fd;

	snprintf(path, pathlen, "%s/vrelay-unit-XXXXXX",
	         dir != NULL && dir[0] != '\0' ? dir : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

#endif
