/* SPDX-License-Identifier: BSD-3-Clause */
/* The pid file: written only into a file vrelayd owns, never through a link. */
#ifndef VR_PIDFILE_H
#define VR_PIDFILE_H

#include <stddef.h>

/* Write getpid() to path ("" = none). Refuses a symbolic link, a hard link,
 * anything but a regular file and a file another user owns: -1, err says
 * which. */
int pidfile_write(const char *path, char *err, size_t errlen);

#endif
