/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packet and bit rates from monotonically growing counters, sampled by the
 * control thread. Pure: unit-tested without DPDK.
 */
#ifndef VR_RATE_H
#define VR_RATE_H

#include <stdint.h>

struct vr_rate {
	uint64_t last_pkts;
	uint64_t last_bytes;
	uint64_t last_ns; /* 0 = no sample yet */
	uint64_t pps;
	uint64_t bps; /* bits per second */
};

/* Take a sample at now_ns. A counter that went backwards (reset) restarts. */
void vr_rate_sample(struct vr_rate *r, uint64_t pkts, uint64_t bytes, uint64_t now_ns);

#endif
