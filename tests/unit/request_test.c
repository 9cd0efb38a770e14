/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Control request decoding (src/api/request.c): every op's required fields,
 * the limits on ids, PCI addresses, bonds, relays and CPUs, and the messages
 * that name what was wrong. Requests are built with the protobuf-c API and
 * decoded from a heap buffer of exactly their packed size, so that ASan
 * catches any read past the frame.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "request.h"
#include "unit.h"
#include "virtioforwarder.pb-c.h"

static char err[VR_ERR_MAX];

typedef Virtioforwarder__PortControlRequest PortReq;
typedef Virtioforwarder__PortControlRequest__PciAddress PciAddr;
typedef Virtioforwarder__StatsRequest StatsReq;
typedef Virtioforwarder__CoreSchedRequest SchedReq;
typedef Virtioforwarder__CoreSchedRequest__RelayCPU SchedCpu;

/* A copy of bytes in a heap block of exactly len bytes (at least 1). */
static uint8_t *
dup_bytes(const void *bytes, size_t len)
{
	uint8_t *p = malloc(len > 0 ? len : 1);

	assert_non_null(p);
	if (len > 0)
		memcpy(p, bytes, len);
	return p;
}

/* ---- PortControlRequest ------------------------------------------------- */

#define MAX_ADDRS 12

struct port_msg {
	PortReq m;
	PciAddr a[MAX_ADDRS];
	PciAddr *pa[MAX_ADDRS];
};

static void
port_init(struct port_msg *p, int op)
{
	virtioforwarder__port_control_request__init(&p->m);
	p->m.op = (Virtioforwarder__PortControlRequest__Op)op;
	p->m.pci_addrs = p->pa;
	p->m.n_pci_addrs = 0;
}

static void
port_pci(struct port_msg *p, uint32_t dom, uint32_t bus, uint32_t slot, uint32_t fn)
{
	PciAddr *a = &p->a[p->m.n_pci_addrs];

	assert_true(p->m.n_pci_addrs < MAX_ADDRS);
	virtioforwarder__port_control_request__pci_address__init(a);
	a->domain = dom;
	a->bus = bus;
	a->slot = slot;
	a->function = fn;
	p->pa[p->m.n_pci_addrs++] = a;
}

static void
port_id(struct port_msg *p, uint32_t id)
{
	p->m.has_virtio_id = 1;
	p->m.virtio_id = id;
}

static int
port_decode(const struct port_msg *p, struct vr_port_req *q)
{
	size_t n = virtioforwarder__port_control_request__get_packed_size(&p->m);
	uint8_t *buf = malloc(n > 0 ? n : 1);
	int rc;

	assert_non_null(buf);
	assert_int_equal(virtioforwarder__port_control_request__pack(&p->m, buf), n);
	err[0] = '\0';
	rc = vr_port_req_decode(buf, n, q, err, sizeof(err));
	free(buf);
	return rc;
}

static void
expect_port_ok(const struct port_msg *p, struct vr_port_req *q)
{
	if (port_decode(p, q) != 0)
		fail_msg("request refused: %s", err);
}

static void
expect_port_error(const struct port_msg *p, const char *msg)
{
	struct vr_port_req q;

	if (port_decode(p, &q) != -1)
		fail_msg("request accepted (device '%s'), expected '%s'", q.device, msg);
	assert_string_equal(err, msg);
}

static void
test_port_add_pci(void **state)
{
	struct port_msg p;
	struct vr_port_req q;

	(void)state;
	port_init(&p, VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__ADD);
	port_pci(&p, 0, 5, 8, 1);
	port_id(&p, 3);
	expect_port_ok(&p, &q);
	assert_int_equal(q.op, VR_PORT_ADD);
	assert_int_equal(q.id, 3);
	assert_string_equal(q.device, "0000:05:08.1");
	assert_int_equal(q.n_members, 0);
	assert_string_equal(q.socket, "");
	assert_true(q.conditional); /* the proto's default */

	/* the largest id and the largest address */
	port_init(&p, VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__ADD);
	port_pci(&p, 0xffff, 0xff, 0x1f, 7);
	port_id(&p, VR_MAX_RELAYS - 1);
	expect_port_ok(&p, &q);
	assert_int_equal(q.id, 63);
	assert_string_equal(q.device, "ffff:ff:1f.7");

	/* id 0 is an id, not "absent" */
	port_init(&p, VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__ADD);
	port_pci(&p, 0, 0xa, 0x1f, 7);
	port_id(&p, 0);
	expect_port_ok(&p, &q);
	assert_int_equal(q.id, 0);
	assert_string_equal(q.device, "0000:0a:1f.7");
}

