/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-forwarder's config file (/etc/default/virtioforwarder, src/vfconf.c):
 * the shipped file, each variable, the subset of shell syntax read, errors
 * naming the line and warnings for what is ignored; and the helpers of
 * config.c it relies on (PCI addresses, bond members, socket patterns and
 * paths inside a directory).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <fcntl.h>

#include <cmocka.h>

#include "config.h"
#include "vfconf.h"
#include "unit.h"

static char err[VR_ERR_MAX];
static char warn[2048];
static struct vr_conf conf; /* large: not on the stack */

/* virtio-forwarder's shipped /etc/default/virtioforwarder: every variable in
 * its order and with its value, the comments shortened. */
static const char shipped[] =
    "# Virtio-forwarder daemon: forward packets between SR-IOV VFs (serviced by DPDK)\n"
    "# and VirtIO network backend.\n"
    "\n"
    "#-------------------------------------------------------------------------------\n"
    "# Generally useful settings\n"
    "#-------------------------------------------------------------------------------\n"
    "\n"
    "# CPUs to use for worker threads (either comma separated integers or hex bitmap\n"
    "# starting with 0x)\n"
    "VIRTIOFWD_CPU_MASK=1,2\n"
    "\n"
    "# Log threshold 0-7 (least to most verbose)\n"
    "VIRTIOFWD_LOG_LEVEL=6\n"
    "\n"
    "# Use IPC to add/remove VF&virtio instead of OVSDB (default: use OVSDB)\n"
    "# Set to anything non-null to enable\n"
    "VIRTIOFWD_IPC_PORT_CONTROL=y\n"
    "\n"
    "# OVSDB unix domain socket file used for port control.\n"
    "# Blank defaults to /usr/local/var/run/openvswitch/db.sock\n"
    "# Cannot use with VIRTIOFWD_IPC_PORT_CONTROL\n"
    "VIRTIOFWD_OVSDB_SOCK_PATH=\n"
    "\n"
    "# Set to anything non-null to enable\n"
    "VIRTIOFWD_JUMBO=y\n"
    "VIRTIOFWD_MRGBUF=y\n"
    "VIRTIOFWD_TSO=\n"
    "\n"
    "# vhost-user unix socket ownership username (leave blank to inherit process\n"
    "# username)\n"
    "VIRTIOFWD_SOCKET_OWNER=\n"
    "\n"
    "# vhost-user unix socket ownership groupname\n"
    "VIRTIOFWD_SOCKET_GROUP=\n"
    "\n"
    "# Mount path to hugepages for vhost-user communication with VMs\n"
    "VIRTIOFWD_HUGETLBFS_MOUNT_POINT=/dev/hugepages\n"
    "\n"
    "# Add static VFs, in the form <PCI>=<virtio_id>, e.g. 0000:05:08.1=1\n"
    "# VIRTIOFWD_STATIC_VFS=(0000:05:08.1=1 0000:05:08.2=2 0000:05:08.3=3)\n"
    "# VIRTIOFWD_STATIC_VFS=(0000:05:08.1=1)\n"
    "# VIRTIOFWD_STATIC_VFS=0000:05:08.1=1\n"
    "VIRTIOFWD_STATIC_VFS=\n"
    "\n"
    "# Set to anything non-null to enable\n"
    "VIRTIOFWD_DYNAMIC_SOCKETS=\n"
    "\n"
    "# Set to anything non-null to enable\n"
    "VIRTIOFWD_CPU_NIC_SAME_NUMA=\n"
    "\n"
    "# VIRTIOFWD_VFIO_VF_TOKEN=\n"
    "# VIRTIOFWD_VFIO_VF_TOKEN=0\n"
    "# VIRTIOFWD_VFIO_VF_TOKEN=14d63f20-8445-11ea-8900-1f9ce7d5650d\n"
    "VIRTIOFWD_VFIO_VF_TOKEN=\n"
    "#-------------------------------------------------------------------------------\n"
    "\n"
    "\n"
    "#-------------------------------------------------------------------------------\n"
    "# Core scheduler settings\n"
    "# Leave blank to retain defaults\n"
    "#-------------------------------------------------------------------------------\n"
    "\n"
    "# Use dynamic load balancing. Anything else than 'true' equates to disabled\n"
    "VIO4WD_CORE_SCHED_ENABLE=true\n"
    "\n"
    "# Switching sensitivity. Higher value decrease the sensitivity\n"
    "VIO4WD_CORE_SCHED_SENSITIVITY=\n"
    "\n"
    "# Log threshold as above\n"
    "VIO4WD_CORE_SCHED_LOG_LEVEL=6\n"
    "\n"
    "# Polling interval\n"
    "VIO4WD_CORE_SCHED_POLL_INTERVAL=\n"
    "\n"
    "# Optimize globally instead of NUMA-local\n"
    "VIO4WD_CORE_SCHED_GLOBAL_NUMA_OPT=\n"
    "#-------------------------------------------------------------------------------\n"
    "\n"
    "\n"
    "#-------------------------------------------------------------------------------\n"
    "# Specialized settings (you probably don't need to touch these)\n"
    "#-------------------------------------------------------------------------------\n"
    "\n"
    "# VF relay to CPU pinnings, <vf:cpu[,cpu]>:\n"
    "# VIRTIOFWD_CPU_PINS=(0:1,1 1:1,2 2:2,1)\n"
    "# VIRTIOFWD_CPU_PINS=(0:1,1)\n"
    "# VIRTIOFWD_CPU_PINS=0:1,1\n"
    "VIRTIOFWD_CPU_PINS=\n"
    "\n"
    "# PID file (virtio-forwarder.pid) will be written to this directory\n"
    "VIRTIOFWD_PID_DIR=/var/run\n"
    "\n"
    "# ZeroMQ IPC endpoint used for configuration queries\n"
    "VIRTIOFWD_ZMQ_CONFIG_EP=\n"
    "\n"
    "# ZeroMQ IPC endpoint used to add/remove SR-IOV VFs to the relay\n"
    "VIRTIOFWD_ZMQ_PORT_CONTROL_EP=ipc:///var/run/virtio-forwarder/port_control\n"
    "\n"
    "# ZeroMQ IPC endpoint used to query relay stats\n"
    "VIRTIOFWD_ZMQ_STATS_EP=ipc:///var/run/virtio-forwarder/stats\n"
    "\n"
    "# ZeroMQ IPC endpoint used for dynamic core scheduling (load balancing)\n"
    "VIRTIOFWD_ZMQ_CORE_SCHED_EP=ipc:///var/run/virtio-forwarder/core_sched\n"
    "\n"
    "# Directory containing vhost-user unix sockets\n"
    "VIRTIOFWD_SOCKET_DIR=/tmp/virtio-forwarder\n"
    "\n"
    "# vhost-user unix socket file name pattern, must contain exactly one %u to\n"
    "# denote VirtIO ID\n"
    "VIRTIOFWD_SOCKET_FNAME_PATTERN=\n"
    "\n"
    "# Path to virtio-forwarder binary (debugging knob).\n"
    "VIRTIOFWD_BINARY=@BINDIR@/virtio-forwarder\n"
    "\n"
    "# CPU to use as the master lcore. Blank defaults to CPU0\n"
    "VIRTIOFWD_MASTER_LCORE=\n"
    "\n"
    "# Non-blank enables vhostuser client mode (default: server mode)\n"
    "VIRTIOFWD_VHOST_CLIENT=y\n"
    "\n"
    "# Use experimental zero-copy support (VM to NIC) (default: disabled)\n"
    "VIRTIOFWD_ZERO_COPY=\n"
    "\n"
    "# A comma-separated list of devices to bind to vfio-pci during\n"
    "# virtio-forwarder startup.\n"
    "#   VIRTIOFWD_BIND_VFIO_PCI=ens3,0000:01:02.3,ens4:16\n"
    "VIRTIOFWD_BIND_VFIO_PCI=\n";

/* text with its only occurrence of old replaced; free() the result */
static char *
replace(const char *text, const char *old, const char *new)
{
	const char *at = strstr(text, old);
	size_t head, len;
	char *out;

	assert_non_null(at);
	assert_null(strstr(at + 1, old));
	head = (size_t)(at - text);
	len = strlen(text) - strlen(old) + strlen(new);
	out = malloc(len + 1);
	assert_non_null(out);
	memcpy(out, text, head);
	strcpy(out + head, new);
	strcat(out, at + strlen(old));
	return out;
}

/* text with every LF written as CR LF; free() the result */
static char *
with_crlf(const char *text)
{
	char *out = malloc(strlen(text) * 2 + 1), *w = out;

	assert_non_null(out);
	for (; *text != '\0'; text++) {
		if (*text == '\n')
			*w++ = '\r';
		*w++ = *text;
	}
	*w = '\0';
	return out;
}

static int
vf_parse(const char *text)
{
	vr_conf_init(&conf);
	err[0] = '\0';
	memset(warn, 'X', sizeof(warn)); /* the parser must start it empty */
	return vr_vfconf_parse_text(&conf, text, "vf.conf", warn, sizeof(warn), err, sizeof(err));
}

static void
expect_vf_ok(const char *text)
{
	if (vf_parse(text) != 0)
		fail_msg("rejected: %s", err);
}

static void
expect_vf_error(const char *text, const char *msg)
{
	if (vf_parse(text) != -1)
		fail_msg("accepted, expected '%s'", msg);
	assert_string_equal(err, msg);
}

/* ---- the shipped file --------------------------------------------------- */

