/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device to guest: frames from the device's RX queues go into the guest's
 * enabled RX vrings, spread by flow hash (the device's RSS hash, else
 * flowhash.h) so every flow keeps its order. pend[qp] is per guest queue
 * pair: the destination side.
 *
 * The hold (live migration's destination, hold.h): until a deadline the
 * control side publishes (handoff_hold), frames for a guest that has not
 * started here yet are held instead of being dropped, and go in first when
 * it starts.
 */
#ifndef VR_DEV2VM_H
#define VR_DEV2VM_H

#include "dir.h"
#include "hold.h"
#include "tunnel_port.h"
#include "underlay_tap.h"

struct vr_dev2vm {
	struct vr_dir d;     /* first: a struct vr_dir * points here */
	uint64_t hold_until; /* [pub] TSC deadline of the hold, 0 for none (handoff_hold) */
	uint64_t hold_over;  /* worker: the deadline it is done with (guest came, or passed) */
	struct vr_hold hold; /* what waits for the guest (hold.h) */
	struct vr_underlay_tap *tap; /* [pub] the relay's own frames (handoff_underlay), or NULL */
	/* [pub] the guest's redirect (handoff_tunnel), or NULL. SOURCE: with no
	 * guest here, the device's frames go into it; DEST: what it carries
	 * goes into the guest, ahead of the device's frames. */
	struct vr_tunnel_port *tunnel;
	/* worker's: a handover's destination keeps the device's frames for the
	 * guest apart (hold.h, late) until the source's marker says all it
	 * passed on has arrived, or until this TSC; VR_SETTLE_ARMED: no
	 * deadline before the guest runs and what was held for it is in. 0:
	 * not waiting. settle_for: the redirect this is about. */
	uint64_t settle_until;
	const struct vr_tunnel_port *settle_for;
};

#define VR_SETTLE_ARMED UINT64_MAX

static inline struct vr_dev2vm *
dev2vm_of(struct vr_dir *d)
{
	return (struct vr_dev2vm *)d;
}

unsigned dev2vm_poll(struct vr_dev2vm *v, uint64_t now, struct vr_budget *b);

/* Direction detached: what the hold keeps goes back. */
void dev2vm_drain(struct vr_dev2vm *v);

#endif
