/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-pass work budget of one relay direction, in packets and in bytes, so a
 * relay of busy jumbo flows cannot starve the other relays on its worker
 * (the same two limits as Linux vhost-net's VHOST_NET_PKT_WEIGHT / WEIGHT).
 * Pure inline code: unit-tested without DPDK.
 */
#ifndef VR_BUDGET_H
#define VR_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#define VR_BUDGET_PKTS  256
#define VR_BUDGET_BYTES (512u * 1024u)

struct vr_budget {
	uint32_t pkts;
	uint32_t bytes;
};

static inline void
budget_reset(struct vr_budget *b)
{
	b->pkts = VR_BUDGET_PKTS;
	b->bytes = VR_BUDGET_BYTES;
}

static inline bool
budget_left(const struct vr_budget *b)
{
	return b->pkts > 0 && b->bytes > 0;
}

/* How many packets the next burst may take, at most max. */
static inline uint16_t
budget_burst(const struct vr_budget *b, uint16_t max)
{
	if (b->bytes == 0)
		return 0;
	return b->pkts < max ? (uint16_t)b->pkts : max;
}

static inline void
budget_charge(struct vr_budget *b, uint32_t pkts, uint64_t bytes)
{
	b->pkts = pkts >= b->pkts ? 0 : b->pkts - pkts;
	b->bytes = bytes >= b->bytes ? 0 : b->bytes - (uint32_t)bytes;
}

#endif
