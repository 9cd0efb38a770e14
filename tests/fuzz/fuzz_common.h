/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared helpers of the libFuzzer targets (tests/fuzz/README.md). */
#ifndef VR_FUZZ_COMMON_H
#define VR_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Like assert(), but never compiled out and says which invariant broke. */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,       \
			        #cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define FUZZ_CHECK_MSG(cond, msg)                                                                  \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s (%s)\n", __FILE__, __LINE__,  \
			        #cond, (msg));                                                     \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* A string field is NUL-terminated inside its array. */
static inline bool
fuzz_str_ok(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

#define FUZZ_STR(field)                                                                            \
	FUZZ_CHECK_MSG(fuzz_str_ok((field), sizeof(field)), #field " not terminated")

/* An error message: set (non-empty) and NUL-terminated in its buffer. */
#define FUZZ_ERR_SET(err)                                                                          \
	FUZZ_CHECK_MSG(fuzz_str_ok((err), sizeof(err)) && (err)[0] != '\0', "error message empty")

/* The input as a C string (stops at the first NUL byte); caller frees. */
static inline char *
fuzz_cstring(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
