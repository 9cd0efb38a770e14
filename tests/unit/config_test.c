/* SPDX-License-Identifier: BSD-3-Clause */
/* Config parsing: CPU sets, pins, config files, relay specs, validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config.h"
#include "unit.h"

static char err[VR_ERR_MAX];

/* ---- vr_cpuset_parse ---------------------------------------------------- */

static void
expect_cpuset(const char *s, const uint16_t *want, uint16_t n)
{
	struct vr_cpuset set;

	err[0] = '\0';
	if (vr_cpuset_parse(&set, s, err, sizeof(err)) != 0)
		fail_msg("'%s' rejected: %s", s, err);
	assert_int_equal(set.n, n);
	for (uint16_t i = 0; i < n; i++)
		assert_int_equal(set.cpu[i], want[i]);
}

static void
expect_cpuset_error(const char *s, const char *msg)
{
	struct vr_cpuset set;

	err[0] = '\0';
	if (vr_cpuset_parse(&set, s, err, sizeof(err)) != -1)
		fail_msg("'%s' accepted", s);
	assert_string_equal(err, msg);
}

static void
test_cpuset_lists(void **state)
{
	(void)state;
	expect_cpuset("3", (const uint16_t[]){3}, 1);
	expect_cpuset("1,2", (const uint16_t[]){1, 2}, 2);
	expect_cpuset("1,3-5,8", (const uint16_t[]){1, 3, 4, 5, 8}, 5);
	expect_cpuset("7-7", (const uint16_t[]){7}, 1);
	expect_cpuset("0,125", (const uint16_t[]){0, 125}, 2);

	struct vr_cpuset set;

	assert_int_equal(vr_cpuset_parse(&set, "0-125", err, sizeof(err)), 0);
	assert_int_equal(set.n, VR_MAX_CPUS);
	assert_true(vr_cpuset_has(&set, 0));
	assert_true(vr_cpuset_has(&set, 125));
	assert_false(vr_cpuset_has(&set, 126));
	assert_false(vr_cpuset_has(&set, -1));
}

static void
test_cpuset_hex_masks(void **state)
{
	(void)state;
	expect_cpuset("0x6", (const uint16_t[]){1, 2}, 2);
	expect_cpuset("0X6", (const uint16_t[]){1, 2}, 2);
	expect_cpuset("0x1", (const uint16_t[]){0}, 1);
	expect_cpuset("0x3a", (const uint16_t[]){1, 3, 4, 5}, 4);
	expect_cpuset("0xF0", (const uint16_t[]){4, 5, 6, 7}, 4);
	/* wider than 64 bits: bit 64 and bit 125 (the highest allowed) */
	expect_cpuset("0x10000000000000000", (const uint16_t[]){64}, 1);
	expect_cpuset("0x20000000000000000000000000000000", (const uint16_t[]){125}, 1);
}

static void
test_cpuset_errors(void **state)
{
	(void)state;
	/* duplicates */
	expect_cpuset_error("1,1", "CPU 1 is listed twice");
	expect_cpuset_error("1-3,2", "CPU 2 is listed twice");
	/* out of range */
	expect_cpuset_error("126", "'126' is not a CPU number (0..125)");
	expect_cpuset_error("0-126", "bad CPU range '0-126'");
	expect_cpuset_error("0x40000000000000000000000000000000",
	                    "CPU 126 is out of range (0..125)");
	expect_cpuset_error("99999999999999999999999", "'99999999999999999999999' is not a "
	                                               "CPU number (0..125)");
	/* garbage */
	expect_cpuset_error("abc", "'abc' is not a CPU number (0..125)");
	expect_cpuset_error("1;2", "'1;2' is not a CPU number (0..125)");
	expect_cpuset_error("-1", "'' is not a CPU number (0..125)");
	expect_cpuset_error("1-", "bad CPU range '1-'");
	expect_cpuset_error("5-3", "bad CPU range '5-3'");
	expect_cpuset_error("1-2-3", "bad CPU range '1-2-3'");
	expect_cpuset_error(" 1", "' 1' is not a CPU number (0..125)");
	expect_cpuset_error("0xzz", "'z' is not a hex digit in CPU mask");
	expect_cpuset_error("0x6 ", "' ' is not a hex digit in CPU mask");
	/* empty */
	expect_cpuset_error("", "CPU list is empty or too long");
	expect_cpuset_error("0x", "empty CPU mask");
	expect_cpuset_error(",", "CPU list ',' names no CPU");
}

/* A set that names no CPU is an error as a list ("," above): a zero mask
 * should be too. */
static void
test_cpuset_zero_mask(void **state)
{
	(void)state;
	expect_cpuset_error("0x0", "CPU mask '0x0' names no CPU");
}

