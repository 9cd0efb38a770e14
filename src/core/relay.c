/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Relay lifecycle. A relay is assembled in this order and taken apart in the
 * reverse one: device port (probed, configured, started on a pool on its
 * NUMA node), two directions attached to workers, vhost-user port (the
 * socket). The guest reaches the directions through the vhost port's
 * session (handoff_port_up/down) from the hooks below.
 */
#include "relay.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "devargs.h"
#include "errmsg.h"
#include "handoff.h"
#include "log.h"
#include "placement.h"
#include "poolsize.h"
#include "prime.h"
#include "redirect.h"
#include "underlay_ctl.h"
#include "worker.h"

/*
 * The relay lock serialises control operations (add, remove, pin,
 * telemetry, the vhost hooks) and the relay table, and may be held across
 * an RCU grace period. It is never taken by code that runs under a
 * lib/vhost vq lock (vhost.c's lock-free callbacks).
 */
static pthread_mutex_t relay_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct vr_relay *relays[VR_MAX_RELAYS];
static struct vr_cpuset worker_cpus;
static uint64_t retry_tsc;
static uint32_t hold_frames, hold_bytes;
static uint64_t hold_patience;
static uint64_t leaked_mbufs;
static uint64_t pools_created;

int
relay_module_init(uint32_t retry_us, const struct vr_conf *conf)
{
	retry_tsc = rte_get_tsc_hz() / 1000000 * retry_us;
	worker_cpus = conf->workers;
	hold_frames = conf->hold_frames;
	hold_bytes = conf->hold_bytes;
	hold_patience = rte_get_tsc_hz() / 1000 * conf->hold_ms;
	return 0;
}

void
relay_lock(void)
{
	pthread_mutex_lock(&relay_mutex);
}

void
relay_unlock(void)
{
	pthread_mutex_unlock(&relay_mutex);
}

struct vr_relay *
relay_get(int id)
{
	return id >= 0 && id < VR_MAX_RELAYS ? relays[id] : NULL;
}

struct vr_relay *
relay_by_socket(const char *path)
{
	for (int i = 0; i < VR_MAX_RELAYS; i++)
		if (relays[i] != NULL && strcmp(relays[i]->conf.socket, path) == 0)
			return relays[i];
	return NULL;
}

unsigned
relay_count(void)
{
	unsigned n = 0;

	for (int i = 0; i < VR_MAX_RELAYS; i++)
		n += relays[i] != NULL;
	return n;
}

uint64_t
relay_leaked_mbufs(void)
{
	return __atomic_load_n(&leaked_mbufs, __ATOMIC_RELAXED);
}

uint64_t
relay_pools_created(void)
{
	return __atomic_load_n(&pools_created, __ATOMIC_RELAXED);
}

struct rte_mempool *
relay_pool_create(const struct vr_relay *r, int socket)
{
	struct vr_pool_need need = {
	    .queues = device_queues_for(&r->dev, r->conf.queues),
	    .guest_queues = r->conf.queues,
	    .rxd = VR_DEV_RXD,
	    .txd = VR_DEV_TXD,
	    .mtu = r->conf.mtu,
	    .lcores = (uint16_t)(vr_n_workers + 1),
	    .tso_queues = r->conf.tso ? r->conf.queues : 0,
	    .hold_frames = hold_frames,
	    .hold_bytes = hold_bytes,
	};
	char name[RTE_MEMPOOL_NAMESIZE];

	/* the control thread and lib/vhost's (a NUMA move) both make pools */
	snprintf(name, sizeof(name), "vr%d_%" PRIu64, r->conf.id,
	         __atomic_fetch_add(&pools_created, 1, __ATOMIC_RELAXED));
	return rte_pktmbuf_pool_create(name, vr_pool_mbufs(&need), VR_POOL_CACHE, 0,
	                               VR_MBUF_DATA_ROOM + VR_MBUF_HEADROOM, socket);
}

