/* SPDX-License-Identifier: BSD-3-Clause */
/* safefile.c: what stands where a file was expected is refused by what it
 * is, at once; reads are bounded. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cmocka.h>

#include "safefile.h"
#include "unit.h"

static char err[256];

static void
temp_dir(char *dir, size_t len)
{
	snprintf(dir, len, "/tmp/vrelay-safefile-XXXXXX");
	assert_non_null(mkdtemp(dir));
}

/* A FIFO with no writer: open(O_RDONLY) would wait for one forever. The
 * test runs under meson's timeout, so a blocking open fails it. */
static void
fifo_refused_without_blocking(void **state)
{
	char dir[64], path[96];
	size_t len;

	(void)state;
	temp_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_null(vr_read_regular(path, 1024, &len, err, sizeof(err)));
	assert_contains(err, path);
	assert_contains(err, "is a FIFO, not a regular file");
	assert_int_equal(vr_open_regular(path, 0, err, sizeof(err)), -1);
	unlink(path);
	rmdir(dir);
}

static void
devices_directories_and_sockets_refused(void **state)
{
	char dir[64], sock[96], link[96];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	size_t len;

	(void)state;
	temp_dir(dir, sizeof(dir));
	assert_null(vr_read_regular("/dev/zero", 1024, &len, err, sizeof(err)));
	assert_string_equal(err, "/dev/zero: is a character device, not a regular file");
	assert_null(vr_read_regular(dir, 1024, &len, err, sizeof(err)));
	assert_contains(err, "is a directory, not a regular file");
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_null(vr_read_regular(sock, 1024, &len, err, sizeof(err)));
	/* a socket cannot be opened at all: the open's own reason */
	assert_contains(err, "cannot open");
	/* a symbolic link to /dev/zero is what it points to */
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink("/dev/zero", link), 0);
	assert_null(vr_read_regular(link, 1024, &len, err, sizeof(err)));
	assert_contains(err, "is a character device");
	/* and refused as a link where links are not followed */
	assert_int_equal(vr_open_regular(link, O_NOFOLLOW, err, sizeof(err)), -1);
	assert_contains(err, "is a symbolic link");
	close(s);
	unlink(sock);
	unlink(link);
	rmdir(dir);
}

static void
regular_files_read_whole_up_to_the_bound(void **state)
{
	char path[128], *text;
	size_t len = 0;

	(void)state;
	write_temp_file(path, sizeof(path), "0123456789");
	text = vr_read_regular(path, 10, &len, err, sizeof(err));
	assert_non_null(text);
	assert_int_equal(len, 10);
	assert_string_equal(text, "0123456789");
	free(text);
	/* one byte over the bound */
	assert_null(vr_read_regular(path, 9, &len, err, sizeof(err)));
	assert_contains(err, "larger than 9 bytes");
	unlink(path);
	write_temp_file(path, sizeof(path), "");
	text = vr_read_regular(path, 9, &len, err, sizeof(err));
	assert_non_null(text);
	assert_int_equal(len, 0);
	free(text);
	unlink(path);
	assert_null(vr_read_regular("/nonexistent/x.conf", 9, &len, err, sizeof(err)));
	assert_string_equal(err, "/nonexistent/x.conf: cannot open: No such file or directory");
}

/* A command file another user owns, or any user may write, is refused:
 * whoever controls it controls the relays. */
static void
only_the_operators_files_trusted(void **state)
{
	char path[128];
	int fd;

	(void)state;
	write_temp_file(path, sizeof(path), "remove 1\n");
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(vr_check_trusted(fd, path, err, sizeof(err)), 0);
	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(vr_check_trusted(fd, path, err, sizeof(err)), -1);
	assert_contains(err, "writable by every user (mode 666)");
	assert_int_equal(chmod(path, 0644), 0);
	if (geteuid() == 0) { /* only root can give a file away */
		assert_int_equal(fchown(fd, 4242, 4242), 0);
		assert_int_equal(vr_check_trusted(fd, path, err, sizeof(err)), -1);
		assert_contains(err, "owned by uid 4242, not by root or vrelayd's user");
	}
	close(fd);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(only_the_operators_files_trusted),
	    cmocka_unit_test(fifo_refused_without_blocking),
	    cmocka_unit_test(devices_directories_and_sockets_refused),
	    cmocka_unit_test(regular_files_read_whole_up_to_the_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
