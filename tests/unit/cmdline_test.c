/* SPDX-License-Identifier: BSD-3-Clause */
/* vrelayd's command line: options, relays, pins, config file overrides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cmdline.h"
#include "config.h"
#include "unit.h"

#define ARGC(argv) ((int)(sizeof(argv) / sizeof((argv)[0])))

static char err[VR_ERR_MAX];
static struct vr_cmdline cl;
static struct vr_conf conf;

static void
parse_ok(int argc, char *const argv[])
{
	err[0] = '\0';
	if (vr_cmdline_parse(&cl, &conf, argc, argv, err, sizeof(err)) != 0)
		fail_msg("rejected: %s", err);
}

static void
expect_error(int argc, char *const argv[], const char *msg)
{
	err[0] = '\0';
	if (vr_cmdline_parse(&cl, &conf, argc, argv, err, sizeof(err)) != -1)
		fail_msg("accepted, expected error \"%s\"", msg);
	assert_string_equal(err, msg);
}

static const struct vr_relay_conf *
relay(int id)
{
	for (uint16_t i = 0; i < conf.n_relays; i++)
		if (conf.relays[i].id == id)
			return &conf.relays[i];
	fail_msg("relay %d not configured", id);
	return NULL;
}

static void
test_workers(void **state)
{
	char *argv[] = {"vrelayd", "-w", "1,2"};
	char *argv_long[] = {"vrelayd", "--workers=0x30"};

	(void)state;
	parse_ok(ARGC(argv), argv);
	assert_int_equal(conf.workers.n, 2);
	assert_int_equal(conf.workers.cpu[0], 1);
	assert_int_equal(conf.workers.cpu[1], 2);
	assert_int_equal(conf.n_relays, 0);
	assert_null(cl.config_path);
	assert_false(cl.check);
	assert_false(cl.help);
	assert_false(cl.version);
	assert_int_equal(cl.eal_argc, 0);

	parse_ok(ARGC(argv_long), argv_long);
	assert_int_equal(conf.workers.n, 2);
	assert_int_equal(conf.workers.cpu[0], 4);
	assert_int_equal(conf.workers.cpu[1], 5);
}

static void
test_daemon_options(void **state)
{
	char *argv[] = {"vrelayd", "-w",
	                "2",       "-m",
	                "0",       "-l",
	                "debug",   "--file-prefix",
	                "vrx",     "--socket-dir",
	                "/tmp/s",  "--socket-owner",
	                "qemu",    "--socket-group",
	                "kvm",     "--socket-mode",
	                "0640",    "--retry-us",
	                "50",      "--check"};

	(void)state;
	parse_ok(ARGC(argv), argv);
	assert_int_equal(conf.main_cpu, 0);
	assert_int_equal(conf.log_level, 8);
	assert_string_equal(conf.file_prefix, "vrx");
	assert_string_equal(conf.socket_dir, "/tmp/s");
	assert_string_equal(conf.socket_owner, "qemu");
	assert_string_equal(conf.socket_group, "kvm");
	assert_int_equal(conf.socket_mode, 0640);
	assert_int_equal(conf.retry_us, 50);
	assert_true(cl.check);
}

static void
test_relays(void **state)
{
	char *argv[] = {"vrelayd",
	                "-w",
	                "1,2",
	                "--relay",
	                "id=0 device=net_ring0",
	                "-r",
	                "id=1 device=net_ring1 socket=/run/r1.sock mode=client queues=2",
	                "--socket-dir",
	                "/tmp/vr"};

	(void)state;
	parse_ok(ARGC(argv), argv);
	assert_int_equal(conf.n_relays, 2);
	assert_string_equal(relay(0)->device, "net_ring0");
	/* a relay without socket= gets one in the socket directory, even when
	 * --socket-dir comes after --relay */
	assert_string_equal(relay(0)->socket, "/tmp/vr/relay0.sock");
	assert_int_equal(relay(0)->mode, VR_VHOST_SERVER);
	assert_int_equal(relay(0)->cpu[0], VR_CPU_UNPINNED);
	assert_string_equal(relay(1)->device, "net_ring1");
	assert_string_equal(relay(1)->socket, "/run/r1.sock");
	assert_int_equal(relay(1)->mode, VR_VHOST_CLIENT);
	assert_int_equal(relay(1)->queues, 2);
}