/* ---- vr_pin_parse ------------------------------------------------------- */

static void
test_pin_parse(void **state)
{
	int cpu[2] = {-1, -1};

	(void)state;
	assert_int_equal(vr_pin_parse(cpu, "3", err, sizeof(err)), 0);
	assert_int_equal(cpu[0], 3);
	assert_int_equal(cpu[1], 3);
	assert_int_equal(vr_pin_parse(cpu, "1,2", err, sizeof(err)), 0);
	assert_int_equal(cpu[0], 1);
	assert_int_equal(cpu[1], 2);
	assert_int_equal(vr_pin_parse(cpu, "125,0", err, sizeof(err)), 0);
	assert_int_equal(cpu[0], 125);
	assert_int_equal(cpu[1], 0);
}

static void
expect_pin_error(const char *s, const char *msg)
{
	int cpu[2] = {7, 8};

	err[0] = '\0';
	if (vr_pin_parse(cpu, s, err, sizeof(err)) != -1)
		fail_msg("pin '%s' accepted", s);
	assert_string_equal(err, msg);
	/* a rejected pin leaves the old one */
	assert_int_equal(cpu[0], 7);
	assert_int_equal(cpu[1], 8);
}

static void
test_pin_parse_errors(void **state)
{
	(void)state;
	expect_pin_error("", "CPU pin is empty or too long");
	expect_pin_error("x", "pin 'x': 'x' is not a CPU number");
	expect_pin_error("126", "pin '126': '126' is not a CPU number");
	expect_pin_error("-1", "pin '-1': '-1' is not a CPU number");
	expect_pin_error("1,", "pin '1,': '' is not a CPU number");
	expect_pin_error(",1", "pin ',1': '' is not a CPU number");
	expect_pin_error("1,2,3", "pin '1,2,3': '2,3' is not a CPU number");
	expect_pin_error("1-2", "pin '1-2': '1-2' is not a CPU number");
}

/* ---- vr_conf_parse_text: a full valid file -------------------------------- */

static const char full_conf[] = "# vrelay test configuration\n"
                                "\n"
                                "[daemon]\n"
                                "workers = 2-3,5\n"
                                "socket-dir = /tmp/vr-sockets   # trailing comment\n"
                                "log-level = debug\n"
                                "  mtu=9000\n"
                                "mode = client\n"
                                "queues = 4\n"
                                "\n"
                                "[relay 0]\n"
                                "device = 0000:03:00.0\n"
                                "\n"
                                "[ relay 5 ]\n"
                                "device = net_memif0,role=server,socket=/run/memif.sock\n"
                                "socket = /run/vrelay/vm5.sock\n"
                                "mode = server\n"
                                "queues = 2\n"
                                "mtu = 1500\n"
                                "mrgbuf = no\n"
                                "tso = no\n"
                                "cpu = 3,5\n";

static void
test_conf_full_file(void **state)
{
	struct vr_conf c;

	(void)state;
	vr_conf_init(&c);
	if (vr_conf_parse_text(&c, full_conf, "full.conf", err, sizeof(err)) != 0)
		fail_msg("rejected: %s", err);

	/* [daemon] */
	assert_int_equal(c.workers.n, 3);
	assert_int_equal(c.workers.cpu[0], 2);
	assert_int_equal(c.workers.cpu[1], 3);
	assert_int_equal(c.workers.cpu[2], 5);
	assert_string_equal(c.socket_dir, "/tmp/vr-sockets");
	assert_int_equal(c.log_level, 8);
	assert_string_equal(vr_log_level_name(c.log_level), "debug");
	/* settings the file does not give keep their defaults */
	assert_int_equal(c.main_cpu, -1);
	assert_string_equal(c.file_prefix, "vrelay");
	assert_string_equal(c.socket_owner, "");
	assert_string_equal(c.socket_group, "");
	assert_int_equal(c.socket_mode, 0660);
	assert_int_equal(c.retry_us, 1000);
	/* relay defaults set in [daemon] */
	assert_int_equal(c.defaults.mtu, 9000);
	assert_int_equal(c.defaults.mode, VR_VHOST_CLIENT);
	assert_int_equal(c.defaults.queues, 4);
	assert_true(c.defaults.mrgbuf);

	assert_int_equal(c.n_relays, 2);

	/* [relay 0]: everything but the device from the daemon's defaults */
	const struct vr_relay_conf *r = &c.relays[0];

	assert_int_equal(r->id, 0);
	assert_string_equal(r->device, "0000:03:00.0");
	assert_string_equal(r->socket, "");
	assert_int_equal(r->mode, VR_VHOST_CLIENT);
	assert_int_equal(r->queues, 4);
	assert_int_equal(r->mtu, 9000);
	assert_true(r->mrgbuf);
	assert_true(r->tso);
	assert_int_equal(r->cpu[0], VR_CPU_UNPINNED);
	assert_int_equal(r->cpu[1], VR_CPU_UNPINNED);

	/* [relay 5]: every field given */
	r = &c.relays[1];
	assert_int_equal(r->id, 5);
	assert_string_equal(r->device, "net_memif0,role=server,socket=/run/memif.sock");
	assert_string_equal(r->socket, "/run/vrelay/vm5.sock");
	assert_int_equal(r->mode, VR_VHOST_SERVER);
	assert_int_equal(r->queues, 2);
	assert_int_equal(r->mtu, 1500);
	assert_false(r->mrgbuf);
	assert_false(r->tso);
	assert_int_equal(r->cpu[0], 3);
	assert_int_equal(r->cpu[1], 5);

	/* and the whole thing is consistent once relay 0 has its socket */
	vr_relay_conf_default_socket(&c.relays[0], c.socket_dir, NULL);
	assert_string_equal(c.relays[0].socket, "/tmp/vr-sockets/relay0.sock");
	if (vr_conf_validate(&c, err, sizeof(err)) != 0)
		fail_msg("invalid: %s", err);
}