static void
check_shipped(const struct vr_conf *c)
{
	assert_int_equal(c->workers.n, 2);
	assert_int_equal(c->workers.cpu[0], 1);
	assert_int_equal(c->workers.cpu[1], 2);
	assert_int_equal(c->log_level, 7); /* syslog 6 (info) is RTE_LOG_INFO 7 */
	assert_int_equal(c->main_cpu, -1);
	/* relay defaults: JUMBO, MRGBUF, VHOST_CLIENT */
	assert_int_equal(c->defaults.mtu, VR_MTU_MAX);
	assert_true(c->defaults.mrgbuf);
	assert_false(c->defaults.tso); /* VIRTIOFWD_TSO is empty, as the original ships it */
	assert_int_equal(c->defaults.mode, VR_VHOST_CLIENT);
	assert_int_equal(c->defaults.queues, 1);
	assert_string_equal(c->socket_dir, "/tmp/virtio-forwarder");
	assert_string_equal(c->ctl.socket_pattern, "virtio-forwarder%u.sock");
	assert_string_equal(c->pid_file, "/var/run/virtio-forwarder.pid");
	assert_string_equal(c->huge_dir, "/dev/hugepages");
	assert_string_equal(c->socket_owner, "");
	assert_string_equal(c->socket_group, "");
	assert_string_equal(c->vfio_token, "");
	assert_false(c->ctl.dynamic_sockets);
	assert_string_equal(c->ctl.ovsdb, ""); /* IPC_PORT_CONTROL=y */
	assert_int_equal(c->n_relays, 0);
	for (int i = 0; i < VR_MAX_RELAYS; i++) {
		assert_int_equal(c->ctl.pins[i][0], VR_CPU_UNPINNED);
		assert_int_equal(c->ctl.pins[i][1], VR_CPU_UNPINNED);
	}
	assert_string_equal(c->ctl.ep[VR_SVC_PORT_CONTROL],
	                    "ipc:///var/run/virtio-forwarder/port_control");
	assert_string_equal(c->ctl.ep[VR_SVC_STATS], "ipc:///var/run/virtio-forwarder/stats");
	assert_string_equal(c->ctl.ep[VR_SVC_CORE_SCHED],
	                    "ipc:///var/run/virtio-forwarder/core_sched");
}

static void
test_vf_shipped_file(void **state)
{
	(void)state;
	assert_true(vr_vfconf_detect(shipped));
	expect_vf_ok(shipped);
	assert_string_equal(warn, ""); /* nothing in it is set to what vrelay ignores */
	check_shipped(&conf);
	/* ZMQ_CONFIG_EP is blank: vrelay's default once finished */
	assert_string_equal(conf.ctl.ep[VR_SVC_CONFIG], "");

	vr_conf_finish(&conf);
	check_shipped(&conf);
	assert_string_equal(conf.ctl.ep[VR_SVC_CONFIG], "ipc:///run/vrelay/config");
	if (vr_conf_validate(&conf, err, sizeof(err)) != 0)
		fail_msg("invalid: %s", err);
}

/* The same through vr_conf_load_file, which recognises the format. */
static void
test_vf_shipped_file_load(void **state)
{
	char path[256];
	char *text;

	(void)state;
	write_temp_file(path, sizeof(path), shipped);
	vr_conf_init(&conf);
	if (vr_conf_load_file(&conf, path, err, sizeof(err)) != 0)
		fail_msg("%s rejected: %s", path, err);
	check_shipped(&conf);
	assert_string_equal(conf.warnings, "");
	assert_int_equal(unlink(path), 0);

	/* warnings land in c->warnings, errors name the path and line */
	text = replace(shipped, "VIRTIOFWD_TSO=\n", "VIRTIOFWD_TSO=y\n");
	write_temp_file(path, sizeof(path), text);
	vr_conf_init(&conf);
	assert_int_equal(vr_conf_load_file(&conf, path, err, sizeof(err)), 0);
	assert_string_equal(conf.warnings, "");
	assert_true(conf.defaults.tso);
	assert_int_equal(unlink(path), 0);
	free(text);

	/* the same file saved with CR LF line ends is still virtio-forwarder's */
	text = with_crlf(shipped);
	write_temp_file(path, sizeof(path), text);
	vr_conf_init(&conf);
	if (vr_conf_load_file(&conf, path, err, sizeof(err)) != 0)
		fail_msg("CR LF file rejected: %s", err);
	check_shipped(&conf);
	assert_int_equal(unlink(path), 0);
	free(text);

	text = replace(shipped, "VIRTIOFWD_LOG_LEVEL=6\n", "VIRTIOFWD_LOG_LEVEL=9\n");
	write_temp_file(path, sizeof(path), text);
	vr_conf_init(&conf);
	assert_int_equal(vr_conf_load_file(&conf, path, err, sizeof(err)), -1);
	assert_contains(err, path);
	assert_contains(err, ":13: VIRTIOFWD_LOG_LEVEL '9' is not 0..7");
	assert_int_equal(unlink(path), 0);
	free(text);
}

/* ---- variables ---------------------------------------------------------- */

static void
test_vf_cpu_mask(void **state)
{
	(void)state;
	expect_vf_ok("VIRTIOFWD_CPU_MASK=0x6\n");
	assert_int_equal(conf.workers.n, 2);
	assert_int_equal(conf.workers.cpu[0], 1);
	assert_int_equal(conf.workers.cpu[1], 2);
	expect_vf_ok("VIRTIOFWD_CPU_MASK=3,5-7\n");
	assert_int_equal(conf.workers.n, 4);
	assert_int_equal(conf.workers.cpu[3], 7);
	expect_vf_error("VIRTIOFWD_CPU_MASK=0xg\n",
	                "vf.conf:1: VIRTIOFWD_CPU_MASK: 'g' is not a hex digit in CPU mask");
	expect_vf_error("\nVIRTIOFWD_CPU_MASK=\n",
	                "vf.conf:2: VIRTIOFWD_CPU_MASK: CPU list is empty or too long");
	expect_vf_error("VIRTIOFWD_CPU_MASK=1,1\n",
	                "vf.conf:1: VIRTIOFWD_CPU_MASK: CPU 1 is listed twice");
}

static void
expect_relay(int i, int id, const char *device)
{
	assert_true(i < conf.n_relays);
	assert_int_equal(conf.relays[i].id, id);
	assert_string_equal(conf.relays[i].device, device);
}

static void
test_vf_static_vfs(void **state)
{
	(void)state;
	/* the three forms of the shipped file's comment */
	expect_vf_ok("VIRTIOFWD_STATIC_VFS=(0000:05:08.1=1 0000:05:08.2=2 0000:05:08.3=3)\n");
	assert_int_equal(conf.n_relays, 3);
	expect_relay(0, 1, "0000:05:08.1");
	expect_relay(1, 2, "0000:05:08.2");
	expect_relay(2, 3, "0000:05:08.3");
	expect_vf_ok("VIRTIOFWD_STATIC_VFS=(0000:05:08.1=1)\n");
	assert_int_equal(conf.n_relays, 1);
	expect_relay(0, 1, "0000:05:08.1");
	expect_vf_ok("VIRTIOFWD_STATIC_VFS=0000:05:08.1=1\n");
	assert_int_equal(conf.n_relays, 1);
	expect_relay(0, 1, "0000:05:08.1");
	assert_false(conf.relays[0].tso); /* the original offers TSO only when asked */
	expect_vf_ok("VIRTIOFWD_STATIC_VFS=0000:05:08.1=1\nVIRTIOFWD_TSO=y\n");
	assert_true(conf.relays[0].tso);

	/* short and upper-case addresses are canonicalised; ids 0 and 63 */
	expect_vf_ok("VIRTIOFWD_STATIC_VFS=(05:08.1=0  0000:0A:1F.7=63)\n");
	assert_int_equal(conf.n_relays, 2);
	expect_relay(0, 0, "0000:05:08.1");
	expect_relay(1, 63, "0000:0a:1f.7");

	/* quoted: "a b" is a list as (a b) is */
	expect_vf_ok("VIRTIOFWD_STATIC_VFS=\"0000:05:08.1=1 0000:05:08.2=2\"\n");
	assert_int_equal(conf.n_relays, 2);
	expect_relay(1, 2, "0000:05:08.2");

	/* empty forms */
	expect_vf_ok("VIRTIOFWD_STATIC_VFS=\nVIRTIOFWD_STATIC_VFS=()\nVIRTIOFWD_STATIC_VFS=''\n");
	assert_int_equal(conf.n_relays, 0);

	/* relays start from the relay defaults and get their sockets on finish */
	expect_vf_ok("VIRTIOFWD_CPU_MASK=1\n"
	             "VIRTIOFWD_JUMBO=\n"
	             "VIRTIOFWD_MRGBUF=\n"
	             "VIRTIOFWD_SOCKET_DIR=/tmp/vf\n"
	             "VIRTIOFWD_STATIC_VFS=(0000:05:08.1=1 0000:05:08.2=12)\n");
	assert_int_equal(conf.relays[0].mtu, 1500);
	assert_false(conf.relays[0].mrgbuf);
	assert_int_equal(conf.relays[0].mode, VR_VHOST_SERVER);
	assert_string_equal(conf.relays[0].socket, "");
	vr_conf_finish(&conf);
	assert_string_equal(conf.relays[0].socket, "/tmp/vf/virtio-forwarder1.sock");
	assert_string_equal(conf.relays[1].socket, "/tmp/vf/virtio-forwarder12.sock");
	if (vr_conf_validate(&conf, err, sizeof(err)) != 0)
		fail_msg("invalid: %s", err);
}

