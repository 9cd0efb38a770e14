/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vhost port's data path: worker code, one caller per queue. lib/vhost
 * copies frames into guest buffers, so what the guest took goes back to
 * the pool here; what it did not stays the caller's (port.h).
 */
#include <rte_vhost.h>

#include "vhost.h"

#define VIRTIO_RXQ(qp) ((uint16_t)((qp)*2))
#define VIRTIO_TXQ(qp) ((uint16_t)((qp)*2 + 1))

uint16_t
vhost_port_rx(struct vr_port *p, uint16_t q, struct rte_mbuf **m, uint16_t n)
{
	const struct vr_vhost *vh = (const struct vr_vhost *)p;

	return rte_vhost_dequeue_burst(vh->vid, VIRTIO_TXQ(q), p->pool, m, n);
}

uint16_t
vhost_port_tx(struct vr_port *p, uint16_t q, struct rte_mbuf **m, uint16_t n)
{
	const struct vr_vhost *vh = (const struct vr_vhost *)p;
	uint16_t sent = rte_vhost_enqueue_burst(vh->vid, VIRTIO_RXQ(q), m, n);

	rte_pktmbuf_free_bulk(m, sent);
	return sent;
}
