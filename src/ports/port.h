/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A port: one end of a relay as the data plane sees it. A direction
 * (dir.h) takes frames from one port and gives them to another, and knows
 * a port only through this header: the vhost-user side (ports/vhost), the
 * device side (ports/ethdev), the fake ports of the unit tests, and next
 * the relay-to-relay tunnel, all implement it.
 *
 * The ops are called once per burst, never per frame. rx_burst and
 * tx_burst run on the worker that owns the direction, one caller per
 * queue; start and stop on the control thread.
 *
 * What a port offers changes while it is in use (a guest connects, enables
 * a vring, goes): the fields marked [pub] are published by the port's
 * control side through handoff.h only, and re-read by the directions at
 * every pass (dir_sync). Everything else is fixed while a direction holds
 * the port ([ctl]: written by the control thread with both directions
 * detached).
 */
#ifndef VR_PORT_H
#define VR_PORT_H

#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

struct vr_port;

struct vr_port_ops {
	const char *kind; /* "vhost", "ethdev", ... */
	/* Frames received on queue q, at most n, into m. */
	uint16_t (*rx_burst)(struct vr_port *p, uint16_t q, struct rte_mbuf **m, uint16_t n);
	/* Offers m[0..n) to queue q; returns how many it took, from the front.
	 * The port owns those from then on (the caller must not read them); the
	 * rest stay the caller's. */
	uint16_t (*tx_burst)(struct vr_port *p, uint16_t q, struct rte_mbuf **m, uint16_t n);
	/* Control thread: bring the port up or down; err names what failed. */
	int (*start)(struct vr_port *p, char *err, size_t errlen);
	void (*stop)(struct vr_port *p);
	/* Optional (NULL: nothing to check): whether frames m[0..n) carrying TX
	 * offload flags are fit for queue q (the driver's own checks, and
	 * fixing headers as it needs them); returns how many from the front. */
	uint16_t (*tx_prepare)(struct vr_port *p, uint16_t q, struct rte_mbuf **m, uint16_t n);
};

struct vr_port {
	const struct vr_port_ops *ops; /* [ctl] */
	/* [pub] 0 while the port has nobody at the other end (no guest), else
	 * unique per session: a direction that sees it change starts afresh. */
	uint32_t gen;
	uint64_t rxq_mask; /* [pub] bit per queue rx_burst may be called on */
	uint64_t txq_mask; /* [pub] bit per queue tx_burst may be called on */
	/* Capabilities, [ctl] */
	uint16_t n_txq;           /* transmit queues (a guest's: the most it may enable) */
	uint64_t tx_offloads;     /* RTE_ETH_TX_OFFLOAD_* the port finishes itself */
	uint16_t max_segs;        /* mbufs per frame tx_burst takes; 0: any */
	uint16_t max_tso_segs;    /* the same for a frame the port segments; 0: any */
	struct rte_mempool *pool; /* frames the port receives are allocated here */
};

static inline uint16_t
port_rx(struct vr_port *p, uint16_t q, struct rte_mbuf **m, uint16_t n)
{
	return p->ops->rx_burst(p, q, m, n);
}

static inline uint16_t
port_tx(struct vr_port *p, uint16_t q, struct rte_mbuf **m, uint16_t n)
{
	return p->ops->tx_burst(p, q, m, n);
}

static inline uint16_t
port_tx_prepare(struct vr_port *p, uint16_t q, struct rte_mbuf **m, uint16_t n)
{
	return p->ops->tx_prepare != NULL ? p->ops->tx_prepare(p, q, m, n) : n;
}

/* What a direction reads of a port once per pass. */
static inline uint32_t
port_gen(const struct vr_port *p)
{
	return __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE);
}

static inline uint64_t
port_rxq(const struct vr_port *p)
{
	return __atomic_load_n(&p->rxq_mask, __ATOMIC_ACQUIRE);
}

static inline uint64_t
port_txq(const struct vr_port *p)
{
	return __atomic_load_n(&p->txq_mask, __ATOMIC_ACQUIRE);
}

#endif
