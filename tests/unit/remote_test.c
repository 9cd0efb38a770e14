/* SPDX-License-Identifier: BSD-3-Clause */
/* remote.c: the file that stands for a vrelayd on another host. A good one
 * gives each service's endpoint and the keys libzmq's CURVE needs (the
 * public key derived from the secret one); a bad one is refused with the
 * line and what is wrong with it, and a secret key others can read is
 * refused too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <zmq.h>

#include "remote.h"
#include "unit.h"

static char err[256], dir[64], file[96], key[96];
static char server_pub[41], server_sec[41], client_pub[41], client_sec[41];

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

/* The remote file with body, after the two key lines unless keys is false. */
static void
remote_file(const char *body, bool keys)
{
	char text[1024];

	snprintf(text, sizeof(text), "# relay B\n%s%s%s%s%s\n", body,
	         keys ? "curve-server-key = " : "", keys ? server_pub : "",
	         keys ? "\ncurve-secret-key = " : "", keys ? key : "");
	write_file(file, text, 0644);
}

static void
expect_refused(const char *body, bool keys, const char *why)
{
	struct vr_remote r;
	char want[512];

	remote_file(body, keys);
	assert_int_equal(vr_remote_load(file, &r, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: %s", file, why);
	assert_string_equal(err, want);
}

static void
endpoints_and_keys(void **state)
{
	struct vr_remote r;

	(void)state;
	remote_file("zmq-port-control = tcp://[2001:db8::2]:5601\n"
	            "  zmq-stats=tcp://198.51.100.2:5602  \n\n",
	            true);
	assert_true(vr_remote_is(file));
	assert_false(vr_remote_is(dir));
	assert_int_equal(vr_remote_load(file, &r, err, sizeof(err)), 0);
	assert_string_equal(vr_remote_endpoint(&r, "port_control"), "tcp://[2001:db8::2]:5601");
	assert_string_equal(vr_remote_endpoint(&r, "stats"), "tcp://198.51.100.2:5602");
	assert_null(vr_remote_endpoint(&r, "config"));
	assert_null(vr_remote_endpoint(&r, "nonesuch"));
	assert_string_equal(r.server_key, server_pub);
	assert_string_equal(r.secret_key, client_sec);
	/* libzmq's own pair: the public half follows from the secret one */
	assert_string_equal(r.public_key, client_pub);
	vr_remote_wipe(&r);
	assert_int_equal(r.secret_key[0], 0);
}

static void
bad_files_refused(void **state)
{
	(void)state;
	expect_refused("zmq-stats = ipc:///run/vrelay/stats\n", true,
	               "line 2: zmq-stats 'ipc:///run/vrelay/stats' is not a tcp:// endpoint");
	expect_refused("zmq-stats tcp://198.51.100.2:5602\n", true, "line 2: not KEY = VALUE");
	expect_refused("zmq-stat = tcp://198.51.100.2:5602\n", true,
	               "line 2: unknown key 'zmq-stat'");
	expect_refused("curve-server-key = short\n", false,
	               "line 2: curve-server-key is not a 40-character Z85 key");
	expect_refused("zmq-stats = tcp://198.51.100.2:5602\n", false,
	               "curve-server-key and curve-secret-key are both needed");
	/* the client's secret key readable by others */
	assert_int_equal(chmod(key, 0644), 0);
	{
		char why[256];

		snprintf(why, sizeof(why), "CURVE secret key %s is readable by others (mode 644)",
		         key);
		expect_refused("", true, why);
	}
	assert_int_equal(chmod(key, 0600), 0);
}

static int
setup(void **state)
{
	char text[64];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/vrelay-remote-XXXXXX");
	if (mkdtemp(dir) == NULL || zmq_curve_keypair(server_pub, server_sec) != 0 ||
	    zmq_curve_keypair(client_pub, client_sec) != 0)
		return -1;
	snprintf(file, sizeof(file), "%s/relay-b", dir);
	snprintf(key, sizeof(key), "%s/client.key", dir);
	snprintf(text, sizeof(text), "# ours\n%s\n", client_sec);
	write_file(key, text, 0600);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(file);
	unlink(key);
	return rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(endpoints_and_keys),
	    cmocka_unit_test(bad_files_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