static void
test_port_add_errors(void **state)
{
	struct port_msg p;

	(void)state;
	/* no virtio_id */
	port_init(&p, VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__ADD);
	port_pci(&p, 0, 5, 8, 1);
	expect_port_error(&p, "ADD: virtio_id is missing");

	/* virtio_id out of range */
	port_id(&p, VR_MAX_RELAYS);
	expect_port_error(&p, "ADD: virtio_id 64 is not in 0..63");
	port_id(&p, UINT32_MAX);
	expect_port_error(&p, "ADD: virtio_id 4294967295 is not in 0..63");

	/* no device at all */
	port_init(&p, VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__ADD);
	port_id(&p, 1);
	expect_port_error(&p, "ADD: no device: give pci_addrs, or name with the devargs");
	/* an empty name is no device either */
	p.m.name = "";
	expect_port_error(&p, "ADD: no device: give pci_addrs, or name with the devargs");

	/* a vhost_path must be absolute and fit sun_path */
	port_init(&p, VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__ADD);
	port_pci(&p, 0, 5, 8, 1);
	port_id(&p, 1);
	p.m.vhost_path = "vm1.sock";
	expect_port_error(&p, "ADD: vhost_path 'vm1.sock' must be an absolute path shorter than "
	                      "108 bytes");
	p.m.vhost_path = "";
	expect_port_error(&p, "ADD: vhost_path '' must be an absolute path shorter than 108 bytes");

	char path[VR_PATH_MAX + 1];

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[VR_PATH_MAX] = '\0'; /* 108 bytes: one too many */
	p.m.vhost_path = path;
	assert_int_equal(port_decode(&p, &(struct vr_port_req){0}), -1);
	assert_contains(err, "must be an absolute path shorter than 108 bytes");
	path[VR_PATH_MAX - 1] = '\0'; /* 107 bytes fit */
	struct vr_port_req q;

	expect_port_ok(&p, &q);
	assert_string_equal(q.socket, path);
}

static void
test_port_pci_range(void **state)
{
	struct port_msg p;

	(void)state;
	port_init(&p, VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__ADD);
	port_id(&p, 1);
	port_pci(&p, 0, 5, 0x20, 0);
	expect_port_error(&p, "PCI address 0:5:20.0 out of range (domain <= ffff, bus <= ff, "
	                      "slot <= 1f, function <= 7)");
	p.a[0].slot = 8;
	p.a[0].function = 8;
	expect_port_error(&p, "PCI address 0:5:8.8 out of range (domain <= ffff, bus <= ff, "
	                      "slot <= 1f, function <= 7)");
	p.a[0].function = 0;
	p.a[0].bus = 0x100;
	assert_int_equal(port_decode(&p, &(struct vr_port_req){0}), -1);
	assert_contains(err, "PCI address 0:100:8.0 out of range");
	p.a[0].bus = 0;
	p.a[0].domain = 0x10000;
	assert_int_equal(port_decode(&p, &(struct vr_port_req){0}), -1);
	assert_contains(err, "PCI address 10000:0:8.0 out of range");

	/* a bond member out of range, after a valid one */
	port_init(&p, VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__ADD);
	port_id(&p, 1);
	p.m.name = "net_bonding0";
	port_pci(&p, 0, 5, 8, 1);
	port_pci(&p, 0, 5, 0x20, 1);
	assert_int_equal(port_decode(&p, &(struct vr_port_req){0}), -1);
	assert_contains(err, "PCI address 0:5:20.1 out of range");
}

static void
test_port_bond(void **state)
{
	struct port_msg p;
	struct vr_port_req q;

	(void)state;
	port_init(&p, VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__ADD);
	port_id(&p, 4);
	p.m.name = "net_bonding0";
	port_pci(&p, 0, 5, 8, 1);
	port_pci(&p, 0, 0xa, 0x1f, 7);
	expect_port_ok(&p, &q);
	assert_string_equal(q.device, "net_bonding0");
	assert_int_equal(q.n_members, 2);
	assert_string_equal(q.members[0], "0000:05:08.1");
	assert_string_equal(q.members[1], "0000:0a:1f.7");
	assert_int_equal(q.mode, 1); /* active-backup unless given */

	p.m.has_mode = 1;
	p.m.mode = 4;
	expect_port_ok(&p, &q);
	assert_int_equal(q.mode, 4);
	p.m.mode = 0;
	expect_port_ok(&p, &q);
	assert_int_equal(q.mode, 0);
	p.m.mode = VR_BOND_MODE_MAX + 1;
	expect_port_error(&p, "bond mode 7 is not in 0..6");

	/* eight members is the limit */
	port_init(&p, VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__ADD);
	port_id(&p, 4);
	p.m.name = "net_bonding_x";
	for (uint32_t i = 0; i < VR_BOND_MAX; i++)
		port_pci(&p, 0, 5, 8, i);
	expect_port_ok(&p, &q);
	assert_int_equal(q.n_members, 8);
	assert_string_equal(q.members[7], "0000:05:08.7");
	port_pci(&p, 0, 5, 9, 0);
	expect_port_error(&p, "9 PCI addresses: a bond takes at most 8");
}