static void
test_relay_errors(void **state)
{
	char *bad_spec[] = {"vrelayd", "-w", "1", "--relay", "id=0 device=d mtu=9001"};
	char *twice[] = {"vrelayd", "-w", "1", "-r", "id=4 device=a", "-r", "id=4 device=b"};
	char *no_id[] = {"vrelayd", "-w", "1", "-r", "device=a"};

	(void)state;
	expect_error(ARGC(bad_spec), bad_spec,
	             "--relay: relay spec: mtu '9001' is not in 68..9000");
	expect_error(ARGC(twice), twice, "--relay: relay 4 is already defined");
	expect_error(ARGC(no_id), no_id, "--relay: relay spec 'device=a' has no id=");
}

static void
test_pin(void **state)
{
	/* --pin may come before the relay it pins */
	char *argv[] = {"vrelayd",       "--pin", "0:1,2",         "-w", "1,2", "-r",
	                "id=0 device=a", "-r",    "id=1 device=b", "-p", "1:2"};

	(void)state;
	parse_ok(ARGC(argv), argv);
	assert_int_equal(relay(0)->cpu[0], 1);
	assert_int_equal(relay(0)->cpu[1], 2);
	assert_int_equal(relay(1)->cpu[0], 2);
	assert_int_equal(relay(1)->cpu[1], 2);
}

static void
test_pin_errors(void **state)
{
	char *unknown[] = {"vrelayd", "-w", "1", "-r", "id=0 device=a", "--pin", "9:1"};
	char *no_colon[] = {"vrelayd", "-w", "1", "-r", "id=0 device=a", "--pin", "0"};
	char *bad_id[] = {"vrelayd", "-w", "1", "-r", "id=0 device=a", "--pin", "x:1"};
	char *bad_cpu[] = {"vrelayd", "-w", "1", "-r", "id=0 device=a", "--pin", "0:1,y"};
	char *not_worker[] = {"vrelayd", "-w", "1", "-r", "id=0 device=a", "--pin", "0:3"};

	(void)state;
	expect_error(ARGC(unknown), unknown, "--pin '9:1': no relay 9 is configured");
	expect_error(ARGC(no_colon), no_colon, "--pin '0': expected RELAY:CPU[,CPU]");
	expect_error(ARGC(bad_id), bad_id, "--pin 'x:1': 'x' is not a relay id (0..63)");
	expect_error(ARGC(bad_cpu), bad_cpu, "--pin: pin '1,y': 'y' is not a CPU number");
	expect_error(ARGC(not_worker), not_worker, "relay 0: CPU 3 is not a worker CPU");
}

/* A relay id with trailing garbage should be refused like everywhere else. */
static void
test_pin_id_garbage(void **state)
{
	char *argv[] = {"vrelayd", "-w", "1", "-r", "id=0 device=a", "--pin", "0abc:1"};

	(void)state;
	expect_error(ARGC(argv), argv, "--pin '0abc:1': '0abc' is not a relay id (0..63)");
}

static const char file_conf[] = "[daemon]\n"
                                "workers = 1,2\n"
                                "log-level = info\n"
                                "socket-dir = /tmp/from-file\n"
                                "retry-us = 300\n"
                                "\n"
                                "[relay 0]\n"
                                "device = net_ring0\n"
                                "cpu = 1\n"
                                "\n"
                                "[relay 1]\n"
                                "device = net_ring1\n"
                                "socket = /run/file1.sock\n";

static void
test_config_file_and_overrides(void **state)
{
	char path[256];

	(void)state;
	write_temp_file(path, sizeof(path), file_conf);

	/* the file alone */
	char *plain[] = {"vrelayd", "-c", path};

	parse_ok(ARGC(plain), plain);
	assert_ptr_equal(cl.config_path, path);
	assert_int_equal(conf.workers.n, 2);
	assert_int_equal(conf.log_level, 7);
	assert_int_equal(conf.retry_us, 300);
	assert_int_equal(conf.n_relays, 2);
	assert_string_equal(relay(0)->socket, "/tmp/from-file/relay0.sock");
	assert_int_equal(relay(0)->cpu[0], 1);

	/* the command line wins over the file, wherever it stands */
	char *over[] = {"vrelayd",
	                "-w",
	                "3,4",
	                "--log-level",
	                "debug",
	                "--socket-dir",
	                "/tmp/from-cli",
	                "--pin",
	                "0:3,4",
	                "--config",
	                path,
	                "--relay",
	                "id=2 device=net_ring2"};

	parse_ok(ARGC(over), over);
	assert_int_equal(conf.workers.n, 2);
	assert_int_equal(conf.workers.cpu[0], 3);
	assert_int_equal(conf.workers.cpu[1], 4);
	assert_int_equal(conf.log_level, 8);
	assert_int_equal(conf.retry_us, 300); /* not overridden: from the file */
	assert_string_equal(conf.socket_dir, "/tmp/from-cli");
	assert_int_equal(conf.n_relays, 3);
	assert_string_equal(relay(0)->socket, "/tmp/from-cli/relay0.sock");
	assert_int_equal(relay(0)->cpu[0], 3);
	assert_int_equal(relay(0)->cpu[1], 4);
	assert_string_equal(relay(1)->socket, "/run/file1.sock");
	assert_string_equal(relay(2)->device, "net_ring2");
	assert_string_equal(relay(2)->socket, "/tmp/from-cli/relay2.sock");

	/* a --relay may not redefine a relay of the file */
	char *dup[] = {"vrelayd", "-c", path, "-r", "id=1 device=other"};

	expect_error(ARGC(dup), dup, "--relay: relay 1 is already defined");

	/* the file's pin of relay 0 to CPU 1 is invalid once -w drops CPU 1 */
	char *stale_pin[] = {"vrelayd", "-c", path, "-w", "2"};

	expect_error(ARGC(stale_pin), stale_pin, "relay 0: CPU 1 is not a worker CPU");
	assert_int_equal(unlink(path), 0);
}

