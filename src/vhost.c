/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vhost-user side of a relay, on the rte_vhost API directly (not the
 * net_vhost PMD) so the relay sees every lifecycle event: new_device,
 * destroy_device, vring_state_changed and features_changed (VHOST_F_LOG_ALL
 * marks the start and end of live migration).
 *
 * lib/vhost calls these from its own event thread. Each takes the relay
 * lock, updates the relay, and republishes the guest to the data plane
 * through the handoff. destroy_device returns only after an RCU grace period,
 * which is lib/vhost's contract: no worker touches the vid afterwards.
 */
#include "vhost.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_vhost.h>

#include "errmsg.h"
#include "log.h"
#include "relay.h"
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

static struct vr_perm perm = {.uid = (uid_t)-1, .gid = (gid_t)-1, .mode = 0660};

void
vhost_set_socket_perm(const struct vr_perm *p)
{
	perm = *p;
}

static int
on_new_connection(int vid)
{
	char path[PATH_MAX];

	if (rte_vhost_get_ifname(vid, path, sizeof(path)) == 0)
		relay_map_vid(vid, path);
	return 0;
}

static void
on_destroy_connection(int vid)
{
	relay_unmap_vid(vid);
}

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

static int
on_new_device(int vid)
{
	struct vr_relay *r = relay_of_vid(vid);
	int node;

	if (r == NULL)
		return -1;
	relay_lock();
	if (r->removing) {
		relay_unlock();
		return -1;
	}
	r->vid = vid;
	r->running = true;
	r->connects++;
	uint64_t features = 0;

	rte_vhost_get_negotiated_features(vid, &features);
	__atomic_store_n(&r->features, features, __ATOMIC_RELAXED);
	/* a guest that migrated away left the flag set: this one says afresh */
	__atomic_store_n(&r->migrating, (features & (1ULL << VHOST_F_LOG_ALL)) != 0,
	                 __ATOMIC_RELAXED);
	guest_kicks_off(vid);
	node = rte_vhost_get_numa_node(vid);
	relay_follow_guest_numa(r, node);
	relay_publish_guest(r);
	relay_send_announce(r);
	VR_LOG(INFO, "relay %d: guest connected (vid %d, NUMA node %d, features 0x%" PRIx64 ")",
	       r->conf.id, vid, node, __atomic_load_n(&r->features, __ATOMIC_RELAXED));
	relay_unlock();
	return 0;
}

/* lib/vhost's contract: once this returns, nothing may touch the vid. */
static void
on_destroy_device(int vid)
{
	struct vr_relay *r = relay_of_vid(vid);

	if (r == NULL)
		return;
	relay_lock();
	if (r->vid == vid) {
		r->running = false;
		r->vid = -1;
		__atomic_store_n(&r->migrating, false, __ATOMIC_RELAXED);
		r->disconnects++;
		relay_publish_guest(r); /* returns after the grace period */
		VR_LOG(INFO, "relay %d: guest disconnected", r->conf.id);
	}
	relay_unlock();
}

/* May run under the vq lock a worker spins on: lock-free, never waits. */
static int
on_vring_state_changed(int vid, uint16_t queue_id, int enable)
{
	struct vr_relay *r = relay_of_vid(vid);

	if (r == NULL)
		return 0;
	if (queue_id >= 2 * VR_MAX_QP) {
		VR_LOG(WARNING, "relay %d: guest %s vring %u, beyond the %d queue pairs served",
		       r->conf.id, enable ? "enabled" : "disabled", queue_id, VR_MAX_QP);
		return 0;
	}
	relay_set_vring(r, queue_id, enable != 0);
	VR_LOG(DEBUG, "relay %d: vring %u %s", r->conf.id, queue_id,
	       enable ? "enabled" : "disabled");
	return 0;
}

/* Same constraint as vring_state_changed: atomics only. */
static int
on_features_changed(int vid, uint64_t features)
{
	struct vr_relay *r = relay_of_vid(vid);
	bool logging = (features & (1ULL << VHOST_F_LOG_ALL)) != 0;
	bool was;

	if (r == NULL)
		return 0;
	__atomic_store_n(&r->features, features, __ATOMIC_RELAXED);
	was = __atomic_exchange_n(&r->migrating, logging, __ATOMIC_RELAXED);
	if (logging && !was) {
		__atomic_add_fetch(&r->migrations, 1, __ATOMIC_RELAXED);
		VR_LOG(INFO, "relay %d: dirty logging on: live migration started", r->conf.id);
	} else if (!logging && was) {
		VR_LOG(INFO, "relay %d: dirty logging off", r->conf.id);
	}
	return 0;
}

static const struct rte_vhost_device_ops vhost_ops = {
    .new_device = on_new_device,
    .destroy_device = on_destroy_device,
    .vring_state_changed = on_vring_state_changed,
    .features_changed = on_features_changed,
    .new_connection = on_new_connection,
    .destroy_connection = on_destroy_connection,
};

static void
apply_socket_perm(const char *path)
{
	if ((perm.uid != (uid_t)-1 || perm.gid != (gid_t)-1) &&
	    chown(path, perm.uid, perm.gid) != 0)
		VR_LOG(WARNING, "socket %s: chown failed: %s", path, strerror(errno));
	if (chmod(path, perm.mode) != 0)
		VR_LOG(WARNING, "socket %s: chmod failed: %s", path, strerror(errno));
}

int
vhost_register(const struct vr_relay_conf *c, char *err, size_t errlen)
{
	uint64_t flags = RTE_VHOST_USER_NET_COMPLIANT_OL_FLAGS;
	uint64_t off = VR_FEATURES_OFF;

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
	    rte_vhost_driver_callback_register(c->socket, &vhost_ops) != 0) {
		rte_vhost_driver_unregister(c->socket);
		return vr_err(err, errlen, "socket %s: vhost-user setup failed", c->socket);
	}
	if (rte_vhost_driver_start(c->socket) != 0) {
		rte_vhost_driver_unregister(c->socket);
		return vr_err(err, errlen, "socket %s: cannot %s (see the log above)", c->socket,
		              c->mode == VR_VHOST_CLIENT ? "start connecting" : "listen");
	}
	if (c->mode == VR_VHOST_SERVER)
		apply_socket_perm(c->socket);
	return 0;
}

/* Not under the relay lock: this may call destroy_device, which takes it. */
void
vhost_unregister(const struct vr_relay_conf *c)
{
	if (rte_vhost_driver_unregister(c->socket) != 0)
		VR_LOG(ERR, "socket %s: vhost-user unregister failed", c->socket);
	if (c->mode == VR_VHOST_SERVER)
		unlink(c->socket); /* gone already unless lib/vhost left it */
}