static void
test_port_bond_errors(void **state)
{
	struct port_msg p;
	char name[80];

	(void)state;
	/* ADD with one address and a name: a bond of one */
	port_init(&p, VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__ADD);
	port_id(&p, 1);
	port_pci(&p, 0, 5, 8, 1);
	p.m.name = "net_bonding0";
	expect_port_error(&p, "bond 'net_bonding0' has 1 PCI address: a bond needs 2 to 8");
	/* the same for ADD_SOCK */
	p.m.op = VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__ADD_SOCK;
	p.m.vhost_path = "/tmp/vm1.sock";
	expect_port_error(&p, "bond 'net_bonding0' has 1 PCI address: a bond needs 2 to 8");

	/* several addresses and no name */
	port_init(&p, VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__ADD);
	port_id(&p, 1);
	port_pci(&p, 0, 5, 8, 1);
	port_pci(&p, 0, 5, 8, 2);
	expect_port_error(&p, "2 PCI addresses but no name: a bond needs a name starting with "
	                      "net_bonding");
	p.m.name = "";
	expect_port_error(&p, "2 PCI addresses but no name: a bond needs a name starting with "
	                      "net_bonding");

	/* bad bond names */
	p.m.name = "bond0";
	expect_port_error(&p, "bond name 'bond0' must start with net_bonding, be shorter than 64 "
	                      "bytes and carry no arguments");
	p.m.name = "net_bonding0,mode=1";
	expect_port_error(&p, "bond name 'net_bonding0,mode=1' must start with net_bonding, be "
	                      "shorter than 64 bytes and carry no arguments");
	memset(name, 'x', sizeof(name));
	memcpy(name, "net_bonding", 11);
	name[64] = '\0'; /* 64 bytes: one too many */
	p.m.name = name;
	assert_int_equal(port_decode(&p, &(struct vr_port_req){0}), -1);
	assert_contains(err, "must start with net_bonding, be shorter than 64 bytes");
	name[63] = '\0';
	struct vr_port_req q;

	expect_port_ok(&p, &q);
	assert_string_equal(q.device, name);

	/* the same member twice */
	port_init(&p, VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__ADD);
	port_id(&p, 1);
	p.m.name = "net_bonding0";
	port_pci(&p, 0, 5, 8, 1);
	port_pci(&p, 0, 5, 8, 2);
	port_pci(&p, 0, 5, 8, 1);
	expect_port_error(&p, "bond net_bonding0: bond member 0000:05:08.1 is given twice");
}

static void
test_port_name_devargs(void **state)
{
	struct port_msg p;
	struct vr_port_req q;

	(void)state;
	/* no address: the name is one device's devargs, kept verbatim */
	port_init(&p, VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__ADD);
	port_id(&p, 2);
	p.m.name = "net_tap0,iface=tap0";
	expect_port_ok(&p, &q);
	assert_string_equal(q.device, "net_tap0,iface=tap0");
	assert_int_equal(q.n_members, 0);

	/* a name that is a PCI address is canonicalised */
	p.m.name = "0000:0A:1F.7";
	expect_port_ok(&p, &q);
	assert_string_equal(q.device, "0000:0a:1f.7");
	p.m.name = "0a:1f.7";
	expect_port_ok(&p, &q);
	assert_string_equal(q.device, "0000:0a:1f.7");

	/* a mode without a bond is ignored */
	p.m.has_mode = 1;
	p.m.mode = 99;
	expect_port_ok(&p, &q);

	/* devargs up to VR_DEVARGS_MAX - 1 bytes */
	static char big[VR_DEVARGS_MAX + 1];

	memset(big, 'a', sizeof(big));
	memcpy(big, "net_null0,", 10);
	big[VR_DEVARGS_MAX] = '\0';
	p.m.name = big;
	expect_port_error(&p, "device devargs of 1024 bytes: the limit is 1023");
	big[VR_DEVARGS_MAX - 1] = '\0';
	expect_port_ok(&p, &q);
	assert_int_equal(strlen(q.device), VR_DEVARGS_MAX - 1);

	/* one address and a name outside ADD: the address is the device */
	port_init(&p, VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__REMOVE_SOCK);
	port_pci(&p, 0, 5, 8, 1);
	p.m.name = "net_bonding0";
	expect_port_ok(&p, &q);
	assert_string_equal(q.device, "0000:05:08.1");
}

