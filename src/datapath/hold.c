/* SPDX-License-Identifier: BSD-3-Clause */
#include "hold.h"

#include "pending.h"

/* Frames both rings may take together (the ring's size). */
static unsigned
room_left(const struct vr_hold *h)
{
	unsigned cap = rte_ring_get_capacity(h->ring), used = h->n + h->late_n;

	return h->bytes < h->bytes_max && used < cap ? cap - used : 0;
}

uint16_t
vr_hold_room(const struct vr_hold *h)
{
	unsigned room = h->ring != NULL ? room_left(h) : 0;

	return (uint16_t)(room < VR_BURST ? room : VR_BURST);
}

/* m[0..n) into ring r of h, as far as the shared bounds go (even for a
 * caller that takes more than the room: the underlay tap's relay reads its
 * device whatever the hold); the rest is dropped. Frames kept. */
static unsigned
keep_in(struct vr_dir *d, struct vr_hold *h, struct rte_ring *r, struct rte_mbuf **m, uint16_t n)
{
	unsigned room = r != NULL && h->ring != NULL ? room_left(h) : 0;
	unsigned kept =
	    room > 0 ? rte_ring_sp_enqueue_burst(r, (void **)m, n < room ? n : room, NULL) : 0;

	h->bytes += sum_bytes(m, (uint16_t)kept);
	ctr_add(d->c.held, kept);
	if (kept < n)
		dir_drop_unready(d, m + kept, (uint16_t)(n - kept),
		                 sum_bytes(m + kept, (uint16_t)(n - kept)));
	return kept;
}

void
vr_hold_keep(struct vr_dir *d, struct vr_hold *h, struct rte_mbuf **m, uint16_t n)
{
	h->n += keep_in(d, h, h->ring, m, n);
}

void
vr_hold_keep_late(struct vr_dir *d, struct vr_hold *h, struct rte_mbuf **m, uint16_t n)
{
	h->late_n += keep_in(d, h, h->late, m, n);
}

void
vr_hold_settle(struct vr_hold *h)
{
	void *m[VR_BURST];
	unsigned k;

	/* the ring holds at most its size, shared: the late frames fit */
	while (h->late_n > 0 && (k = rte_ring_sc_dequeue_burst(h->late, m, VR_BURST, NULL)) > 0) {
		rte_ring_sp_enqueue_bulk(h->ring, m, k, NULL);
		h->late_n -= k;
		h->n += k;
	}
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

	vr_hold_settle(h);
	while (h->ring != NULL && (n = vr_hold_take(h, m, VR_BURST)) > 0)
		dir_drop_unready(d, m, n, sum_bytes(m, n));
	h->bytes = 0;
	h->n = 0;
}