static void
test_vf_static_vfs_errors(void **state)
{
	(void)state;
	expect_vf_error("\n\nVIRTIOFWD_STATIC_VFS=0000:05:08.1\n",
	                "vf.conf:3: STATIC_VFS item '0000:05:08.1' is not PCI=ID");
	expect_vf_error("VIRTIOFWD_STATIC_VFS=(0000:05:08.1=1 eth0=2)\n",
	                "vf.conf:1: STATIC_VFS item 'eth0=2': 'eth0' is not a PCI address");
	expect_vf_error("VIRTIOFWD_STATIC_VFS=0000:05:20.1=1\n",
	                "vf.conf:1: STATIC_VFS item '0000:05:20.1=1': '0000:05:20.1' is not a "
	                "PCI address");
	expect_vf_error("VIRTIOFWD_STATIC_VFS=0000:05:08.1=64\n",
	                "vf.conf:1: STATIC_VFS item '0000:05:08.1=64': relay id not in 0..63");
	expect_vf_error("VIRTIOFWD_STATIC_VFS=0000:05:08.1=-1\n",
	                "vf.conf:1: STATIC_VFS item '0000:05:08.1=-1': relay id not in 0..63");
	expect_vf_error("VIRTIOFWD_STATIC_VFS=0000:05:08.1=\n",
	                "vf.conf:1: STATIC_VFS item '0000:05:08.1=': relay id not in 0..63");
	expect_vf_error("VIRTIOFWD_STATIC_VFS=0000:05:08.1=1x\n",
	                "vf.conf:1: STATIC_VFS item '0000:05:08.1=1x': relay id not in 0..63");
	expect_vf_error("VIRTIOFWD_STATIC_VFS=(0000:05:08.1=1 0000:05:08.2=1)\n",
	                "vf.conf:1: STATIC_VFS: relay 1 is given twice");
	expect_vf_error("VIRTIOFWD_STATIC_VFS=(=1)\n",
	                "vf.conf:1: STATIC_VFS item '=1': '' is not a PCI address");
}

static void
test_vf_cpu_pins(void **state)
{
	(void)state;
	/* virtio-forwarder's pair is vf_to_vm,vm_to_vf; vrelay's pins are
	 * [vm2dev, dev2vm] */
	expect_vf_ok("VIRTIOFWD_CPU_PINS=(0:1,1 1:1,2 2:2,1)\n");
	assert_int_equal(conf.ctl.pins[0][0], 1);
	assert_int_equal(conf.ctl.pins[0][1], 1);
	assert_int_equal(conf.ctl.pins[1][0], 2);
	assert_int_equal(conf.ctl.pins[1][1], 1);
	assert_int_equal(conf.ctl.pins[2][0], 1);
	assert_int_equal(conf.ctl.pins[2][1], 2);
	assert_int_equal(conf.ctl.pins[3][0], VR_CPU_UNPINNED);
	assert_int_equal(conf.ctl.pins[3][1], VR_CPU_UNPINNED);
	expect_vf_ok("VIRTIOFWD_CPU_PINS=(0:1,1)\n");
	assert_int_equal(conf.ctl.pins[0][0], 1);
	assert_int_equal(conf.ctl.pins[1][0], VR_CPU_UNPINNED);
	/* the original's -c list: ';' between relays, quoted in the file */
	expect_vf_ok("VIRTIOFWD_CPU_PINS=\"0:1,2;5:3\"\n");
	assert_int_equal(conf.ctl.pins[0][0], 2);
	assert_int_equal(conf.ctl.pins[0][1], 1);
	assert_int_equal(conf.ctl.pins[5][0], 3);
	assert_int_equal(conf.ctl.pins[5][1], 3);
	assert_int_equal(conf.ctl.pins[1][0], VR_CPU_UNPINNED);
	expect_vf_error("VIRTIOFWD_CPU_PINS=\"0:1;;x\"\n",
	                "vf.conf:1: CPU_PINS item 'x' is not RELAY:CPU[,CPU]");
	expect_vf_ok("VIRTIOFWD_CPU_PINS=63:4\n");
	assert_int_equal(conf.ctl.pins[63][0], 4);
	assert_int_equal(conf.ctl.pins[63][1], 4);

	/* pins apply to the static relays once finished */
	expect_vf_ok("VIRTIOFWD_CPU_MASK=1-4\n"
	             "VIRTIOFWD_STATIC_VFS=(0000:05:08.1=1 0000:05:08.2=2)\n"
	             "VIRTIOFWD_CPU_PINS=1:3,4\n");
	assert_int_equal(conf.relays[0].cpu[0], VR_CPU_UNPINNED);
	vr_conf_finish(&conf);
	assert_int_equal(conf.relays[0].cpu[0], 4); /* vm2dev: the second */
	assert_int_equal(conf.relays[0].cpu[1], 3); /* dev2vm: the first */
	assert_int_equal(conf.relays[1].cpu[0], VR_CPU_UNPINNED);
	if (vr_conf_validate(&conf, err, sizeof(err)) != 0)
		fail_msg("invalid: %s", err);

	expect_vf_error("VIRTIOFWD_CPU_PINS=(0:1 1)\n",
	                "vf.conf:1: CPU_PINS item '1' is not RELAY:CPU[,CPU]");
	expect_vf_error("VIRTIOFWD_CPU_PINS=64:1\n",
	                "vf.conf:1: CPU_PINS item '64:1': relay id not in 0..63");
	expect_vf_error("VIRTIOFWD_CPU_PINS=-1:1\n",
	                "vf.conf:1: CPU_PINS item '-1:1': relay id not in 0..63");
	expect_vf_error("VIRTIOFWD_CPU_PINS=:1\n",
	                "vf.conf:1: CPU_PINS item ':1': relay id not in 0..63");
	expect_vf_error("VIRTIOFWD_CPU_PINS=0:a\n",
	                "vf.conf:1: CPU_PINS item '0:a': pin 'a': 'a' is not a CPU number");
	expect_vf_error("VIRTIOFWD_CPU_PINS=0:1,126\n",
	                "vf.conf:1: CPU_PINS item '0:1,126': pin '1,126': '126' is not a CPU "
	                "number");
}

static void
test_vf_quoting(void **state)
{
	(void)state;
	expect_vf_ok("VIRTIOFWD_SOCKET_DIR=\"/tmp/vf dir\"\n");
	assert_string_equal(conf.socket_dir, "/tmp/vf dir");
	expect_vf_ok("VIRTIOFWD_SOCKET_DIR='/tmp/vf'\n");
	assert_string_equal(conf.socket_dir, "/tmp/vf");
	/* segments join into one word */
	expect_vf_ok("VIRTIOFWD_SOCKET_DIR=/tmp/'a'\"b\"c\n");
	assert_string_equal(conf.socket_dir, "/tmp/abc");
	/* single quotes take $, ` and \ literally */
	expect_vf_ok("VIRTIOFWD_SOCKET_OWNER='$user`\\'\n");
	assert_string_equal(conf.socket_owner, "$user`\\");
	/* a quoted # is no comment */
	expect_vf_ok("VIRTIOFWD_SOCKET_OWNER=\"a#b\" # c\n");
	assert_string_equal(conf.socket_owner, "a#b");
	/* an empty quoted value is empty */
	expect_vf_ok("VIRTIOFWD_JUMBO=\"\"\nVIRTIOFWD_MRGBUF=''\n");
	assert_int_equal(conf.defaults.mtu, 1500);
	assert_false(conf.defaults.mrgbuf);
	/* and quotes inside an array */
	expect_vf_ok("VIRTIOFWD_STATIC_VFS=('0000:05:08.1=1' \"0000:05:08.2=2\")\n");
	assert_int_equal(conf.n_relays, 2);
}

static void
test_vf_export_and_comments(void **state)
{
	(void)state;
	expect_vf_ok("export VIRTIOFWD_LOG_LEVEL=3\n");
	assert_int_equal(conf.log_level, 4);
	expect_vf_ok("  export\tVIRTIOFWD_LOG_LEVEL=0\n");
	assert_int_equal(conf.log_level, 1);
	expect_vf_ok("VIRTIOFWD_LOG_LEVEL=7 # most verbose\n");
	assert_int_equal(conf.log_level, 8);
	expect_vf_ok("VIRTIOFWD_LOG_LEVEL=5\t#tab then comment\n");
	assert_int_equal(conf.log_level, 6);
	expect_vf_ok("VIRTIOFWD_STATIC_VFS=(0000:05:08.1=1) # one VF\n");
	assert_int_equal(conf.n_relays, 1);
	expect_vf_ok("VIRTIOFWD_STATIC_VFS=( 0000:05:08.1=1 0000:05:08.2=2 )#c\n");
	assert_int_equal(conf.n_relays, 2);
	/* blank lines, indented comments, no final newline, a variable named
	 * export */
	expect_vf_ok("\n   \n\t# c\n  # VIRTIOFWD_LOG_LEVEL=9\nexportX=1\nVIRTIOFWD_LOG_LEVEL=2");
	assert_int_equal(conf.log_level, 3);
	assert_string_equal(warn, "vf.conf:5: exportX: not a virtio-forwarder variable, ignored\n");
	/* empty LOG_LEVEL leaves the default */
	expect_vf_ok("VIRTIOFWD_LOG_LEVEL=\n");
	assert_int_equal(conf.log_level, 7);
	/* an empty text is an empty file */
	expect_vf_ok("");
	assert_string_equal(warn, "");
}

