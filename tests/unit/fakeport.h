/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A fake port for the data-plane tests: what a direction sees of a guest
 * or a device, scripted. Its receive queues hand out the frames a test put
 * there; its transmit queues take as many frames as the test gives them
 * room for and keep them, in order, for the test to inspect.
 */
#ifndef VR_FAKEPORT_H
#define VR_FAKEPORT_H

#include <stdint.h>

#include <rte_mbuf.h>

#include "budget.h"
#include "config.h"
#include "dir.h"
#include "port.h"

#define FAKE_QLEN 2048

struct fake_queue {
	struct rte_mbuf *m[FAKE_QLEN];
	uint32_t head, n;
};

struct fake_port {
	struct vr_port port;
	struct fake_queue rx[VR_MAX_QP]; /* frames waiting to be received */
	struct fake_queue tx[VR_MAX_QP]; /* frames the port took */
	uint32_t tx_room[VR_MAX_QP];     /* how many more it will take */
	uint32_t rx_calls, tx_calls;
	/* called inside tx_burst before it takes anything (a vring going away
	 * while the worker is in the middle of a burst) */
	void (*on_tx)(struct fake_port *f, uint16_t q);
};

static uint16_t
fake_rx(struct vr_port *p, uint16_t q, struct rte_mbuf **m, uint16_t n)
{
	struct fake_port *f = (struct fake_port *)p;
	struct fake_queue *fq = &f->rx[q];
	uint16_t k = 0;

	f->rx_calls++;
	while (k < n && fq->head < fq->n)
		m[k++] = fq->m[fq->head++];
	return k;
}

static uint16_t
fake_tx(struct vr_port *p, uint16_t q, struct rte_mbuf **m, uint16_t n)
{
	struct fake_port *f = (struct fake_port *)p;
	struct fake_queue *fq = &f->tx[q];
	uint16_t k = 0;

	f->tx_calls++;
	if (f->on_tx != NULL)
		f->on_tx(f, q);
	while (k < n && f->tx_room[q] > 0 && fq->n < FAKE_QLEN) {
		fq->m[fq->n++] = m[k++];
		f->tx_room[q]--;
	}
	return k;
}

static const struct vr_port_ops fake_ops = {
    .kind = "fake",
    .rx_burst = fake_rx,
    .tx_burst = fake_tx,
};

static inline void
fake_queue_push(struct fake_queue *fq, struct rte_mbuf *m)
{
	fq->m[fq->n++] = m;
}

/* Frames still in a queue (rx: not received yet; tx: taken). */
static inline uint32_t
fake_queue_len(const struct fake_queue *fq)
{
	return fq->n - fq->head;
}

static inline void
fake_queue_free(struct fake_queue *fq)
{
	for (uint32_t i = fq->head; i < fq->n; i++)
		rte_pktmbuf_free(fq->m[i]);
	fq->head = fq->n = 0;
}

/* One pass of direction d at test time now, with a full budget; returns
 * the frames it moved. */
static inline unsigned
poll_at(struct vr_dir *d, uint64_t now)
{
	struct vr_budget b;

	budget_reset(&b);
	return dir_poll(d, now, &b);
}

#endif
