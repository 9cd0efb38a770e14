/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Backpressure, shared by both directions. When the destination takes only
 * part of a burst, the rest waits in the direction's pending buffer for its
 * queue and goes first on the next passes; while a queue has pending frames
 * nothing new is taken from its source, so the source ring fills and pushes
 * back to the sender. Only when the destination makes no progress for the
 * retry window are the pending frames dropped, and counted (drop_full).
 *
 * Worker code: no locks, no allocation, no syscalls.
 */
#ifndef VR_PENDING_H
#define VR_PENDING_H

#include <stdint.h>

#include <rte_mbuf.h>

#include "dir.h"

static inline uint64_t
sum_bytes(struct rte_mbuf *const *m, uint16_t n)
{
	uint64_t bytes = 0;

	for (uint16_t i = 0; i < n; i++)
		bytes += rte_pktmbuf_pkt_len(m[i]);
	return bytes;
}

/* Count n frames of bytes taken from the source. */
static inline void
dir_count_rx(struct vr_dir *d, uint16_t n, uint64_t bytes)
{
	ctr_add(d->c.rx_pkts, n);
	ctr_add(d->c.rx_bytes, bytes);
}

/* Offers m[0..n) to the destination's queue q and counts what it took. The
 * bytes are summed first: the port owns what it took. Once per burst, so
 * inline (the one port call is the only indirection). */
static inline uint16_t
dir_send(struct vr_dir *d, uint16_t q, struct rte_mbuf **m, uint16_t n)
{
	uint64_t bytes = sum_bytes(m, n);
	uint16_t sent = port_tx(d->dst, q, m, n);

	if (sent > 0) {
		if (sent < n)
			bytes -= sum_bytes(m + sent, (uint16_t)(n - sent));
		ctr_add(d->c.tx_pkts, sent);
		ctr_add(d->c.tx_bytes, bytes);
	}
	return sent;
}

/* Appends m[0..n) behind what p holds (room for them is the caller's
 * check); a first frame opens a backpressure episode (retries). */
void pending_keep(struct vr_dir *d, struct vr_pending *p, struct rte_mbuf **m, uint16_t n,
                  uint64_t now);

/* The first sent frames of p were taken: progress. */
void pending_consume(struct vr_pending *p, uint16_t sent, uint64_t now);

/* Offers p to the destination's queue q, then drops it if the retry window
 * passed without progress; returns how many the destination took. */
uint16_t pending_flush(struct vr_dir *d, struct vr_pending *p, uint16_t q, uint64_t now);

/* No progress for the whole retry window: drop them (drop_full). */
void pending_expire(struct vr_dir *d, struct vr_pending *p, uint64_t now);

/* Nobody will ever take these (the guest or its vring is gone): drop them
 * (drop_unready). */
void pending_drop_unready(struct vr_dir *d, struct vr_pending *p);

/* Drops (drop_unready) what waits in d->pend[qp] for every queue pair qp
 * whose bit in keep is clear: nobody will take it (keep 0: everything). */
void pending_drop_except(struct vr_dir *d, uint64_t keep);

/* Drops (drop_unready) the frames taken and not kept: no peer for them. */
void dir_drop_unready(struct vr_dir *d, struct rte_mbuf **m, uint16_t n, uint64_t bytes);

#endif