static void
test_vf_syntax_errors(void **state)
{
	char *text;

	(void)state;
	expect_vf_error("# c\nVIRTIOFWD_SOCKET_DIR=\"/tmp\n", "vf.conf:2: unterminated \" quote");
	expect_vf_error("VIRTIOFWD_SOCKET_DIR='/tmp\n", "vf.conf:1: unterminated ' quote");
	expect_vf_error("\n\n\nVIRTIOFWD_SOCKET_DIR=$HOME/vf\n",
	                "vf.conf:4: '$' (shell expansion or command) is not supported");
	expect_vf_error("VIRTIOFWD_SOCKET_DIR=\"$HOME\"\n",
	                "vf.conf:1: '$' inside double quotes is not supported");
	expect_vf_error("VIRTIOFWD_SOCKET_DIR=`pwd`\n",
	                "vf.conf:1: '`' (shell expansion or command) is not supported");
	expect_vf_error("VIRTIOFWD_SOCKET_DIR=\"`pwd`\"\n",
	                "vf.conf:1: '`' inside double quotes is not supported");
	expect_vf_error("VIRTIOFWD_JUMBO=y;VIRTIOFWD_TSO=y\n",
	                "vf.conf:1: ';' (shell expansion or command) is not supported");
	expect_vf_error("VIRTIOFWD_JUMBO=y&\n",
	                "vf.conf:1: '&' (shell expansion or command) is not supported");
	expect_vf_error("VIRTIOFWD_SOCKET_DIR=/tmp/a\\ b\n",
	                "vf.conf:1: backslash escapes are not supported");
	expect_vf_error("VIRTIOFWD_SOCKET_DIR=\"/tmp/a\\\"b\"\n",
	                "vf.conf:1: '\\' inside double quotes is not supported");
	expect_vf_error("VIRTIOFWD_STATIC_VFS=(0000:05:08.1=1\n",
	                "vf.conf:1: array not closed with ')' on this line");
	expect_vf_error("VIRTIOFWD_STATIC_VFS=(0000:05:08.1=1 # )\n",
	                "vf.conf:1: array not closed with ')' on this line");
	expect_vf_error("VIRTIOFWD_LOG_LEVEL=6 7\n",
	                "vf.conf:1: unexpected text '7' after the value");
	expect_vf_error("VIRTIOFWD_STATIC_VFS=(0000:05:08.1=1) x\n",
	                "vf.conf:1: unexpected text 'x' after the value");
	expect_vf_error("VIRTIOFWD_LOG_LEVEL=(6)\n",
	                "vf.conf:1: VIRTIOFWD_LOG_LEVEL takes one value, not an array");
	expect_vf_error("\nVIRTIOFWD_LOG_LEVEL = 6\n",
	                "vf.conf:2: expected NAME=value (no blanks around '='), got "
	                "'VIRTIOFWD_LOG_LEVEL = 6'");
	expect_vf_error("VIRTIOFWD_LOG_LEVEL\n", "vf.conf:1: expected NAME=value (no blanks "
	                                         "around '='), got 'VIRTIOFWD_LOG_LEVEL'");
	expect_vf_error("1VIRTIOFWD=1\n", "vf.conf:1: expected NAME=value, got '1VIRTIOFWD=1'");
	expect_vf_error("[daemon]\n", "vf.conf:1: expected NAME=value, got '[daemon]'");
	expect_vf_error("VIRTIOFWD_LOG_LEVEL=6\nVIRTIOFWD_STATIC_VFS=(0000:05:08.1=1 \\\n"
	                "  0000:05:08.2=2)\n",
	                "vf.conf:2: continuation lines are not supported");

	/* a line too long for the buffer, and a value too long for a word */
	text = malloc(2000);
	assert_non_null(text);
	strcpy(text, "VIRTIOFWD_LOG_LEVEL=6\nVIRTIOFWD_SOCKET_OWNER=");
	memset(text + strlen(text), 'a', 1500);
	text[22 + 23 + 1500] = '\0';
	expect_vf_error(text, "vf.conf:2: line longer than 1279 bytes");
	text[22 + 23 + 1100] = '\0';
	expect_vf_error(text, "vf.conf:2: value longer than 1023 bytes");
	free(text);

	/* at most 128 array elements */
	text = malloc(600);
	assert_non_null(text);
	strcpy(text, "VIRTIOFWD_CPU_PINS=(");
	for (int i = 0; i < 129; i++)
		strcat(text, "x ");
	strcat(text, ")\n");
	expect_vf_error(text, "vf.conf:1: more than 128 array elements");
	free(text);
}

/* Variables that set one of vrelay's daemon keys: the key's own message. */
struct key_error {
	const char *text, *var, *msg;
};

static const struct key_error daemon_key_errors[] = {
    {"VIRTIOFWD_SOCKET_DIR=tmp\n", "VIRTIOFWD_SOCKET_DIR",
     "socket-dir 'tmp' must be an absolute path"},
    {"VIRTIOFWD_SOCKET_FNAME_PATTERN=vm.sock\n", "VIRTIOFWD_SOCKET_FNAME_PATTERN",
     "socket pattern 'vm.sock' must hold exactly one %u (the relay id)"},
    {"VIRTIOFWD_HUGETLBFS_MOUNT_POINT=hugepages\n", "VIRTIOFWD_HUGETLBFS_MOUNT_POINT",
     "huge-dir 'hugepages' must be an absolute path of under 108 bytes"},
    {"VIRTIOFWD_PID_DIR=run\n", "VIRTIOFWD_PID_DIR",
     "pid-file 'run/virtio-forwarder.pid' must be an absolute path of under 216 bytes"},
    {"VIRTIOFWD_MASTER_LCORE=x\n", "VIRTIOFWD_MASTER_LCORE", "main-cpu 'x' is not a CPU number"},
    {"VIRTIOFWD_ZMQ_STATS_EP=/var/run/stats\n", "VIRTIOFWD_ZMQ_STATS_EP",
     "zmq-stats '/var/run/stats' is not ipc://PATH, tcp://HOST:PORT or off"},
    {"VIRTIOFWD_ZMQ_CONFIG_EP=ipc://config\n", "VIRTIOFWD_ZMQ_CONFIG_EP",
     "zmq-config 'ipc://config': the ipc path must be absolute"},
    {"VIRTIOFWD_ZMQ_PORT_CONTROL_EP=x\n", "VIRTIOFWD_ZMQ_PORT_CONTROL_EP",
     "zmq-port-control 'x' is not ipc://PATH, tcp://HOST:PORT or off"},
    {"VIRTIOFWD_VFIO_VF_TOKEN=0123456789012345678901234567890123456789012345678901234567890123"
     "\n",
     "VIRTIOFWD_VFIO_VF_TOKEN", "vfio-vf-token '0123456789"},
};

static void
test_vf_value_errors(void **state)
{
	(void)state;
	expect_vf_error("VIRTIOFWD_LOG_LEVEL=9\n",
	                "vf.conf:1: VIRTIOFWD_LOG_LEVEL '9' is not 0..7");
	expect_vf_error("VIRTIOFWD_LOG_LEVEL=info\n",
	                "vf.conf:1: VIRTIOFWD_LOG_LEVEL 'info' is not 0..7");
	expect_vf_error("VIRTIOFWD_LOG_LEVEL=-1\n",
	                "vf.conf:1: VIRTIOFWD_LOG_LEVEL '-1' is not 0..7");
	for (size_t i = 0; i < sizeof(daemon_key_errors) / sizeof(daemon_key_errors[0]); i++) {
		const struct key_error *k = &daemon_key_errors[i];

		if (vf_parse(k->text) != -1)
			fail_msg("'%s' accepted", k->text);
		assert_contains(err, "vf.conf:1: ");
		assert_contains(err, k->msg);
	}
	/* the core scheduler's endpoint is checked at the end, with
	 * VIO4WD_CORE_SCHED_ENABLE known */
	expect_vf_error("VIRTIOFWD_ZMQ_CORE_SCHED_EP=foo\nVIO4WD_CORE_SCHED_ENABLE=true\n",
	                "vf.conf: VIRTIOFWD_ZMQ_CORE_SCHED_EP: zmq-core-sched 'foo' is not "
	                "ipc://PATH, tcp://HOST:PORT or off");
	expect_vf_ok("VIRTIOFWD_ZMQ_CORE_SCHED_EP=foo\nVIO4WD_CORE_SCHED_ENABLE=false\n");
}

static void
test_vf_other_vars(void **state)
{
	(void)state;
	expect_vf_ok("VIRTIOFWD_SOCKET_OWNER=qemu\n"
	             "VIRTIOFWD_SOCKET_GROUP=kvm\n"
	             "VIRTIOFWD_MASTER_LCORE=0\n"
	             "VIRTIOFWD_DYNAMIC_SOCKETS=y\n"
	             "VIRTIOFWD_SOCKET_FNAME_PATTERN=vm%u.sock\n"
	             "VIRTIOFWD_VFIO_VF_TOKEN=0\n"
	             "VIRTIOFWD_ZMQ_CONFIG_EP=tcp://127.0.0.1:5555\n"
	             "VIRTIOFWD_IPC_PORT_CONTROL=yes\n"
	             "VIRTIOFWD_BINARY=/usr/bin/virtio-forwarder\n"
	             "VIRTIOFWD_CPU_NIC_SAME_NUMA=\n");
	assert_string_equal(warn, "");
	assert_string_equal(conf.socket_owner, "qemu");
	assert_string_equal(conf.socket_group, "kvm");
	assert_int_equal(conf.main_cpu, 0);
	assert_true(conf.ctl.dynamic_sockets);
	assert_string_equal(conf.ctl.socket_pattern, "vm%u.sock");
	/* 0 is virtio-forwarder's default token */
	assert_string_equal(conf.vfio_token, "14d63f20-8445-11ea-8900-1f9ce7d5650d");
	assert_string_equal(conf.ctl.ep[VR_SVC_CONFIG], "tcp://127.0.0.1:5555");
	/* settings the file leaves blank keep vrelay's defaults */
	assert_string_equal(conf.socket_dir, "/run/vrelay");
	assert_string_equal(conf.pid_file, "");
	assert_string_equal(conf.huge_dir, "");
	assert_int_equal(conf.defaults.mtu, 1500);
	assert_true(conf.defaults.mrgbuf);
	assert_int_equal(conf.defaults.mode, VR_VHOST_SERVER);

	expect_vf_ok("VIRTIOFWD_VFIO_VF_TOKEN=01234567-89ab-cdef-0123-456789abcdef\n"
	             "VIRTIOFWD_PID_DIR=/run\n");
	assert_string_equal(conf.vfio_token, "01234567-89ab-cdef-0123-456789abcdef");
	assert_string_equal(conf.pid_file, "/run/virtio-forwarder.pid");

	/* a flag is on when non-empty, whatever it says */
	expect_vf_ok("VIRTIOFWD_JUMBO=n\nVIRTIOFWD_VHOST_CLIENT=0\n");
	assert_int_equal(conf.defaults.mtu, VR_MTU_MAX);
	assert_int_equal(conf.defaults.mode, VR_VHOST_CLIENT);
	/* and the last assignment wins */
	expect_vf_ok("VIRTIOFWD_JUMBO=y\nVIRTIOFWD_JUMBO=\nVIRTIOFWD_LOG_LEVEL=1\n"
	             "VIRTIOFWD_LOG_LEVEL=2\n");
	assert_int_equal(conf.defaults.mtu, 1500);
	assert_int_equal(conf.log_level, 3);
}