static void
test_config_file_errors(void **state)
{
	char path[256], msg[400];
	char *missing[] = {"vrelayd", "-c", "/nonexistent/vrelayd.conf"};

	(void)state;
	expect_error(ARGC(missing), missing,
	             "/nonexistent/vrelayd.conf: cannot open: No such file or directory");

	write_temp_file(path, sizeof(path), "workers = 1\n[relay 1]\nmode = bogus\n");
	char *bad[] = {"vrelayd", "-w", "1", "--config", path};

	snprintf(msg, sizeof(msg), "%s:3: mode 'bogus' is neither 'server' nor 'client'", path);
	expect_error(ARGC(bad), bad, msg);
	assert_int_equal(unlink(path), 0);
}

static void
test_unknown_option(void **state)
{
	char *long_opt[] = {"vrelayd", "-w", "1", "--bogus"};
	char *short_opt[] = {"vrelayd", "-x", "-w", "1"};
	char *with_value[] = {"vrelayd", "--bogus=3", "-w", "1"};
	char *no_value[] = {"vrelayd", "--check=yes", "-w", "1"};

	(void)state;
	expect_error(ARGC(long_opt), long_opt, "unknown option '--bogus' (see --help)");
	expect_error(ARGC(short_opt), short_opt, "unknown option '-x' (see --help)");
	expect_error(ARGC(with_value), with_value, "unknown option '--bogus=3' (see --help)");
	/* an option without a value given one */
	assert_int_equal(vr_cmdline_parse(&cl, &conf, ARGC(no_value), no_value, err, sizeof(err)),
	                 -1);
	assert_contains(err, "'--check=yes'");
}

static void
test_missing_value(void **state)
{
	char *short_opt[] = {"vrelayd", "-w"};
	char *long_opt[] = {"vrelayd", "-w", "1", "--relay"};
	char *pin[] = {"vrelayd", "-w", "1", "--pin"};
	char *config[] = {"vrelayd", "-c"};

	(void)state;
	expect_error(ARGC(short_opt), short_opt, "option '-w' needs a value");
	expect_error(ARGC(long_opt), long_opt, "option '--relay' needs a value");
	expect_error(ARGC(pin), pin, "option '--pin' needs a value");
	expect_error(ARGC(config), config, "option '-c' needs a value");
}

static void
test_bad_values(void **state)
{
	char *workers[] = {"vrelayd", "-w", "1,x"};
	char *level[] = {"vrelayd", "-w", "1", "-l", "9"};
	char *none[] = {"vrelayd"};

	(void)state;
	expect_error(ARGC(workers), workers, "--workers: 'x' is not a CPU number (0..125)");
	expect_error(ARGC(level), level, "--log-level: log-level '9' is not a level name or 1..8");
	expect_error(ARGC(none), none, "no worker CPUs configured (workers = ...)");
}

static void
test_eal_args(void **state)
{
	char *argv[] = {"vrelayd", "-w", "1", "--", "-l", "0", "--no-pci", "--vdev=net_ring0"};

	(void)state;
	parse_ok(ARGC(argv), argv);
	assert_int_equal(cl.eal_argc, 4);
	/* the very strings of argv, in order; "--" itself is not passed on */
	assert_ptr_equal(cl.eal_argv[0], argv[4]);
	assert_ptr_equal(cl.eal_argv[1], argv[5]);
	assert_ptr_equal(cl.eal_argv[2], argv[6]);
	assert_ptr_equal(cl.eal_argv[3], argv[7]);
	/* "-l" after "--" is EAL's, not ours */
	assert_int_equal(conf.log_level, 7);
	assert_string_equal(argv[3], "--"); /* argv not modified */
}

