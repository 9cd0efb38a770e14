/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Relays and the internal API every control source calls (config file and
 * SIGHUP reload today; ZeroMQ, OVSDB and file monitors later): relay_add,
 * relay_remove, relay_pin. All of it runs on control threads under one
 * mutex, the relay lock; the data plane sees relays only through handoff.h.
 */
#ifndef VR_RELAY_H
#define VR_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "dataplane.h"
#include "device.h"
#include "rate.h"

struct rte_mempool;

struct vr_relay {
	struct vr_relay_conf conf;
	bool removing;
	struct vr_device dev;
	struct rte_mempool *pool;
	struct rte_mempool *retired_pool; /* previous pool after a NUMA move */
	int pool_socket;
	struct vr_dir *dir[2]; /* [VR_DIR_VM2DEV], [VR_DIR_DEV2VM] */
	/* vhost side: new_device/destroy_device write these under the relay lock */
	bool registered;
	int vid;      /* -1 when no guest is connected */
	bool running; /* new_device seen, destroy_device not yet */
	uint64_t connects, disconnects;
	/* written lock-free by callbacks that may run under a vq lock (atomics) */
	uint64_t vring_enabled; /* bit per virtqueue index */
	uint64_t features;
	bool migrating; /* VHOST_F_LOG_ALL set */
	uint64_t migrations;
	/* rates of what each direction took in and passed on, sampled by the
	 * control thread once a second */
	struct vr_rate rate_rx[2];
	struct vr_rate rate[2];
	uint64_t added_ns;
	/* addresses to announce when the next guest starts (relay lock) */
	struct vr_addrs announce;
};

int relay_module_init(uint32_t retry_us, const struct vr_conf *conf);

int relay_add(const struct vr_relay_conf *c, char *err, size_t errlen);
/* Live migration's destination: announce a when the guest starts here;
 * now: also at once (the guest stopped at the source), holding the
 * device's frames for it until it starts. */
int relay_prime_announce(int id, const struct vr_addrs *a, bool now, char *err, size_t errlen);
/* new_device: send the primed announcement, if any (relay lock held). */
void relay_send_announce(struct vr_relay *r);
int relay_remove(int id, char *err, size_t errlen);
/* cpu = VR_CPU_UNPINNED leaves that direction where it is. */
int relay_pin(int id, int cpu_vm2dev, int cpu_dev2vm, char *err, size_t errlen);
void relay_remove_all(void);

/* Lookups and iteration: caller holds the relay lock. */
void relay_lock(void);
void relay_unlock(void);
struct vr_relay *relay_get(int id);
struct vr_relay *relay_by_socket(const char *path);
unsigned relay_count(void);

/* "waiting", "connected", "migrating", "removing" (relay lock held). */
const char *relay_state_name(const struct vr_relay *r);

/* The worker CPU polling a direction, -1 when none (relay lock held). */
int relay_dir_cpu(const struct vr_dir *d);

/* Guest queue pairs with an enabled vring. */
unsigned relay_guest_queues(const struct vr_relay *r);

/* Control timer: rates and worker load. */
void relay_sample_rates(uint64_t now_ns);

/* Mbufs found missing from pools when relays were removed (should stay 0). */
uint64_t relay_leaked_mbufs(void);
uint64_t relay_pools_created(void);

/* Publish the connected guest (or none) to the data plane: relay lock held,
 * never from a callback that may hold a vq lock (it waits for workers). */
void relay_publish_guest(struct vr_relay *r);

/* Enable or disable one vring: lock-free, safe under lib/vhost's vq lock. */
void relay_set_vring(struct vr_relay *r, uint16_t vring, bool enable);

/* vid -> relay for callbacks. Valid until the relay's socket is unregistered,
 * which waits for every callback on it to return. */
struct vr_relay *relay_of_vid(int vid);
void relay_map_vid(int vid, const char *socket_path);
void relay_unmap_vid(int vid);

/* Move the relay's mempool to the guest's NUMA node (relay lock held). */
void relay_follow_guest_numa(struct vr_relay *r, int node);

#endif
