/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The handoff: the one place where the control plane changes what workers
 * see. Every change is a pointer swap followed by an RCU grace period
 * (rte_rcu_qsbr): a worker reports a quiescent state after each pass, so once
 * rte_rcu_qsbr_synchronize() returns, no worker still holds anything loaded
 * before the swap, and the old object can be freed or handed to another
 * worker. Callers serialise through the relay lock; workers never wait.
 *
 *   worker view   (which directions a worker polls)  handoff_attach/detach
 *   guest         (vid and enabled vrings)           handoff_set_guest
 */
#ifndef VR_HANDOFF_H
#define VR_HANDOFF_H

#include <stdint.h>

struct vr_dir;
struct vr_guest;

/* Immutable list of the directions one worker polls. */
struct vr_worker_view {
	uint16_t n;
	struct vr_dir *dir[];
};

struct vr_handoff_slot {
	struct vr_worker_view *view; /* published with release, read with acquire */
	uint16_t n_dirs;             /* control-side copy of view->n */
};

int handoff_init(unsigned n_workers);
void handoff_fini(void);

/* Worker side: called by worker idx on its own lcore. */
void handoff_worker_online(unsigned idx);
void handoff_worker_offline(unsigned idx);
void handoff_quiescent(unsigned idx);
struct vr_worker_view *handoff_view(unsigned idx);

/* Control side: return 0, or -1 (out of memory, bad worker, attach of an
 * attached dir). Detaching a detached dir is a no-op returning 0. */
int handoff_attach(struct vr_dir *d, unsigned worker);
int handoff_detach(struct vr_dir *d);
int handoff_move(struct vr_dir *d, unsigned worker);
void handoff_set_guest(struct vr_dir *const dirs[2], struct vr_guest *g);
void handoff_synchronize(void);
uint16_t handoff_worker_dirs(unsigned worker);

#endif
