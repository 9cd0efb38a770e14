/* SPDX-License-Identifier: BSD-3-Clause */
#include "prime.h"

#include <string.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "ctl.h"
#include "errmsg.h"
#include "handoff.h"
#include "log.h"
#include "relay.h"

/* Queue a's announcement frames for the vm2dev worker, which owns the
 * device's TX queues; returns how many were queued, *built how many made. */
static unsigned
queue_announcement(struct vr_relay *r, const struct vr_addrs *a, unsigned *built)
{
	uint8_t frames[VR_ANNOUNCE_MAX][VR_ANNOUNCE_FRAME];
	size_t len[VR_ANNOUNCE_MAX];
	struct rte_mbuf *m[VR_ANNOUNCE_MAX];
	unsigned n = vr_announce_frames(a, frames, len), made = 0, queued;

	for (; made < n; made++) {
		m[made] = rte_pktmbuf_alloc(r->pool);
		char *p = m[made] != NULL ? rte_pktmbuf_append(m[made], (uint16_t)len[made]) : NULL;

		if (p == NULL) {
			rte_pktmbuf_free(m[made]);
			break;
		}
		memcpy(p, frames[made], len[made]);
	}
	queued = handoff_inject(r->vm2dev, m, made);
	if (queued < made)
		rte_pktmbuf_free_bulk(m + queued, made - queued);
	*built = n;
	return queued;
}

int
prime_announce(int id, const struct vr_addrs *a, bool now, char *err, size_t errlen)
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
	if (now && !r->vhost.running) {
		uint64_t until =
		    rte_get_tsc_cycles() + ctl_conf()->hold_ms * (rte_get_tsc_hz() / 1000);

		/* a redirect's destination may hold longer already (redirect.c) */
		handoff_hold(r->dev2vm, RTE_MAX(until, __atomic_load_n(&r->dev2vm->hold_until,
		                                                       __ATOMIC_RELAXED)));
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

void
prime_guest_started(struct vr_relay *r)
{
	unsigned n, queued = queue_announcement(r, &r->announce, &n);

	if (n > 0)
		VR_LOG(NOTICE, "relay %d: guest started: %u of %u announcement frames queued",
		       r->conf.id, queued, n);
	r->arrived = r->announce;
	memset(&r->announce, 0, sizeof(r->announce));
}
