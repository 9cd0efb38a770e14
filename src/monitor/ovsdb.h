/* SPDX-License-Identifier: BSD-3-Clause */
/* OVSDB monitor (ovsdb.c): relays from ovsdb-server's Interface table. */
#ifndef VR_OVSDB_H
#define VR_OVSDB_H

#include <stddef.h>

int ovsdb_start(const char *path, char *err, size_t errlen);
void ovsdb_stop(void);

#endif
