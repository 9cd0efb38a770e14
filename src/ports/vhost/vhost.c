/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vhost-user side's control half (vhost.h): the socket, the features
 * offered, and lib/vhost's callbacks, which run on lib/vhost's own thread.
 * new_device/destroy_device go to the owner's hooks, which may block;
 * vring_state_changed/features_changed may run under the vq lock a worker
 * spins on, so they only store atomics and publish queue masks
 * (handoff_port_queues), never waiting for a worker.
 *
 * The vid map: lib/vhost names a connection by its socket path first
 * (new_connection) and by its vid after. map_mutex guards the registry of
 * sockets and the vid map only, for a few loads and stores: it is the only
 * lock the lock-free callbacks take.
 */
#include "vhost.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_vhost.h>

#include "conn_bound.h"
#include "errmsg.h"
#include "handoff.h"
#include "log.h"
#include "sockpath.h"

/* Guest to device, the relay finishes checksums and cuts TCP frames (or has
 * the device do it: offload.h), so the guest may leave them: CSUM, and
 * HOST_TSO4/6 unless the relay's tso is off. Not UDP fragmentation offload
 * or ECN-marked TSO. Device to guest, frames arrive finished and whole: the
 * relay has nothing to tell the guest with GUEST_CSUM or GUEST_TSO. */
#define VR_FEATURES_OFF                                                                            \
	((1ULL << VIRTIO_NET_F_GUEST_CSUM) | (1ULL << VIRTIO_NET_F_HOST_ECN) |                     \
	 (1ULL << VIRTIO_NET_F_HOST_UFO) | (1ULL << VIRTIO_NET_F_GUEST_TSO4) |                     \
	 (1ULL << VIRTIO_NET_F_GUEST_TSO6) | (1ULL << VIRTIO_NET_F_GUEST_ECN) |                    \
	 (1ULL << VIRTIO_NET_F_GUEST_UFO))
#define VR_FEATURES_TSO ((1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6))

/* lib/vhost hands out vids below its internal MAX_VHOST_DEVICE (1024) */
#define VR_MAX_VIDS 1024

static pthread_mutex_t map_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct vr_vhost *registered[VR_MAX_RELAYS];
static struct vr_vhost *vid_map[VR_MAX_VIDS];
static struct vr_perm perm = {.uid = (uid_t)-1, .gid = (gid_t)-1, .mode = 0660};

void
vhost_set_socket_perm(const struct vr_perm *p)
{
	perm = *p;
}

/* ---- the vid map ---- */

static struct vr_vhost *
vhost_of_vid(int vid)
{
	struct vr_vhost *vh = NULL;

	if (vid < 0 || vid >= VR_MAX_VIDS)
		return NULL;
	pthread_mutex_lock(&map_mutex);
	vh = vid_map[vid];
	pthread_mutex_unlock(&map_mutex);
	return vh;
}

/* Whether another connection already serves vh (map lock held). */
static bool
has_connection(const struct vr_vhost *vh, int except_vid)
{
	for (int vid = 0; vid < VR_MAX_VIDS; vid++)
		if (vid != except_vid && vid_map[vid] == vh)
			return true;
	return false;
}

/* One frontend per socket: a second one connecting to a server socket while
 * a guest is there would take the relay over (its vrings, its session).
 * Refused here, lib/vhost closes it; only the first connection's vid is in
 * the map, so nothing of the second reaches the relay. */
static int
on_new_connection(int vid)
{
	char path[PATH_MAX];
	struct vr_vhost *vh = NULL;
	bool busy = false;

	if (vid < 0 || vid >= VR_MAX_VIDS || rte_vhost_get_ifname(vid, path, sizeof(path)) != 0)
		return 0;
	if (conn_bound_timeouts(path) == 0)
		VR_LOG(WARNING, "socket %s: the new connection could not be given timeouts", path);
	pthread_mutex_lock(&map_mutex);
	for (int i = 0; i < VR_MAX_RELAYS && vh == NULL; i++)
		if (registered[i] != NULL && strcmp(registered[i]->conf.socket, path) == 0)
			vh = registered[i];
	busy = vh != NULL && has_connection(vh, vid);
	if (vh != NULL && !busy)
		vid_map[vid] = vh;
	if (busy)
		vh->hooks->frontend_refused(vh->owner);
	pthread_mutex_unlock(&map_mutex);
	if (busy) {
		VR_LOG(WARNING, "socket %s: a second frontend refused: a guest is connected", path);
		return -1;
	}
	return 0;
}

static void
on_destroy_connection(int vid)
{
	if (vid < 0 || vid >= VR_MAX_VIDS)
		return;
	pthread_mutex_lock(&map_mutex);
	vid_map[vid] = NULL;
	pthread_mutex_unlock(&map_mutex);
}

