/* SPDX-License-Identifier: BSD-3-Clause */
/* domxml.c: the vhost-user interfaces of the domain XML libvirt hands its
 * hook. Both socket modes are read, other interface types and elements
 * elsewhere are passed over, and XML the hook cannot trust is refused
 * with what is wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "domxml.h"
#include "unit.h"

static char err[256];
static struct vr_dom_iface f[4];

static int
read_xml(const char *xml, unsigned max)
{
	err[0] = '\0';
	return vr_domxml_vhostuser(xml, strlen(xml), f, max, err, sizeof(err));
}

static void
both_modes_read(void **state)
{
	(void)state;
	/* as libvirt writes it: a network interface between, a vhostuser
	 * <interface> outside <devices> that is not the domain's */
	const char *xml =
	    "<domain type='qemu'><name>g1</name><metadata><interface type='vhostuser'>"
	    "<mac address='52:54:00:99:99:99'/><source type='unix' path='/tmp/nope'/>"
	    "</interface></metadata><devices>"
	    "<interface type='vhostuser'><mac address='52:54:00:00:02:0A'/>"
	    "<source type='unix' path='/run/vrelay/vm0.sock' mode='client'/>"
	    "<model type='virtio'/></interface>"
	    "<interface type='network'><mac address='52:54:00:00:02:0b'/>"
	    "<source network='default'/></interface>"
	    "<interface type='vhostuser'><mac address='52:54:00:00:02:0c'/>"
	    "<source type='unix' path='/var/lib/libvirt/qemu/vu1.sock' mode='server'/>"
	    "</interface></devices></domain>";

	assert_int_equal(read_xml(xml, 4), 2);
	assert_string_equal(f[0].mac, "52:54:00:00:02:0a"); /* the relays' spelling */
	assert_string_equal(f[0].path, "/run/vrelay/vm0.sock");
	assert_false(f[0].qemu_server);
	assert_string_equal(f[1].mac, "52:54:00:00:02:0c");
	assert_string_equal(f[1].path, "/var/lib/libvirt/qemu/vu1.sock");
	assert_true(f[1].qemu_server);

	assert_int_equal(read_xml("<domain><devices/></domain>", 4), 0);
	/* more interfaces than room: refused, not cut short */
	assert_int_equal(read_xml(xml, 1), -1);
	assert_contains(err, "more than 1 vhostuser");
}

static void
bad_xml_refused(void **state)
{
	(void)state;
	static const struct {
		const char *xml, *why;
	} bad[] = {
	    {"<domain><devices>", "well-formed"},
	    {"", "well-formed"},
	    {"<network><devices/></network>", "<network>, not <domain>"},
	    {"<domain><devices><interface type='vhostuser'><source type='unix' path='/s'/>"
	     "</interface></devices></domain>",
	     "interface 0: no <mac"},
	    {"<domain><devices><interface type='vhostuser'><mac address='52:54:00:00:00:01'/>"
	     "</interface></devices></domain>",
	     "no <source>"},
	    {"<domain><devices><interface type='vhostuser'><mac address='52:54:00:00:00:01'/>"
	     "<source type='tcp' path='/s'/></interface></devices></domain>",
	     "source type 'tcp', not unix"},
	    {"<domain><devices><interface type='vhostuser'><mac address='52:54:00:00:00:01'/>"
	     "<source type='unix'/></interface></devices></domain>",
	     "no socket path"},
	    /* an external entity is neither fetched nor put into the path */
	    {"<!DOCTYPE domain [<!ENTITY p SYSTEM 'file:///etc/passwd'>]><domain><devices>"
	     "<interface type='vhostuser'><mac address='52:54:00:00:00:01'/>"
	     "<source type='unix' path='&p;'/></interface></devices></domain>",
	     "well-formed"},
	};
	char longpath[300], xml[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (read_xml(bad[i].xml, 4) != -1)
			fail_msg("accepted: %s", bad[i].xml);
		assert_contains(err, bad[i].why);
	}
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	snprintf(xml, sizeof(xml),
	         "<domain><devices><interface type='vhostuser'><mac address='52:54:00:00:00:01'/>"
	         "<source type='unix' path='%s'/></interface></devices></domain>",
	         longpath);
	assert_int_equal(read_xml(xml, 4), -1);
	assert_contains(err, "longer than 107 bytes");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(both_modes_read),
	    cmocka_unit_test(bad_xml_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
