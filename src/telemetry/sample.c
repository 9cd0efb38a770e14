/* SPDX-License-Identifier: BSD-3-Clause */
#include "sample.h"

#include <rte_cycles.h>
#include <rte_mempool.h>

#include "burst.h"
#include "relay.h"
#include "worker.h"

/*
 * Pool exhaustion, sampled here rather than by the worker after each empty
 * dequeue (that cost every idle poll a locked ring read, doubling latency):
 * the guest has frames waiting on an enabled TX vring and the pool is empty.
 */
static void
sample_nombuf(struct vr_relay *r)
{
	if (r->vhost.running && rte_mempool_avail_count(r->pool) < VR_BURST &&
	    vhost_guest_waiting(&r->vhost))
		__atomic_add_fetch(&r->c.nombuf, 1, __ATOMIC_RELAXED);
}

void
sample_relays(uint64_t now_ns)
{
	relay_lock();
	for (int i = 0; i < VR_MAX_RELAYS; i++) {
		struct vr_relay *r = relay_get(i);

		if (r == NULL)
			continue;
		sample_nombuf(r);
		for (int k = 0; k < 2; k++) {
			const struct vr_dir_counters *c = &r->dir[k]->c;

			vr_rate_sample(&r->rate_rx[k], ctr_read(c->rx_pkts), ctr_read(c->rx_bytes),
			               now_ns);
			vr_rate_sample(&r->rate[k], ctr_read(c->tx_pkts), ctr_read(c->tx_bytes),
			               now_ns);
		}
	}
	workers_update_load(rte_rdtsc());
	relay_unlock();
	relay_follow_numa();
}