static void
registry_set(struct vr_vhost *vh, bool on)
{
	pthread_mutex_lock(&map_mutex);
	for (int i = 0; i < VR_MAX_RELAYS; i++) {
		if (on && registered[i] == NULL) {
			registered[i] = vh;
			break;
		}
		if (!on && registered[i] == vh)
			registered[i] = NULL;
	}
	for (int vid = 0; !on && vid < VR_MAX_VIDS; vid++)
		if (vid_map[vid] == vh)
			vid_map[vid] = NULL;
	pthread_mutex_unlock(&map_mutex);
}

/* ---- sessions ---- */

/*
 * Workers poll, so the guest need not kick us: without this, a guest writes
 * its kick eventfd after every burst it posts (a syscall, and a VM exit under
 * QEMU). lib/vhost keeps the setting for vrings the guest enables later.
 * Not from vring_state_changed: this takes the vq lock that callback holds.
 */
static void
guest_kicks_off(int vid)
{
	uint16_t n = rte_vhost_get_vring_num(vid);

	for (uint16_t q = 0; q < n; q++)
		rte_vhost_enable_guest_notification(vid, q, 0);
}

int
vhost_session_begin(struct vr_vhost *vh, int vid)
{
	uint64_t features = 0;

	vh->vid = vid;
	vh->running = true;
	rte_vhost_get_negotiated_features(vid, &features);
	__atomic_store_n(&vh->features, features, __ATOMIC_RELAXED);
	/* a guest that migrated away left the flag set: this one says afresh */
	__atomic_store_n(&vh->migrating, (features & (1ULL << VHOST_F_LOG_ALL)) != 0,
	                 __ATOMIC_RELAXED);
	guest_kicks_off(vid);
	return rte_vhost_get_numa_node(vid);
}

void
vhost_session_end(struct vr_vhost *vh)
{
	vh->running = false;
	vh->vid = -1;
	__atomic_store_n(&vh->migrating, false, __ATOMIC_RELAXED);
	/* the next connection enables its vrings afresh */
	__atomic_store_n(&vh->vrings, 0, __ATOMIC_RELAXED);
	handoff_port_queues(&vh->port, 0, 0);
}

static int
on_new_device(int vid)
{
	struct vr_vhost *vh = vhost_of_vid(vid);

	return vh != NULL ? vh->hooks->guest_started(vh->owner, vh, vid) : -1;
}

/* lib/vhost's contract: once this returns, nothing may touch the vid. */
static void
on_destroy_device(int vid)
{
	struct vr_vhost *vh = vhost_of_vid(vid);

	if (vh != NULL)
		vh->hooks->guest_stopped(vh->owner, vh, vid);
}

/* Enabled vrings as port queues: guest TX vrings (odd) are what the port
 * receives from, guest RX vrings (even) what it transmits to. */
static void
publish_vrings(struct vr_vhost *vh, uint64_t vrings)
{
	uint64_t rxq = 0, txq = 0;

	for (unsigned qp = 0; qp < VR_MAX_QP; qp++) {
		if (vrings & (1ULL << (2 * qp + 1)))
			rxq |= 1ULL << qp;
		if (vrings & (1ULL << (2 * qp)))
			txq |= 1ULL << qp;
	}
	handoff_port_queues(&vh->port, rxq, txq);
}

/* May run under the vq lock a worker spins on: lock-free, never waits. */
static int
on_vring_state_changed(int vid, uint16_t queue_id, int enable)
{
	struct vr_vhost *vh = vhost_of_vid(vid);
	uint64_t bit = 1ULL << queue_id, vrings;

	if (vh == NULL)
		return 0;
	if (queue_id >= 2 * VR_MAX_QP) {
		VR_LOG(WARNING, "socket %s: guest %s vring %u, beyond the %d queue pairs served",
		       vh->conf.socket, enable ? "enabled" : "disabled", queue_id, VR_MAX_QP);
		return 0;
	}
	if (enable)
		vrings = __atomic_or_fetch(&vh->vrings, bit, __ATOMIC_RELAXED);
	else
		vrings = __atomic_and_fetch(&vh->vrings, ~bit, __ATOMIC_RELAXED);
	publish_vrings(vh, vrings);
	VR_LOG(DEBUG, "socket %s: vring %u %s", vh->conf.socket, queue_id,
	       enable ? "enabled" : "disabled");
	return 0;
}

/* Same constraint as vring_state_changed: atomics only. */
static int
on_features_changed(int vid, uint64_t features)
{
	struct vr_vhost *vh = vhost_of_vid(vid);
	bool logging = (features & (1ULL << VHOST_F_LOG_ALL)) != 0;
	bool was;

	if (vh == NULL)
		return 0;
	__atomic_store_n(&vh->features, features, __ATOMIC_RELAXED);
	was = __atomic_exchange_n(&vh->migrating, logging, __ATOMIC_RELAXED);
	if (logging && !was) {
		vh->hooks->migration_started(vh->owner);
		VR_LOG(INFO, "socket %s: dirty logging on: live migration started",
		       vh->conf.socket);
	} else if (!logging && was) {
		VR_LOG(INFO, "socket %s: dirty logging off", vh->conf.socket);
	}
	return 0;
}

