/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Relay lifecycle. A relay is assembled in this order and taken apart in the
 * reverse one: device (probed, configured, started on a pool on its NUMA
 * node), two directions attached to workers, vhost-user socket. The guest is
 * published to the directions by the vhost callbacks once it connects.
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
#include <rte_vhost.h>

#include "errmsg.h"
#include "handoff.h"
#include "log.h"
#include "placement.h"
#include "poolsize.h"
#include "vhost.h"
#include "worker.h"

/*
 * Two locks. relay_mutex serialises control operations (add, remove, pin,
 * telemetry, new_device/destroy_device) and may be held while waiting for an
 * RCU grace period. map_mutex only guards the table pointers and the vid map,
 * is held for a few loads and stores, and is the only lock callbacks running
 * under a lib/vhost vq lock may take: they can never wait on a worker.
 */
static pthread_mutex_t relay_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t map_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct vr_relay *relays[VR_MAX_RELAYS];
/* lib/vhost hands out vids below its internal MAX_VHOST_DEVICE (1024) */
#define VR_MAX_VIDS 1024
static struct vr_relay *vid_relay[VR_MAX_VIDS];
static struct vr_cpuset worker_cpus;
static uint64_t retry_tsc;
static uint32_t guest_gen;
static uint64_t leaked_mbufs;
static uint64_t pools_created;

int
relay_module_init(uint32_t retry_us, const struct vr_conf *conf)
{
	retry_tsc = rte_get_tsc_hz() / 1000000 * retry_us;
	worker_cpus = conf->workers;
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
	struct vr_relay *found = NULL;

	pthread_mutex_lock(&map_mutex);
	for (int i = 0; i < VR_MAX_RELAYS && found == NULL; i++)
		if (relays[i] != NULL && strcmp(relays[i]->conf.socket, path) == 0)
			found = relays[i];
	pthread_mutex_unlock(&map_mutex);
	return found;
}

static void
table_set(int id, struct vr_relay *r)
{
	pthread_mutex_lock(&map_mutex);
	relays[id] = r;
	for (int vid = 0; r == NULL && vid < VR_MAX_VIDS; vid++)
		if (vid_relay[vid] != NULL && vid_relay[vid]->conf.id == id)
			vid_relay[vid] = NULL;
	pthread_mutex_unlock(&map_mutex);
}

struct vr_relay *
relay_of_vid(int vid)
{
	struct vr_relay *r = NULL;

	if (vid < 0 || vid >= VR_MAX_VIDS)
		return NULL;
	pthread_mutex_lock(&map_mutex);
	r = vid_relay[vid];
	pthread_mutex_unlock(&map_mutex);
	return r;
}

static void
vid_set(int vid, struct vr_relay *r)
{
	if (vid < 0 || vid >= VR_MAX_VIDS)
		return;
	pthread_mutex_lock(&map_mutex);
	vid_relay[vid] = r;
	pthread_mutex_unlock(&map_mutex);
}

void
relay_map_vid(int vid, const char *socket_path)
{
	vid_set(vid, relay_by_socket(socket_path));
}

void
relay_unmap_vid(int vid)
{
	vid_set(vid, NULL);
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
	return leaked_mbufs;
}

uint64_t
relay_pools_created(void)
{
	return pools_created;
}

static struct rte_mempool *
pool_create(const struct vr_relay *r, int socket)
{
	struct vr_pool_need need = {
	    .queues = device_queues_for(&r->dev, r->conf.queues),
	    .rxd = VR_DEV_RXD,
	    .txd = VR_DEV_TXD,
	    .mtu = r->conf.mtu,
	    .lcores = (uint16_t)(vr_n_workers + 1),
	    .tso_queues = r->conf.tso ? r->conf.queues : 0,
	};
	char name[RTE_MEMPOOL_NAMESIZE];

	snprintf(name, sizeof(name), "vr%d_%" PRIu64, r->conf.id, pools_created++);
	return rte_pktmbuf_pool_create(name, vr_pool_mbufs(&need), VR_POOL_CACHE, 0,
	                               VR_MBUF_DATA_ROOM + VR_MBUF_HEADROOM, socket);
}

/* Every mbuf must be home when a relay goes: count any that are not. */
static void
pool_free(struct rte_mempool *mp)
{
	unsigned missing;

	if (mp == NULL)
		return;
	missing = mp->size - rte_mempool_avail_count(mp);
	if (missing > 0) {
		leaked_mbufs += missing;
		VR_LOG(ERR, "pool %s: %u mbufs not returned", mp->name, missing);
	}
	rte_mempool_free(mp);
}