static void
test_vf_warnings(void **state)
{
	char small[40];

	(void)state;
	expect_vf_ok("VIRTIOFWD_FOO=1\n"
	             "VIRTIOFWD_TSO=y\n"
	             "VIRTIOFWD_ZERO_COPY=y\n"
	             "VIRTIOFWD_BIND_VFIO_PCI=ens3\n"
	             "VIRTIOFWD_CPU_NIC_SAME_NUMA=1\n"
	             "OTHER_VAR=x\n"
	             "VIRTIOFWD_TSO=\n");
	assert_false(conf.defaults.tso); /* the later, empty value wins */
	assert_string_equal(
	    warn, "vf.conf:1: VIRTIOFWD_FOO: unknown variable, ignored\n"
	          "vf.conf:3: VIRTIOFWD_ZERO_COPY: ignored: zero-copy is not supported\n"
	          "vf.conf:4: VIRTIOFWD_BIND_VFIO_PCI: ignored: vrelayd binds no drivers; bind "
	          "the devices to vfio-pci before it starts (dpdk-devbind.py, driverctl)\n"
	          "vf.conf:5: VIRTIOFWD_CPU_NIC_SAME_NUMA: ignored: vrelay takes memory per relay "
	          "on the device's and guest's node\n"
	          "vf.conf:6: OTHER_VAR: not a virtio-forwarder variable, ignored\n");

	/* empty values of the ignored settings warn of nothing */
	expect_vf_ok("VIRTIOFWD_TSO=\nVIRTIOFWD_ZERO_COPY=\nVIRTIOFWD_BIND_VFIO_PCI=\n"
	             "VIO4WD_CORE_SCHED_SENSITIVITY=3\n");
	assert_string_equal(warn, "");

	/* a small buffer is cut, never overrun */
	vr_conf_init(&conf);
	memset(small, 'X', sizeof(small));
	assert_int_equal(vr_vfconf_parse_text(&conf, "VIRTIOFWD_FOO=1\nVIRTIOFWD_BAR=2\n",
	                                      "vf.conf", small, sizeof(small), err, sizeof(err)),
	                 0);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_true(strncmp(small, "vf.conf:1: VIRTIOFWD_FOO", 24) == 0);
}

/* warn may be NULL (or its size 0): warnings are then dropped. */
static void
test_vf_warn_null(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	/* with nothing to warn of */
	vr_conf_init(&conf);
	assert_int_equal(vr_vfconf_parse_text(&conf, "VIRTIOFWD_LOG_LEVEL=1\n", "vf.conf", NULL, 0,
	                                      err, sizeof(err)),
	                 0);
	/* a warning: in a child, since it may crash */
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, 2);
		vr_conf_init(&conf);
		if (vr_vfconf_parse_text(&conf, "VIRTIOFWD_FOO=1\n", "vf.conf", NULL, 0, err,
		                         sizeof(err)) != 0)
			_exit(2);
		if (vr_vfconf_parse_text(&conf, "VIRTIOFWD_FOO=1\n", "vf.conf", warn, 0, err,
		                         sizeof(err)) != 0)
			_exit(3);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	no_regression(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	              "vr_vfconf_parse_text with warn NULL crashes on the first warning: "
	              "warnf() calls strlen(x->warn) before testing it for NULL (vfconf.c warnf)");
}

static void
test_vf_ovsdb_mode(void **state)
{
	(void)state;
	/* IPC_PORT_CONTROL and ZMQ_PORT_CONTROL_EP empty: OVSDB drives the
	 * ports, no port control */
	expect_vf_ok("VIRTIOFWD_IPC_PORT_CONTROL=\n"
	             "VIRTIOFWD_ZMQ_PORT_CONTROL_EP=\n");
	assert_string_equal(conf.ctl.ovsdb, "/usr/local/var/run/openvswitch/db.sock");
	assert_string_equal(conf.ctl.ep[VR_SVC_PORT_CONTROL], "off");
	vr_conf_finish(&conf);
	assert_string_equal(conf.ctl.ep[VR_SVC_PORT_CONTROL], "");
	assert_string_equal(conf.ctl.ovsdb, "/usr/local/var/run/openvswitch/db.sock");
	assert_string_equal(conf.ctl.ep[VR_SVC_STATS], "ipc:///run/vrelay/stats");

	/* and when it is not set at all */
	expect_vf_ok("VIRTIOFWD_CPU_MASK=1\n");
	assert_string_equal(conf.ctl.ovsdb, "/usr/local/var/run/openvswitch/db.sock");
	assert_string_equal(conf.ctl.ep[VR_SVC_PORT_CONTROL], "off");

	/* OVSDB's socket given */
	expect_vf_ok("VIRTIOFWD_OVSDB_SOCK_PATH=/run/openvswitch/db.sock\n"
	             "VIRTIOFWD_IPC_PORT_CONTROL=\n");
	assert_string_equal(conf.ctl.ovsdb, "/run/openvswitch/db.sock");
	assert_string_equal(conf.ctl.ep[VR_SVC_PORT_CONTROL], "off");

	/* IPC without a ZeroMQ endpoint: as the original's --ipc, the command
	 * file /tmp/vio_cmd, no ZeroMQ port control, no OVSDB */
	expect_vf_ok("VIRTIOFWD_IPC_PORT_CONTROL=y\nVIRTIOFWD_ZMQ_PORT_CONTROL_EP=\n");
	assert_string_equal(conf.ctl.ovsdb, "");
	assert_string_equal(conf.ctl.watch_file, "/tmp/vio_cmd");
	vr_conf_finish(&conf);
	assert_string_equal(conf.ctl.ep[VR_SVC_PORT_CONTROL], "");
	assert_string_equal(conf.ctl.watch_file, "/tmp/vio_cmd");
	/* with an endpoint, ZeroMQ and no command file */
	expect_vf_ok("VIRTIOFWD_IPC_PORT_CONTROL=y\nVIRTIOFWD_ZMQ_PORT_CONTROL_EP=ipc:///tmp/pc\n");
	assert_string_equal(conf.ctl.watch_file, "");
	assert_string_equal(conf.ctl.ep[VR_SVC_PORT_CONTROL], "ipc:///tmp/pc");

	/* both: refused, in either order */
	expect_vf_error("VIRTIOFWD_IPC_PORT_CONTROL=y\n"
	                "VIRTIOFWD_OVSDB_SOCK_PATH=/run/openvswitch/db.sock\n",
	                "vf.conf: VIRTIOFWD_OVSDB_SOCK_PATH and VIRTIOFWD_IPC_PORT_CONTROL exclude "
	                "each other");
	expect_vf_error("VIRTIOFWD_OVSDB_SOCK_PATH=/db.sock\nVIRTIOFWD_IPC_PORT_CONTROL=y\n",
	                "vf.conf: VIRTIOFWD_OVSDB_SOCK_PATH and VIRTIOFWD_IPC_PORT_CONTROL exclude "
	                "each other");

	/* a path longer than sun_path holds is refused, not cut to another one */
	char text[256];

	snprintf(text, sizeof(text), "VIRTIOFWD_OVSDB_SOCK_PATH=/run/%0100d.sock\n", 0);
	expect_vf_error(text, "vf.conf:1: VIRTIOFWD_OVSDB_SOCK_PATH is longer than a unix socket "
	                      "path (107 bytes)");
}

/* As virtio-forwarder, whose start script passes a non-empty
 * ZMQ_PORT_CONTROL_EP as --zmq-port-control-ep, which the daemon prefers to
 * OVSDB: with IPC_PORT_CONTROL empty that endpoint still controls the ports. */
