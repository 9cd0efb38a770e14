/* SPDX-License-Identifier: BSD-3-Clause */
#include "errmsg.h"

#include <stdarg.h>
#include <stdio.h>

int
vr_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}
