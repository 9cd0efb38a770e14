/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Finishing what a guest left to its NIC: checksums (VIRTIO_NET_F_CSUM) and
 * TCP segmentation (VIRTIO_NET_F_HOST_TSO4/6) of frames going to the device.
 *
 * lib/vhost (RTE_VHOST_USER_NET_COMPLIANT_OL_FLAGS) marks a frame whose L4
 * checksum the guest left partial with RTE_MBUF_F_RX_L4_CKSUM_NONE, and a
 * frame to be cut into TCP segments with RTE_MBUF_F_RX_LRO and tso_segsz.
 * The relay then either asks the device to do it (TX offload flags, when the
 * device can) or does it here in software.
 *
 * Data-plane code: no locks, no syscalls; segments come from the relay's
 * mbuf pool. Pure functions of mbufs, unit-tested with an EAL in memory.
 */
#ifndef VR_OFFLOAD_H
#define VR_OFFLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

/* Flags lib/vhost sets on a frame that needs finishing. */
#define VR_OFFLOAD_RX_FLAGS (RTE_MBUF_F_RX_L4_CKSUM_MASK | RTE_MBUF_F_RX_LRO)

/* The device TX offloads the relay uses when a device offers them. */
#define VR_OFFLOAD_DEV_TX                                                                          \
	(RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM |                            \
	 RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_TSO)

/* The smallest MSS a guest may ask for: Linux's TCP_MIN_MSS. Below it a
 * 64 KiB frame would be cut into tens of thousands of segments. */
#define VR_TSO_MSS_MIN 88

/* What to do with one frame. */
enum vr_offload_verdict {
	VR_OFL_READY = 0, /* finished here or handed to the device: send it */
	VR_OFL_CUT = 1,   /* a TCP frame for offload_cut */
	VR_OFL_BAD = -1,  /* its offload request cannot be met: drop it */
};

static inline bool
offload_wanted(const struct rte_mbuf *m)
{
	return (m->ol_flags & VR_OFFLOAD_RX_FLAGS) != 0;
}

/*
 * Prepares frame m (offload_wanted) for a device with TX offloads dev_tx
 * (RTE_ETH_TX_OFFLOAD_*): sets its header lengths, then either sets TX
 * flags for the device, or finishes the checksum in software, or says the
 * frame needs cutting (no device TSO): such a frame keeps RTE_MBUF_F_RX_LRO
 * as its mark (offload_to_cut).
 */
enum vr_offload_verdict offload_prepare(struct rte_mbuf *m, uint64_t dev_tx);

/*
 * Cuts TCP segments of at most m->tso_segsz payload bytes from frame m
 * (after offload_prepare said VR_OFL_CUT), starting at payload offset *done,
 * into out[0..room): each a frame of its own from pool with the headers of
 * m, its sequence number, IPv4 id and length fixed and its checksums
 * complete. Advances *done. Returns segments made (0 when pool is empty),
 * or -1 if m cannot be cut. m is finished when *done == offload_payload(m).
 */
int offload_cut(const struct rte_mbuf *m, uint32_t *done, struct rte_mempool *pool,
                struct rte_mbuf **out, uint16_t room);

/* A prepared frame that waits for offload_cut. */
static inline bool
offload_to_cut(const struct rte_mbuf *m)
{
	return (m->ol_flags & RTE_MBUF_F_RX_LRO) != 0;
}

/* TCP payload bytes of a prepared frame. */
static inline uint32_t
offload_payload(const struct rte_mbuf *m)
{
	return rte_pktmbuf_pkt_len(m) - (uint32_t)(m->l2_len + m->l3_len + m->l4_len);
}

#endif