static void
test_port_conditional(void **state)
{
	struct port_msg p;
	struct vr_port_req q;

	(void)state;
	port_init(&p, VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__REMOVE);
	port_id(&p, 1);
	expect_port_ok(&p, &q);
	assert_true(q.conditional);
	p.m.has_conditional = 1;
	p.m.conditional = 0;
	expect_port_ok(&p, &q);
	assert_false(q.conditional);
	p.m.conditional = 1;
	expect_port_ok(&p, &q);
	assert_true(q.conditional);

	/* the absent default on the wire: a request without field 4 at all */
	static const uint8_t raw[] = {0x08, 0x01, 0x18, 0x05}; /* op=REMOVE virtio_id=5 */
	uint8_t *buf = dup_bytes(raw, sizeof(raw));

	assert_int_equal(vr_port_req_decode(buf, sizeof(raw), &q, err, sizeof(err)), 0);
	assert_int_equal(q.op, VR_PORT_REMOVE);
	assert_int_equal(q.id, 5);
	assert_true(q.conditional);
	free(buf);
}

static void
test_port_other_ops(void **state)
{
	struct port_msg p;
	struct vr_port_req q;

	(void)state;
	/* ADD_SOCK: device and vhost_path, virtio_id optional */
	port_init(&p, VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__ADD_SOCK);
	port_pci(&p, 0, 5, 8, 1);
	p.m.vhost_path = "/tmp/virtio-forwarder/vm1.sock";
	expect_port_ok(&p, &q);
	assert_int_equal(q.op, VR_PORT_ADD_SOCK);
	assert_int_equal(q.id, -1);
	assert_string_equal(q.device, "0000:05:08.1");
	assert_string_equal(q.socket, "/tmp/virtio-forwarder/vm1.sock");
	port_id(&p, 9);
	expect_port_ok(&p, &q);
	assert_int_equal(q.id, 9);
	p.m.vhost_path = NULL;
	expect_port_error(&p, "ADD_SOCK: vhost_path is missing");
	port_init(&p, VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__ADD_SOCK);
	p.m.vhost_path = "/tmp/vm1.sock";
	expect_port_error(&p, "ADD_SOCK: no device: give pci_addrs, or name with the devargs");
	port_id(&p, 64);
	expect_port_error(&p, "ADD_SOCK: virtio_id 64 is not in 0..63");

	/* REMOVE: virtio_id */
	port_init(&p, VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__REMOVE);
	expect_port_error(&p, "REMOVE: virtio_id is missing");
	port_pci(&p, 0, 5, 8, 1);
	expect_port_error(&p, "REMOVE: virtio_id is missing");
	port_id(&p, 64);
	expect_port_error(&p, "REMOVE: virtio_id 64 is not in 0..63");
	port_id(&p, 7);
	expect_port_ok(&p, &q);
	assert_int_equal(q.op, VR_PORT_REMOVE);
	assert_int_equal(q.id, 7);
	assert_string_equal(q.device, "0000:05:08.1");

	/* REMOVE_SOCK: vhost_path or the device */
	port_init(&p, VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__REMOVE_SOCK);
	expect_port_error(&p, "REMOVE_SOCK: give vhost_path or the device");
	p.m.vhost_path = "/tmp/vm1.sock";
	expect_port_ok(&p, &q);
	assert_int_equal(q.op, VR_PORT_REMOVE_SOCK);
	assert_string_equal(q.socket, "/tmp/vm1.sock");
	assert_string_equal(q.device, "");
	p.m.vhost_path = NULL;
	p.m.name = "net_tap0";
	expect_port_ok(&p, &q);
	assert_string_equal(q.device, "net_tap0");
	assert_string_equal(q.socket, "");
	p.m.vhost_path = "rel.sock";
	expect_port_error(&p, "REMOVE_SOCK: vhost_path 'rel.sock' must be an absolute path "
	                      "shorter than 108 bytes");

	/* QUERY_PCI: vhost_path */
	port_init(&p, VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__QUERY_PCI);
	expect_port_error(&p, "QUERY_PCI: vhost_path is missing");
	port_pci(&p, 0, 5, 8, 1);
	expect_port_error(&p, "QUERY_PCI: vhost_path is missing");
	p.m.vhost_path = "/tmp/vm1.sock";
	expect_port_ok(&p, &q);
	assert_int_equal(q.op, VR_PORT_QUERY);
	assert_string_equal(q.socket, "/tmp/vm1.sock");

	/* a decode starts from a clean struct: nothing left from the last one */
	port_init(&p, VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__REMOVE);
	port_id(&p, 1);
	expect_port_ok(&p, &q);
	assert_string_equal(q.socket, "");
	assert_string_equal(q.device, "");
	assert_int_equal(q.n_members, 0);
}

