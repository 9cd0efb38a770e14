/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The relay's mbuf pool follows the guest's memory to its NUMA node: the
 * relay copies every frame into or out of guest memory, so its buffers
 * belong next to it. lib/vhost's new_device notes the node (relay.c); the
 * move runs here, on the control thread, because restarting the device may
 * wait on lib/vhost's thread (a device that is itself a vhost-user
 * frontend of ours).
 *
 * A move: new pool made; both directions paused (handoff_pause: their
 * worker skips them, frames wait in the guest's and the device's rings);
 * device restarted on the new pool without the relay lock; ports switched;
 * directions resumed, which cannot fail. The old pool is retired, not
 * freed: the device's TX rings and the guest may still hold its mbufs. It
 * is freed once all of them are home.
 */
#include <stdlib.h>

#include <rte_mempool.h>

#include "errmsg.h"
#include "handoff.h"
#include "log.h"
#include "relay.h"

/* Test hook (docs/testing.md): move on every connect, to the same node, so
 * that a machine with one NUMA node runs the whole path. */
static bool
move_always(void)
{
	static int cached = -1;

	if (cached < 0)
		cached = getenv("VRELAY_TEST_NUMA_MOVE") != NULL;
	return cached;
}

/* Retired pools whose every mbuf came back are freed; relay lock held. */
static void
reap_retired(struct vr_relay *r)
{
	for (int i = 0; i < VR_RETIRED_POOLS; i++) {
		struct rte_mempool *mp = r->retired[i];

		if (mp != NULL && rte_mempool_avail_count(mp) == mp->size) {
			VR_LOG(DEBUG, "relay %d: pool %s freed", r->conf.id, mp->name);
			relay_pool_free(mp);
			r->retired[i] = NULL;
		}
	}
}

static int
retired_slot(const struct vr_relay *r)
{
	for (int i = 0; i < VR_RETIRED_POOLS; i++)
		if (r->retired[i] == NULL)
			return i;
	return -1;
}

/* Relay lock held on entry and on return; dropped around the restart. */
static void
move_pool(struct vr_relay *r, int node)
{
	int slot = retired_slot(r);
	struct rte_mempool *np;
	char err[VR_ERR_MAX];
	int rc;

	if (slot < 0) {
		VR_LOG(WARNING,
		       "relay %d: %d earlier pools still hold frames; pool stays on node %d",
		       r->conf.id, VR_RETIRED_POOLS, r->pool_socket);
		return;
	}
	np = relay_pool_create(r, node);
	if (np == NULL) {
		VR_LOG(WARNING, "relay %d: no memory on NUMA node %d; pool stays on node %d",
		       r->conf.id, node, r->pool_socket);
		return;
	}
	handoff_pause(r->dir[VR_VM2DEV]);
	handoff_pause(r->dir[VR_DEV2VM]);
	relay_unlock();
	rc = device_restart_on_pool(&r->dev, np, err, sizeof(err));
	relay_lock();
	if (rc < 0) {
		VR_LOG(ERR, "relay %d: pool stays on node %d: %s", r->conf.id, r->pool_socket, err);
		relay_pool_free(np);
	} else {
		r->dev.port.pool = np;
		r->vhost.port.pool = np;
		r->retired[slot] = r->pool;
		r->pool = np;
		r->pool_socket = node;
		VR_LOG(INFO, "relay %d: pool moved to NUMA node %d", r->conf.id, node);
	}
	handoff_resume(r->dir[VR_VM2DEV]);
	handoff_resume(r->dir[VR_DEV2VM]);
}

/* Only the control thread removes relays, and this runs on it: a relay
 * found here stays while the lock is dropped inside move_pool. */
void
relay_follow_numa(void)
{
	relay_lock();
	for (int id = 0; id < VR_MAX_RELAYS; id++) {
		struct vr_relay *r = relay_get(id);
		int node;

		if (r == NULL || r->removing)
			continue;
		reap_retired(r);
		node = r->numa_wanted;
		r->numa_wanted = -1;
		if (node >= 0 && (node != r->pool_socket || move_always()))
			move_pool(r, node);
	}
	relay_unlock();
}
