/* SPDX-License-Identifier: BSD-3-Clause */
#include "request.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "errmsg.h"
#include "virtioforwarder.pb-c.h"

const char *
vr_port_op_name(enum vr_port_op op)
{
	static const char *const names[] = {"ADD",       "REMOVE",   "ADD_SOCK", "REMOVE_SOCK",
	                                    "QUERY_PCI", "ANNOUNCE", "REDIRECT", "UNREDIRECT"};

	return op <= VR_PORT_UNREDIRECT ? names[op] : "?";
}

static int
check_size(size_t len, const char *what, char *err, size_t errlen)
{
	if (len > VR_REQ_MAX_BYTES)
		return vr_err(err, errlen, "%s of %zu bytes is larger than %d bytes", what, len,
		              VR_REQ_MAX_BYTES);
	return 0;
}

static int
pci_string(const Virtioforwarder__PortControlRequest__PciAddress *a, char out[16], char *err,
           size_t errlen)
{
	if (a->domain > 0xffff || a->bus > 0xff || a->slot > 0x1f || a->function > 7)
		return vr_err(err, errlen,
		              "PCI address %x:%x:%x.%x out of range (domain <= ffff, bus <= ff, "
		              "slot <= 1f, function <= 7)",
		              a->domain, a->bus, a->slot, a->function);
	snprintf(out, 16, "%04x:%02x:%02x.%x", a->domain, a->bus, a->slot, a->function);
	return 0;
}

/* The device a request names: one PCI address, a bond, or devargs in name. */
static int
port_device(const Virtioforwarder__PortControlRequest *m, struct vr_port_req *q, char *err,
            size_t errlen)
{
	bool adding = q->op == VR_PORT_ADD || q->op == VR_PORT_ADD_SOCK;
	bool has_name = m->name != NULL && m->name[0] != '\0';
	char pci[16], sub[VR_ERR_MAX];

	if (m->n_pci_addrs > VR_BOND_MAX)
		return vr_err(err, errlen, "%zu PCI addresses: a bond takes at most %d",
		              m->n_pci_addrs, VR_BOND_MAX);
	if (m->n_pci_addrs == 1) {
		if (pci_string(m->pci_addrs[0], pci, err, errlen) < 0)
			return -1;
		if (adding && has_name)
			return vr_err(err, errlen,
			              "bond '%s' has 1 PCI address: a bond needs 2 to %d", m->name,
			              VR_BOND_MAX);
		snprintf(q->device, sizeof(q->device), "%s", pci);
		return 0;
	}
	if (m->n_pci_addrs > 1) {
		if (!has_name)
			return vr_err(err, errlen,
			              "%zu PCI addresses but no name: a bond needs a name starting "
			              "with net_bonding",
			              m->n_pci_addrs);
		if (strncmp(m->name, "net_bonding", 11) != 0 || strchr(m->name, ',') != NULL ||
		    strlen(m->name) >= 64)
			return vr_err(
			    err, errlen,
			    "bond name '%.64s' must start with net_bonding, be shorter than "
			    "64 bytes and carry no arguments",
			    m->name);
		if (m->has_mode && m->mode > VR_BOND_MODE_MAX)
			return vr_err(err, errlen, "bond mode %u is not in 0..%d", m->mode,
			              VR_BOND_MODE_MAX);
		q->mode = m->has_mode ? (uint8_t)m->mode : 1; /* active-backup, as the original */
		snprintf(q->device, sizeof(q->device), "%s", m->name);
		for (size_t i = 0; i < m->n_pci_addrs; i++) {
			struct vr_relay_conf tmp;

			if (pci_string(m->pci_addrs[i], pci, err, errlen) < 0)
				return -1;
			tmp.n_members = q->n_members;
			memcpy(tmp.members, q->members, sizeof(tmp.members));
			if (vr_relay_conf_add_member(&tmp, pci, sub, sizeof(sub)) < 0)
				return vr_err(err, errlen, "bond %s: %s", m->name, sub);
			snprintf(q->members[q->n_members++], VR_MEMBER_MAX, "%s", pci);
		}
		return 0;
	}
	if (has_name) { /* no address: name carries one device's devargs */
		if (strlen(m->name) >= sizeof(q->device))
			return vr_err(err, errlen, "device devargs of %zu bytes: the limit is %d",
			              strlen(m->name), VR_DEVARGS_MAX - 1);
		if (vr_pci_parse(m->name, pci) == 0)
			snprintf(q->device, sizeof(q->device), "%s", pci);
		else
			snprintf(q->device, sizeof(q->device), "%s", m->name);
	}
	return 0;
}