static void
test_vf_port_control_ep_wins(void **state)
{
	char *text;

	(void)state;
	expect_vf_ok(
	    "VIRTIOFWD_IPC_PORT_CONTROL=\n"
	    "VIRTIOFWD_ZMQ_PORT_CONTROL_EP=ipc:///var/run/virtio-forwarder/port_control\n");
	assert_string_equal(warn, "");
	assert_string_equal(conf.ctl.ovsdb, "");
	assert_string_equal(conf.ctl.ep[VR_SVC_PORT_CONTROL],
	                    "ipc:///var/run/virtio-forwarder/port_control");
	vr_conf_finish(&conf);
	assert_string_equal(conf.ctl.ep[VR_SVC_PORT_CONTROL],
	                    "ipc:///var/run/virtio-forwarder/port_control");
	assert_string_equal(conf.ctl.ovsdb, "");

	/* also with IPC_PORT_CONTROL not set at all, the endpoint first */
	expect_vf_ok("VIRTIOFWD_ZMQ_PORT_CONTROL_EP=tcp://127.0.0.1:5556\n");
	assert_string_equal(conf.ctl.ovsdb, "");
	assert_string_equal(conf.ctl.ep[VR_SVC_PORT_CONTROL], "tcp://127.0.0.1:5556");

	/* the shipped file with IPC_PORT_CONTROL blanked */
	text = replace(shipped, "VIRTIOFWD_IPC_PORT_CONTROL=y\n", "VIRTIOFWD_IPC_PORT_CONTROL=\n");
	expect_vf_ok(text);
	free(text);
	assert_string_equal(warn, "");
	assert_string_equal(conf.ctl.ovsdb, "");
	assert_string_equal(conf.ctl.ep[VR_SVC_PORT_CONTROL],
	                    "ipc:///var/run/virtio-forwarder/port_control");

	/* an OVSDB socket is then unused: a warning naming its line */
	expect_vf_ok("VIRTIOFWD_OVSDB_SOCK_PATH=/run/openvswitch/db.sock\n"
	             "VIRTIOFWD_ZMQ_PORT_CONTROL_EP=ipc:///tmp/pc\n");
	assert_string_equal(conf.ctl.ovsdb, "");
	assert_string_equal(conf.ctl.ep[VR_SVC_PORT_CONTROL], "ipc:///tmp/pc");
	assert_string_equal(warn, "vf.conf:1: VIRTIOFWD_OVSDB_SOCK_PATH: ignored: "
	                          "VIRTIOFWD_ZMQ_PORT_CONTROL_EP is set, so ZeroMQ controls the "
	                          "ports, not OVSDB\n");

	/* the last assignment counts: blanked again, OVSDB */
	expect_vf_ok("VIRTIOFWD_ZMQ_PORT_CONTROL_EP=ipc:///tmp/pc\n"
	             "VIRTIOFWD_ZMQ_PORT_CONTROL_EP=\n");
	assert_string_equal(conf.ctl.ovsdb, "/usr/local/var/run/openvswitch/db.sock");
	assert_string_equal(conf.ctl.ep[VR_SVC_PORT_CONTROL], "off");
	/* and "off" is no endpoint: OVSDB */
	expect_vf_ok("VIRTIOFWD_ZMQ_PORT_CONTROL_EP=off\n");
	assert_string_equal(conf.ctl.ovsdb, "/usr/local/var/run/openvswitch/db.sock");
	assert_string_equal(conf.ctl.ep[VR_SVC_PORT_CONTROL], "off");
}

/* As virtio-forwarder, whose start script passes --zmq-core-sched-ep only
 * when VIO4WD_CORE_SCHED_ENABLE is true: a file without the variable has
 * the core scheduler's endpoint off. */
static void
test_vf_core_sched_default_off(void **state)
{
	char *text;

	(void)state;
	expect_vf_ok("VIRTIOFWD_CPU_MASK=1\n");
	assert_string_equal(conf.ctl.ep[VR_SVC_CORE_SCHED], "off");
	vr_conf_finish(&conf);
	assert_string_equal(conf.ctl.ep[VR_SVC_CORE_SCHED], "");
	expect_vf_ok("VIRTIOFWD_ZMQ_CORE_SCHED_EP=ipc:///var/run/virtio-forwarder/core_sched\n");
	assert_string_equal(conf.ctl.ep[VR_SVC_CORE_SCHED], "off");
	/* an endpoint nobody uses is not checked */
	expect_vf_ok("VIRTIOFWD_ZMQ_CORE_SCHED_EP=foo\n");
	assert_string_equal(conf.ctl.ep[VR_SVC_CORE_SCHED], "off");

	/* the shipped file without its ENABLE line */
	text = replace(shipped, "VIO4WD_CORE_SCHED_ENABLE=true\n", "");
	expect_vf_ok(text);
	free(text);
	assert_string_equal(conf.ctl.ep[VR_SVC_CORE_SCHED], "off");
	vr_conf_finish(&conf);
	assert_string_equal(conf.ctl.ep[VR_SVC_CORE_SCHED], "");
	/* the other services keep theirs */
	assert_string_equal(conf.ctl.ep[VR_SVC_STATS], "ipc:///var/run/virtio-forwarder/stats");

	/* the last ENABLE counts */
	expect_vf_ok("VIO4WD_CORE_SCHED_ENABLE=false\nVIO4WD_CORE_SCHED_ENABLE=true\n");
	assert_string_equal(conf.ctl.ep[VR_SVC_CORE_SCHED], "");
	expect_vf_ok("VIO4WD_CORE_SCHED_ENABLE=true\nVIO4WD_CORE_SCHED_ENABLE=\n");
	assert_string_equal(conf.ctl.ep[VR_SVC_CORE_SCHED], "off");
}

static void
test_vf_core_sched(void **state)
{
	(void)state;
	/* anything but true turns the core scheduler's service off */
	expect_vf_ok("VIO4WD_CORE_SCHED_ENABLE=false\n"
	             "VIRTIOFWD_ZMQ_CORE_SCHED_EP=ipc:///var/run/virtio-forwarder/core_sched\n");
	assert_string_equal(conf.ctl.ep[VR_SVC_CORE_SCHED], "off");
	vr_conf_finish(&conf);
	assert_string_equal(conf.ctl.ep[VR_SVC_CORE_SCHED], "");
	expect_vf_ok("VIO4WD_CORE_SCHED_ENABLE=\n");
	assert_string_equal(conf.ctl.ep[VR_SVC_CORE_SCHED], "off");
	expect_vf_ok("VIO4WD_CORE_SCHED_ENABLE=yes\n");
	assert_string_equal(conf.ctl.ep[VR_SVC_CORE_SCHED], "off");
	expect_vf_ok("VIO4WD_CORE_SCHED_ENABLE=(true)\n");
	assert_string_equal(conf.ctl.ep[VR_SVC_CORE_SCHED], "off");

	/* true: on its endpoint, or vrelay's default */
	expect_vf_ok("VIO4WD_CORE_SCHED_ENABLE=true\n"
	             "VIRTIOFWD_ZMQ_CORE_SCHED_EP=ipc:///tmp/cs\n");
	assert_string_equal(conf.ctl.ep[VR_SVC_CORE_SCHED], "ipc:///tmp/cs");
	expect_vf_ok("VIO4WD_CORE_SCHED_ENABLE='true'\n");
	assert_string_equal(conf.ctl.ep[VR_SVC_CORE_SCHED], "");
	vr_conf_finish(&conf);
	assert_string_equal(conf.ctl.ep[VR_SVC_CORE_SCHED], "ipc:///run/vrelay/core_sched");

	/* the endpoint before ENABLE is the same */
	expect_vf_ok("VIRTIOFWD_ZMQ_CORE_SCHED_EP=ipc:///tmp/cs\nVIO4WD_CORE_SCHED_ENABLE=false\n");
	assert_string_equal(conf.ctl.ep[VR_SVC_CORE_SCHED], "off");
}

/* An error names the variable as the file spells it, as those of
 * VIRTIOFWD_CPU_MASK and VIRTIOFWD_LOG_LEVEL do. */
static void
test_vf_errors_name_variable(void **state)
{
	char want[VR_ERR_MAX];
	bool named = true;

	(void)state;
	for (size_t i = 0; i < sizeof(daemon_key_errors) / sizeof(daemon_key_errors[0]); i++) {
		const struct key_error *k = &daemon_key_errors[i];

		assert_int_equal(vf_parse(k->text), -1);
		snprintf(want, sizeof(want), "vf.conf:1: %s: %s", k->var, k->msg);
		if (strncmp(err, want, strlen(want)) != 0) {
			print_message("'%s' does not start '%s'\n", err, want);
			named = false;
		}
	}
	no_regression(named, "errors of the variables set through vr_conf_set_daemon name "
	                     "them without their VIRTIOFWD_ prefix, e.g. 'SOCKET_DIR: ...' "
	                     "(vfconf.c set_daemon is passed var, not the full name)");
}

/* ---- vr_vfconf_detect --------------------------------------------------- */

static void
test_vf_detect(void **state)
{
	(void)state;
	assert_true(vr_vfconf_detect(shipped));
	assert_true(vr_vfconf_detect("VIRTIOFWD_CPU_MASK=1\n"));
	assert_true(vr_vfconf_detect("# c\n\n   \n\t# c\nVIRTIOFWD_CPU_MASK=1"));
	assert_true(vr_vfconf_detect("export VIRTIOFWD_CPU_MASK=1\n"));
	assert_true(vr_vfconf_detect("VIO4WD_CORE_SCHED_ENABLE=\n"));

	/* vrelay's own format */
	assert_false(vr_vfconf_detect("[daemon]\nworkers = 1\n"));
	assert_false(vr_vfconf_detect("# vrelay\n\n[daemon]\nworkers=1\n"));
	assert_false(vr_vfconf_detect("workers = 1\n"));
	assert_false(vr_vfconf_detect("socket-dir=/run\n"));
	assert_false(vr_vfconf_detect("[relay 0]\ndevice = net_null0\n"));
	/* nothing to go by */
	assert_false(vr_vfconf_detect(""));
	assert_false(vr_vfconf_detect("\n\n"));
	assert_false(vr_vfconf_detect("# only a comment"));
	assert_false(vr_vfconf_detect("# only a comment\n"));
}

/* A vrelay file need not open with [daemon] (keys before any section are
 * daemon keys), and "key=value" without blanks is valid in it. */
static void
test_vf_detect_vrelay_without_section(void **state)
{
	(void)state;
	vr_conf_init(&conf);
	assert_int_equal(vr_conf_parse_text(&conf, "workers=1\n", "x.conf", err, sizeof(err)), 0);
	no_regression(!vr_vfconf_detect("workers=1\nmtu=9000\n"),
	              "vr_vfconf_detect takes a vrelay file starting 'workers=1' for "
	              "virtio-forwarder's format (vfconf.c vr_vfconf_detect only looks for NAME=)");
}

/* ---- shell semantics the parser departs from ----------------------------- */

/* In the shipped file VHOST_CLIENT (and any JUMBO/MRGBUF edit) can follow
 * STATIC_VFS: the start script turns every variable into an option, so the
 * order of the lines does not matter to virtio-forwarder. */