static void
test_conf_other_daemon_keys(void **state)
{
	static const char text[] = "[daemon]\n"
	                           "workers = 0x6\n"
	                           "main-cpu = 0\n"
	                           "file-prefix = vr-test\n"
	                           "socket-owner = qemu\n"
	                           "socket-group = kvm\n"
	                           "socket-mode = 0600\n"
	                           "retry-us = 250\n"
	                           "log-level = 4\n"
	                           "mrgbuf = off\n";
	struct vr_conf c;

	(void)state;
	vr_conf_init(&c);
	if (vr_conf_parse_text(&c, text, "d.conf", err, sizeof(err)) != 0)
		fail_msg("rejected: %s", err);
	assert_int_equal(c.workers.n, 2);
	assert_int_equal(c.main_cpu, 0);
	assert_string_equal(c.file_prefix, "vr-test");
	assert_string_equal(c.socket_owner, "qemu");
	assert_string_equal(c.socket_group, "kvm");
	assert_int_equal(c.socket_mode, 0600);
	assert_int_equal(c.retry_us, 250);
	assert_int_equal(c.log_level, 4);
	assert_false(c.defaults.mrgbuf);
	assert_int_equal(c.n_relays, 0);
}

static void
test_conf_empty_text(void **state)
{
	struct vr_conf c, fresh;

	(void)state;
	vr_conf_init(&c);
	vr_conf_init(&fresh);
	assert_int_equal(vr_conf_parse_text(&c, "", "e.conf", err, sizeof(err)), 0);
	assert_int_equal(
	    vr_conf_parse_text(&c, "\n  # only a comment\n\n", "e.conf", err, sizeof(err)), 0);
	assert_memory_equal(&c, &fresh, sizeof(c));
}

/* ---- vr_conf_parse_text: errors ------------------------------------------- */

static void
expect_parse_error(const char *text, const char *msg)
{
	struct vr_conf c;

	vr_conf_init(&c);
	err[0] = '\0';
	if (vr_conf_parse_text(&c, text, "t.conf", err, sizeof(err)) != -1)
		fail_msg("accepted:\n%s", text);
	assert_string_equal(err, msg);
}

static void
test_conf_unknown_key(void **state)
{
	(void)state;
	expect_parse_error("[relay 1]\n"
	                   "device = x\n"
	                   "devcie = y\n",
	                   "t.conf:3: unknown relay key 'devcie'");

	/* in [daemon] the key may be a setting or a relay default: the message
	 * must still name the place and the key */
	struct vr_conf c;

	vr_conf_init(&c);
	assert_int_equal(vr_conf_parse_text(&c, "# settings\n[daemon]\nworkerz = 1\n", "t.conf",
	                                    err, sizeof(err)),
	                 -1);
	assert_contains(err, "t.conf:3: ");
	assert_contains(err, "unknown");
	assert_contains(err, "'workerz'");
}

