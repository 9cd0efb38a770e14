/* SPDX-License-Identifier: BSD-3-Clause */
#include "safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmsg.h"

const char *
vr_file_kind(unsigned mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "a regular file";
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a FIFO";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFSOCK:
		return "a socket";
	case S_IFLNK:
		return "a symbolic link";
	default:
		return "of unknown type";
	}
}

int
vr_open_regular(const char *path, int flags, char *err, size_t errlen)
{
	/* O_NONBLOCK: opening a FIFO for reading waits for a writer otherwise */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | flags);
	struct stat st;

	if (fd < 0)
		return vr_err(err, errlen, "%s: cannot open: %s", path,
		              errno == ELOOP && (flags & O_NOFOLLOW) ? "is a symbolic link"
		                                                     : strerror(errno));
	if (fstat(fd, &st) < 0) {
		vr_err(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		vr_err(err, errlen, "%s: is %s, not a regular file", path,
		       vr_file_kind(st.st_mode));
		close(fd);
		return -1;
	}
	return fd;
}

char *
vr_read_regular(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
	int fd = vr_open_regular(path, 0, err, errlen);
	char *buf;
	size_t got = 0;

	if (fd < 0)
		return NULL;
	buf = malloc(max + 2);
	if (buf == NULL) {
		vr_err(err, errlen, "%s: out of memory", path);
		close(fd);
		return NULL;
	}
	/* one byte more than allowed tells a file that is too large, even one
	 * growing while it is read */
	while (got <= max) {
		ssize_t n = read(fd, buf + got, max + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			vr_err(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > max) {
		vr_err(err, errlen, "%s: larger than %zu bytes", path, max);
		goto fail;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}

int
vr_check_trusted(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return vr_err(err, errlen, "%s: %s", path, strerror(errno));
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return vr_err(err, errlen,
		              "%s: owned by uid %u, not by root or vrelayd's user: refused, as "
		              "whoever owns it would control the relays",
		              path, (unsigned)st.st_uid);
	if (st.st_mode & S_IWOTH)
		return vr_err(err, errlen, "%s: writable by every user (mode %03o): refused", path,
		              (unsigned)(st.st_mode & 0777));
	return 0;
}