static void
test_vf_static_vfs_shipped_order(void **state)
{
	char *text;

	(void)state;
	text = replace(shipped, "VIRTIOFWD_STATIC_VFS=\n",
	               "VIRTIOFWD_STATIC_VFS=(0000:05:08.1=1 0000:05:08.2=2)\n");
	expect_vf_ok(text);
	free(text);
	assert_int_equal(conf.n_relays, 2);
	expect_relay(0, 1, "0000:05:08.1");
	expect_relay(1, 2, "0000:05:08.2");
	assert_int_equal(conf.relays[0].mtu, VR_MTU_MAX);
	assert_true(conf.relays[0].mrgbuf);
	vr_conf_finish(&conf);
	assert_string_equal(conf.relays[0].socket, "/tmp/virtio-forwarder/virtio-forwarder1.sock");
	no_regression(conf.relays[0].mode == VR_VHOST_CLIENT &&
	                  conf.relays[1].mode == VR_VHOST_CLIENT,
	              "STATIC_VFS relays are made from the defaults on the STATIC_VFS line "
	              "(vfconf.c static_vf), so the shipped file's VIRTIOFWD_VHOST_CLIENT=y, "
	              "which comes later, leaves them in server mode");
}

/* As in a shell, '#' starts a comment only at the start of a word. */
static void
test_vf_hash_inside_word(void **state)
{
	(void)state;
	expect_vf_ok("VIRTIOFWD_SOCKET_DIR=/tmp/a#b\n");
	assert_string_equal(conf.socket_dir, "/tmp/a#b");
	/* right after '=' is inside the word NAME=value too */
	expect_vf_ok("VIRTIOFWD_SOCKET_OWNER=#1\n");
	assert_string_equal(conf.socket_owner, "#1");
	/* text, quotes and '#' join into one word; a comment after a blank */
	expect_vf_ok("VIRTIOFWD_SOCKET_OWNER='a'#b\"c\"# # d\n");
	assert_string_equal(conf.socket_owner, "a#bc#");
	/* inside an array element: part of the item */
	expect_vf_error("VIRTIOFWD_STATIC_VFS=(0000:05:08.1=1#x)\n",
	                "vf.conf:1: STATIC_VFS item '0000:05:08.1=1#x': relay id not in 0..63");
	/* a word starting with '#' in an array is a comment, so no ')' follows */
	expect_vf_error("VIRTIOFWD_STATIC_VFS=(0000:05:08.1=1 #x)\n",
	                "vf.conf:1: array not closed with ')' on this line");
	expect_vf_error("VIRTIOFWD_LOG_LEVEL=6#7\n",
	                "vf.conf:1: VIRTIOFWD_LOG_LEVEL '6#7' is not 0..7");
}

/* A backslash at the end of a comment continues nothing. */
static void
test_vf_comment_backslash(void **state)
{
	(void)state;
	expect_vf_ok("# C:\\\nVIRTIOFWD_LOG_LEVEL=1\n");
	assert_int_equal(conf.log_level, 2);
	/* indented, or after a value: the next line is still a line of its own */
	expect_vf_ok("  # \\\nVIRTIOFWD_LOG_LEVEL=1 # c:\\\nVIRTIOFWD_JUMBO=y #\\");
	assert_int_equal(conf.log_level, 2);
	assert_int_equal(conf.defaults.mtu, VR_MTU_MAX);
	/* outside a comment it is a continuation line, refused wherever it is */
	expect_vf_error("VIRTIOFWD_LOG_LEVEL=1\\\n",
	                "vf.conf:1: continuation lines are not supported");
	expect_vf_error("VIRTIOFWD_LOG_LEVEL=1 \\\n",
	                "vf.conf:1: continuation lines are not supported");
	expect_vf_error("VIRTIOFWD_LOG_LEVEL=\\\n1\n",
	                "vf.conf:1: continuation lines are not supported");
	expect_vf_error("\n \\\nVIRTIOFWD_LOG_LEVEL=1\n",
	                "vf.conf:2: continuation lines are not supported");
	expect_vf_error("export \\\nVIRTIOFWD_LOG_LEVEL=1\n",
	                "vf.conf:1: continuation lines are not supported");
	expect_vf_error("VIRTIOFWD_STATIC_VFS=(0000:05:08.1=1)\\\n",
	                "vf.conf:1: continuation lines are not supported");
	/* a backslash inside the line stays an escape, refused as such */
	expect_vf_error("VIRTIOFWD_SOCKET_DIR=/tmp/a\\# b\n",
	                "vf.conf:1: backslash escapes are not supported");
}

/* A variable assigned twice holds its last value, lists included. */
static void
test_vf_list_reassigned(void **state)
{
	(void)state;
	expect_vf_ok("VIRTIOFWD_STATIC_VFS=(0000:05:08.1=1)\n"
	             "VIRTIOFWD_STATIC_VFS=\n");
	assert_int_equal(conf.n_relays, 0);
	/* the second list replaces the first, so the same id may come again */
	expect_vf_ok("VIRTIOFWD_STATIC_VFS=(0000:05:08.1=1 0000:05:08.2=2)\n"
	             "VIRTIOFWD_STATIC_VFS=0000:05:08.3=1\n");
	assert_int_equal(conf.n_relays, 1);
	expect_relay(0, 1, "0000:05:08.3");
	/* the shipped file's commented example, then its blank line */
	expect_vf_ok("VIRTIOFWD_STATIC_VFS=(0000:05:08.1=1)\nVIRTIOFWD_STATIC_VFS=''\n");
	assert_int_equal(conf.n_relays, 0);

	expect_vf_ok("VIRTIOFWD_CPU_PINS=(0:1,2 1:3)\n"
	             "VIRTIOFWD_CPU_PINS=\n");
	for (int i = 0; i < VR_MAX_RELAYS; i++) {
		assert_int_equal(conf.ctl.pins[i][0], VR_CPU_UNPINNED);
		assert_int_equal(conf.ctl.pins[i][1], VR_CPU_UNPINNED);
	}
	expect_vf_ok("VIRTIOFWD_CPU_PINS=(0:1,2 1:3)\n"
	             "VIRTIOFWD_CPU_PINS=1:4\n");
	assert_int_equal(conf.ctl.pins[0][0], VR_CPU_UNPINNED);
	assert_int_equal(conf.ctl.pins[0][1], VR_CPU_UNPINNED);
	assert_int_equal(conf.ctl.pins[1][0], 4);
	assert_int_equal(conf.ctl.pins[1][1], 4);

	/* what was there before the file stays: only the file's own are replaced */
	vr_conf_init(&conf);
	conf.n_relays = 1;
	conf.relays[0].id = 5;
	snprintf(conf.relays[0].device, sizeof(conf.relays[0].device), "net_null0");
	conf.ctl.pins[5][0] = conf.ctl.pins[5][1] = 7;
	assert_int_equal(vr_vfconf_parse_text(&conf,
	                                      "VIRTIOFWD_STATIC_VFS=0000:05:08.1=1\n"
	                                      "VIRTIOFWD_CPU_PINS=1:2\n"
	                                      "VIRTIOFWD_STATIC_VFS=0000:05:08.2=2\n"
	                                      "VIRTIOFWD_CPU_PINS=2:3\n",
	                                      "vf.conf", NULL, 0, err, sizeof(err)),
	                 0);
	assert_int_equal(conf.n_relays, 2);
	expect_relay(0, 5, "net_null0");
	expect_relay(1, 2, "0000:05:08.2");
	assert_int_equal(conf.ctl.pins[5][0], 7);
	assert_int_equal(conf.ctl.pins[1][0], VR_CPU_UNPINNED);
	assert_int_equal(conf.ctl.pins[2][0], 3);
}

/* ---- config.c helpers --------------------------------------------------- */

static void
test_path_in_dir(void **state)
{
	(void)state;
	assert_true(vr_path_in_dir("/run/vrelay/a.sock", "/run/vrelay"));
	assert_true(vr_path_in_dir("/run/vrelay/a.sock", "/run/vrelay/"));
	assert_true(vr_path_in_dir("/run/vrelay/a.sock", "/run/vrelay//"));
	assert_true(vr_path_in_dir("/run/vrelay/sub/a.sock", "/run/vrelay"));
	assert_true(vr_path_in_dir("/run/vrelay/..a", "/run/vrelay"));
	assert_true(vr_path_in_dir("/run/vrelay/a..b", "/run/vrelay"));
	assert_true(vr_path_in_dir("/run/vrelay/.a", "/run/vrelay"));

	assert_false(vr_path_in_dir("/run/vrelayx/a.sock", "/run/vrelay"));
	assert_false(vr_path_in_dir("/run/vrelay", "/run/vrelay"));
	assert_false(vr_path_in_dir("/run/vrelay/", "/run/vrelay"));
	assert_false(vr_path_in_dir("/run/vrelay/sub/", "/run/vrelay"));
	assert_false(vr_path_in_dir("/run/vrelay/../etc/passwd", "/run/vrelay"));
	assert_false(vr_path_in_dir("/run/vrelay/sub/../../x", "/run/vrelay"));
	assert_false(vr_path_in_dir("/run/vrelay/..", "/run/vrelay"));
	assert_false(vr_path_in_dir("/run/vrelay/sub/..", "/run/vrelay"));
	assert_false(vr_path_in_dir("/run/vrelay/./a.sock", "/run/vrelay"));
	assert_false(vr_path_in_dir("/run/vrelay/.", "/run/vrelay"));
	assert_false(vr_path_in_dir("/run/vrelay//a.sock", "/run/vrelay"));
	assert_false(vr_path_in_dir("/run/vrelay/sub//a.sock", "/run/vrelay"));
	assert_false(vr_path_in_dir("/tmp/a.sock", "/run/vrelay"));
	assert_false(vr_path_in_dir("run/vrelay/a.sock", "/run/vrelay"));
	assert_false(vr_path_in_dir("", "/run/vrelay"));
}