static void
test_conf_section_errors(void **state)
{
	(void)state;
	expect_parse_error("[relays 1]\n",
	                   "t.conf:1: unknown section [relays 1] (expected [daemon] or [relay N])");
	expect_parse_error("[relay]\n",
	                   "t.conf:1: unknown section [relay] (expected [daemon] or [relay N])");
	expect_parse_error("\n[relay 1\n", "t.conf:2: malformed section header '[relay 1'");
	expect_parse_error("[daemon] workers = 1\n",
	                   "t.conf:1: malformed section header '[daemon] workers = 1'");
	expect_parse_error("[relay 64]\n", "t.conf:1: relay id '64' is not in 0..63");
	expect_parse_error("[relay -1]\n", "t.conf:1: relay id '-1' is not in 0..63");
	expect_parse_error("[relay x]\n", "t.conf:1: relay id 'x' is not in 0..63");
	expect_parse_error("[relay 1]\n"
	                   "device = a\n"
	                   "[relay 2]\n"
	                   "device = b\n"
	                   "[relay 1]\n",
	                   "t.conf:5: relay 1 is defined twice");
}

static void
test_conf_line_errors(void **state)
{
	(void)state;
	expect_parse_error("[relay 1]\nmtu =\n", "t.conf:2: key 'mtu' has no value");
	expect_parse_error("[relay 1]\nmtu = # comment\n", "t.conf:2: key 'mtu' has no value");
	expect_parse_error("[daemon]\n= 3\n", "t.conf:2: missing key before '='");
	expect_parse_error("[daemon]\n# workers\nworkers 1\n",
	                   "t.conf:3: expected 'key = value', got 'workers 1'");
	expect_parse_error("[relay 1]\nmtu = 9001\n", "t.conf:2: mtu '9001' is not in 68..9000");
	expect_parse_error("[relay 1]\nmtu = 67\n", "t.conf:2: mtu '67' is not in 68..9000");
	expect_parse_error("[relay 1]\nmtu = 1500x\n", "t.conf:2: mtu '1500x' is not in 68..9000");
	expect_parse_error("[relay 1]\nqueues = 33\n", "t.conf:2: queues '33' is not in 1..32");
	expect_parse_error("[relay 1]\nqueues = 0\n", "t.conf:2: queues '0' is not in 1..32");
	expect_parse_error("[relay 1]\nmode = bogus\n",
	                   "t.conf:2: mode 'bogus' is neither 'server' nor 'client'");
	expect_parse_error("[relay 1]\nmrgbuf = maybe\n", "t.conf:2: mrgbuf 'maybe' is not yes/no");
	expect_parse_error("[relay 1]\ntso = 2\n", "t.conf:2: tso '2' is not yes/no");
	expect_parse_error("[relay 1]\nsocket = relative.sock\n",
	                   "t.conf:2: socket 'relative.sock' must be an absolute path shorter "
	                   "than 108 bytes");
	expect_parse_error("[relay 1]\ncpu = 1,x\n",
	                   "t.conf:2: pin '1,x': 'x' is not a CPU number");
	expect_parse_error("[relay 1]\nid = 2\n",
	                   "t.conf:2: the relay id goes in the section header");
	expect_parse_error("[daemon]\ndevice = x\n",
	                   "t.conf:2: 'device' belongs in a [relay N] section");
	expect_parse_error("workers = 1,1\n", "t.conf:1: CPU 1 is listed twice");
	expect_parse_error("log-level = loud\n",
	                   "t.conf:1: log-level 'loud' is not a level name or 1..8");
	expect_parse_error("socket-mode = 0999\n",
	                   "t.conf:1: socket-mode '0999' is not an octal mode");
	/* issue 12 item 10: any local user could connect as the guest's QEMU */
	expect_parse_error("socket-mode = 0666\n",
	                   "t.conf:1: socket-mode 0666 would let any local user act as a "
	                   "guest's QEMU: not world-writable");
	expect_parse_error("file-prefix = a/b\n",
	                   "t.conf:1: file-prefix 'a/b' is empty, too long or has '/'");
}

static void
test_conf_long_line(void **state)
{
	size_t n = VR_DEVARGS_MAX + 300;
	char *text = malloc(n + 1);
	struct vr_conf c;

	(void)state;
	assert_non_null(text);
	memset(text, 'a', n);
	text[n] = '\0';
	vr_conf_init(&c);
	assert_int_equal(vr_conf_parse_text(&c, text, "t.conf", err, sizeof(err)), -1);
	assert_contains(err, "t.conf:1: line longer than");
	free(text);
}

/* ---- vr_conf_validate ------------------------------------------------------ */

static void
parse_ok(struct vr_conf *c, const char *text)
{
	vr_conf_init(c);
	if (vr_conf_parse_text(c, text, "v.conf", err, sizeof(err)) != 0)
		fail_msg("rejected: %s", err);
	for (uint16_t i = 0; i < c->n_relays; i++)
		vr_relay_conf_default_socket(&c->relays[i], c->socket_dir, NULL);
}

static void
expect_invalid(const char *text, const char *msg)
{
	struct vr_conf c;

	parse_ok(&c, text);
	err[0] = '\0';
	if (vr_conf_validate(&c, err, sizeof(err)) != -1)
		fail_msg("valid:\n%s", text);
	assert_string_equal(err, msg);
}

