/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device side of a relay: any DPDK ethdev, given as a PCI address or as
 * devargs, hot-plugged into the running process when the relay is added and
 * removed with it. Two halves:
 *   device.c       control: probe, configure, start, stop, remove
 *   ethdev_port.c  data path: the port ops over rte_eth_rx/tx_burst
 */
#ifndef VR_DEVICE_H
#define VR_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "port.h"

struct rte_mempool;

/* Descriptors per device queue (lowered to what the device takes); the relay's
 * pool is sized from the same numbers. */
#define VR_DEV_RXD 1024
#define VR_DEV_TXD 1024

struct vr_device {
	struct vr_port port; /* first: the data path sees only this */
	uint16_t port_id;    /* the ethdev */
	uint16_t n_queues;   /* queue pairs configured */
	uint16_t rxd, txd;
	uint16_t max_queues;  /* what the device offers */
	bool rss;             /* RSS spreads RX queues */
	uint64_t tx_offloads; /* checksum/TSO offloads configured (offload.h) */
	/* segments per frame the device sends (tx_desc_lim), 0: no limit */
	uint16_t max_segs, max_tso_segs;
	bool started;
	uint16_t want_queues, mtu; /* what the port ops' start configures */
	char name[128];            /* ethdev name */
	/* a bond's member ports, opened before and closed after the bond */
	uint8_t n_members;
	struct vr_device *members;
};

/* The port ops: start configures want_queues at mtu with RX buffers from
 * port.pool and publishes every queue (device_start); stop stops it. */
extern const struct vr_port_ops vr_ethdev_ops;

/* Probe devargs (or a PCI address) and find its port. */
int device_open(struct vr_device *dev, const char *devargs, char *err, size_t errlen);

/* Open each member (PCI address or devargs), then the bonding PMD's port
 * named name over them in the given mode. */
int device_open_bond(struct vr_device *dev, const char *name, unsigned mode,
                     const char members[][VR_MEMBER_MAX], unsigned n, char *err, size_t errlen);

/* Configure up to want queue pairs at mtu with RX buffers from pool, start. */
int device_start(struct vr_device *dev, uint16_t want_queues, uint16_t mtu,
                 struct rte_mempool *pool, char *err, size_t errlen);

/* Re-create the RX queues on another pool (guest moved to another NUMA node). */
int device_restart_on_pool(struct vr_device *dev, struct rte_mempool *pool, char *err,
                           size_t errlen);

void device_stop(struct vr_device *dev);
void device_close(struct vr_device *dev);

int device_socket(const struct vr_device *dev);

/* Queue count the device can run, for sizing the pool before starting it. */
uint16_t device_queues_for(const struct vr_device *dev, uint16_t want);

/* True when devargs names a port that is already open in this process. */
bool device_in_use(const char *devargs);

#endif
