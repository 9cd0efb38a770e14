/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Placement of unpinned relay directions: the least busy worker, measured by
 * the share of its cycles spent moving packets over the last second, then by
 * the number of directions it polls (a new relay has no load yet), then by
 * the lowest CPU number. Pure: unit-tested without DPDK.
 */
#ifndef VR_PLACEMENT_H
#define VR_PLACEMENT_H

#include <stdint.h>

struct vr_worker_load {
	int cpu;
	uint32_t busy_permille;
	uint32_t n_dirs;
};

/* Index of the least busy worker in w[0..n), or -1 when n == 0. */
int vr_place_least_busy(const struct vr_worker_load *w, unsigned n);

#endif
