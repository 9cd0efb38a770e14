/* SPDX-License-Identifier: BSD-3-Clause */
#include "poolsize.h"

#include "burst.h"

uint16_t
vr_segs_per_frame(uint16_t mtu)
{
	uint32_t frame = (uint32_t)mtu + 18 + 4; /* Ethernet header + FCS + one VLAN tag */

	return (uint16_t)((frame + VR_MBUF_DATA_ROOM - 1) / VR_MBUF_DATA_ROOM);
}

uint32_t
vr_pool_mbufs(const struct vr_pool_need *n)
{
	uint32_t segs = vr_segs_per_frame(n->mtu);
	uint32_t gq = n->guest_queues > n->queues ? n->guest_queues : n->queues;
	/* device RX rings are filled one segment per descriptor; TX rings hold
	 * whole frames; pending buffers (both directions, one per guest queue
	 * pair: a guest may have more than the device has queues) and the two
	 * in-flight bursts hold whole frames; caches sit per lcore; a burst of
	 * 64 KiB TSO frames may wait to be cut on every guest queue pair; the
	 * hold keeps whole frames for a guest on its way */
	/* held frames: whole ones, no more segments than hold_bytes fill
	 * (each frame's last one partly) */
	uint32_t hold = n->hold_frames * segs;
	uint32_t hold_by_bytes = n->hold_bytes / VR_MBUF_DATA_ROOM + n->hold_frames;
	uint32_t need = (uint32_t)n->queues * n->rxd + (uint32_t)n->queues * n->txd * segs +
	                2u * gq * VR_PEND_MAX * segs + 2u * VR_BURST * segs +
	                (uint32_t)n->lcores * VR_POOL_CACHE * 3 / 2 +
	                (uint32_t)n->tso_queues * VR_BURST * VR_TSO_FRAME_SEGS +
	                (hold < hold_by_bytes ? hold : hold_by_bytes);
	uint32_t size = 1;

	while (size - 1 < need)
		size <<= 1;
	return size - 1;
}