/* The announce items: a MAC, then at most VR_ADDRS_MAX of each family,
 * each once, into a. */
static int
addrs_checks(const Virtioforwarder__PortControlRequest *m, const char *op, struct vr_addrs *a,
             char *err, size_t errlen)
{
	char sub[VR_ERR_MAX];

	if (m->n_announce > 1 + 2 * VR_ADDRS_MAX)
		return vr_err(err, errlen, "%s: give a MAC and up to %d addresses, not %zu items",
		              op, 2 * VR_ADDRS_MAX, m->n_announce);
	for (size_t i = 0; i < m->n_announce; i++) {
		struct vr_addrs before = *a;

		if (vr_addrs_parse(a, m->announce[i], sub, sizeof(sub)) < 0)
			return vr_err(err, errlen, "%s: %s", op, sub);
		if (memcmp(&before, a, sizeof(before)) == 0 ||
		    (before.has_mac && memcmp(before.mac, a->mac, 6) != 0))
			return vr_err(err, errlen,
			              "%s: '%.64s': one MAC only, and no address twice", op,
			              m->announce[i]);
		if (a->next4 != before.next4 || a->next6 != before.next6)
			return vr_err(err, errlen, "%s: more than %d addresses of a family", op,
			              VR_ADDRS_MAX);
	}
	if (m->n_announce > 0 && !a->has_mac)
		return vr_err(err, errlen, "%s: no MAC address among the items", op);
	return 0;
}

/* ANNOUNCE: a relay and a MAC, then at most VR_ADDRS_MAX of each family. */
static int
announce_checks(const Virtioforwarder__PortControlRequest *m, struct vr_port_req *q, char *err,
                size_t errlen)
{
	if (q->id < 0)
		return vr_err(err, errlen, "ANNOUNCE: virtio_id is missing");
	if (m->n_announce == 0)
		return vr_err(err, errlen,
		              "ANNOUNCE: give a MAC and up to %d addresses, not 0 "
		              "items",
		              2 * VR_ADDRS_MAX);
	q->announce_now = m->has_announce_now && m->announce_now;
	return addrs_checks(m, "ANNOUNCE", &q->announce, err, errlen);
}

/* REDIRECT's keys: none, or all four with sound lengths and SPIs. */
static int
sa_checks(const Virtioforwarder__PortControlRequest__Redirect *r, struct vr_redirect_req *o,
          char *err, size_t errlen)
{
	if (r->n_sa != 0 && r->n_sa != VR_REDIRECT_SAS)
		return vr_err(err, errlen,
		              "REDIRECT: give no SA or %d (out IPv4, out IPv6, in "
		              "IPv4, in IPv6), not %zu",
		              VR_REDIRECT_SAS, r->n_sa);
	for (size_t i = 0; i < r->n_sa; i++) {
		const Virtioforwarder__PortControlRequest__Redirect__SA *a = r->sa[i];
		struct vr_esp_key *k = &o->sa[i];

		if (a->spi < 256)
			return vr_err(err, errlen, "REDIRECT: SA %zu: SPI %u is reserved (< 256)",
			              i, a->spi);
		if ((a->key.len != 16 && a->key.len != 32) || a->salt.len != 4)
			return vr_err(err, errlen,
			              "REDIRECT: SA %zu: a key of 16 or 32 bytes and a "
			              "salt of 4, not %zu and %zu",
			              i, a->key.len, a->salt.len);
		for (size_t j = 0; j < i; j++)
			if (o->sa[j].spi == a->spi)
				return vr_err(err, errlen, "REDIRECT: SPI %u twice", a->spi);
		k->spi = a->spi;
		k->key_len = (uint8_t)a->key.len;
		memcpy(k->key, a->key.data, a->key.len);
		memcpy(k->salt, a->salt.data, 4);
	}
	o->n_sa = (uint8_t)r->n_sa;
	return 0;
}

/* REDIRECT: a relay, a role, the peer's address, the guest (needed at the
 * destination), the old gateway's MAC (needed at the destination), keys. */