/* The tunnel's underlay identity (underlay.h): read, then checked as a
 * whole against the prefixes (RFC 4291 / RFC 1122 address classes). */
static void
test_underlay(void **state)
{
	struct vr_conf c;

	(void)state;
	parse_ok(&c, "workers = 1\nunderlay-relay = 3\nunderlay-ipv4 = 198.51.100.10/24\n"
	             "underlay-gateway4 = 198.51.100.1\nunderlay-ipv6 = 2001:db8:a::10/64\n"
	             "underlay-gateway6 = fe80::1\n");
	if (vr_conf_validate(&c, err, sizeof(err)) != 0)
		fail_msg("invalid: %s", err);
	assert_int_equal(c.underlay.relay, 3);
	assert_memory_equal(c.underlay.ip4, "\xc6\x33\x64\x0a", 4);
	assert_int_equal(c.underlay.prefix4, 24);
	assert_memory_equal(c.underlay.gw4, "\xc6\x33\x64\x01", 4);
	assert_int_equal(c.underlay.prefix6, 64);
	assert_int_equal(c.underlay.ip6[15], 0x10);
	assert_int_equal(c.underlay.gw6[0], 0xfe);
	/* nothing configured: valid, and no underlay */
	parse_ok(&c, "workers = 1\n");
	assert_int_equal(vr_conf_validate(&c, err, sizeof(err)), 0);
	assert_int_equal(c.underlay.relay, -1);

	/* a gateway's MAC given, and one without its gateway */
	parse_ok(&c,
	         "workers = 1\nunderlay-relay = 0\nunderlay-ipv4 = 198.51.100.10/24\n"
	         "underlay-gateway4 = 198.51.100.1\nunderlay-gateway4-mac = 02:00:00:00:01:01\n");
	assert_true(c.underlay.has_gw4_mac);
	assert_memory_equal(c.underlay.gw4_mac, "\x02\x00\x00\x00\x01\x01", 6);
	expect_parse_error(
	    "underlay-gateway4-mac = 03:00:00:00:01:01\n",
	    "t.conf:1: underlay-gateway4-mac '03:00:00:00:01:01' is not a unicast MAC "
	    "(xx:xx:xx:xx:xx:xx)");
	/* the destination's hold */
	parse_ok(&c, "hold-frames = 0\nhold-ms = 300\n");
	assert_int_equal(c.hold_frames, 0);
	assert_int_equal(c.hold_ms, 300);
	assert_int_equal(c.hold_bytes, 8 << 20);
	expect_parse_error("hold-ms = 0\n", "t.conf:1: hold-ms '0' is not in 1..60000");
	expect_parse_error("hold-frames = 70000\n",
	                   "t.conf:1: hold-frames '70000' is not in 0..65535");
	/* the redirects' timers, in seconds */
	parse_ok(&c, "tunnel-lifetime = 3600\ntunnel-tcp-linger = 3\n");
	assert_int_equal(c.underlay.lifetime_s, 3600);
	assert_int_equal(c.underlay.tcp_linger_s, 3);
	assert_int_equal(c.underlay.udp_idle_s, 300); /* RFC 4787's floor, untouched */
	/* rekeying: by age, or by packets sealed (at most 2^31) */
	assert_int_equal(c.underlay.rekey_s, 3600);
	assert_int_equal(c.underlay.rekey_packets, 1U << 31);
	parse_ok(&c, "tunnel-rekey = 60\ntunnel-rekey-packets = 1000000\n");
	assert_int_equal(c.underlay.rekey_s, 60);
	assert_int_equal(c.underlay.rekey_packets, 1000000);
	expect_parse_error(
	    "tunnel-rekey-packets = 99\n",
	    "t.conf:1: tunnel-rekey-packets '99' is not a number of packets in 100..2147483648");
	expect_parse_error(
	    "tunnel-rekey-packets = 4294967295\n",
	    "t.conf:1: tunnel-rekey-packets '4294967295' is not a number of packets in "
	    "100..2147483648");
	expect_parse_error("tunnel-rekey-packets = -5\n",
	                   "t.conf:1: tunnel-rekey-packets '-5' is not a number of packets in "
	                   "100..2147483648");
	expect_parse_error("tunnel-unused = 0\n",
	                   "t.conf:1: tunnel-unused '0' is not a number of seconds in 1..31536000");
	expect_parse_error(
	    "tunnel-udp-idle = 5m\n",
	    "t.conf:1: tunnel-udp-idle '5m' is not a number of seconds in 1..31536000");
	expect_parse_error("underlay-ipv4 = 198.51.100.10\n",
	                   "t.conf:1: underlay-ipv4 '198.51.100.10' is not ADDRESS/PREFIX");
	expect_parse_error("underlay-ipv4 = 198.51.100.300/24\n",
	                   "t.conf:1: underlay-ipv4: '198.51.100.300' is not an IPv4 address");
	expect_parse_error("underlay-ipv4 = 198.51.100.10/33\n",
	                   "t.conf:1: underlay-ipv4: prefix '33' is not 1..32");
	expect_parse_error("underlay-ipv6 = 2001:db8::1/\n",
	                   "t.conf:1: underlay-ipv6: prefix '' is not 1..128");
	expect_parse_error("underlay-relay = 64\n",
	                   "t.conf:1: underlay-relay '64' is not a relay id 0..63");
	expect_invalid("workers = 1\nunderlay-ipv4 = 198.51.100.10/24\n",
	               "an underlay address needs underlay-relay (the relay whose device carries "
	               "it)");
	expect_invalid("workers = 1\nunderlay-relay = 0\n",
	               "underlay-relay without underlay-ipv4 or -ipv6");
	expect_invalid("workers = 1\nunderlay-relay = 0\nunderlay-ipv4 = 198.51.100.0/24\n",
	               "underlay-ipv4: the network or broadcast address of its /24");
	expect_invalid("workers = 1\nunderlay-relay = 0\nunderlay-ipv4 = 198.51.100.127/25\n",
	               "underlay-ipv4: the network or broadcast address of its /25");
	expect_invalid("workers = 1\nunderlay-relay = 0\nunderlay-ipv4 = 224.0.0.5/24\n",
	               "underlay-ipv4: 224.0.0.5 is not a unicast address");
	expect_invalid(
	    "workers = 1\nunderlay-relay = 0\nunderlay-ipv4 = 198.51.100.10/24\n"
	    "underlay-gateway4 = 203.0.113.1\n",
	    "underlay-gateway4 203.0.113.1 is not another address on the underlay's /24");
	/* a point-to-point /31 (RFC 3021) has no network or broadcast address */
	parse_ok(&c, "workers = 1\nunderlay-relay = 0\nunderlay-ipv4 = 198.51.100.10/31\n"
	             "underlay-gateway4 = 198.51.100.11\n");
	if (vr_conf_validate(&c, err, sizeof(err)) != 0)
		fail_msg("/31 refused: %s", err);
	expect_invalid("workers = 1\nunderlay-relay = 0\nunderlay-ipv6 = fe80::10/64\n",
	               "underlay-ipv6: not a global or unique-local unicast address");
	expect_invalid("workers = 1\nunderlay-relay = 0\nunderlay-ipv6 = 2001:db8:a::10/64\n"
	               "underlay-gateway6 = 2001:db8:b::1\n",
	               "underlay-gateway6 is neither link-local nor another address on the "
	               "underlay's /64");
	expect_invalid("workers = 1\nunderlay-relay = 0\nunderlay-ipv6 = 2001:db8:a::10/64\n"
	               "underlay-gateway4 = 198.51.100.1\n",
	               "underlay-gateway4 without underlay-ipv4");
}

