/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * How many mbufs a relay's pool needs (docs/memory.md has the formula and
 * the hugepage budget it implies). Pure: unit-tested without DPDK.
 */
#ifndef VR_POOLSIZE_H
#define VR_POOLSIZE_H

#include <stdint.h>

#define VR_MBUF_DATA_ROOM 2048 /* payload bytes per segment; jumbo frames chain */
#define VR_MBUF_HEADROOM  128
#define VR_POOL_CACHE     128
#define VR_MBUF_ELT_BYTES 2432 /* measured mempool element: header + room + mbuf */
#define VR_TSO_FRAME_SEGS 33   /* a guest's 64 KiB TSO frame in 2 KiB segments */

struct vr_pool_need {
	uint16_t queues;       /* device queue pairs */
	uint16_t guest_queues; /* the guest's queue pairs, pending buffers each (0: queues) */
	uint16_t rxd, txd;     /* descriptors per device queue */
	uint16_t mtu;
	uint16_t lcores;      /* lcores that may hold a per-lcore cache */
	uint16_t tso_queues;  /* guest queue pairs that may send TSO frames (0: tso off) */
	uint32_t hold_frames; /* frames the destination's hold keeps (hold.h) */
	uint32_t hold_bytes;  /* and bytes: it stops at either */
};

/* Segments one frame of this MTU needs. */
uint16_t vr_segs_per_frame(uint16_t mtu);

/* Mbufs for one relay: a power of two minus one (the ring-friendly size). */
uint32_t vr_pool_mbufs(const struct vr_pool_need *n);

#endif
