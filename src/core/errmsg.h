/* SPDX-License-Identifier: BSD-3-Clause */
/* Control-path error reporting: a message into the caller's buffer, -1 back. */
#ifndef VR_ERRMSG_H
#define VR_ERRMSG_H

#include <stddef.h>

/* Format into err (if not NULL) and return -1, so callers can
 * 'return vr_err(err, errlen, "...", ...);'. */
int vr_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