static void
test_port_malformed(void **state)
{
	struct vr_port_req q;
	uint8_t *buf;

	(void)state;
	/* empty: the required op is missing */
	buf = dup_bytes("", 0);
	assert_int_equal(vr_port_req_decode(buf, 0, &q, err, sizeof(err)), -1);
	assert_string_equal(err, "malformed PortControlRequest (0 bytes): not valid protobuf, a "
	                         "wrong field type, or the required field op missing");
	free(buf);

	/* fields but no op */
	static const uint8_t no_op[] = {0x18, 0x05};
	buf = dup_bytes(no_op, sizeof(no_op));
	assert_int_equal(vr_port_req_decode(buf, sizeof(no_op), &q, err, sizeof(err)), -1);
	assert_contains(err, "malformed PortControlRequest (2 bytes)");
	free(buf);

	/* garbage */
	static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	buf = dup_bytes(garbage, sizeof(garbage));
	assert_int_equal(vr_port_req_decode(buf, sizeof(garbage), &q, err, sizeof(err)), -1);
	assert_contains(err, "malformed PortControlRequest (9 bytes)");
	free(buf);

	/* a string where op's varint should be */
	static const uint8_t wrong_type[] = {0x0a, 0x01, 'x'};
	buf = dup_bytes(wrong_type, sizeof(wrong_type));
	assert_int_equal(vr_port_req_decode(buf, sizeof(wrong_type), &q, err, sizeof(err)), -1);
	assert_contains(err, "malformed PortControlRequest (3 bytes)");
	free(buf);

	/* a length running past the end */
	static const uint8_t truncated[] = {0x08, 0x00, 0x2a, 0x10, 'n', 'e', 't'};
	buf = dup_bytes(truncated, sizeof(truncated));
	assert_int_equal(vr_port_req_decode(buf, sizeof(truncated), &q, err, sizeof(err)), -1);
	assert_contains(err, "malformed PortControlRequest (7 bytes)");
	free(buf);
}

static void
test_port_oversized(void **state)
{
	struct vr_port_req q;
	size_t n = VR_REQ_MAX_BYTES + 1;
	uint8_t *buf = calloc(1, n);

	(void)state;
	assert_non_null(buf);
	assert_int_equal(vr_port_req_decode(buf, n, &q, err, sizeof(err)), -1);
	assert_string_equal(err, "PortControlRequest of 65537 bytes is larger than 65536 bytes");
	free(buf);

	/* exactly VR_REQ_MAX_BYTES is read: here a valid frame whose name is
	 * too long for devargs, so the error comes from the decoded request */
	struct port_msg p;
	char *name = malloc(VR_REQ_MAX_BYTES);
	size_t packed;

	assert_non_null(name);
	port_init(&p, VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__ADD);
	port_id(&p, 1);
	/* 2 bytes op, 2 virtio_id, 1 tag + 3 length bytes: the rest is the name */
	memset(name, 'a', VR_REQ_MAX_BYTES - 8);
	name[VR_REQ_MAX_BYTES - 8] = '\0';
	p.m.name = name;
	packed = virtioforwarder__port_control_request__get_packed_size(&p.m);
	assert_int_equal(packed, VR_REQ_MAX_BYTES);
	assert_int_equal(port_decode(&p, &q), -1);
	assert_string_equal(err, "device devargs of 65528 bytes: the limit is 1023");
	free(name);
}

static void
test_port_unknown_op(void **state)
{
	struct port_msg p;

	(void)state;
	/* protobuf-c does not check enum values on unpack: the decoder must */
	port_init(&p, 9);
	port_id(&p, 1);
	expect_port_error(&p, "unknown port control op 9");
	port_init(&p, 5);
	expect_port_error(&p, "unknown port control op 5");
	port_init(&p, -1);
	expect_port_error(&p, "unknown port control op -1");

	assert_string_equal(vr_port_op_name(VR_PORT_ADD), "ADD");
	assert_string_equal(vr_port_op_name(VR_PORT_REMOVE), "REMOVE");
	assert_string_equal(vr_port_op_name(VR_PORT_ADD_SOCK), "ADD_SOCK");
	assert_string_equal(vr_port_op_name(VR_PORT_REMOVE_SOCK), "REMOVE_SOCK");
	assert_string_equal(vr_port_op_name(VR_PORT_QUERY), "QUERY_PCI");
	assert_string_equal(vr_port_op_name((enum vr_port_op)9), "?");
}

/* ---- StatsRequest ------------------------------------------------------- */

static int
stats_decode(const StatsReq *m, struct vr_stats_req *q)
{
	size_t n = virtioforwarder__stats_request__get_packed_size(m);
	uint8_t *buf = malloc(n > 0 ? n : 1);
	int rc;

	assert_non_null(buf);
	assert_int_equal(virtioforwarder__stats_request__pack(m, buf), n);
	err[0] = '\0';
	rc = vr_stats_req_decode(buf, n, q, err, sizeof(err));
	free(buf);
	return rc;
}

