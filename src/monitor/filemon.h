/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * File monitor: follows a command file (filecmd.h) with inotify, no polling.
 * Each complete line appended is carried out once; a truncated or replaced
 * file is read again from its start (adds and removes are idempotent, so a
 * replay changes nothing). Every refused line is logged with its number.
 */
#ifndef VR_FILEMON_H
#define VR_FILEMON_H

#include <stddef.h>

int filemon_start(const char *path, char *err, size_t errlen);
void filemon_stop(void);

/* Lines carried out and lines refused since start (telemetry, tests). */

#endif