/* Every mbuf must be home when a pool goes: count any that are not. */
void
relay_pool_free(struct rte_mempool *mp)
{
	unsigned missing;

	if (mp == NULL)
		return;
	missing = mp->size - rte_mempool_avail_count(mp);
	if (missing > 0) {
		__atomic_fetch_add(&leaked_mbufs, missing, __ATOMIC_RELAXED);
		VR_LOG(ERR, "pool %s: %u mbufs not returned", mp->name, missing);
	}
	rte_mempool_free(mp);
}

static void
dir_init(struct vr_dir *d, const struct vr_relay *r, enum vr_dir_kind kind, struct vr_port *src,
         struct vr_port *dst)
{
	d->kind = kind;
	d->relay_id = r->conf.id;
	d->src = src;
	d->dst = dst;
	d->retry_tsc = retry_tsc;
	d->worker = -1;
}

static int
dirs_create(struct vr_relay *r)
{
	static unsigned seq;
	char name[RTE_RING_NAMESIZE];

	r->vm2dev = rte_zmalloc_socket("vr_vm2dev", sizeof(*r->vm2dev), RTE_CACHE_LINE_SIZE,
	                               r->pool_socket);
	r->dev2vm = rte_zmalloc_socket("vr_dev2vm", sizeof(*r->dev2vm), RTE_CACHE_LINE_SIZE,
	                               r->pool_socket);
	if (r->vm2dev == NULL || r->dev2vm == NULL)
		return -1;
	dir_init(&r->vm2dev->d, r, VR_VM2DEV, &r->vhost.port, &r->dev.port);
	dir_init(&r->dev2vm->d, r, VR_DEV2VM, &r->dev.port, &r->vhost.port);
	rte_seqcount_init(&r->vm2dev->learned_sc);
	r->dir[VR_VM2DEV] = &r->vm2dev->d;
	r->dir[VR_DEV2VM] = &r->dev2vm->d;
	snprintf(name, sizeof(name), "vr_announce_%u", seq);
	r->vm2dev->inject = rte_ring_create(name, 64, r->pool_socket, RING_F_SC_DEQ);
	if (hold_frames > 0) { /* both ends the dev2vm worker's */
		snprintf(name, sizeof(name), "vr_hold_%u", seq);
		r->dev2vm->hold.ring =
		    rte_ring_create(name, hold_frames, r->pool_socket,
		                    RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
		snprintf(name, sizeof(name), "vr_late_%u", seq);
		r->dev2vm->hold.late =
		    rte_ring_create(name, hold_frames, r->pool_socket,
		                    RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
		r->dev2vm->hold.bytes_max = hold_bytes;
		r->dev2vm->hold.patience = hold_patience;
	}
	seq++;
	return r->vm2dev->inject != NULL && (hold_frames == 0 || (r->dev2vm->hold.ring != NULL &&
	                                                          r->dev2vm->hold.late != NULL))
	           ? 0
	           : -1;
}

/* After the directions left their workers: frames not sent go back. */
static void
dirs_free(struct vr_relay *r)
{
	if (r->vm2dev != NULL) {
		dir_drain(&r->vm2dev->d);
		rte_ring_free(r->vm2dev->inject);
	}
	if (r->dev2vm != NULL) {
		dir_drain(&r->dev2vm->d);
		rte_ring_free(r->dev2vm->hold.ring);
		rte_ring_free(r->dev2vm->hold.late);
	}
	rte_free(r->vm2dev);
	rte_free(r->dev2vm);
}

static int
least_busy_worker(void)
{
	struct vr_worker_load load[VR_MAX_CPUS];

	for (unsigned i = 0; i < vr_n_workers; i++) {
		load[i].cpu = (int)vr_workers[i].cpu;
		load[i].busy_permille = vr_workers[i].busy_permille;
		load[i].n_dirs = handoff_worker_dirs(i);
	}
	return vr_place_least_busy(load, vr_n_workers);
}

static int
place_dirs(struct vr_relay *r, char *err, size_t errlen)
{
	for (int k = 0; k < 2; k++) {
		int w = r->conf.cpu[k] == VR_CPU_UNPINNED ? least_busy_worker()
		                                          : worker_by_cpu(r->conf.cpu[k]);

		if (w < 0)
			return vr_err(err, errlen, "relay %d: CPU %d has no worker", r->conf.id,
			              r->conf.cpu[k]);
		if (handoff_attach(r->dir[k], (unsigned)w) < 0)
			return vr_err(err, errlen, "relay %d: out of memory", r->conf.id);
	}
	return 0;
}

/* Undo whatever part of relay_add got done: the relay is out of the table and
 * its socket closed, so nothing but this thread can reach it; no lock. */
static void
relay_destroy(struct vr_relay *r)
{
	relay_lock(); /* the handoff's callers serialise through it */
	if (r->dev2vm != NULL)
		redirect_relay_gone(r); /* its tunnel holds this relay's pool */
	if (r->dev2vm != NULL && r->dev2vm->tap != NULL) {
		struct vr_underlay_tap *tap = r->dev2vm->tap;

		handoff_underlay(r->dev2vm, r->vm2dev, NULL);
		vr_underlay_tap_drain(tap); /* its frames came from this relay's pool */
	}
	for (int k = 0; k < 2; k++)
		if (r->dir[k] != NULL)
			handoff_detach(r->dir[k]);
	handoff_port_down(&r->vhost.port);
	dirs_free(r);
	if (r->dev.name[0] != '\0')
		handoff_port_down(&r->dev.port);
	relay_unlock();
	if (r->dev.name[0] != '\0')
		device_close(&r->dev);
	relay_pool_free(r->pool);
	for (int i = 0; i < VR_RETIRED_POOLS; i++)
		relay_pool_free(r->retired[i]);
	free(r);
}

static int
check_new_relay(const struct vr_relay_conf *c, char *err, size_t errlen)
{
	struct vr_relay *other;

	if (vr_relay_conf_validate(c, &worker_cpus, err, errlen) < 0)
		return -1;
	if (relays[c->id] != NULL)
		return vr_err(err, errlen, "relay %d already exists", c->id);
	other = relay_by_socket(c->socket);
	if (other != NULL)
		return vr_err(err, errlen, "relay %d: socket %s is used by relay %d", c->id,
		              c->socket, other->conf.id);
	/* devargs.h: DPDK's virtio_user and lib/vhost in one process deadlock */
	if (vr_devargs_names_path(c->device, c->socket))
		return vr_err(err, errlen, "relay %d: device %s names the relay's own socket",
		              c->id, c->device);
	for (int i = 0; i < VR_MAX_RELAYS; i++)
		if (relays[i] != NULL && vr_devargs_names_path(c->device, relays[i]->conf.socket))
			return vr_err(err, errlen,
			              "relay %d: device %s names relay %d's vhost-user socket: a "
			              "relay cannot be another's guest in one vrelayd",
			              c->id, c->device, i);
	return 0;
}

static const struct vr_vhost_hooks vhost_hooks;

/* The device may wait on lib/vhost's thread: no relay lock until the
 * directions are placed. */
static int
relay_build(struct vr_relay *r, char *err, size_t errlen)
{
	char sub[VR_ERR_MAX];
	int rc;

	if ((r->conf.n_members > 0
	         ? device_open_bond(&r->dev, r->conf.device, r->conf.bond_mode, r->conf.members,
	                            r->conf.n_members, sub, sizeof(sub))
	         : device_open(&r->dev, r->conf.device, sub, sizeof(sub))) < 0)
		return vr_err(err, errlen, "relay %d: %s", r->conf.id, sub);
	r->pool_socket = device_socket(&r->dev);
	r->pool = relay_pool_create(r, r->pool_socket);
	if (r->pool == NULL)
		return vr_err(err, errlen,
		              "relay %d: no hugepage memory for its mbuf pool "
		              "(see docs/memory.md)",
		              r->conf.id);
	r->dev.want_queues = r->conf.queues;
	r->dev.mtu = r->conf.mtu;
	r->dev.port.pool = r->pool;
	if (r->dev.port.ops->start(&r->dev.port, sub, sizeof(sub)) < 0)
		return vr_err(err, errlen, "relay %d: %s", r->conf.id, sub);
	vhost_init(&r->vhost, &r->conf, r->pool, &vhost_hooks, r);
	if (dirs_create(r) < 0)
		return vr_err(err, errlen, "relay %d: out of hugepage memory", r->conf.id);
	relay_lock(); /* the handoff's callers serialise through it */
	rc = place_dirs(r, err, errlen);
	relay_unlock();
	return rc;
}

/*
 * Built without the relay lock: probing a device may wait on lib/vhost's
 * thread (a net_virtio_user device connecting to one of our own sockets
 * does the vhost-user handshake inside rte_dev_probe), and that thread
 * takes the relay lock in the hooks. The relay is not in the table until
 * it is whole, so nobody else sees it; relay_add runs on the control thread
 * only, so nothing else adds a relay meanwhile.
 */
int
relay_add(const struct vr_relay_conf *c, char *err, size_t errlen)
{
	struct vr_relay *r;
	char sub[VR_ERR_MAX];
	int rc;

	relay_lock();
	rc = check_new_relay(c, err, errlen);
	relay_unlock();
	if (rc < 0)
		return -1;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return vr_err(err, errlen, "relay %d: out of memory", c->id);
	r->conf = *c;
	r->numa_wanted = -1;
	if (relay_build(r, err, errlen) < 0) {
		relay_destroy(r);
		return -1;
	}
	relay_lock();
	relays[c->id] = r;
	relay_unlock();
	/* registers the socket: from here the hooks may run */
	if (r->vhost.port.ops->start(&r->vhost.port, sub, sizeof(sub)) < 0) {
		relay_lock();
		relays[c->id] = NULL;
		relay_unlock();
		relay_destroy(r);
		return vr_err(err, errlen, "relay %d: %s", c->id, sub);
	}
	if (underlay_tap_of(c->id) != NULL) { /* the relay's own frames off its device */
		relay_lock();
		handoff_underlay(r->dev2vm, r->vm2dev, underlay_tap_of(c->id));
		relay_unlock();
	}
	VR_LOG(INFO, "relay %d: added: device %s (%u queues, MTU %u), %s socket %s, CPUs %d/%d",
	       c->id, r->dev.name, r->dev.n_queues, c->mtu,
	       c->mode == VR_VHOST_CLIENT ? "client" : "server", c->socket,
	       relay_dir_cpu(r->dir[0]), relay_dir_cpu(r->dir[1]));
	return 0;
}

/* Out of the table first, then taken apart without the lock (closing the
 * device may wait on lib/vhost's thread, as probing does). */
int
relay_remove(int id, char *err, size_t errlen)
{
	struct vr_relay *r;

	relay_lock();
	r = relay_get(id);
	if (r == NULL || r->removing) {
		relay_unlock();
		return vr_err(err, errlen, "relay %d does not exist", id);
	}
	r->removing = true;
	relay_unlock();

	r->vhost.port.ops->stop(&r->vhost.port); /* may run guest_stopped */

	relay_lock();
	relays[id] = NULL;
	relay_unlock();
	relay_destroy(r);
	VR_LOG(INFO, "relay %d: removed", id);
	return 0;
}

void
relay_remove_all(void)
{
	for (int i = 0; i < VR_MAX_RELAYS; i++)
		if (relays[i] != NULL)
			relay_remove(i, NULL, 0);
}

int
relay_pin(int id, int cpu_vm2dev, int cpu_dev2vm, char *err, size_t errlen)
{
	int cpu[2] = {cpu_vm2dev, cpu_dev2vm};
	int w[2] = {-1, -1};
	struct vr_relay *r;
	int rc = 0, moved = 0;

	relay_lock();
	r = relay_get(id);
	if (r == NULL || r->removing) {
		relay_unlock();
		return vr_err(err, errlen, "relay %d does not exist", id);
	}
	for (int k = 0; k < 2; k++) {
		if (cpu[k] == VR_CPU_UNPINNED)
			continue;
		w[k] = worker_by_cpu(cpu[k]);
		if (w[k] < 0) {
			relay_unlock();
			return vr_err(err, errlen, "relay %d: CPU %d has no worker", id, cpu[k]);
		}
	}
	for (int k = 0; k < 2 && rc >= 0; k++) {
		if (w[k] < 0)
			continue;
		if (r->dir[k]->worker != w[k])
			moved++;
		rc = handoff_move(r->dir[k], (unsigned)w[k]);
		if (rc == 0)
			r->conf.cpu[k] = cpu[k];
	}
	relay_unlock();
	if (rc != 0)
		return vr_err(err, errlen, "relay %d: out of memory while moving", id);
	return moved;
}

/* ---- the vhost port's hooks (lib/vhost's event thread) ---- */

static int
on_guest_started(void *owner, struct vr_vhost *vh, int vid)
{
	struct vr_relay *r = owner;
	int node;

	relay_lock();
	if (r->removing) {
		relay_unlock();
		return -1;
	}
	node = vhost_session_begin(vh, vid);
	__atomic_add_fetch(&r->c.connects, 1, __ATOMIC_RELAXED);
	/* the pool follows on the control thread (numa_move.c): restarting
	 * the device here could wait on this very thread */
	r->numa_wanted = node;
	handoff_port_up(&vh->port);
	prime_guest_started(r);
	VR_LOG(INFO, "relay %d: guest connected (vid %d, NUMA node %d, features 0x%" PRIx64 ")",
	       r->conf.id, vid, node, __atomic_load_n(&vh->features, __ATOMIC_RELAXED));
	relay_unlock();
	return 0;
}

/* Returns after the grace period: lib/vhost's contract for destroy_device. */
static void
on_guest_stopped(void *owner, struct vr_vhost *vh, int vid)
{
	struct vr_relay *r = owner;

	relay_lock();
	if (vh->running && vh->vid == vid) {
		handoff_port_down(&vh->port);
		vhost_session_end(vh);
		memset(&r->arrived, 0, sizeof(r->arrived));
		__atomic_add_fetch(&r->c.disconnects, 1, __ATOMIC_RELAXED);
		VR_LOG(INFO, "relay %d: guest disconnected", r->conf.id);
	}
	relay_unlock();
}

static void
on_migration_started(void *owner)
{
	struct vr_relay *r = owner;

	__atomic_add_fetch(&r->c.migrations, 1, __ATOMIC_RELAXED);
}

static void
on_frontend_refused(void *owner)
{
	struct vr_relay *r = owner;

	__atomic_add_fetch(&r->c.frontends_refused, 1, __ATOMIC_RELAXED);
}

static const struct vr_vhost_hooks vhost_hooks = {
    .guest_started = on_guest_started,
    .guest_stopped = on_guest_stopped,
    .migration_started = on_migration_started,
    .frontend_refused = on_frontend_refused,
};

const char *
relay_state_name(const struct vr_relay *r)
{
	if (r->removing)
		return "removing";
	if (!r->vhost.running)
		return "waiting";
	return __atomic_load_n(&r->vhost.migrating, __ATOMIC_RELAXED) ? "migrating" : "connected";
}

int
relay_dir_cpu(const struct vr_dir *d)
{
	return d->worker >= 0 ? (int)vr_workers[d->worker].cpu : -1;
}