static void
test_validate(void **state)
{
	struct vr_conf c;

	(void)state;
	parse_ok(&c, "workers = 1,2\n"
	             "[relay 0]\ndevice = a\ncpu = 1\n"
	             "[relay 1]\ndevice = b\ncpu = 2,1\n"
	             "[relay 2]\ndevice = c\n");
	if (vr_conf_validate(&c, err, sizeof(err)) != 0)
		fail_msg("invalid: %s", err);

	expect_invalid("workers = 1,2\n[relay 3]\ndevice = a\ncpu = 7\n",
	               "relay 3: CPU 7 is not a worker CPU");
	expect_invalid("workers = 1,2\n[relay 3]\ndevice = a\ncpu = 1,4\n",
	               "relay 3: CPU 4 is not a worker CPU");
	expect_invalid("workers = 1,2\n"
	               "[relay 0]\ndevice = a\nsocket = /run/x.sock\n"
	               "[relay 1]\ndevice = b\nsocket = /run/x.sock\n",
	               "relays 0 and 1 share socket /run/x.sock");
	/* a given socket may also collide with another relay's default one */
	expect_invalid("workers = 1\n"
	               "[relay 4]\ndevice = a\n"
	               "[relay 9]\ndevice = b\nsocket = /run/vrelay/relay4.sock\n",
	               "relays 4 and 9 share socket /run/vrelay/relay4.sock");
	expect_invalid("[relay 0]\ndevice = a\n", "no worker CPUs configured (workers = ...)");
	expect_invalid("", "no worker CPUs configured (workers = ...)");
	expect_invalid("workers = 1,2\nmain-cpu = 2\n", "main-cpu 2 is also a worker CPU");
	expect_invalid("workers = 1\n[relay 6]\nmtu = 1500\n", "relay 6: no device given");
}

