/* SPDX-License-Identifier: BSD-3-Clause */
#include "hold.h"

#include "pending.h"

uint16_t
vr_hold_room(const struct vr_hold *h)
{
	unsigned room;

	if (h->ring == NULL || h->bytes >= h->bytes_max)
		return 0;
	room = rte_ring_free_count(h->ring);
	return (uint16_t)(room < VR_BURST ? room : VR_BURST);
}

void
vr_hold_keep(struct vr_dir *d, struct vr_hold *h, struct rte_mbuf **m, uint16_t n)
{
	/* the bytes bound holds even for a caller that takes more than the room
	 * (the underlay tap's relay reads its device whatever the hold) */
	unsigned kept = h->ring != NULL && h->bytes < h->bytes_max
	                    ? rte_ring_sp_enqueue_burst(h->ring, (void **)m, n, NULL)
	                    : 0;
	uint64_t bytes = sum_bytes(m, (uint16_t)kept);

	h->bytes += bytes;
	h->n += kept;
	ctr_add(d->c.held, kept);
	if (kept < n)
		dir_drop_unready(d, m + kept, (uint16_t)(n - kept),
		                 sum_bytes(m + kept, (uint16_t)(n - kept)));
}

uint16_t
vr_hold_take(struct vr_hold *h, struct rte_mbuf **m, uint16_t max)
{
	unsigned n = rte_ring_sc_dequeue_burst(h->ring, (void **)m, max, NULL);

	h->bytes -= sum_bytes(m, (uint16_t)n);
	h->n -= n;
	return (uint16_t)n;
}

void
vr_hold_drop(struct vr_dir *d, struct vr_hold *h)
{
	struct rte_mbuf *m[VR_BURST];
	uint16_t n;

	while (h->ring != NULL && (n = vr_hold_take(h, m, VR_BURST)) > 0)
		dir_drop_unready(d, m, n, sum_bytes(m, n));
	h->bytes = 0;
	h->n = 0;
}