static int
redirect_checks(const Virtioforwarder__PortControlRequest *m, struct vr_port_req *q, char *err,
                size_t errlen)
{
	const Virtioforwarder__PortControlRequest__Redirect *r = m->redirect;
	struct vr_redirect_req *o = &q->redirect;

	if (q->id < 0)
		return vr_err(err, errlen, "REDIRECT: virtio_id is missing");
	if (r == NULL)
		return vr_err(err, errlen, "REDIRECT: the redirect field is missing");
	o->role = r->role == VIRTIOFORWARDER__PORT_CONTROL_REQUEST__REDIRECT__ROLE__SOURCE
	              ? VR_TUNNEL_SOURCE
	              : VR_TUNNEL_DEST;
	o->peer6 = strchr(r->peer, ':') != NULL;
	if (inet_pton(o->peer6 ? AF_INET6 : AF_INET, r->peer, o->peer) != 1)
		return vr_err(err, errlen, "REDIRECT: peer '%.64s' is not an IPv4 or IPv6 address",
		              r->peer);
	if (addrs_checks(m, "REDIRECT", &o->guest, err, errlen) < 0)
		return -1;
	if (r->gateway_mac != NULL) {
		struct vr_addrs gw = {0};

		if (vr_addrs_parse(&gw, r->gateway_mac, err, errlen) < 0 || !gw.has_mac)
			return vr_err(err, errlen,
			              "REDIRECT: gateway_mac '%.64s' is not a unicast "
			              "MAC",
			              r->gateway_mac);
		o->has_gw_mac = true;
		memcpy(o->gw_mac, gw.mac, 6);
	}
	if (r->peer_mac != NULL) {
		struct vr_addrs pm = {0};

		if (vr_addrs_parse(&pm, r->peer_mac, err, errlen) < 0 || !pm.has_mac)
			return vr_err(err, errlen,
			              "REDIRECT: peer_mac '%.64s' is not a unicast MAC",
			              r->peer_mac);
		o->has_peer_mac = true;
		memcpy(o->peer_mac, pm.mac, 6);
	}
	o->handover = r->has_handover && r->handover;
	if (o->handover && !o->has_peer_mac)
		return vr_err(err, errlen,
		              "REDIRECT: a handover is within one LAN: it needs the peer's "
		              "peer_mac");
	o->peer_relay = r->has_peer_relay ? (int)r->peer_relay : -1;
	if (r->has_peer_relay && r->peer_relay >= VR_MAX_RELAYS)
		return vr_err(err, errlen, "REDIRECT: peer_relay %u is not in 0..%d", r->peer_relay,
		              VR_MAX_RELAYS - 1);
	if (r->peer_control != NULL && strlen(r->peer_control) >= sizeof(o->peer_control))
		return vr_err(err, errlen, "REDIRECT: peer_control is longer than %zu bytes",
		              sizeof(o->peer_control) - 1);
	if (r->peer_control != NULL)
		snprintf(o->peer_control, sizeof(o->peer_control), "%s", r->peer_control);
	if (o->role == VR_TUNNEL_DEST && (!o->guest.has_mac || !o->has_gw_mac || r->n_sa == 0))
		return vr_err(err, errlen,
		              "REDIRECT: the destination needs the guest (announce), "
		              "gateway_mac and the keys: send it the source's peer_request");
	return sa_checks(r, o, err, errlen);
}

