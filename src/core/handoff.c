/* SPDX-License-Identifier: BSD-3-Clause */
#include "handoff.h"

#include <stdlib.h>
#include <string.h>

#include <rte_rcu_qsbr.h>

#include "config.h"
#include "dev2vm.h"
#include "port.h"
#include "vm2dev.h"

static struct rte_rcu_qsbr *qsbr;
static struct vr_handoff_slot slots[VR_MAX_CPUS];
static unsigned n_slots;

int
handoff_init(unsigned n_workers)
{
	size_t sz;

	if (n_workers == 0 || n_workers > VR_MAX_CPUS)
		return -1;
	sz = rte_rcu_qsbr_get_memsize(n_workers);
	/* aligned_alloc: rte_rcu_qsbr wants cache-line alignment */
	qsbr = aligned_alloc(RTE_CACHE_LINE_SIZE, RTE_ALIGN_CEIL(sz, RTE_CACHE_LINE_SIZE));
	if (qsbr == NULL)
		return -1;
	if (rte_rcu_qsbr_init(qsbr, n_workers) != 0) {
		free(qsbr);
		qsbr = NULL;
		return -1;
	}
	memset(slots, 0, sizeof(slots));
	n_slots = n_workers;
	return 0;
}

void
handoff_fini(void)
{
	for (unsigned i = 0; i < n_slots; i++) {
		free(slots[i].view);
		slots[i].view = NULL;
	}
	free(qsbr);
	qsbr = NULL;
	n_slots = 0;
}

void
handoff_worker_online(unsigned idx)
{
	rte_rcu_qsbr_thread_register(qsbr, idx);
	rte_rcu_qsbr_thread_online(qsbr, idx);
}

void
handoff_worker_offline(unsigned idx)
{
	rte_rcu_qsbr_thread_offline(qsbr, idx);
	rte_rcu_qsbr_thread_unregister(qsbr, idx);
}

void
handoff_quiescent(unsigned idx)
{
	rte_rcu_qsbr_quiescent(qsbr, idx);
}

struct vr_worker_view *
handoff_view(unsigned idx)
{
	return __atomic_load_n(&slots[idx].view, __ATOMIC_ACQUIRE);
}

void
handoff_synchronize(void)
{
	rte_rcu_qsbr_synchronize(qsbr, RTE_QSBR_THRID_INVALID);
}

uint16_t
handoff_worker_dirs(unsigned worker)
{
	return worker < n_slots ? slots[worker].n_dirs : 0;
}

/* Swap in a new view, wait until no worker can hold the old one, free it. */
static void
publish_view(unsigned worker, struct vr_worker_view *nv)
{
	struct vr_worker_view *old = slots[worker].view;

	__atomic_store_n(&slots[worker].view, nv, __ATOMIC_RELEASE);
	slots[worker].n_dirs = nv != NULL ? nv->n : 0;
	handoff_synchronize();
	free(old);
}

static struct vr_worker_view *
view_alloc(uint16_t n)
{
	struct vr_worker_view *v = malloc(sizeof(*v) + n * sizeof(v->dir[0]));

	if (v != NULL)
		v->n = n;
	return v;
}

int
handoff_attach(struct vr_dir *d, unsigned worker)
{
	struct vr_worker_view *old, *nv;
	uint16_t n;

	if (worker >= n_slots || d->worker >= 0)
		return -1;
	old = slots[worker].view;
	n = old != NULL ? old->n : 0;
	nv = view_alloc(n + 1);
	if (nv == NULL)
		return -1;
	if (n > 0)
		memcpy(nv->dir, old->dir, n * sizeof(nv->dir[0]));
	nv->dir[n] = d;
	d->worker = (int)worker;
	publish_view(worker, nv);
	return 0;
}

