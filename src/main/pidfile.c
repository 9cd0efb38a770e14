/* SPDX-License-Identifier: BSD-3-Clause */
#include "pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmsg.h"
#include "safefile.h"

/* Root writing through a link another user planted would overwrite any file
 * (--set pid-file=LINK): O_NOFOLLOW refuses a symbolic link, st_nlink a hard
 * one, st_uid a file left by someone else. */
static int
check_ours(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return vr_err(err, errlen, "pid file %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return vr_err(err, errlen, "pid file %s: is %s, not a regular file", path,
		              vr_file_kind(st.st_mode));
	if (st.st_uid != geteuid())
		return vr_err(err, errlen, "pid file %s: owned by uid %u, not by vrelayd (uid %u)",
		              path, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_nlink != 1)
		return vr_err(err, errlen, "pid file %s: has %lu hard links", path,
		              (unsigned long)st.st_nlink);
	return 0;
}

int
pidfile_write(const char *path, char *err, size_t errlen)
{
	char text[24];
	int fd, len, rc = 0;

	if (path[0] == '\0')
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
	if (fd < 0)
		return vr_err(err, errlen, "pid file %s: %s", path,
		              errno == ELOOP ? "is a symbolic link" : strerror(errno));
	len = snprintf(text, sizeof(text), "%d\n", (int)getpid());
	if (check_ours(fd, path, err, errlen) < 0)
		rc = -1;
	else if (ftruncate(fd, 0) < 0 || write(fd, text, (size_t)len) != len)
		rc = vr_err(err, errlen, "pid file %s: %s", path, strerror(errno));
	close(fd);
	return rc;
}