static void
test_stats_defaults(void **state)
{
	StatsReq m;
	struct vr_stats_req q;
	uint8_t *buf;

	(void)state;
	/* an empty frame is a valid request: every relay, inactive ones too */
	buf = dup_bytes("", 0);
	assert_int_equal(vr_stats_req_decode(buf, 0, &q, err, sizeof(err)), VR_STATS_OK);
	assert_int_equal(q.n, 0);
	assert_true(q.include_inactive);
	assert_int_equal(q.delay_ms, 0);
	free(buf);

	virtioforwarder__stats_request__init(&m);
	assert_int_equal(stats_decode(&m, &q), VR_STATS_OK);
	assert_int_equal(q.n, 0);
	assert_true(q.include_inactive);

	m.has_include_inactive = 1;
	m.include_inactive = 0;
	m.has_delay = 1;
	m.delay = VR_STATS_DELAY_MAX;
	assert_int_equal(stats_decode(&m, &q), VR_STATS_OK);
	assert_false(q.include_inactive);
	assert_int_equal(q.delay_ms, 60000);
}

static void
test_stats_relays(void **state)
{
	uint32_t ids[VR_MAX_RELAYS + 1];
	StatsReq m;
	struct vr_stats_req q;

	(void)state;
	virtioforwarder__stats_request__init(&m);
	m.relay = ids;
	ids[0] = 5;
	ids[1] = 0;
	ids[2] = 63;
	m.n_relay = 3;
	assert_int_equal(stats_decode(&m, &q), VR_STATS_OK);
	assert_int_equal(q.n, 3);
	assert_int_equal(q.ids[0], 5);
	assert_int_equal(q.ids[1], 0);
	assert_int_equal(q.ids[2], 63);

	/* 64 relays is the most */
	for (uint32_t i = 0; i <= VR_MAX_RELAYS; i++)
		ids[i] = i % VR_MAX_RELAYS;
	m.n_relay = VR_MAX_RELAYS;
	assert_int_equal(stats_decode(&m, &q), VR_STATS_OK);
	assert_int_equal(q.n, 64);
	assert_int_equal(q.ids[63], 63);
	m.n_relay = VR_MAX_RELAYS + 1;
	assert_int_equal(stats_decode(&m, &q), VR_STATS_E2BIG);
	assert_string_equal(err, "65 relays asked for: at most 64");

	/* an id out of range */
	ids[1] = VR_MAX_RELAYS;
	m.n_relay = 2;
	assert_int_equal(stats_decode(&m, &q), VR_STATS_EBADR);
	assert_string_equal(err, "relay 64 is not in 0..63");
	ids[1] = UINT32_MAX;
	assert_int_equal(stats_decode(&m, &q), VR_STATS_EBADR);
	assert_string_equal(err, "relay 4294967295 is not in 0..63");
}

static void
test_stats_errors(void **state)
{
	StatsReq m;
	struct vr_stats_req q;
	uint8_t *buf;

	(void)state;
	virtioforwarder__stats_request__init(&m);
	m.has_delay = 1;
	m.delay = VR_STATS_DELAY_MAX + 1;
	assert_int_equal(stats_decode(&m, &q), VR_STATS_EBADR);
	assert_string_equal(err, "delay 60001 ms is longer than 60000 ms");

	static const uint8_t garbage[] = {0x0a, 0x05, 0x01};
	buf = dup_bytes(garbage, sizeof(garbage));
	assert_int_equal(vr_stats_req_decode(buf, sizeof(garbage), &q, err, sizeof(err)),
	                 VR_STATS_EBADR);
	assert_string_equal(err, "malformed StatsRequest (3 bytes)");
	free(buf);

	size_t n = VR_REQ_MAX_BYTES + 1;

	buf = calloc(1, n);
	assert_non_null(buf);
	assert_int_equal(vr_stats_req_decode(buf, n, &q, err, sizeof(err)), VR_STATS_EBADR);
	assert_string_equal(err, "StatsRequest of 65537 bytes is larger than 65536 bytes");
	free(buf);
}

/* ---- CoreSchedRequest --------------------------------------------------- */

struct sched_msg {
	SchedReq m;
	SchedCpu e[VR_MAX_RELAYS + 2];
	SchedCpu *pe[VR_MAX_RELAYS + 2];
};

static void
sched_init(struct sched_msg *s, int op)
{
	virtioforwarder__core_sched_request__init(&s->m);
	s->m.op = (Virtioforwarder__CoreSchedRequest__Op)op;
	s->m.relay_cpu_map = s->pe;
	s->m.n_relay_cpu_map = 0;
}