static struct vr_dir *
dir_create(const struct vr_relay *r, enum vr_dir_kind kind)
{
	struct vr_dir *d =
	    rte_zmalloc_socket("vr_dir", sizeof(*d), RTE_CACHE_LINE_SIZE, r->pool_socket);

	if (d == NULL)
		return NULL;
	d->kind = kind;
	d->relay_id = r->conf.id;
	d->port = r->dev.port;
	d->n_devq = r->dev.n_queues;
	d->pool = r->pool;
	d->dev_tx = r->dev.tx_offloads;
	d->retry_tsc = retry_tsc;
	d->worker = -1;
	if (kind == VR_DIR_VM2DEV) {
		static unsigned seq;
		char name[RTE_RING_NAMESIZE];

		snprintf(name, sizeof(name), "vr_announce_%u", seq++);
		d->inject = rte_ring_create(name, 64, r->pool_socket, RING_F_SC_DEQ);
		if (d->inject == NULL) {
			rte_free(d);
			return NULL;
		}
	}
	return d;
}

/* After the direction left its worker: frames not sent go back to the pool. */
static void
dir_free(struct vr_dir *d)
{
	struct rte_mbuf *m;

	dir_drain(d);
	while (d->inject != NULL && rte_ring_dequeue(d->inject, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(d->inject);
	rte_free(d);
}

/* Queue a's announcement frames for the guest-to-device worker, which owns
 * the device's TX queues; returns how many were queued. */
static unsigned
queue_announcement(struct vr_relay *r, const struct vr_addrs *a, unsigned *built)
{
	uint8_t frames[VR_ANNOUNCE_MAX][VR_ANNOUNCE_FRAME];
	size_t len[VR_ANNOUNCE_MAX];
	unsigned n = vr_announce_frames(a, frames, len), queued = 0;

	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(r->pool);
		char *p = m != NULL ? rte_pktmbuf_append(m, (uint16_t)len[i]) : NULL;

		if (p == NULL) {
			rte_pktmbuf_free(m);
			break;
		}
		memcpy(p, frames[i], len[i]);
		if (rte_ring_mp_enqueue(r->dir[VR_DIR_VM2DEV]->inject, m) != 0) {
			rte_pktmbuf_free(m);
			break;
		}
		queued++;
	}
	*built = n;
	return queued;
}

int
relay_prime_announce(int id, const struct vr_addrs *a, bool now, char *err, size_t errlen)
{
	struct vr_relay *r;
	unsigned queued = 0, n = 0;

	relay_lock();
	r = relay_get(id);
	if (r == NULL) {
		relay_unlock();
		return vr_err(err, errlen, "relay %d does not exist", id);
	}
	r->announce = *a;
	if (now && !r->running) {
		__atomic_store_n(&r->dir[VR_DIR_DEV2VM]->hold_until,
		                 rte_get_tsc_cycles() + 2 * rte_get_tsc_hz(), __ATOMIC_RELAXED);
		queued = queue_announcement(r, a, &n);
	}
	relay_unlock();
	if (now)
		VR_LOG(NOTICE,
		       "relay %d: guest stopped at its source: %u of %u announcement frames "
		       "queued, its frames held until it starts here",
		       id, queued, n);
	else
		VR_LOG(INFO, "relay %d: will announce %u address(es) when its next guest starts",
		       id, 1 + vr_addrs_n_ip(a));
	return 0;
}

/* The guest's vrings just started here: tell the network (relay lock held).
 * The primed addresses are sent once. */
void
relay_send_announce(struct vr_relay *r)
{
	unsigned n, queued = queue_announcement(r, &r->announce, &n);

	if (n > 0)
		VR_LOG(NOTICE, "relay %d: guest started: %u of %u announcement frames queued",
		       r->conf.id, queued, n);
	memset(&r->announce, 0, sizeof(r->announce));
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

/* Undo whatever part of relay_add got done; relay lock held, not registered. */
static void
relay_destroy(struct vr_relay *r)
{
	for (int k = 0; k < 2; k++) {
		if (r->dir[k] == NULL)
			continue;
		handoff_detach(r->dir[k]);
	}
	if (r->dir[0] != NULL && r->dir[1] != NULL && r->dir[0]->guest != NULL)
		handoff_set_guest(r->dir, NULL);
	for (int k = 0; k < 2; k++) {
		if (r->dir[k] == NULL)
			continue;
		dir_free(r->dir[k]);
	}
	if (r->dev.name[0] != '\0')
		device_close(&r->dev);
	pool_free(r->pool);
	pool_free(r->retired_pool);
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
	return 0;
}

static int
relay_build(struct vr_relay *r, char *err, size_t errlen)
{
	char sub[VR_ERR_MAX];

	if ((r->conf.n_members > 0
	         ? device_open_bond(&r->dev, r->conf.device, r->conf.bond_mode, r->conf.members,
	                            r->conf.n_members, sub, sizeof(sub))
	         : device_open(&r->dev, r->conf.device, sub, sizeof(sub))) < 0)
		return vr_err(err, errlen, "relay %d: %s", r->conf.id, sub);
	r->pool_socket = device_socket(&r->dev);
	r->pool = pool_create(r, r->pool_socket);
	if (r->pool == NULL)
		return vr_err(err, errlen,
		              "relay %d: no hugepage memory for its mbuf pool "
		              "(see docs/memory.md)",
		              r->conf.id);
	if (device_start(&r->dev, r->conf.queues, r->conf.mtu, r->pool, sub, sizeof(sub)) < 0)
		return vr_err(err, errlen, "relay %d: %s", r->conf.id, sub);
	r->dir[VR_DIR_VM2DEV] = dir_create(r, VR_DIR_VM2DEV);
	r->dir[VR_DIR_DEV2VM] = dir_create(r, VR_DIR_DEV2VM);
	if (r->dir[0] == NULL || r->dir[1] == NULL)
		return vr_err(err, errlen, "relay %d: out of hugepage memory", r->conf.id);
	return place_dirs(r, err, errlen);
}

int
relay_add(const struct vr_relay_conf *c, char *err, size_t errlen)
{
	struct vr_relay *r;
	char sub[VR_ERR_MAX];

	relay_lock();
	if (check_new_relay(c, err, errlen) < 0)
		goto out_err;
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		vr_err(err, errlen, "relay %d: out of memory", c->id);
		goto out_err;
	}
	r->conf = *c;
	r->vid = -1;
	if (relay_build(r, err, errlen) < 0) {
		relay_destroy(r);
		goto out_err;
	}
	/* in the table before the socket opens: callbacks look relays up by path */
	table_set(c->id, r);
	if (vhost_register(c, sub, sizeof(sub)) < 0) {
		table_set(c->id, NULL);
		relay_destroy(r);
		vr_err(err, errlen, "relay %d: %s", c->id, sub);
		goto out_err;
	}
	r->registered = true;
	VR_LOG(INFO, "relay %d: added: device %s (%u queues, MTU %u), %s socket %s, CPUs %d/%d",
	       c->id, r->dev.name, r->dev.n_queues, c->mtu,
	       c->mode == VR_VHOST_CLIENT ? "client" : "server", c->socket,
	       relay_dir_cpu(r->dir[0]), relay_dir_cpu(r->dir[1]));
	relay_unlock();
	return 0;
out_err:
	relay_unlock();
	return -1;
}

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

	if (r->registered)
		vhost_unregister(&r->conf); /* may run destroy_device */

	relay_lock();
	table_set(id, NULL);
	relay_destroy(r);
	relay_unlock();
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
	int rc = 0;

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
	for (int k = 0; k < 2 && rc == 0; k++) {
		if (w[k] < 0)
			continue;
		rc = handoff_move(r->dir[k], (unsigned)w[k]);
		if (rc == 0)
			r->conf.cpu[k] = cpu[k];
	}
	relay_unlock();
	if (rc != 0)
		return vr_err(err, errlen, "relay %d: out of memory while moving", id);
	return 0;
}