static void
test_path_in_dir_root(void **state)
{
	(void)state;
	assert_false(vr_path_in_dir("/", "/"));
	assert_false(vr_path_in_dir("/../x", "/"));
	assert_false(vr_path_in_dir("//a.sock", "/"));
	assert_false(vr_path_in_dir("/./a.sock", "/"));
	assert_false(vr_path_in_dir("/run/", "/"));
	assert_false(vr_path_in_dir("a.sock", "/"));
	assert_true(vr_path_in_dir("/a.sock", "/"));
	assert_true(vr_path_in_dir("/a.sock", "//"));
	assert_true(vr_path_in_dir("/run/vrelay/a.sock", "/"));
}

static void
expect_pci(const char *s, const char *want)
{
	char out[16];

	if (vr_pci_parse(s, out) != 0)
		fail_msg("'%s' is not taken for a PCI address", s);
	assert_string_equal(out, want);
}

static void
expect_not_pci(const char *s)
{
	char out[16] = "unchanged";

	if (vr_pci_parse(s, out) == 0)
		fail_msg("'%s' taken for PCI address %s", s, out);
}

static void
test_pci_parse(void **state)
{
	(void)state;
	expect_pci("0000:05:08.1", "0000:05:08.1");
	expect_pci("05:08.1", "0000:05:08.1");
	expect_pci("0000:0A:1F.7", "0000:0a:1f.7");
	expect_pci("0a:1f.7", "0000:0a:1f.7");
	expect_pci("ffff:ff:1f.7", "ffff:ff:1f.7");
	expect_pci("0001:00:00.0", "0001:00:00.0");

	char out[16];

	assert_int_equal(vr_pci_parse(NULL, out), -1);
	expect_not_pci("");
	expect_not_pci("0000:05:20.1"); /* slot > 1f */
	expect_not_pci("0000:05:08.8"); /* function > 7 */
	expect_not_pci("0000:05:08");
	expect_not_pci("0000:05:08.1x");
	expect_not_pci("0000:05:08.1 ");
	expect_not_pci(" 0000:05:08.1");
	expect_not_pci("+000:05:08.1");
	expect_not_pci("5:8.1");
	expect_not_pci("00:05:08.1");
	expect_not_pci("00000:05:08.1");
	expect_not_pci("0000:005:08.1");
	expect_not_pci("0000.05.08.1");
	expect_not_pci("net_tap0");
	expect_not_pci("net_bonding0");
	expect_not_pci("eth0");
}

/* Only hex digits in the fields: scanf's %x takes signs and blanks too. */
static void
test_pci_parse_signs(void **state)
{
	static const char *const bad[] = {"0000:-1:08.1", "0000:+5:08.1",  "0000:05: 8.1",
	                                  "0000:05:+8.1", "0000:05:08.+1", "+5:08.1"};
	char out[16];
	bool all_refused = true;

	(void)state;
	expect_not_pci("0000:05:-8.1");
	expect_not_pci("-5:08.1");
	expect_not_pci("0000:05:08.-");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (vr_pci_parse(bad[i], out) == 0) {
			print_message("'%s' taken for PCI address '%s'\n", bad[i], out);
			all_refused = false;
		}
	}
	no_regression(all_refused,
	              "vr_pci_parse takes a sign or a blank inside a field (sscanf %x): "
	              "'0000:-1:08.1' gives a cut '0000:ffffffff:0' (config.c vr_pci_parse)");
}

static void
test_socket_pattern_check(void **state)
{
	(void)state;
	assert_int_equal(vr_socket_pattern_check("vm%u.sock", err, sizeof(err)), 0);
	assert_int_equal(vr_socket_pattern_check("%u", err, sizeof(err)), 0);
	assert_int_equal(vr_socket_pattern_check("virtio-forwarder%u.sock", err, sizeof(err)), 0);

	static const char *const bad[] = {"vm.sock", "vm%d.sock", "%u%u", "%u.%%", "%%u",
	                                  "%",       "vm%",       "%lu",  ""};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[VR_ERR_MAX];

		err[0] = '\0';
		if (vr_socket_pattern_check(bad[i], err, sizeof(err)) != -1)
			fail_msg("pattern '%s' accepted", bad[i]);
		snprintf(want, sizeof(want),
		         "socket pattern '%s' must hold exactly one %%u (the relay id)", bad[i]);
		assert_string_equal(err, want);
	}
	assert_int_equal(vr_socket_pattern_check("dir/vm%u.sock", err, sizeof(err)), -1);
	assert_string_equal(err, "socket pattern 'dir/vm%u.sock' is a file name: no '/'");
	assert_int_equal(vr_socket_pattern_check("/tmp/%u", err, sizeof(err)), -1);
	assert_string_equal(err, "socket pattern '/tmp/%u' is a file name: no '/'");
}

static void
test_relay_add_member(void **state)
{
	struct vr_relay_conf r;
	char big[VR_MEMBER_MAX + 1];

	(void)state;
	vr_relay_conf_init(&r, NULL);
	assert_int_equal(vr_relay_conf_add_member(&r, "0000:05:08.1", err, sizeof(err)), 0);
	assert_int_equal(vr_relay_conf_add_member(&r, "05:08.2", err, sizeof(err)), 0);
	assert_int_equal(vr_relay_conf_add_member(&r, "0000:0A:1F.7", err, sizeof(err)), 0);
	assert_int_equal(vr_relay_conf_add_member(&r, "net_tap0,iface=tap0", err, sizeof(err)), 0);
	assert_int_equal(r.n_members, 4);
	assert_string_equal(r.members[0], "0000:05:08.1");
	assert_string_equal(r.members[1], "0000:05:08.2");
	assert_string_equal(r.members[2], "0000:0a:1f.7");
	assert_string_equal(r.members[3], "net_tap0,iface=tap0");

	/* duplicates, also when written differently */
	assert_int_equal(vr_relay_conf_add_member(&r, "05:08.1", err, sizeof(err)), -1);
	assert_string_equal(err, "bond member 0000:05:08.1 is given twice");
	assert_int_equal(vr_relay_conf_add_member(&r, "0a:1f.7", err, sizeof(err)), -1);
	assert_string_equal(err, "bond member 0000:0a:1f.7 is given twice");
	assert_int_equal(vr_relay_conf_add_member(&r, "net_tap0,iface=tap0", err, sizeof(err)), -1);
	assert_string_equal(err, "bond member net_tap0,iface=tap0 is given twice");
	assert_int_equal(r.n_members, 4);

	/* empty and too long */
	assert_int_equal(vr_relay_conf_add_member(&r, "", err, sizeof(err)), -1);
	assert_string_equal(err, "bond member '' is empty or too long");
	memset(big, 'a', sizeof(big));
	big[VR_MEMBER_MAX] = '\0'; /* 256 bytes */
	assert_int_equal(vr_relay_conf_add_member(&r, big, err, sizeof(err)), -1);
	assert_contains(err, "bond member 'aaaa"); /* the message is cut: err holds 256 */
	big[VR_MEMBER_MAX - 1] = '\0';             /* 255 fit */
	assert_int_equal(vr_relay_conf_add_member(&r, big, err, sizeof(err)), 0);
	assert_int_equal(strlen(r.members[4]), VR_MEMBER_MAX - 1);

	/* at most eight */
	assert_int_equal(vr_relay_conf_add_member(&r, "05:08.3", err, sizeof(err)), 0);
	assert_int_equal(vr_relay_conf_add_member(&r, "05:08.4", err, sizeof(err)), 0);
	assert_int_equal(vr_relay_conf_add_member(&r, "05:08.5", err, sizeof(err)), 0);
	assert_int_equal(r.n_members, VR_BOND_MAX);
	assert_int_equal(vr_relay_conf_add_member(&r, "05:08.6", err, sizeof(err)), -1);
	assert_string_equal(err, "a bond takes at most 8 members");
	assert_int_equal(r.n_members, VR_BOND_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vf_shipped_file),
	    cmocka_unit_test(test_vf_shipped_file_load),
	    cmocka_unit_test(test_vf_cpu_mask),
	    cmocka_unit_test(test_vf_static_vfs),
	    cmocka_unit_test(test_vf_static_vfs_errors),
	    cmocka_unit_test(test_vf_cpu_pins),
	    cmocka_unit_test(test_vf_quoting),
	    cmocka_unit_test(test_vf_export_and_comments),
	    cmocka_unit_test(test_vf_syntax_errors),
	    cmocka_unit_test(test_vf_value_errors),
	    cmocka_unit_test(test_vf_other_vars),
	    cmocka_unit_test(test_vf_warnings),
	    cmocka_unit_test(test_vf_warn_null),
	    cmocka_unit_test(test_vf_ovsdb_mode),
	    cmocka_unit_test(test_vf_port_control_ep_wins),
	    cmocka_unit_test(test_vf_core_sched_default_off),
	    cmocka_unit_test(test_vf_core_sched),
	    cmocka_unit_test(test_vf_errors_name_variable),
	    cmocka_unit_test(test_vf_detect),
	    cmocka_unit_test(test_vf_detect_vrelay_without_section),
	    cmocka_unit_test(test_vf_static_vfs_shipped_order),
	    cmocka_unit_test(test_vf_hash_inside_word),
	    cmocka_unit_test(test_vf_comment_backslash),
	    cmocka_unit_test(test_vf_list_reassigned),
	    cmocka_unit_test(test_path_in_dir),
	    cmocka_unit_test(test_path_in_dir_root),
	    cmocka_unit_test(test_pci_parse),
	    cmocka_unit_test(test_pci_parse_signs),
	    cmocka_unit_test(test_socket_pattern_check),
	    cmocka_unit_test(test_relay_add_member),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