static void
sched_add(struct sched_msg *s, int32_t relay, int32_t virtio2vf, int32_t vf2virtio)
{
	SchedCpu *e = &s->e[s->m.n_relay_cpu_map];

	assert_true(s->m.n_relay_cpu_map < VR_MAX_RELAYS + 2);
	virtioforwarder__core_sched_request__relay_cpu__init(e);
	e->relay_number = relay;
	e->virtio2vf_cpu = virtio2vf;
	e->vf2virtio_cpu = vf2virtio;
	s->pe[s->m.n_relay_cpu_map++] = e;
}

static int
sched_decode(const struct sched_msg *s, struct vr_sched_req *q)
{
	size_t n = virtioforwarder__core_sched_request__get_packed_size(&s->m);
	uint8_t *buf = malloc(n > 0 ? n : 1);
	int rc;

	assert_non_null(buf);
	assert_int_equal(virtioforwarder__core_sched_request__pack(&s->m, buf), n);
	err[0] = '\0';
	rc = vr_sched_req_decode(buf, n, q, err, sizeof(err));
	free(buf);
	return rc;
}

static void
expect_sched_error(const struct sched_msg *s, const char *msg)
{
	struct vr_sched_req q;

	if (sched_decode(s, &q) != -1)
		fail_msg("request accepted, expected '%s'", msg);
	assert_string_equal(err, msg);
}

static void
test_sched_get_cores(void **state)
{
	static struct sched_msg s;
	struct vr_sched_req q;

	(void)state;
	sched_init(&s, VIRTIOFORWARDER__CORE_SCHED_REQUEST__OP__GET_EAL_CORES);
	assert_int_equal(sched_decode(&s, &q), 0);
	assert_true(q.get_cores);
	assert_int_equal(q.n, 0);
	/* a map alongside is ignored, not checked */
	sched_add(&s, 99, -5, 1000);
	assert_int_equal(sched_decode(&s, &q), 0);
	assert_true(q.get_cores);
	assert_int_equal(q.n, 0);
}

static void
test_sched_update(void **state)
{
	static struct sched_msg s;
	struct vr_sched_req q;

	(void)state;
	sched_init(&s, VIRTIOFORWARDER__CORE_SCHED_REQUEST__OP__UPDATE);
	sched_add(&s, 3, 1, 2);
	sched_add(&s, 0, -1, 125);
	sched_add(&s, 63, 4, -1);
	if (sched_decode(&s, &q) != 0)
		fail_msg("refused: %s", err);
	assert_false(q.get_cores);
	assert_int_equal(q.n, 3);
	/* virtio2vf is guest to device (vm2dev): cpu[0]; vf2virtio cpu[1] */
	assert_int_equal(q.map[0].id, 3);
	assert_int_equal(q.map[0].cpu[0], 1);
	assert_int_equal(q.map[0].cpu[1], 2);
	assert_int_equal(q.map[1].id, 0);
	assert_int_equal(q.map[1].cpu[0], VR_CPU_UNPINNED);
	assert_int_equal(q.map[1].cpu[1], 125);
	assert_int_equal(q.map[2].id, 63);
	assert_int_equal(q.map[2].cpu[0], 4);
	assert_int_equal(q.map[2].cpu[1], VR_CPU_UNPINNED);

	/* every relay at once */
	sched_init(&s, VIRTIOFORWARDER__CORE_SCHED_REQUEST__OP__UPDATE);
	for (int i = 0; i < VR_MAX_RELAYS; i++)
		sched_add(&s, i, i, i + 1);
	assert_int_equal(sched_decode(&s, &q), 0);
	assert_int_equal(q.n, 64);
	assert_int_equal(q.map[63].id, 63);
	assert_int_equal(q.map[63].cpu[1], 64);
}

static void
test_sched_errors(void **state)
{
	static struct sched_msg s;

	(void)state;
	sched_init(&s, VIRTIOFORWARDER__CORE_SCHED_REQUEST__OP__UPDATE);
	expect_sched_error(&s, "UPDATE carries 0 relays: give 1..64");
	for (int i = 0; i <= VR_MAX_RELAYS; i++)
		sched_add(&s, i % VR_MAX_RELAYS, 1, 1);
	expect_sched_error(&s, "UPDATE carries 65 relays: give 1..64");

	sched_init(&s, VIRTIOFORWARDER__CORE_SCHED_REQUEST__OP__UPDATE);
	sched_add(&s, 3, 1, 2);
	sched_add(&s, 4, 1, 2);
	sched_add(&s, 3, 2, 1);
	expect_sched_error(&s, "relay 3 appears twice");

	sched_init(&s, VIRTIOFORWARDER__CORE_SCHED_REQUEST__OP__UPDATE);
	sched_add(&s, 64, 1, 2);
	expect_sched_error(&s, "relay 64 is not in 0..63");
	s.e[0].relay_number = -1;
	expect_sched_error(&s, "relay -1 is not in 0..63");

	sched_init(&s, VIRTIOFORWARDER__CORE_SCHED_REQUEST__OP__UPDATE);
	sched_add(&s, 2, -2, 1);
	expect_sched_error(&s, "relay 2: virtio2vf_cpu -2 is not a CPU (or -1 to leave it)");
	s.e[0].virtio2vf_cpu = VR_MAX_CPUS;
	expect_sched_error(&s, "relay 2: virtio2vf_cpu 126 is not a CPU (or -1 to leave it)");
	s.e[0].virtio2vf_cpu = 1;
	s.e[0].vf2virtio_cpu = -2;
	expect_sched_error(&s, "relay 2: vf2virtio_cpu -2 is not a CPU (or -1 to leave it)");
	s.e[0].vf2virtio_cpu = INT32_MIN;
	expect_sched_error(&s,
	                   "relay 2: vf2virtio_cpu -2147483648 is not a CPU (or -1 to leave it)");

	sched_init(&s, 2);
	sched_add(&s, 1, 1, 1);
	expect_sched_error(&s, "unknown core scheduler op 2");
	sched_init(&s, -1);
	expect_sched_error(&s, "unknown core scheduler op -1");
}

