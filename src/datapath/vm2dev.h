/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest to device: frames the guest sent on its TX vrings go out on the
 * device's TX queues (guest queue pair qp on device queue qp mod n). On the
 * way the relay learns the guest's addresses (migrate/learn.h), finishes
 * the checksums and TCP segmentation the guest left to it (offload.h), and
 * sends the announcements the control side queued (live migration).
 * pend[qp] is per guest queue pair: the source side, so that nothing more is
 * taken from a vring while what it gave still waits.
 */
#ifndef VR_VM2DEV_H
#define VR_VM2DEV_H

#include <rte_ring.h>
#include <rte_seqcount.h>

#include "announce.h"
#include "dir.h"
#include "tunnel_port.h"

struct vr_underlay_tap;

struct vr_vm2dev {
	struct vr_dir d; /* first: a struct vr_dir * points here */
	/* [ctl] created with the direction. Frames the control side sends out
	 * on the device (announcements), enqueued by handoff_inject only; this
	 * direction's worker, which owns the device's TX queues, is the single
	 * consumer. */
	struct rte_ring *inject;
	/* The guest's addresses, learned from what it sends: worker-written
	 * under the seqcount, read by the control side (vm2dev_learned). */
	rte_seqcount_t learned_sc;
	struct vr_addrs learned;
	/* Software TSO: frames taken from the guest behind one that waits to be
	 * cut into segments, in order, per queue pair; uncut_done is the payload
	 * of uncut[qp].m[0] already cut. Worker-written. */
	struct vr_pending uncut[VR_MAX_QP];
	uint32_t uncut_done[VR_MAX_QP];
	/* [pub] the underlay tap whose sealed frames go out on this device
	 * (the underlay relay's: handoff_underlay), or NULL */
	struct vr_underlay_tap *under;
	/* [pub] the guest's redirect (handoff_tunnel), or NULL. SOURCE: what it
	 * carries goes out on the device; DEST: what the guest sends from an
	 * old address goes into it (vr_tunnel_divert). */
	struct vr_tunnel_port *tunnel;
};

static inline struct vr_vm2dev *
vm2dev_of(struct vr_dir *d)
{
	return (struct vr_vm2dev *)d;
}

unsigned vm2dev_poll(struct vr_vm2dev *v, uint64_t now, struct vr_budget *b);

/* A consistent copy of what the worker learned of the guest (control side). */
void vm2dev_learned(const struct vr_vm2dev *v, struct vr_addrs *out);

/* Direction detached: frames waiting to be cut or injected go back (also
 * for a direction whose inject ring was never made). */
void vm2dev_drain(struct vr_vm2dev *v);

#endif