static void
test_too_many_eal_args(void **state)
{
	char *argv[4 + VR_EAL_ARGS_MAX + 1] = {"vrelayd", "-w", "1", "--"};

	(void)state;
	for (int i = 4; i < ARGC(argv); i++)
		argv[i] = "--no-pci";
	expect_error(ARGC(argv), argv, "more than 64 EAL arguments");
	/* exactly the maximum is fine */
	parse_ok(ARGC(argv) - 1, argv);
	assert_int_equal(cl.eal_argc, VR_EAL_ARGS_MAX);
}

static void
test_help_version(void **state)
{
	char *help_long[] = {"vrelayd", "--help"};
	char *help_short[] = {"vrelayd", "-h"};
	char *version_long[] = {"vrelayd", "--version"};
	char *version_short[] = {"vrelayd", "-V"};
	/* help and version skip the config file and validation */
	char *help_bad_conf[] = {"vrelayd", "-c", "/nonexistent.conf", "-h"};

	(void)state;
	parse_ok(ARGC(help_long), help_long);
	assert_true(cl.help);
	assert_false(cl.version);
	parse_ok(ARGC(help_short), help_short);
	assert_true(cl.help);
	parse_ok(ARGC(version_long), version_long);
	assert_true(cl.version);
	assert_false(cl.help);
	parse_ok(ARGC(version_short), version_short);
	assert_true(cl.version);
	parse_ok(ARGC(help_bad_conf), help_bad_conf);
	assert_true(cl.help);

	/* the usage text runs and mentions the options */
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	vr_cmdline_usage(out, "vrelayd");
	assert_int_equal(fclose(out), 0);
	assert_contains(text, "Usage: vrelayd");
	assert_contains(text, "--pin");
	free(text);
}

/* SIGHUP re-runs the parse over the same argv: it must give the same result,
 * also after a parse that failed half way through the options. */
static void
test_parse_twice(void **state)
{
	char *argv[] = {"vrelayd", "-w",    "1,2", "-r", "id=0 device=a",
	                "-hV",     "--pin", "0:2", "--", "--no-pci"};
	char *bad[] = {"vrelayd", "-w", "1", "-Vx", "-r", "id=3 device=z"};
	struct vr_cmdline cl1;
	struct vr_conf *conf1 = malloc(sizeof(*conf1));

	(void)state;
	assert_non_null(conf1);
	/* with -h the parse stops before applying: drop it for the comparison */
	argv[5] = "--check";
	parse_ok(ARGC(argv), argv);
	memcpy(&cl1, &cl, sizeof(cl));
	memcpy(conf1, &conf, sizeof(conf));
	assert_int_equal(relay(0)->cpu[0], 2);
	assert_int_equal(cl.eal_argc, 1);

	parse_ok(ARGC(argv), argv);
	assert_memory_equal(&cl, &cl1, sizeof(cl));
	assert_memory_equal(&conf, conf1, sizeof(conf));

	/* an error in the middle of a group of short options */
	expect_error(ARGC(bad), bad, "unknown option '-Vx' (see --help)");
	parse_ok(ARGC(argv), argv);
	assert_memory_equal(&cl, &cl1, sizeof(cl));
	assert_memory_equal(&conf, conf1, sizeof(conf));

	/* a group of short options parsed twice */
	argv[5] = "-hV";
	parse_ok(ARGC(argv), argv);
	assert_true(cl.help);
	assert_true(cl.version);
	parse_ok(ARGC(argv), argv);
	assert_true(cl.help);
	assert_true(cl.version);
	assert_int_equal(cl.eal_argc, 1);
	free(conf1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_workers),
	    cmocka_unit_test(test_daemon_options),
	    cmocka_unit_test(test_relays),
	    cmocka_unit_test(test_relay_errors),
	    cmocka_unit_test(test_pin),
	    cmocka_unit_test(test_pin_errors),
	    cmocka_unit_test(test_pin_id_garbage),
	    cmocka_unit_test(test_config_file_and_overrides),
	    cmocka_unit_test(test_config_file_errors),
	    cmocka_unit_test(test_unknown_option),
	    cmocka_unit_test(test_missing_value),
	    cmocka_unit_test(test_bad_values),
	    cmocka_unit_test(test_eal_args),
	    cmocka_unit_test(test_too_many_eal_args),
	    cmocka_unit_test(test_help_version),
	    cmocka_unit_test(test_parse_twice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
