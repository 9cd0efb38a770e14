/* SPDX-License-Identifier: BSD-3-Clause */
/* devargs.c: device kinds, the allow-list, paths inside the socket
 * directory, a device naming a socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "devargs.h"
#include "unit.h"

static char err[256];

static void
kinds_of_devices(void **state)
{
	char k[64];

	(void)state;
	vr_devargs_kind("0000:05:00.1", 0, k, sizeof(k));
	assert_string_equal(k, "pci");
	vr_devargs_kind("05:00.1,foo=1", 0, k, sizeof(k));
	assert_string_equal(k, "pci");
	vr_devargs_kind("net_memif12,role=server", 0, k, sizeof(k));
	assert_string_equal(k, "net_memif");
	vr_devargs_kind("net_bonding0", 2, k, sizeof(k));
	assert_string_equal(k, "bond");
	/* a bond's name without members is a vdev like any other */
	vr_devargs_kind("net_bonding0,mode=1", 0, k, sizeof(k));
	assert_string_equal(k, "net_bonding");
	vr_devargs_kind("net_pcap9,tx_pcap=/x", 0, k, sizeof(k));
	assert_string_equal(k, "net_pcap");
}

static void
allow_list(void **state)
{
	char list[64];

	(void)state;
	assert_int_equal(
	    vr_device_kinds_parse(" pci,bond  net_memif ", list, sizeof(list), err, sizeof(err)),
	    0);
	assert_string_equal(list, "pci bond net_memif");
	assert_true(vr_device_kind_allowed(list, "pci"));
	assert_true(vr_device_kind_allowed(list, "net_memif"));
	/* prefixes and suffixes of an allowed kind are other kinds */
	assert_false(vr_device_kind_allowed(list, "net_mem"));
	assert_false(vr_device_kind_allowed(list, "net_memifx"));
	assert_false(vr_device_kind_allowed(list, "bon"));
	assert_false(vr_device_kind_allowed(list, ""));
	assert_false(vr_device_kind_allowed("", "pci"));
	assert_int_equal(
	    vr_device_kinds_parse("pci NET_RING", list, sizeof(list), err, sizeof(err)), -1);
	assert_contains(err, "'NET_RING'");
	assert_int_equal(vr_device_kinds_parse("net_ring0", list, sizeof(list), err, sizeof(err)),
	                 -1);
	assert_contains(err, "'net_ring0'");
	assert_int_equal(vr_device_kinds_parse("pci bond net_memif", list, 12, err, sizeof(err)),
	                 -1);
	assert_contains(err, "longer than 11 bytes");
}

static void
paths_inside_the_socket_directory(void **state)
{
	(void)state;
	assert_int_equal(vr_devargs_paths_inside("net_memif0,socket=/run/vrelay/m.sock,id=1",
	                                         "/run/vrelay", err, sizeof(err)),
	                 0);
	assert_int_equal(vr_devargs_paths_inside("net_ring0", "/run/vrelay", err, sizeof(err)), 0);
	assert_int_equal(vr_devargs_paths_inside("net_pcap0,rx_iface=lo,tx_pcap=/etc/x.pcap",
	                                         "/run/vrelay", err, sizeof(err)),
	                 -1);
	assert_string_equal(err, "device argument path /etc/x.pcap is outside the socket "
	                         "directory /run/vrelay");
	assert_int_equal(vr_devargs_paths_inside("net_memif0,socket=/run/vrelay/../x.sock",
	                                         "/run/vrelay", err, sizeof(err)),
	                 -1);
	/* relative paths have a '/' too, or name a file in the cwd: both refused */
	assert_int_equal(vr_devargs_paths_inside("net_memif0,socket=run/vrelay/x.sock",
	                                         "/run/vrelay", err, sizeof(err)),
	                 -1);
}

static void
device_naming_a_socket(void **state)
{
	(void)state;
	assert_true(vr_devargs_names_path("net_virtio_user1,path=/run/vrelay/relay0.sock,queues=1",
	                                  "/run/vrelay/relay0.sock"));
	assert_false(vr_devargs_names_path("net_virtio_user1,path=/run/vrelay/relay0.sock2",
	                                   "/run/vrelay/relay0.sock"));
	assert_false(vr_devargs_names_path("net_ring0", "/run/vrelay/relay0.sock"));
	assert_false(vr_devargs_names_path("net_ring0,x=", ""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(kinds_of_devices),
	    cmocka_unit_test(allow_list),
	    cmocka_unit_test(paths_inside_the_socket_directory),
	    cmocka_unit_test(device_naming_a_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
