/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Relays: the table and each relay's lifecycle. A relay pairs two ports,
 * a device (ports/ethdev) and a guest's vhost-user socket (ports/vhost),
 * with one direction each way (datapath/vm2dev.h, dev2vm.h). Control
 * sources do not call this directly: they go through ctl.h.
 *
 * Runs on control threads: the control loop, lib/vhost's event thread
 * (the vhost hooks) and the telemetry thread, serialised by the relay lock.
 * The data plane sees relays only through handoff.h.
 */
#ifndef VR_RELAY_H
#define VR_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "counters.h"
#include "dev2vm.h"
#include "device.h"
#include "rate.h"
#include "vhost.h"
#include "vm2dev.h"

struct rte_mempool;

#define VR_RETIRED_POOLS 4

struct vr_relay {
	struct vr_relay_conf conf;
	bool removing;
	struct vr_device dev;  /* the device port */
	struct vr_vhost vhost; /* the guest's port */
	struct rte_mempool *pool;
	/* pools left by NUMA moves, freed once every mbuf is home (numa_move.c) */
	struct rte_mempool *retired[VR_RETIRED_POOLS];
	int pool_socket;
	int numa_wanted; /* the guest's memory node, set at connect; -1 none */
	struct vr_vm2dev *vm2dev;
	struct vr_dev2vm *dev2vm;
	struct vr_dir *dir[2]; /* [VR_VM2DEV], [VR_DEV2VM]: the shared headers */
	struct vr_relay_counters c;
	/* rates of what each direction took in and passed on, sampled by the
	 * control thread once a second */
	struct vr_rate rate_rx[2];
	struct vr_rate rate[2];
	/* addresses to announce when the next guest starts (migrate/prime.c) */
	struct vr_addrs announce;
	/* what was announced for the guest here now: its identity, as much as
	 * what the worker learned, until it goes (a guest that moved in may
	 * not send an ARP for minutes, and a move on needs its addresses) */
	struct vr_addrs arrived;
};

int relay_module_init(uint32_t retry_us, const struct vr_conf *conf);

/* A pool for r's frames on NUMA node socket; freeing one counts the mbufs
 * that did not come home as leaked. */
struct rte_mempool *relay_pool_create(const struct vr_relay *r, int socket);
void relay_pool_free(struct rte_mempool *mp);

/* Control thread, once a second: move the pools of relays whose guest's
 * memory is on another NUMA node; free retired pools that are whole. */
void relay_follow_numa(void);

int relay_add(const struct vr_relay_conf *c, char *err, size_t errlen);
int relay_remove(int id, char *err, size_t errlen);
/* cpu = VR_CPU_UNPINNED leaves that direction where it is. Returns the
 * directions that changed worker, or -1. */
int relay_pin(int id, int cpu_vm2dev, int cpu_dev2vm, char *err, size_t errlen);
void relay_remove_all(void);

/* The relay lock. Lookups and iteration need it held. */
void relay_lock(void);
void relay_unlock(void);
struct vr_relay *relay_get(int id);
struct vr_relay *relay_by_socket(const char *path);
unsigned relay_count(void);

/* "waiting", "connected", "migrating", "removing" (relay lock held). */
const char *relay_state_name(const struct vr_relay *r);

/* The worker CPU polling a direction, -1 when none (relay lock held). */
int relay_dir_cpu(const struct vr_dir *d);

/* Mbufs found missing from pools when relays were removed (should stay 0). */
uint64_t relay_leaked_mbufs(void);
uint64_t relay_pools_created(void);

#endif
