/* SPDX-License-Identifier: BSD-3-Clause */
/* filecmd.c and netdev_vf.c: virtio-forwarder's /tmp/vio_cmd lines
 * ("add_port eth5") name a VF by its netdev; the relay is the VF's index on
 * its PF, found in a sysfs tree (here one the test builds as the kernel lays
 * it out: class/net/X/device -> the PCI function, physfn, virtfnN). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "filecmd.h"
#include "netdev_vf.h"
#include "unit.h"

static char err[256];

static void
vio_cmd_lines(void **state)
{
	struct vr_port_req q;

	(void)state;
	assert_int_equal(vr_filecmd_parse("add_port eth5\n", &q, err, sizeof(err)), 2);
	assert_int_equal(q.op, VR_PORT_ADD);
	assert_string_equal(q.device, "eth5");
	assert_int_equal(q.id, -1);
	assert_true(q.conditional);
	assert_int_equal(vr_filecmd_parse("del_port  ens1f0v3", &q, err, sizeof(err)), 2);
	assert_int_equal(q.op, VR_PORT_REMOVE);
	assert_string_equal(q.device, "ens1f0v3");
	assert_int_equal(vr_filecmd_parse("add_port", &q, err, sizeof(err)), -1);
	assert_contains(err, "'add_port' takes 1 arguments, got 0");
	assert_int_equal(vr_filecmd_parse("del_port a b", &q, err, sizeof(err)), -1);
	assert_contains(err, "'del_port' takes 1 arguments, got 2");
	/* the original matched the first letter; vrelay whole words */
	assert_int_equal(vr_filecmd_parse("axe eth5", &q, err, sizeof(err)), -1);
	assert_contains(err, "unknown command 'axe'");
	/* vrelay's own lines are unchanged */
	assert_int_equal(vr_filecmd_parse("remove 3", &q, err, sizeof(err)), 1);
	assert_int_equal(q.id, 3);
}

static char root[64];

static void
mk(const char *fmt, const char *arg)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/", root);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), fmt, arg);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void
ln(const char *target, const char *at)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", root, at);
	assert_int_equal(symlink(target, path), 0);
}

/* PF 0000:05:00.0 with VFs 0000:05:08.1 (virtfn3, netdev vf3) and
 * 0000:05:0a.0 (virtfn64, netdev vf64); a plain function 0000:06:00.0
 * (netdev pf6); a netdev with no device (lo). */
static void
build_sysfs(void)
{
	snprintf(root, sizeof(root), "/tmp/vrelay-sysfs-XXXXXX");
	assert_non_null(mkdtemp(root));
	mk("class", "");
	mk("class/net", "");
	mk("devices", "");
	mk("devices/%s", "0000:05:00.0");
	mk("devices/%s", "0000:05:08.1");
	mk("devices/%s", "0000:05:0a.0");
	mk("devices/%s", "0000:06:00.0");
	ln("../0000:05:00.0", "devices/0000:05:08.1/physfn");
	ln("../0000:05:00.0", "devices/0000:05:0a.0/physfn");
	ln("../0000:05:08.1", "devices/0000:05:00.0/virtfn3");
	ln("../0000:05:0a.0", "devices/0000:05:00.0/virtfn64");
	mk("class/net/%s", "vf3");
	mk("class/net/%s", "vf64");
	mk("class/net/%s", "pf6");
	mk("class/net/%s", "lo");
	ln("../../../devices/0000:05:08.1", "class/net/vf3/device");
	ln("../../../devices/0000:05:0a.0", "class/net/vf64/device");
	ln("../../../devices/0000:06:00.0", "class/net/pf6/device");
}

static void
netdev_to_vf(void **state)
{
	char pci[VR_MEMBER_MAX];
	int vf = -1;

	(void)state;
	build_sysfs();
	assert_int_equal(vr_netdev_vf(root, "vf3", pci, &vf, err, sizeof(err)), 0);
	assert_string_equal(pci, "0000:05:08.1");
	assert_int_equal(vf, 3);
	assert_int_equal(vr_netdev_vf(root, "vf64", pci, &vf, err, sizeof(err)), -1);
	assert_contains(err, "vf64 (0000:05:0a.0) is VF 64: relay ids end at 63");
	assert_int_equal(vr_netdev_vf(root, "pf6", pci, &vf, err, sizeof(err)), -1);
	assert_contains(err, "pf6 (0000:06:00.0) is not an SR-IOV VF");
	assert_int_equal(vr_netdev_vf(root, "lo", pci, &vf, err, sizeof(err)), -1);
	assert_contains(err, "lo is not a PCI device");
	assert_int_equal(vr_netdev_vf(root, "eth9", pci, &vf, err, sizeof(err)), -1);
	assert_contains(err, "no network interface eth9");
	assert_int_equal(vr_netdev_vf(root, "../../etc", pci, &vf, err, sizeof(err)), -1);
	assert_contains(err, "'../../etc' is not a network interface name");
	assert_int_equal(vr_netdev_vf(root, "..", pci, &vf, err, sizeof(err)), -1);
	assert_int_equal(vr_netdev_vf(root, "a-name-of-16-chr", pci, &vf, err, sizeof(err)), -1);
	assert_contains(err, "is not a network interface name");
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
		assert_int_equal(system(cmd), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(vio_cmd_lines),
	    cmocka_unit_test(netdev_to_vf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
