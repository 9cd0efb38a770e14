/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A direction: frames from one port (src) to another (dst), polled by one
 * worker. Two types share this header as their first member:
 *   struct vr_vm2dev  guest TX vrings -> device TX queues     (vm2dev.h)
 *   struct vr_dev2vm  device RX queues -> guest RX vrings     (dev2vm.h)
 *
 * Ownership (docs/architecture.md, "The handoff"):
 *  - While attached, only the owning worker writes a direction: its queue
 *    lists, pending buffers and counters. The control thread reads counters
 *    (ctr_read) and changes anything else only through handoff.h.
 *  - [ctl] fields are written by the control thread with the direction
 *    detached from every worker or paused (handoff_pause).
 *  - The ports' published state (port.h [pub]) is re-read every pass;
 *    dir_sync re-derives the queue lists when it moved.
 */
#ifndef VR_DIR_H
#define VR_DIR_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "budget.h"
#include "config.h"
#include "counters.h"
#include "burst.h"
#include "port.h"

enum vr_dir_kind { VR_VM2DEV = 0, VR_DEV2VM = 1 };

/* Frames taken from the source that the destination did not take yet. */
struct vr_pending {
	uint16_t n;
	uint64_t since; /* TSC of the last progress while non-empty */
	struct rte_mbuf *m[VR_PEND_MAX];
};

struct vr_dir {
	enum vr_dir_kind kind;     /* [ctl] */
	int relay_id;              /* [ctl] */
	struct vr_port *src, *dst; /* [ctl] */
	uint64_t retry_tsc;        /* [ctl] retry window in TSC cycles */
	int worker;                /* control-side bookkeeping: owner index or -1 */
	bool paused;               /* [handoff] its worker skips it (handoff_pause) */
	/* worker: the ports' state last seen, and the queue lists derived */
	uint32_t seen_src_gen, seen_dst_gen;
	uint64_t seen_rxq, seen_txq;
	uint16_t n_rxq, n_txq;
	uint16_t rxq[VR_MAX_QP];           /* src queues to poll (none without a peer) */
	uint16_t txq[VR_MAX_QP];           /* dst queues that take frames (none without a peer) */
	uint16_t next_q;                   /* round-robin start, for fairness between queues */
	struct vr_dir_counters c;          /* worker-written */
	uint64_t q_pkts[VR_MAX_QP];        /* worker-written: per guest queue pair */
	struct vr_pending pend[VR_MAX_QP]; /* worker-written: per guest queue pair */
} __rte_cache_aligned;

/* Poll one direction once within budget b; returns frames taken. */
unsigned dir_poll(struct vr_dir *d, uint64_t now, struct vr_budget *b);

/* Re-reads the ports' published state; true when it changed since the
 * last pass (the queue lists are then derived afresh). */
bool dir_sync(struct vr_dir *d);

/* Control side, direction detached: every frame still held goes back to
 * the pool, counted as drop_unready. */
void dir_drain(struct vr_dir *d);

#endif