static int
port_checks(const Virtioforwarder__PortControlRequest *m, struct vr_port_req *q, char *err,
            size_t errlen)
{
	const char *op = vr_port_op_name(q->op);

	if (m->has_virtio_id) {
		if (m->virtio_id >= VR_MAX_RELAYS)
			return vr_err(err, errlen, "%s: virtio_id %u is not in 0..%d", op,
			              m->virtio_id, VR_MAX_RELAYS - 1);
		q->id = (int)m->virtio_id;
	}
	if (m->vhost_path != NULL) {
		if (m->vhost_path[0] != '/' || strlen(m->vhost_path) >= VR_PATH_MAX)
			return vr_err(
			    err, errlen,
			    "%s: vhost_path '%.128s' must be an absolute path shorter than "
			    "%d bytes",
			    op, m->vhost_path, VR_PATH_MAX);
		snprintf(q->socket, sizeof(q->socket), "%s", m->vhost_path);
	}
	switch (q->op) {
	case VR_PORT_ADD:
		if (q->id < 0)
			return vr_err(err, errlen, "ADD: virtio_id is missing");
		/* fall through */
	case VR_PORT_ADD_SOCK:
		if (q->device[0] == '\0')
			return vr_err(err, errlen,
			              "%s: no device: give pci_addrs, or name with the devargs",
			              op);
		if (q->op == VR_PORT_ADD_SOCK && q->socket[0] == '\0')
			return vr_err(err, errlen, "ADD_SOCK: vhost_path is missing");
		return 0;
	case VR_PORT_REMOVE:
		if (q->id < 0)
			return vr_err(err, errlen, "REMOVE: virtio_id is missing");
		return 0;
	case VR_PORT_REMOVE_SOCK:
		if (q->socket[0] == '\0' && q->device[0] == '\0')
			return vr_err(err, errlen, "REMOVE_SOCK: give vhost_path or the device");
		return 0;
	case VR_PORT_QUERY:
		if (q->socket[0] == '\0')
			return vr_err(err, errlen, "QUERY_PCI: vhost_path is missing");
		return 0;
	case VR_PORT_ANNOUNCE:
		return announce_checks(m, q, err, errlen);
	case VR_PORT_REDIRECT:
		return redirect_checks(m, q, err, errlen);
	case VR_PORT_UNREDIRECT:
		if (q->id < 0)
			return vr_err(err, errlen, "UNREDIRECT: virtio_id is missing");
		return 0;
	}
	return 0;
}

int
vr_port_req_decode(const uint8_t *buf, size_t len, struct vr_port_req *q, char *err, size_t errlen)
{
	Virtioforwarder__PortControlRequest *m;
	int rc;

	memset(q, 0, sizeof(*q));
	q->id = -1;
	q->conditional = true;
	if (check_size(len, "PortControlRequest", err, errlen) < 0)
		return -1;
	m = virtioforwarder__port_control_request__unpack(NULL, len, buf);
	if (m == NULL)
		return vr_err(err, errlen,
		              "malformed PortControlRequest (%zu bytes): not valid protobuf, a "
		              "wrong field type, or the required field op missing",
		              len);
	if (m->op >= VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__ANNOUNCE &&
	    m->op <= VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__UNREDIRECT) {
		q->op = (enum vr_port_op)(
		    VR_PORT_ANNOUNCE +
		    (m->op - VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__ANNOUNCE));
	} else if ((unsigned)m->op > VR_PORT_QUERY) {
		rc = vr_err(err, errlen, "unknown port control op %d", (int)m->op);
		goto out;
	} else {
		q->op = (enum vr_port_op)m->op;
	}
	if (m->has_conditional)
		q->conditional = m->conditional;
	rc = port_device(m, q, err, errlen);
	if (rc == 0)
		rc = port_checks(m, q, err, errlen);
out:
	/* key material leaves no copy in freed memory */
	for (size_t i = 0; m->redirect != NULL && i < m->redirect->n_sa; i++) {
		ProtobufCBinaryData *key = &m->redirect->sa[i]->key,
		                    *salt = &m->redirect->sa[i]->salt;

		/* an empty field has no buffer, and memset may not be given NULL */
		if (key->data != NULL)
			memset(key->data, 0, key->len);
		if (salt->data != NULL)
			memset(salt->data, 0, salt->len);
	}
	virtioforwarder__port_control_request__free_unpacked(m, NULL);
	return rc;
}