static void
test_validate_duplicate_ids(void **state)
{
	struct vr_conf c;

	(void)state;
	/* the parser refuses duplicates; validate also catches them in a conf
	 * assembled some other way */
	parse_ok(&c, "workers = 1\n"
	             "[relay 2]\ndevice = a\n"
	             "[relay 3]\ndevice = b\nsocket = /run/b.sock\n");
	c.relays[1].id = 2;
	assert_int_equal(vr_conf_validate(&c, err, sizeof(err)), -1);
	assert_string_equal(err, "relay 2 is defined twice");
}

/* ---- vr_relay_conf_parse_spec ------------------------------------------ */

static void
test_relay_spec(void **state)
{
	struct vr_relay_conf defaults, r;

	(void)state;
	vr_relay_conf_init(&defaults, NULL);
	defaults.mtu = 9000;
	defaults.mode = VR_VHOST_CLIENT;

	/* only id and device: the rest comes from the defaults */
	assert_int_equal(
	    vr_relay_conf_parse_spec(&r, &defaults, "id=3 device=net_ring0", err, sizeof(err)), 0);
	assert_int_equal(r.id, 3);
	assert_string_equal(r.device, "net_ring0");
	assert_string_equal(r.socket, "");
	assert_int_equal(r.mode, VR_VHOST_CLIENT);
	assert_int_equal(r.queues, 1);
	assert_int_equal(r.mtu, 9000);
	assert_true(r.mrgbuf);
	assert_int_equal(r.cpu[0], VR_CPU_UNPINNED);
	assert_int_equal(r.cpu[1], VR_CPU_UNPINNED);

	/* every key, separated by spaces and tabs */
	assert_int_equal(vr_relay_conf_parse_spec(&r, &defaults,
	                                          " id=63\tdevice=net_memif0,role=client "
	                                          "socket=/run/r.sock mode=server queues=32 "
	                                          "mtu=68 mrgbuf=no cpu=4,6 ",
	                                          err, sizeof(err)),
	                 0);
	assert_int_equal(r.id, 63);
	assert_string_equal(r.device, "net_memif0,role=client");
	assert_string_equal(r.socket, "/run/r.sock");
	assert_int_equal(r.mode, VR_VHOST_SERVER);
	assert_int_equal(r.queues, 32);
	assert_int_equal(r.mtu, 68);
	assert_false(r.mrgbuf);
	assert_int_equal(r.cpu[0], 4);
	assert_int_equal(r.cpu[1], 6);

	/* without defaults: the built-in ones */
	assert_int_equal(vr_relay_conf_parse_spec(&r, NULL, "device=d id=0", err, sizeof(err)), 0);
	assert_int_equal(r.mtu, 1500);
	assert_int_equal(r.mode, VR_VHOST_SERVER);
}

static void
expect_spec_error(const char *spec, const char *msg)
{
	struct vr_relay_conf r;

	err[0] = '\0';
	if (vr_relay_conf_parse_spec(&r, NULL, spec, err, sizeof(err)) != -1)
		fail_msg("spec '%s' accepted", spec);
	assert_string_equal(err, msg);
}

static void
test_relay_spec_errors(void **state)
{
	(void)state;
	expect_spec_error("", "relay spec is empty or too long");
	expect_spec_error("device=net_ring0", "relay spec 'device=net_ring0' has no id=");
	expect_spec_error("id=1 net_ring0", "relay spec item 'net_ring0' is not key=value");
	expect_spec_error("id=1 =x", "relay spec item '=x' is not key=value");
	expect_spec_error("id=1 mtu=", "relay spec item 'mtu=' is not key=value");
	expect_spec_error("id=64 device=a", "relay spec: relay id '64' is not in 0..63");
	expect_spec_error("id=1 mtu=70000", "relay spec: mtu '70000' is not in 68..9000");
	expect_spec_error("id=1 color=red", "relay spec: unknown relay key 'color'");
	expect_spec_error("id=1 socket=x.sock",
	                  "relay spec: socket 'x.sock' must be an absolute path shorter than "
	                  "108 bytes");
}

/* ---- vr_relay_conf_default_socket ---------------------------------------- */