static const struct rte_vhost_device_ops vhost_callbacks = {
    .new_device = on_new_device,
    .destroy_device = on_destroy_device,
    .vring_state_changed = on_vring_state_changed,
    .features_changed = on_features_changed,
    .new_connection = on_new_connection,
    .destroy_connection = on_destroy_connection,
};

/* ---- the socket ---- */

static int
socket_start(const struct vr_relay_conf *c, char *err, size_t errlen)
{
	uint64_t flags = RTE_VHOST_USER_NET_COMPLIANT_OL_FLAGS;
	uint64_t off = VR_FEATURES_OFF;
	mode_t mask;
	int rc;

	if (c->mode == VR_VHOST_CLIENT)
		flags |= RTE_VHOST_USER_CLIENT;
	else if (sockpath_claim(c->socket, err, errlen) < 0)
		return -1;
	if (!c->mrgbuf)
		off |= 1ULL << VIRTIO_NET_F_MRG_RXBUF;
	if (!c->tso)
		off |= VR_FEATURES_TSO;
	if (rte_vhost_driver_register(c->socket, flags) != 0)
		return vr_err(err, errlen, "socket %s: vhost-user registration failed", c->socket);
	if (rte_vhost_driver_disable_features(c->socket, off) != 0 ||
	    rte_vhost_driver_callback_register(c->socket, &vhost_callbacks) != 0) {
		rte_vhost_driver_unregister(c->socket);
		return vr_err(err, errlen, "socket %s: vhost-user setup failed", c->socket);
	}
	/* a server's socket file is made here, with its final mode (perm.h) */
	mask = umask(vr_perm_umask(&perm));
	rc = rte_vhost_driver_start(c->socket);
	umask(mask);
	if (rc != 0) {
		rte_vhost_driver_unregister(c->socket);
		return vr_err(err, errlen, "socket %s: cannot %s (see the log above)", c->socket,
		              c->mode == VR_VHOST_CLIENT ? "start connecting" : "listen");
	}
	if (c->mode == VR_VHOST_SERVER && vr_perm_chown(c->socket, &perm) != 0)
		VR_LOG(WARNING, "socket %s: chown failed: %s", c->socket, strerror(errno));
	return 0;
}

/* In the registry before the socket opens: callbacks look it up by path. */
static int
vhost_start(struct vr_port *p, char *err, size_t errlen)
{
	struct vr_vhost *vh = (struct vr_vhost *)p;

	registry_set(vh, true);
	if (socket_start(&vh->conf, err, errlen) < 0) {
		registry_set(vh, false);
		return -1;
	}
	vh->registered = true;
	return 0;
}

/* Not under the owner's lock: unregistering may call destroy_device. */
static void
vhost_stop(struct vr_port *p)
{
	struct vr_vhost *vh = (struct vr_vhost *)p;

	if (!vh->registered)
		return;
	if (rte_vhost_driver_unregister(vh->conf.socket) != 0)
		VR_LOG(ERR, "socket %s: vhost-user unregister failed", vh->conf.socket);
	if (vh->conf.mode == VR_VHOST_SERVER)
		unlink(vh->conf.socket); /* gone already unless lib/vhost left it */
	registry_set(vh, false);
	vh->registered = false;
}

const struct vr_port_ops vr_vhost_ops = {
    .kind = "vhost",
    .rx_burst = vhost_port_rx,
    .tx_burst = vhost_port_tx,
    .start = vhost_start,
    .stop = vhost_stop,
};

void
vhost_init(struct vr_vhost *vh, const struct vr_relay_conf *c, struct rte_mempool *pool,
           const struct vr_vhost_hooks *hooks, void *owner)
{
	memset(vh, 0, sizeof(*vh));
	vh->port.ops = &vr_vhost_ops;
	vh->port.n_txq = VR_MAX_QP;
	vh->port.pool = pool;
	vh->vid = -1;
	vh->conf = *c;
	vh->hooks = hooks;
	vh->owner = owner;
}

unsigned
vhost_guest_queues(const struct vr_vhost *vh)
{
	uint64_t vrings = __atomic_load_n(&vh->vrings, __ATOMIC_RELAXED);
	unsigned n = 0;

	for (unsigned qp = 0; qp < VR_MAX_QP; qp++)
		if (vrings & (3ULL << (2 * qp)))
			n++;
	return n;
}

bool
vhost_guest_waiting(const struct vr_vhost *vh)
{
	uint64_t vrings = __atomic_load_n(&vh->vrings, __ATOMIC_RELAXED);

	if (!vh->running)
		return false;
	for (uint16_t qp = 0; qp < VR_MAX_QP; qp++)
		if ((vrings & (1ULL << (2 * qp + 1))) &&
		    rte_vhost_rx_queue_count(vh->vid, (uint16_t)(2 * qp + 1)) > 0)
			return true;
	return false;
}
