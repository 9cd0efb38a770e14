/* SPDX-License-Identifier: BSD-3-Clause */
#include "conn_bound.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

/* A connected (not listening) unix stream socket at one end of path. */
static bool
is_connection_on(int fd, const char *path)
{
	struct sockaddr_un a;
	socklen_t len = sizeof(a);
	int type = 0, listening = 1;
	socklen_t ilen = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &ilen) != 0 || type != SOCK_STREAM)
		return false;
	ilen = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ilen) != 0 || listening)
		return false;
	/* accepted (server mode): our end is bound to path; made by lib/vhost
	 * (client mode): the peer's end is */
	memset(&a, 0, sizeof(a));
	if (getsockname(fd, (struct sockaddr *)&a, &len) == 0 && a.sun_family == AF_UNIX &&
	    strncmp(a.sun_path, path, sizeof(a.sun_path)) == 0)
		return true;
	len = sizeof(a);
	memset(&a, 0, sizeof(a));
	return getpeername(fd, (struct sockaddr *)&a, &len) == 0 && a.sun_family == AF_UNIX &&
	       strncmp(a.sun_path, path, sizeof(a.sun_path)) == 0;
}

int
conn_bound_timeouts(const char *path)
{
	struct timeval tv = {.tv_sec = VR_VHOST_MSG_TIMEOUT_MS / 1000,
	                     .tv_usec = (VR_VHOST_MSG_TIMEOUT_MS % 1000) * 1000};
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);

		if (*end != '\0' || e->d_name[0] == '\0' || fd == dirfd(d) ||
		    !is_connection_on((int)fd, path))
			continue;
		if (setsockopt((int)fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
		    setsockopt((int)fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0)
			n++;
	}
	closedir(d);
	return n;
}
