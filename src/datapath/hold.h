/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The destination's hold (docs/migration.md): frames for a guest on its way
 * here, from the device or from the tunnel, kept while the guest is not
 * running yet, up to hold-frames frames and hold-bytes bytes (config), and
 * handed to the guest first, in order, a batch at a time, when its vrings
 * start (dev2vm.c, release_held); at the control side's deadline
 * (handoff_hold) what is still held goes, counted not-ready. Beyond the
 * bounds nothing is taken: frames wait where they are (the device's ring,
 * the tunnel's), as a full hold would make a NIC wait.
 *
 * Worker code: the ring's both ends are the device-to-guest worker's.
 */
#ifndef VR_HOLD_H
#define VR_HOLD_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dir.h"

struct vr_hold {
	struct rte_ring *ring; /* [ctl] SP/SC; NULL: nothing is held */
	/* [ctl] SP/SC, as big: frames that must wait until what the tunnel
	 * brings is in (a handover's destination, dev2vm.h settle_until); they
	 * join the ring's tail then (vr_hold_settle). Both share the bounds. */
	struct rte_ring *late;
	uint64_t bytes_max; /* [ctl] */
	/* [ctl] TSC a guest that came may take to accept the held frames, a
	 * batch at a time, before the rest go (a guest just resumed is slow:
	 * the retry window is too short for it) */
	uint64_t patience;
	bool releasing;  /* worker's: handing held frames to a guest that came */
	uint64_t since;  /* worker's: when that began */
	uint64_t bytes;  /* worker's: bytes held now */
	uint32_t n;      /* worker's: frames in ring now (read every pass: no ring access) */
	uint32_t late_n; /* worker's: frames in late now */
};

/* Frames the hold takes now (at most VR_BURST). */
uint16_t vr_hold_room(const struct vr_hold *h);

/* Keeps m[0..n) (n <= vr_hold_room), counted held. */
void vr_hold_keep(struct vr_dir *d, struct vr_hold *h, struct rte_mbuf **m, uint16_t n);

/* Keeps m[0..n) (n <= vr_hold_room) apart, to follow what ring holds. */
void vr_hold_keep_late(struct vr_dir *d, struct vr_hold *h, struct rte_mbuf **m, uint16_t n);

/* What was kept apart goes to the ring's tail, in order. */
void vr_hold_settle(struct vr_hold *h);

/* Up to max held frames of the ring, oldest first, for the guest. */
uint16_t vr_hold_take(struct vr_hold *h, struct rte_mbuf **m, uint16_t max);

static inline unsigned
vr_hold_count(const struct vr_hold *h)
{
	return h->n;
}

/* Everything held (late too) goes back to its pool, counted not-ready. */
void vr_hold_drop(struct vr_dir *d, struct vr_hold *h);

#endif