static void
test_sched_malformed(void **state)
{
	struct vr_sched_req q;
	uint8_t *buf;

	(void)state;
	buf = dup_bytes("", 0);
	assert_int_equal(vr_sched_req_decode(buf, 0, &q, err, sizeof(err)), -1);
	assert_string_equal(err, "malformed CoreSchedRequest (0 bytes)");
	free(buf);

	/* a map entry without its required CPUs */
	static const uint8_t partial[] = {0x08, 0x00, 0x12, 0x02, 0x08, 0x01};
	buf = dup_bytes(partial, sizeof(partial));
	assert_int_equal(vr_sched_req_decode(buf, sizeof(partial), &q, err, sizeof(err)), -1);
	assert_string_equal(err, "malformed CoreSchedRequest (6 bytes)");
	free(buf);

	size_t n = VR_REQ_MAX_BYTES + 1;

	buf = calloc(1, n);
	assert_non_null(buf);
	assert_int_equal(vr_sched_req_decode(buf, n, &q, err, sizeof(err)), -1);
	assert_string_equal(err, "CoreSchedRequest of 65537 bytes is larger than 65536 bytes");
	free(buf);
}

/* ---- ConfigRequest ------------------------------------------------------ */

static void
test_config_req(void **state)
{
	Virtioforwarder__ConfigRequest m;
	uint8_t *buf;
	size_t n;

	(void)state;
	virtioforwarder__config_request__init(&m);
	n = virtioforwarder__config_request__get_packed_size(&m);
	assert_int_equal(n, 0);
	buf = dup_bytes("", 0);
	assert_int_equal(vr_config_req_decode(buf, 0, err, sizeof(err)), 0);
	free(buf);

	/* fields a newer client sends are skipped */
	static const uint8_t unknown[] = {0x08, 0x01, 0x12, 0x01, 'x'};
	buf = dup_bytes(unknown, sizeof(unknown));
	assert_int_equal(vr_config_req_decode(buf, sizeof(unknown), err, sizeof(err)), 0);
	free(buf);

	static const uint8_t garbage[] = {0x0a, 0x05, 0x01};
	buf = dup_bytes(garbage, sizeof(garbage));
	err[0] = '\0';
	assert_int_equal(vr_config_req_decode(buf, sizeof(garbage), err, sizeof(err)), -1);
	assert_string_equal(err, "malformed ConfigRequest (3 bytes)");
	free(buf);

	n = VR_REQ_MAX_BYTES + 1;
	buf = calloc(1, n);
	assert_non_null(buf);
	assert_int_equal(vr_config_req_decode(buf, n, err, sizeof(err)), -1);
	assert_string_equal(err, "ConfigRequest of 65537 bytes is larger than 65536 bytes");
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_port_add_pci),     cmocka_unit_test(test_port_add_errors),
	    cmocka_unit_test(test_port_pci_range),   cmocka_unit_test(test_port_bond),
	    cmocka_unit_test(test_port_bond_errors), cmocka_unit_test(test_port_name_devargs),
	    cmocka_unit_test(test_port_conditional), cmocka_unit_test(test_port_other_ops),
	    cmocka_unit_test(test_port_malformed),   cmocka_unit_test(test_port_oversized),
	    cmocka_unit_test(test_port_unknown_op),  cmocka_unit_test(test_stats_defaults),
	    cmocka_unit_test(test_stats_relays),     cmocka_unit_test(test_stats_errors),
	    cmocka_unit_test(test_sched_get_cores),  cmocka_unit_test(test_sched_update),
	    cmocka_unit_test(test_sched_errors),     cmocka_unit_test(test_sched_malformed),
	    cmocka_unit_test(test_config_req),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
