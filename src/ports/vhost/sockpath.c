/* SPDX-License-Identifier: BSD-3-Clause */
#include "sockpath.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "errmsg.h"
#include "config.h"
#include "log.h"

static int
check_dir_writable(const char *path, char *err, size_t errlen)
{
	char dir[VR_PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return 0;
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (access(dir, W_OK | X_OK) != 0)
		return vr_err(err, errlen, "socket %s: directory %s is not writable: %s", path, dir,
		              strerror(errno));
	return 0;
}

static int
someone_listens(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rc;

	if (fd < 0)
		return 0;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return rc == 0;
}

/* Bind once ourselves so a failure is reported with its reason, in one line. */
static int
trial_bind(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rc, saved;

	if (fd < 0)
		return vr_err(err, errlen, "socket %s: %s", path, strerror(errno));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	saved = errno;
	close(fd);
	if (rc != 0)
		return vr_err(err, errlen, "socket %s: cannot create it here: %s", path,
		              strerror(saved));
	unlink(path);
	return 0;
}

int
sockpath_claim(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return vr_err(err, errlen, "socket %s: path longer than %zu bytes", path,
		              sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	if (check_dir_writable(path, err, errlen) < 0)
		return -1;
	if (lstat(path, &st) != 0)
		return trial_bind(path, err, errlen);
	if (!S_ISSOCK(st.st_mode))
		return vr_err(err, errlen, "socket %s: path exists and is not a socket", path);
	if (someone_listens(path))
		return vr_err(err, errlen, "socket %s is in use by another process", path);
	if (unlink(path) != 0)
		return vr_err(err, errlen, "socket %s: cannot remove stale socket: %s", path,
		              strerror(errno));
	VR_LOG(NOTICE, "removed stale socket %s", path);
	return trial_bind(path, err, errlen);
}

/* Value of key=... in a devargs list, copied to out. */
static int
devargs_value(const char *devargs, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key);
	const char *p = strchr(devargs, ',');

	while (p != NULL) {
		p++;
		if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
			size_t n = strcspn(p + klen + 1, ",");

			if (n >= len)
				return -1;
			memcpy(out, p + klen + 1, n);
			out[n] = '\0';
			return 0;
		}
		p = strchr(p, ',');
	}
	return -1;
}

void
sockpath_memif_server(const char *devargs, char *path, size_t len)
{
	char role[16] = "server", abstract[8] = "yes";

	path[0] = '\0';
	if (strncmp(devargs, "net_memif", 9) != 0)
		return;
	devargs_value(devargs, "role", role, sizeof(role));
	devargs_value(devargs, "socket-abstract", abstract, sizeof(abstract));
	if (strcmp(role, "server") != 0 || strcmp(abstract, "no") != 0 ||
	    devargs_value(devargs, "socket", path, len) < 0 || path[0] != '/')
		path[0] = '\0';
}