void
relay_publish_guest(struct vr_relay *r)
{
	struct vr_guest *g = NULL;

	if (r->running) {
		g = calloc(1, sizeof(*g));
		if (g == NULL) {
			VR_LOG(ERR, "relay %d: out of memory for guest state", r->conf.id);
			return;
		}
		g->gen = ++guest_gen == 0 ? ++guest_gen : guest_gen;
		g->vid = r->vid;
	}
	handoff_set_guest(r->dir, g);
	if (!r->running) {
		/* the next connection enables its vrings afresh */
		__atomic_store_n(&r->vring_enabled, 0, __ATOMIC_RELAXED);
		for (int k = 0; k < 2; k++)
			__atomic_store_n(&r->dir[k]->vring_mask, 0, __ATOMIC_RELEASE);
	}
}

void
relay_set_vring(struct vr_relay *r, uint16_t vring, bool enable)
{
	uint64_t bit = 1ULL << vring, mask;

	if (enable)
		mask = __atomic_or_fetch(&r->vring_enabled, bit, __ATOMIC_RELAXED);
	else
		mask = __atomic_and_fetch(&r->vring_enabled, ~bit, __ATOMIC_RELAXED);
	for (int k = 0; k < 2; k++)
		__atomic_store_n(&r->dir[k]->vring_mask, mask, __ATOMIC_RELEASE);
}

