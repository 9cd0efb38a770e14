/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Opening the files an operator names (config, watch file, CURVE keys)
 * without ever blocking the control thread: a FIFO, a device or a directory
 * put where a file was expected is refused by what it is, and a read is
 * bounded by a size the caller states.
 */
#ifndef VR_SAFEFILE_H
#define VR_SAFEFILE_H

#include <stddef.h>

/* open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | flags) and refuse anything
 * but a regular file ("PATH: is a FIFO, not a regular file"). Returns the
 * descriptor, or -1 with err set. flags may add O_NOFOLLOW. */
int vr_open_regular(const char *path, int flags, char *err, size_t errlen);

/* The whole of a regular file of at most max bytes, NUL-terminated, on the
 * heap (free it); *len gets its length. NULL with err set otherwise. */
char *vr_read_regular(const char *path, size_t max, size_t *len, char *err, size_t errlen);

/* A file that commands vrelayd must be the operator's: owned by root or by
 * vrelayd's own user and writable by no one else. 0, or -1 with err naming
 * the owner or mode at fault. */
int vr_check_trusted(int fd, const char *path, char *err, size_t errlen);

/* "a FIFO", "a directory", ... for st_mode's file type. */
const char *vr_file_kind(unsigned mode);

#endif