int
vr_stats_req_decode(const uint8_t *buf, size_t len, struct vr_stats_req *q, char *err,
                    size_t errlen)
{
	Virtioforwarder__StatsRequest *m;
	int rc = VR_STATS_OK;

	memset(q, 0, sizeof(*q));
	q->include_inactive = true;
	if (check_size(len, "StatsRequest", err, errlen) < 0)
		return VR_STATS_EBADR;
	m = virtioforwarder__stats_request__unpack(NULL, len, buf);
	if (m == NULL) {
		vr_err(err, errlen, "malformed StatsRequest (%zu bytes)", len);
		return VR_STATS_EBADR;
	}
	if (m->has_include_inactive)
		q->include_inactive = m->include_inactive;
	if (m->n_relay > VR_MAX_RELAYS) {
		vr_err(err, errlen, "%zu relays asked for: at most %d", m->n_relay, VR_MAX_RELAYS);
		rc = VR_STATS_E2BIG;
		goto out;
	}
	if (m->has_delay && m->delay > VR_STATS_DELAY_MAX) {
		vr_err(err, errlen, "delay %u ms is longer than %d ms", m->delay,
		       VR_STATS_DELAY_MAX);
		rc = VR_STATS_EBADR;
		goto out;
	}
	q->delay_ms = m->has_delay ? m->delay : 0;
	for (size_t i = 0; i < m->n_relay; i++) {
		if (m->relay[i] >= VR_MAX_RELAYS) {
			vr_err(err, errlen, "relay %u is not in 0..%d", m->relay[i],
			       VR_MAX_RELAYS - 1);
			rc = VR_STATS_EBADR;
			goto out;
		}
		q->ids[q->n++] = (uint8_t)m->relay[i];
	}
out:
	virtioforwarder__stats_request__free_unpacked(m, NULL);
	return rc;
}

static int
sched_cpu(int32_t v, int id, const char *field, int *out, char *err, size_t errlen)
{
	if (v < -1 || v >= VR_MAX_CPUS)
		return vr_err(err, errlen, "relay %d: %s %d is not a CPU (or -1 to leave it)", id,
		              field, v);
	*out = v;
	return 0;
}

int
vr_sched_req_decode(const uint8_t *buf, size_t len, struct vr_sched_req *q, char *err,
                    size_t errlen)
{
	Virtioforwarder__CoreSchedRequest *m;
	int rc = 0;

	memset(q, 0, sizeof(*q));
	if (check_size(len, "CoreSchedRequest", err, errlen) < 0)
		return -1;
	m = virtioforwarder__core_sched_request__unpack(NULL, len, buf);
	if (m == NULL)
		return vr_err(err, errlen, "malformed CoreSchedRequest (%zu bytes)", len);
	if (m->op == VIRTIOFORWARDER__CORE_SCHED_REQUEST__OP__GET_EAL_CORES) {
		q->get_cores = true;
		goto out;
	}
	if (m->op != VIRTIOFORWARDER__CORE_SCHED_REQUEST__OP__UPDATE) {
		rc = vr_err(err, errlen, "unknown core scheduler op %d", (int)m->op);
		goto out;
	}
	if (m->n_relay_cpu_map == 0 || m->n_relay_cpu_map > VR_MAX_RELAYS) {
		rc = vr_err(err, errlen, "UPDATE carries %zu relays: give 1..%d",
		            m->n_relay_cpu_map, VR_MAX_RELAYS);
		goto out;
	}
	for (size_t i = 0; i < m->n_relay_cpu_map && rc == 0; i++) {
		const Virtioforwarder__CoreSchedRequest__RelayCPU *e = m->relay_cpu_map[i];
		int id = e->relay_number;

		if (id < 0 || id >= VR_MAX_RELAYS) {
			rc = vr_err(err, errlen, "relay %d is not in 0..%d", id, VR_MAX_RELAYS - 1);
			break;
		}
		for (uint16_t j = 0; j < q->n; j++)
			if (q->map[j].id == id)
				rc = vr_err(err, errlen, "relay %d appears twice", id);
		if (rc == 0)
			rc = sched_cpu(e->virtio2vf_cpu, id, "virtio2vf_cpu", &q->map[q->n].cpu[0],
			               err, errlen);
		if (rc == 0)
			rc = sched_cpu(e->vf2virtio_cpu, id, "vf2virtio_cpu", &q->map[q->n].cpu[1],
			               err, errlen);
		q->map[q->n++].id = id;
	}
out:
	virtioforwarder__core_sched_request__free_unpacked(m, NULL);
	return rc;
}

int
vr_config_req_decode(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	Virtioforwarder__ConfigRequest *m;

	if (check_size(len, "ConfigRequest", err, errlen) < 0)
		return -1;
	m = virtioforwarder__config_request__unpack(NULL, len, buf);
	if (m == NULL)
		return vr_err(err, errlen, "malformed ConfigRequest (%zu bytes)", len);
	virtioforwarder__config_request__free_unpacked(m, NULL);
	return 0;
}
