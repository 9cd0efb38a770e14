/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a worker sees of a relay: one struct vr_dir per direction.
 *
 * Ownership rules (docs/architecture.md, "The handoff"):
 *  - A direction is polled by at most one worker at a time. While attached,
 *    only that worker writes its pending buffers and counters; the control
 *    thread only reads counters (relaxed atomic loads).
 *  - Fields marked [ctl] are written by the control thread only while the
 *    direction is detached from every worker.
 *  - guest is changed while the direction is attached only when the guest
 *    connects or goes (new_device/destroy_device): a new immutable struct
 *    vr_guest is published with a release store and the old one freed after
 *    an RCU grace period (handoff.c).
 *  - vring_mask is stored by the vhost callback vring_state_changed, which
 *    lib/vhost calls while holding the virtqueue lock a worker may be spinning
 *    on: so it must not wait for workers. It is a plain atomic word; the
 *    worker re-derives its vring lists whenever it sees it change.
 */
#ifndef VR_DATAPLANE_H
#define VR_DATAPLANE_H

#include <stdint.h>

#include <rte_mbuf.h>

#include "announce.h"
#include "budget.h"
#include "config.h"
#include "dataplane_limits.h"

#define VR_BURST    VR_BURST_LIMIT
#define VR_PEND_MAX VR_PEND_LIMIT

enum vr_dir_kind { VR_DIR_VM2DEV = 0, VR_DIR_DEV2VM = 1 };

/* The connected guest as the data plane sees it; immutable once published. */
struct vr_guest {
	uint32_t gen; /* unique per publication, never 0 */
	int vid;
};

/* Packets taken from the source that the peer did not accept yet. */
struct vr_pending {
	uint16_t n;
	uint64_t since; /* TSC of the last progress while non-empty */
	struct rte_mbuf *m[VR_PEND_MAX];
};

/* Single-writer counters: written by the owning worker, read by control. */
struct vr_dir_counters {
	uint64_t rx_pkts; /* taken from the source */
	uint64_t rx_bytes;
	uint64_t tx_pkts; /* accepted by the peer */
	uint64_t tx_bytes;
	uint64_t drop_full;    /* peer ring stayed full past the retry window */
	uint64_t drop_unready; /* no guest (not connected / vring disabled) */
	uint64_t drop_full_bytes;
	uint64_t drop_unready_bytes;
	uint64_t nombuf;    /* control-written: seconds the guest had frames waiting while
	                     * the pool was empty (relay_sample_rates) */
	uint64_t retries;   /* backpressure episodes: peer took a burst only in part */
	uint64_t announced; /* announcement frames sent out on the device */
	/* guest-to-device offloads (offload.h) */
	uint64_t offload_dev;       /* frames whose checksum or segmentation the device finishes */
	uint64_t csum_sw;           /* frames whose L4 checksum the relay finished */
	uint64_t tso_cut;           /* TCP frames the relay cut into segments */
	uint64_t tso_segments;      /* segments made of them */
	uint64_t offload_bad;       /* dropped: an offload request the relay cannot meet */
	uint64_t q_pkts[VR_MAX_QP]; /* per guest queue pair */
};

struct vr_dir {
	enum vr_dir_kind kind;    /* [ctl] */
	int relay_id;             /* [ctl] */
	uint16_t port;            /* [ctl] device port */
	uint16_t n_devq;          /* [ctl] device queues in use */
	struct rte_mempool *pool; /* [ctl] for guest dequeues */
	uint64_t dev_tx;          /* [ctl] device TX offloads in use (RTE_ETH_TX_OFFLOAD_*) */
	uint64_t retry_tsc;       /* [ctl] retry window in TSC cycles */
	struct vr_guest *guest;   /* RCU-published, may be NULL */
	uint64_t vring_mask;      /* atomic: bit per enabled virtqueue index */
	/* worker-derived from guest and vring_mask */
	uint32_t seen_gen;
	uint64_t seen_mask;
	uint16_t n_rx;             /* enabled guest RX vrings (device-to-guest) */
	uint16_t n_tx;             /* enabled guest TX vrings (guest-to-device) */
	uint16_t rx_qp[VR_MAX_QP]; /* queue-pair numbers of those vrings */
	uint16_t tx_qp[VR_MAX_QP];
	int worker;                        /* control-side bookkeeping: owner index or -1 */
	uint16_t next_q;                   /* worker: round-robin start for fairness */
	struct vr_dir_counters c;          /* worker-written */
	struct vr_pending pend[VR_MAX_QP]; /* worker-written, per guest queue pair */
	/* device-to-guest only: until this TSC, frames for a guest that has not
	 * started yet wait in pend[0] instead of being dropped (a migrating
	 * guest, announced here when it stopped at the source). Control-written
	 * (atomic), cleared by the worker when the guest comes. */
	uint64_t hold_until;
	/* guest-to-device only */
	struct rte_ring *inject; /* [ctl] frames the control side has sent out on the
	                          * device (announcements); single consumer: the worker */
	uint32_t learned_seq;    /* seqcount: odd while the worker writes learned */
	struct vr_addrs learned; /* the guest's addresses (announce.h), worker-written */
	/* Frames taken from the guest behind one that waits to be cut into TCP
	 * segments (software TSO), in order, per queue pair; uncut_done is the
	 * payload of uncut[qp].m[0] already cut. Worker-written. */
	struct vr_pending uncut[VR_MAX_QP];
	uint32_t uncut_done[VR_MAX_QP];
} __rte_cache_aligned;

/* Poll one direction once within budget b; returns packets moved. */
unsigned dir_poll(struct vr_dir *d, uint64_t now, struct vr_budget *b);

/* A consistent copy of what the worker learned of the guest (control side). */
void dir_learned_read(const struct vr_dir *d, struct vr_addrs *out);

/* Free every pending mbuf (direction detached); counts them as drop_unready. */
void dir_drain(struct vr_dir *d);

/* Single-writer counter update, readable from another thread without tearing. */
#define ctr_add(field, n) __atomic_store_n(&(field), (field) + (n), __ATOMIC_RELAXED)
#define ctr_read(field)   __atomic_load_n(&(field), __ATOMIC_RELAXED)

#endif
