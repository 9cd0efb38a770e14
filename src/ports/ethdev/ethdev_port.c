/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ethdev port: data path over rte_eth_rx_burst/rte_eth_tx_burst (worker
 * code, one caller per queue; a driver owns what it took to send), and the
 * start/stop ops the relay's lifecycle calls on the control thread.
 */
#include <rte_ethdev.h>

#include "device.h"
#include "handoff.h"

static uint16_t
ethdev_rx(struct vr_port *p, uint16_t q, struct rte_mbuf **m, uint16_t n)
{
	return rte_eth_rx_burst(((const struct vr_device *)p)->port_id, q, m, n);
}

static uint16_t
ethdev_tx(struct vr_port *p, uint16_t q, struct rte_mbuf **m, uint16_t n)
{
	return rte_eth_tx_burst(((const struct vr_device *)p)->port_id, q, m, n);
}

static uint16_t
ethdev_tx_prepare(struct vr_port *p, uint16_t q, struct rte_mbuf **m, uint16_t n)
{
	return rte_eth_tx_prepare(((const struct vr_device *)p)->port_id, q, m, n);
}

/* A device is always there once started: every queue, one session. */
static int
ethdev_start(struct vr_port *p, char *err, size_t errlen)
{
	struct vr_device *dev = (struct vr_device *)p;
	uint64_t all;

	if (device_start(dev, dev->want_queues, dev->mtu, p->pool, err, errlen) < 0)
		return -1;
	p->n_txq = dev->n_queues;
	p->tx_offloads = dev->tx_offloads;
	p->max_segs = dev->max_segs;
	p->max_tso_segs = dev->max_tso_segs;
	all = dev->n_queues >= 64 ? ~0ULL : (1ULL << dev->n_queues) - 1;
	handoff_port_queues(p, all, all);
	handoff_port_up(p);
	return 0;
}

static void
ethdev_stop(struct vr_port *p)
{
	handoff_port_down(p);
	device_stop((struct vr_device *)p);
}

const struct vr_port_ops vr_ethdev_ops = {
    .kind = "ethdev",
    .rx_burst = ethdev_rx,
    .tx_burst = ethdev_tx,
    .start = ethdev_start,
    .stop = ethdev_stop,
    .tx_prepare = ethdev_tx_prepare,
};
