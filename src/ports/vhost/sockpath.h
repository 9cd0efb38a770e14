/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unix socket paths the daemon listens on (vhost-user server sockets, memif
 * server sockets). A path left by a crashed daemon holds a dead socket: it
 * is removed. A path with a live listener belongs to another process: it is
 * refused, since taking it over would cut that process's guest off.
 */
#ifndef VR_SOCKPATH_H
#define VR_SOCKPATH_H

#include <stddef.h>

int sockpath_claim(const char *path, char *err, size_t errlen);

/* The socket= path of a net_memif server's devargs, or "" when none applies. */
void sockpath_memif_server(const char *devargs, char *path, size_t len);

#endif
