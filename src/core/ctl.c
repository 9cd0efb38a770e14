/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The internal control API (ctl.h). Port requests: a relay is always a
 * device paired with a socket:
 *  - ADD puts device D on relay N with the socket the pattern gives N;
 *  - ADD_SOCK pairs D with the socket path given (the "dynamic sockets"
 *    mode of OpenStack's port plugging) on the lowest free relay;
 *  - with dynamic sockets on, ADD has no socket to give: as in
 *    virtio-forwarder, relay N then waits for one, and the ADD_SOCK that
 *    names D (or N) brings it up;
 *  - REMOVE and REMOVE_SOCK take the relay down, whether or not a guest is
 *    connected at that moment;
 *  - QUERY_PCI names the device on a socket; ANNOUNCE primes a migration's
 *    destination (migrate/prime.h).
 * A refusal is a negative errno and a sentence naming the relay, device or
 * path at fault.
 */
#include "ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devargs.h"
#include "errmsg.h"
#include "log.h"
#include "prime.h"
#include "redirect.h"
#include "relay.h"

static const struct vr_conf *running;

/* ADDs waiting for their socket (dynamic sockets), by relay id. Control
 * thread only, as every control source runs there. */
static struct {
	bool on;
	struct vr_port_req q;
} waiting[VR_MAX_RELAYS];

/* Which declarative source holds each relay ("" none): OVSDB's rows state
 * what must exist, so another source removing their relay is refused rather
 * than silently undone or silently lost (docs/control.md). */
static char owner[VR_MAX_RELAYS][96];

void
ctl_init(const struct vr_conf *conf)
{
	running = conf;
}

const struct vr_conf *
ctl_conf(void)
{
	return running;
}

static int fail(struct vr_ctl_result *o, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct vr_ctl_result *o, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(o->msg, sizeof(o->msg), fmt, ap);
	va_end(ap);
	o->code = code;
	return -1;
}

/* Does the relay's device match what a request names? The full devargs, or
 * just the port name before the first comma ("net_memif0"). */
static bool
device_matches(const struct vr_relay_conf *c, const char *given)
{
	size_t n = strcspn(c->device, ",");

	return given[0] == '\0' || strcmp(c->device, given) == 0 ||
	       (strlen(given) == n && strncmp(c->device, given, n) == 0);
}

static int
find_by_device(const char *device)
{
	int found = -1;

	relay_lock();
	for (int i = 0; i < VR_MAX_RELAYS && found < 0; i++) {
		struct vr_relay *r = relay_get(i);

		if (r != NULL && !r->removing && device_matches(&r->conf, device))
			found = i;
	}
	relay_unlock();
	return found;
}

static bool
relay_exists(int id)
{
	bool exists;

	relay_lock();
	exists = relay_get(id) != NULL;
	relay_unlock();
	return exists;
}

static int
find_by_socket(const char *path)
{
	struct vr_relay *r;
	int id;

	relay_lock();
	r = relay_by_socket(path);
	id = r != NULL ? r->conf.id : -1;
	relay_unlock();
	return id;
}

static void
build_conf(struct vr_relay_conf *rc, const struct vr_port_req *q, int id)
{
	const struct vr_conf *c = ctl_conf();

	vr_relay_conf_init(rc, &c->defaults);
	rc->id = id;
	snprintf(rc->device, sizeof(rc->device), "%s", q->device);
	rc->n_members = q->n_members;
	rc->bond_mode = q->mode;
	memcpy(rc->members, q->members, sizeof(rc->members));
	snprintf(rc->socket, sizeof(rc->socket), "%s", q->socket);
	vr_relay_conf_default_socket(rc, c->socket_dir, c->ctl.socket_pattern);
	vr_relay_conf_apply_pins(rc, c);
}

/* The relay already there satisfies a conditional add of the same device. */
static int
check_existing(int id, const struct vr_port_req *q, struct vr_ctl_result *o)
{
	struct vr_relay_conf cur;
	struct vr_relay *r;

	relay_lock();
	r = relay_get(id);
	if (r != NULL)
		cur = r->conf;
	relay_unlock();
	if (r == NULL)
		return 0;
	if (q->conditional && device_matches(&cur, q->device) &&
	    (q->socket[0] == '\0' || strcmp(cur.socket, q->socket) == 0))
		return 1;
	return fail(o, -EEXIST, "relay %d already holds device %s on socket %s", id, cur.device,
	            cur.socket);
}

/* What a runtime control source may put on a relay (devargs.h). */
static int
check_device_allowed(const struct vr_port_req *q, struct vr_ctl_result *o)
{
	const struct vr_conf *c = ctl_conf();
	char kind[64], err[VR_ERR_MAX];

	vr_devargs_kind(q->device, q->n_members, kind, sizeof(kind));
	if (!vr_device_kind_allowed(c->ctl.devices, kind))
		return fail(o, -EPERM,
		            "device %s: kind %s is not allowed to control clients "
		            "(control-devices = %s)",
		            q->device, kind, c->ctl.devices);
	if (vr_devargs_paths_inside(q->device, c->socket_dir, err, sizeof(err)) < 0)
		return fail(o, -EACCES, "device %s: %s", q->device, err);
	return 0;
}

static int
add_relay(const struct vr_port_req *q, int id, struct vr_ctl_result *o)
{
	struct vr_relay_conf rc;
	char err[VR_ERR_MAX];
	int other = find_by_device(q->device);

	if (check_device_allowed(q, o) < 0)
		return -1;
	if (other >= 0)
		return fail(o, -EBUSY, "device %s is already on relay %d", q->device, other);
	build_conf(&rc, q, id);
	if (relay_add(&rc, err, sizeof(err)) < 0)
		return fail(o, -EINVAL, "%s", err);
	snprintf(owner[id], sizeof(owner[id]), "%s", q->owner != NULL ? q->owner : "");
	VR_LOG(NOTICE, "control: %s: relay %d: device %s, socket %s", vr_port_op_name(q->op), id,
	       rc.device, rc.socket);
	return 0;
}

static int
waiting_for_device(const char *device)
{
	for (int i = 0; i < VR_MAX_RELAYS; i++)
		if (waiting[i].on && strcmp(waiting[i].q.device, device) == 0)
			return i;
	return -1;
}

/* ADD with dynamic sockets on: the device is checked now and the relay comes
 * up when ADD_SOCK gives it its socket. */
static int
wait_for_socket(const struct vr_port_req *q, struct vr_ctl_result *o)
{
	int rc = check_existing(q->id, q, o), other;

	if (rc != 0)
		return rc > 0 ? 0 : -1;
	if (check_device_allowed(q, o) < 0)
		return -1;
	if ((other = find_by_device(q->device)) >= 0)
		return fail(o, -EBUSY, "device %s is already on relay %d", q->device, other);
	other = waiting_for_device(q->device);
	if (other == q->id && q->conditional)
		return 0;
	if (other >= 0)
		return fail(o, -EBUSY, "device %s already waits for its socket on relay %d",
		            q->device, other);
	if (waiting[q->id].on)
		return fail(o, -EEXIST, "relay %d already waits for its socket with device %s",
		            q->id, waiting[q->id].q.device);
	waiting[q->id].on = true;
	waiting[q->id].q = *q;
	VR_LOG(NOTICE,
	       "control: ADD: relay %d: device %s waits for its socket (dynamic sockets: "
	       "ADD_SOCK gives it one)",
	       q->id, q->device);
	return 0;
}

static int
op_add(const struct vr_port_req *q, struct vr_ctl_result *o)
{
	int rc;

	if (ctl_conf()->ctl.dynamic_sockets)
		return wait_for_socket(q, o);
	rc = check_existing(q->id, q, o);
	if (rc > 0 && q->owner != NULL) /* OVSDB now asks for a relay already there */
		snprintf(owner[q->id], sizeof(owner[q->id]), "%s", q->owner);
	return rc != 0 ? (rc > 0 ? 0 : -1) : add_relay(q, q->id, o);
}

static int
lowest_free_id(void)
{
	int id = -1;

	relay_lock();
	for (int i = 0; i < VR_MAX_RELAYS && id < 0; i++)
		if (relay_get(i) == NULL && !waiting[i].on)
			id = i;
	relay_unlock();
	return id;
}

static int
op_add_sock(const struct vr_port_req *q, struct vr_ctl_result *o)
{
	const char *dir = ctl_conf()->socket_dir;
	int id = find_by_socket(q->socket);

	if (!vr_path_in_dir(q->socket, dir))
		return fail(o, -EACCES,
		            "ADD_SOCK: vhost_path %s is outside the socket directory %s", q->socket,
		            dir);
	if (id >= 0) {
		int rc = check_existing(id, q, o);

		return rc > 0
		           ? 0
		           : (rc == 0 ? fail(o, -EEXIST, "socket %s is on relay %d", q->socket, id)
		                      : -1);
	}
	id = q->id >= 0 ? q->id : waiting_for_device(q->device);
	if (id < 0)
		id = lowest_free_id();
	if (id < 0)
		return fail(o, -ENOSPC, "ADD_SOCK: all %d relays are in use", VR_MAX_RELAYS);
	if (waiting[id].on && strcmp(waiting[id].q.device, q->device) != 0)
		return fail(o, -EBUSY, "relay %d waits for its socket with device %s, not %s", id,
		            waiting[id].q.device, q->device);
	if (check_existing(id, q, o) != 0 || add_relay(q, id, o) < 0)
		return -1;
	waiting[id].on = false;
	return 0;
}

static int
remove_relay(int id, const struct vr_port_req *q, struct vr_ctl_result *o)
{
	const char *device = q->device;
	char err[VR_ERR_MAX];
	struct vr_relay *r;
	bool match;

	if (owner[id][0] != '\0' && (q->owner == NULL || strcmp(q->owner, owner[id]) != 0))
		return fail(o, -EPERM,
		            "relay %d belongs to %s, which still asks for it: remove it there", id,
		            owner[id]);

	relay_lock();
	r = relay_get(id);
	match = r != NULL && device_matches(&r->conf, device);
	if (r != NULL && !match)
		fail(o, -EINVAL, "relay %d holds device %s, not %s", id, r->conf.device, device);
	relay_unlock();
	if (!match)
		return -1;
	if (relay_remove(id, err, sizeof(err)) < 0)
		return fail(o, -ENOENT, "%s", err);
	owner[id][0] = '\0';
	VR_LOG(NOTICE, "control: relay %d removed", id);
	return 0;
}

static int
op_remove(const struct vr_port_req *q, struct vr_ctl_result *o)
{
	if (waiting[q->id].on &&
	    (q->device[0] == '\0' || strcmp(q->device, waiting[q->id].q.device) == 0)) {
		waiting[q->id].on = false;
		VR_LOG(NOTICE, "control: relay %d no longer waits for its socket", q->id);
		return 0;
	}
	if (!relay_exists(q->id))
		return q->conditional ? 0 : fail(o, -ENOENT, "relay %d does not exist", q->id);
	return remove_relay(q->id, q, o);
}

static int
op_remove_sock(const struct vr_port_req *q, struct vr_ctl_result *o)
{
	int id = q->socket[0] != '\0' ? find_by_socket(q->socket) : find_by_device(q->device);

	if (id < 0) {
		if (q->conditional)
			return 0;
		return q->socket[0] != '\0' ? fail(o, -ENOENT, "no relay has socket %s", q->socket)
		                            : fail(o, -ENOENT, "no relay has device %s", q->device);
	}
	return remove_relay(id, q, o);
}

static int
op_query(const struct vr_port_req *q, struct vr_ctl_result *o)
{
	struct vr_relay *r;
	int rc = 0;

	relay_lock();
	r = relay_by_socket(q->socket);
	if (r != NULL)
		snprintf(o->query, sizeof(o->query), "%s", r->conf.device);
	else
		rc = fail(o, -ENOENT, "no relay has socket %s", q->socket);
	relay_unlock();
	return rc;
}

static int
op_announce(const struct vr_port_req *q, struct vr_ctl_result *o)
{
	char err[VR_ERR_MAX];

	if (prime_announce(q->id, &q->announce, q->announce_now, err, sizeof(err)) < 0)
		return fail(o, -ENOENT, "%s", err);
	return 0;
}

/* REDIRECT and UNREDIRECT (tunnel/redirect.h). */
static int
op_redirect(const struct vr_port_req *q, struct vr_ctl_result *o)
{
	char err[VR_ERR_MAX];

	if (q->op == VR_PORT_UNREDIRECT) {
		if (redirect_remove(q->id, err, sizeof(err)) < 0)
			return fail(o, -ENOENT, "%s", err);
		return 0;
	}
	if (redirect_add(q->id, &q->redirect, &o->peer, err, sizeof(err)) < 0)
		return fail(o, -EINVAL, "%s", err);
	o->has_peer = true;
	return 0;
}

int
ctl_port(const struct vr_port_req *q, struct vr_ctl_result *o)
{
	memset(o, 0, sizeof(*o));
	if (q->op == VR_PORT_ADD)
		return op_add(q, o);
	if (q->op == VR_PORT_REMOVE)
		return op_remove(q, o);
	if (q->op == VR_PORT_ADD_SOCK)
		return op_add_sock(q, o);
	if (q->op == VR_PORT_REMOVE_SOCK)
		return op_remove_sock(q, o);
	if (q->op == VR_PORT_ANNOUNCE)
		return op_announce(q, o);
	if (q->op == VR_PORT_REDIRECT || q->op == VR_PORT_UNREDIRECT)
		return op_redirect(q, o);
	return op_query(q, o);
}

int
ctl_pin(int id, int cpu_vm2dev, int cpu_dev2vm, char *err, size_t errlen)
{
	return relay_pin(id, cpu_vm2dev, cpu_dev2vm, err, errlen);
}

/* ---- configuration: start-up and SIGHUP reload ---- */

static const struct vr_relay_conf *
find_relay(const struct vr_conf *c, int id)
{
	for (uint16_t i = 0; i < c->n_relays; i++)
		if (c->relays[i].id == id)
			return &c->relays[i];
	return NULL;
}

/* Equal but for the CPU pins: those move without touching the relay. */
static bool
same_but_pins(const struct vr_relay_conf *a, const struct vr_relay_conf *b)
{
	struct vr_relay_conf x = *a;

	x.cpu[0] = b->cpu[0];
	x.cpu[1] = b->cpu[1];
	return vr_relay_conf_equal(&x, b);
}

void
ctl_apply(const struct vr_conf *old, const struct vr_conf *next)
{
	char err[VR_ERR_MAX];

	for (uint16_t i = 0; i < old->n_relays; i++) {
		const struct vr_relay_conf *o = &old->relays[i];
		const struct vr_relay_conf *n = find_relay(next, o->id);

		if (n != NULL && same_but_pins(o, n))
			continue;
		if (relay_remove(o->id, err, sizeof(err)) < 0)
			VR_LOG(DEBUG, "reload: %s", err);
	}
	for (uint16_t i = 0; i < next->n_relays; i++) {
		const struct vr_relay_conf *n = &next->relays[i];
		const struct vr_relay_conf *o = find_relay(old, n->id);

		if (o != NULL && same_but_pins(o, n)) {
			if ((o->cpu[0] != n->cpu[0] || o->cpu[1] != n->cpu[1]) &&
			    relay_pin(n->id, n->cpu[0], n->cpu[1], err, sizeof(err)) < 0)
				VR_LOG(ERR, "reload: %s", err);
			if (relay_exists(n->id))
				continue; /* else it failed before: try again */
		}
		if (relay_add(n, err, sizeof(err)) < 0)
			VR_LOG(ERR, "%s", err);
	}
}
