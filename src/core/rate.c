/* SPDX-License-Identifier: BSD-3-Clause */
#include "rate.h"

#define NS_PER_S 1000000000ull

static uint64_t
per_second(uint64_t delta, uint64_t dt_ns)
{
	/* 128-bit: delta * 1e9 overflows 64 bits from ~18 G onwards (bytes in a
	 * late sample), and so does the remainder when dt exceeds ~18 s */
	return (uint64_t)((unsigned __int128)delta * NS_PER_S / dt_ns);
}

void
vr_rate_sample(struct vr_rate *r, uint64_t pkts, uint64_t bytes, uint64_t now_ns)
{
	if (r->last_ns != 0 && now_ns > r->last_ns && pkts >= r->last_pkts &&
	    bytes >= r->last_bytes) {
		uint64_t dt = now_ns - r->last_ns;

		r->pps = per_second(pkts - r->last_pkts, dt);
		r->bps = per_second(bytes - r->last_bytes, dt) * 8;
	} else {
		r->pps = 0;
		r->bps = 0;
	}
	r->last_pkts = pkts;
	r->last_bytes = bytes;
	r->last_ns = now_ns;
}