/*
 * Mempool on the guest's NUMA node: the relay copies every packet into or out
 * of guest memory, so its buffers belong next to it. The device is paused
 * while its RX queues move to the new pool; the old pool is kept until the
 * relay goes, since the device may still hold some of its mbufs.
 */
void
relay_follow_guest_numa(struct vr_relay *r, int node)
{
	struct rte_mempool *np;
	char sub[VR_ERR_MAX];

	if (node < 0 || node == r->pool_socket)
		return;
	np = pool_create(r, node);
	if (np == NULL) {
		VR_LOG(WARNING, "relay %d: no memory on NUMA node %d; pool stays on node %d",
		       r->conf.id, node, r->pool_socket);
		return;
	}
	int w[2] = {r->dir[0]->worker, r->dir[1]->worker};

	handoff_detach(r->dir[0]);
	handoff_detach(r->dir[1]);
	if (device_restart_on_pool(&r->dev, np, sub, sizeof(sub)) < 0) {
		VR_LOG(ERR, "relay %d: %s", r->conf.id, sub);
		rte_mempool_free(np);
	} else {
		r->dir[0]->pool = np;
		pool_free(r->retired_pool);
		r->retired_pool = r->pool;
		r->pool = np;
		r->pool_socket = node;
	}
	handoff_attach(r->dir[0], (unsigned)w[0]);
	handoff_attach(r->dir[1], (unsigned)w[1]);
}

/*
 * Pool exhaustion, sampled here rather than by the worker after each empty
 * dequeue (that cost every idle poll a locked ring read, doubling latency):
 * the guest has frames waiting on an enabled TX vring and the pool is empty.
 */
static void
sample_nombuf(struct vr_relay *r)
{
	uint64_t mask = __atomic_load_n(&r->vring_enabled, __ATOMIC_RELAXED);

	if (!r->running || rte_mempool_avail_count(r->pool) >= VR_BURST)
		return;
	for (uint16_t qp = 0; qp < VR_MAX_QP; qp++) {
		if ((mask & (1ULL << (2 * qp + 1))) &&
		    rte_vhost_rx_queue_count(r->vid, (uint16_t)(2 * qp + 1)) > 0) {
			ctr_add(r->dir[VR_DIR_VM2DEV]->c.nombuf, 1);
			return;
		}
	}
}

void
relay_sample_rates(uint64_t now_ns)
{
	relay_lock();
	for (int i = 0; i < VR_MAX_RELAYS; i++) {
		struct vr_relay *r = relays[i];

		if (r == NULL)
			continue;
		sample_nombuf(r);
		for (int k = 0; k < 2; k++)
			vr_rate_sample(&r->rate_rx[k], ctr_read(r->dir[k]->c.rx_pkts),
			               ctr_read(r->dir[k]->c.rx_bytes), now_ns);
		for (int k = 0; k < 2; k++)
			vr_rate_sample(&r->rate[k], ctr_read(r->dir[k]->c.tx_pkts),
			               ctr_read(r->dir[k]->c.tx_bytes), now_ns);
	}
	workers_update_load(rte_rdtsc());
	relay_unlock();
}

const char *
relay_state_name(const struct vr_relay *r)
{
	if (r->removing)
		return "removing";
	if (!r->running)
		return "waiting";
	return __atomic_load_n(&r->migrating, __ATOMIC_RELAXED) ? "migrating" : "connected";
}

unsigned
relay_guest_queues(const struct vr_relay *r)
{
	uint64_t mask = __atomic_load_n(&r->vring_enabled, __ATOMIC_RELAXED);
	unsigned n = 0;

	for (unsigned qp = 0; qp < VR_MAX_QP; qp++)
		if (mask & (3ULL << (2 * qp)))
			n++;
	return n;
}

int
relay_dir_cpu(const struct vr_dir *d)
{
	return d->worker >= 0 ? (int)vr_workers[d->worker].cpu : -1;
}