int
handoff_detach(struct vr_dir *d)
{
	struct vr_worker_view *old, *nv = NULL;
	unsigned worker;
	uint16_t k = 0;

	if (d->worker < 0)
		return 0;
	worker = (unsigned)d->worker;
	old = slots[worker].view;
	if (old == NULL)
		return -1;
	if (old->n > 1) {
		nv = view_alloc(old->n - 1);
		if (nv == NULL)
			return -1;
		for (uint16_t i = 0; i < old->n; i++)
			if (old->dir[i] != d)
				nv->dir[k++] = old->dir[i];
		nv->n = k;
	}
	publish_view(worker, nv);
	d->worker = -1;
	return 0;
}

/*
 * Detach waits for the old worker's grace period before the new worker can
 * see the direction, so its pending packets and counters pass from one
 * single writer to the next: nothing is lost or double-counted.
 */
int
handoff_move(struct vr_dir *d, unsigned worker)
{
	if (d->worker == (int)worker)
		return 0;
	if (worker >= n_slots || handoff_detach(d) < 0)
		return -1;
	return handoff_attach(d, worker);
}

void
handoff_pause(struct vr_dir *d)
{
	__atomic_store_n(&d->paused, true, __ATOMIC_RELEASE);
	handoff_synchronize();
}

void
handoff_resume(struct vr_dir *d)
{
	__atomic_store_n(&d->paused, false, __ATOMIC_RELEASE);
}

/* Session numbers: unique per port_up, never 0 (control thread only). */
static uint32_t last_gen;

void
handoff_port_up(struct vr_port *p)
{
	last_gen = last_gen + 1 == 0 ? 1 : last_gen + 1;
	__atomic_store_n(&p->gen, last_gen, __ATOMIC_RELEASE);
}

void
handoff_port_down(struct vr_port *p)
{
	if (__atomic_load_n(&p->gen, __ATOMIC_RELAXED) == 0)
		return;
	__atomic_store_n(&p->gen, 0, __ATOMIC_RELEASE);
	handoff_synchronize();
}

void
handoff_port_queues(struct vr_port *p, uint64_t rxq, uint64_t txq)
{
	__atomic_store_n(&p->rxq_mask, rxq, __ATOMIC_RELEASE);
	__atomic_store_n(&p->txq_mask, txq, __ATOMIC_RELEASE);
}

void
handoff_hold(struct vr_dev2vm *d, uint64_t until)
{
	__atomic_store_n(&d->hold_until, until, __ATOMIC_RELAXED);
}

unsigned
handoff_inject(struct vr_vm2dev *d, struct rte_mbuf **m, unsigned n)
{
	return rte_ring_mp_enqueue_burst(d->inject, (void **)m, n, NULL);
}

void
handoff_underlay(struct vr_dev2vm *d, struct vr_vm2dev *v, struct vr_underlay_tap *tap)
{
	__atomic_store_n(&d->tap, tap, __ATOMIC_RELEASE);
	__atomic_store_n(&v->under, tap, __ATOMIC_RELEASE);
	handoff_synchronize();
}

struct vr_esp_sa *
handoff_sa(struct vr_esp_sa **slot, struct vr_esp_sa *sa)
{
	struct vr_esp_sa *old = __atomic_exchange_n(slot, sa, __ATOMIC_ACQ_REL);

	handoff_synchronize();
	return old;
}

struct vr_tunnel_demux *
handoff_tunnels(struct vr_underlay_tap *tap, struct vr_tunnel_demux *demux)
{
	struct vr_tunnel_demux *old = __atomic_exchange_n(&tap->demux, demux, __ATOMIC_ACQ_REL);

	handoff_synchronize();
	return old;
}

void
handoff_tunnel(struct vr_vm2dev *v, struct vr_dev2vm *d, struct vr_tunnel_port *t)
{
	__atomic_store_n(&v->tunnel, t, __ATOMIC_RELEASE);
	__atomic_store_n(&d->tunnel, t, __ATOMIC_RELEASE);
	handoff_synchronize();
}