static void
test_default_socket(void **state)
{
	struct vr_relay_conf r;

	(void)state;
	vr_relay_conf_init(&r, NULL);
	r.id = 7;
	vr_relay_conf_default_socket(&r, "/run/vrelay", NULL);
	assert_string_equal(r.socket, "/run/vrelay/relay7.sock");

	/* a socket already given stays */
	vr_relay_conf_default_socket(&r, "/elsewhere", NULL);
	assert_string_equal(r.socket, "/run/vrelay/relay7.sock");

	snprintf(r.socket, sizeof(r.socket), "/run/mine.sock");
	vr_relay_conf_default_socket(&r, "/run/vrelay", NULL);
	assert_string_equal(r.socket, "/run/mine.sock");

	/* the default directory from vr_conf_init */
	struct vr_conf c;

	vr_conf_init(&c);
	vr_relay_conf_init(&r, &c.defaults);
	r.id = 12;
	vr_relay_conf_default_socket(&r, c.socket_dir, NULL);
	assert_string_equal(r.socket, "/run/vrelay/relay12.sock");
}

/* ---- vr_conf_load_file ------------------------------------------------------ */

static void
test_load_missing_file(void **state)
{
	struct vr_conf c;

	(void)state;
	vr_conf_init(&c);
	assert_int_equal(vr_conf_load_file(&c, "/nonexistent/vrelay.conf", err, sizeof(err)), -1);
	assert_string_equal(err,
	                    "/nonexistent/vrelay.conf: cannot open: No such file or directory");
}

static void
test_load_file(void **state)
{
	char path[256], where[300];
	struct vr_conf c;

	(void)state;
	write_temp_file(path, sizeof(path), full_conf);
	vr_conf_init(&c);
	if (vr_conf_load_file(&c, path, err, sizeof(err)) != 0)
		fail_msg("%s rejected: %s", path, err);
	assert_int_equal(c.workers.n, 3);
	assert_int_equal(c.n_relays, 2);
	assert_int_equal(c.relays[1].id, 5);
	assert_int_equal(c.relays[1].cpu[1], 5);
	assert_int_equal(unlink(path), 0);

	/* an error inside a file names the file's path and the line */
	write_temp_file(path, sizeof(path), "[daemon]\nworkers = 1\n\n[relay 1]\nqueues = 33\n");
	vr_conf_init(&c);
	assert_int_equal(vr_conf_load_file(&c, path, err, sizeof(err)), -1);
	snprintf(where, sizeof(where), "%s:5: queues '33' is not in 1..32", path);
	assert_string_equal(err, where);
	assert_int_equal(unlink(path), 0);

	/* and a file holding a NUL byte is refused, not silently cut short */
	write_temp_file(path, sizeof(path), "workers = 1\n");
	FILE *f = fopen(path, "a");

	assert_non_null(f);
	assert_int_equal(fwrite("\0x = y\n", 1, 7, f), 7);
	assert_int_equal(fclose(f), 0);
	vr_conf_init(&c);
	assert_int_equal(vr_conf_load_file(&c, path, err, sizeof(err)), -1);
	snprintf(where, sizeof(where), "%s: file contains a NUL byte", path);
	assert_string_equal(err, where);
	assert_int_equal(unlink(path), 0);
}

static void
test_relay_conf_equal(void **state)
{
	struct vr_relay_conf a, b;

	(void)state;
	assert_int_equal(
	    vr_relay_conf_parse_spec(&a, NULL, "id=1 device=d cpu=1", err, sizeof(err)), 0);
	b = a;
	assert_true(vr_relay_conf_equal(&a, &b));
	b.cpu[1] = 2;
	assert_false(vr_relay_conf_equal(&a, &b));
	b = a;
	b.mrgbuf = !a.mrgbuf;
	assert_false(vr_relay_conf_equal(&a, &b));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_underlay),
	    cmocka_unit_test(test_cpuset_lists),
	    cmocka_unit_test(test_cpuset_hex_masks),
	    cmocka_unit_test(test_cpuset_errors),
	    cmocka_unit_test(test_cpuset_zero_mask),
	    cmocka_unit_test(test_pin_parse),
	    cmocka_unit_test(test_pin_parse_errors),
	    cmocka_unit_test(test_conf_full_file),
	    cmocka_unit_test(test_conf_other_daemon_keys),
	    cmocka_unit_test(test_conf_empty_text),
	    cmocka_unit_test(test_conf_unknown_key),
	    cmocka_unit_test(test_conf_section_errors),
	    cmocka_unit_test(test_conf_line_errors),
	    cmocka_unit_test(test_conf_long_line),
	    cmocka_unit_test(test_validate),
	    cmocka_unit_test(test_validate_duplicate_ids),
	    cmocka_unit_test(test_relay_spec),
	    cmocka_unit_test(test_relay_spec_errors),
	    cmocka_unit_test(test_default_socket),
	    cmocka_unit_test(test_load_missing_file),
	    cmocka_unit_test(test_load_file),
	    cmocka_unit_test(test_relay_conf_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
