/* SPDX-License-Identifier: BSD-3-Clause */
#include "worker.h"

#include <rte_cycles.h>
#include <rte_pause.h>

#include "budget.h"
#include "dir.h"
#include "handoff.h"

struct vr_worker vr_workers[VR_MAX_CPUS];
unsigned vr_n_workers;
static bool stop_flag;

void
worker_poll_once(struct vr_worker *w)
{
	uint64_t t0 = rte_rdtsc();
	struct vr_worker_view *v = handoff_view(w->idx);
	unsigned moved = 0;

	if (v != NULL) {
		for (uint16_t i = 0; i < v->n; i++) {
			struct vr_budget b;

			if (__atomic_load_n(&v->dir[i]->paused, __ATOMIC_ACQUIRE))
				continue; /* its pool or device is changing */
			budget_reset(&b);
			moved += dir_poll(v->dir[i], t0, &b);
		}
	}
	/* Past this point nothing loaded from v (or its ports' sessions) is used again. */
	handoff_quiescent(w->idx);
	ctr_add(w->passes, 1);
	if (moved > 0) {
		ctr_add(w->pkts, moved);
		ctr_add(w->busy_cycles, rte_rdtsc() - t0);
	} else if (v == NULL) {
		rte_pause();
	}
}

int
worker_main(void *arg)
{
	struct vr_worker *w = arg;

	handoff_worker_online(w->idx);
	while (!__atomic_load_n(&stop_flag, __ATOMIC_RELAXED))
		worker_poll_once(w);
	handoff_worker_offline(w->idx);
	return 0;
}

void
workers_stop(void)
{
	__atomic_store_n(&stop_flag, true, __ATOMIC_RELAXED);
}

int
worker_by_cpu(int cpu)
{
	for (unsigned i = 0; i < vr_n_workers; i++)
		if ((int)vr_workers[i].cpu == cpu)
			return (int)i;
	return -1;
}

void
workers_update_load(uint64_t now_tsc)
{
	for (unsigned i = 0; i < vr_n_workers; i++) {
		struct vr_worker *w = &vr_workers[i];
		uint64_t busy = ctr_read(w->busy_cycles);

		if (w->last_tsc != 0 && now_tsc > w->last_tsc)
			w->busy_permille =
			    (uint32_t)((busy - w->last_busy) * 1000 / (now_tsc - w->last_tsc));
		w->last_busy = busy;
		w->last_tsc = now_tsc;
	}
}
