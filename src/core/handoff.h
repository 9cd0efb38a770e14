/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The handoff: the one place where the control plane stores into what
 * workers read. Workers never wait on it. The crossing points:
 *
 *   worker view  which directions a worker polls     handoff_attach/detach/move
 *   pause        a direction its worker skips        handoff_pause/resume
 *   port up/down a port's session (a guest's vid)    handoff_port_up/down
 *   port queues  which queues a port offers now      handoff_port_queues
 *   hold         deadline for holding a guest's      handoff_hold
 *                frames on its way (dev2vm)
 *   inject       frames sent out by a direction's    handoff_inject
 *                worker (announcements, vm2dev)
 *   underlay     the tap that takes the relay's own  handoff_underlay
 *                frames off its device (dev2vm), and
 *                the tunnels' sealed frames (vm2dev)
 *   tunnels      which tunnel's ring takes an SPI    handoff_tunnels
 *                (the tap's demux)
 *   tunnel       a guest's redirect (both            handoff_tunnel
 *                directions)
 *   SA           one of a tunnel's SAs, at a rekey   handoff_sa
 *
 * Views and sessions change by a release store followed by an RCU grace
 * period (rte_rcu_qsbr): a worker reports a quiescent state after each
 * pass, so once handoff_synchronize() returns no worker still holds
 * anything it loaded before the store. Those callers serialise through the
 * relay lock. handoff_port_queues is lock-free and never waits: lib/vhost
 * calls vring_state_changed under a vq lock a worker may be spinning on.
 *
 * The other direction, worker to control, needs no handoff: counters
 * (counters.h, ctr_read) and the learned addresses (vm2dev_learned, a
 * seqcount) are single-writer and read without stopping the worker.
 */
#ifndef VR_HANDOFF_H
#define VR_HANDOFF_H

#include <stdint.h>

struct rte_mbuf;
struct vr_dev2vm;
struct vr_dir;
struct vr_port;
struct vr_vm2dev;
struct vr_tunnel_demux;
struct vr_tunnel_port;
struct vr_underlay_tap;

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
/* The direction's worker skips it from the return of pause (after a grace
 * period) until resume; neither can fail. While paused, [ctl] fields and
 * its ports' pools may change as if it were detached. */
void handoff_pause(struct vr_dir *d);
void handoff_resume(struct vr_dir *d);
void handoff_synchronize(void);
uint16_t handoff_worker_dirs(unsigned worker);

/* A port's peer is there: a new session number, published after whatever
 * port-private state its rx/tx read (a vhost port's vid). */
void handoff_port_up(struct vr_port *p);
/* ... and gone: returns once no worker can still be inside rx/tx on it. */
void handoff_port_down(struct vr_port *p);
/* The queues a port offers now; lock-free, safe under lib/vhost's vq lock. */
void handoff_port_queues(struct vr_port *p, uint64_t rxq, uint64_t txq);

/* Hold the device's frames for a guest not started yet until TSC deadline
 * until (0 ends the hold). */
void handoff_hold(struct vr_dev2vm *d, uint64_t until);

/* Give dev2vm the tap of the relay's own frames, and vm2dev the tap's ring
 * of sealed frames to send (NULL: none); returns once no worker still uses
 * what they had, so the caller may free that. */
void handoff_underlay(struct vr_dev2vm *d, struct vr_vm2dev *v, struct vr_underlay_tap *tap);

/* Publish the tap's SPI table (NULL: none); returns the one it replaces,
 * which no worker uses any more. */
struct vr_tunnel_demux *handoff_tunnels(struct vr_underlay_tap *tap, struct vr_tunnel_demux *demux);

/* Put sa in a tunnel port's SA slot (tunnel_port.h: out, in, in_next,
 * in_prev; NULL empties it); returns the SA it held, which no worker uses
 * any more. */
struct vr_esp_sa;
struct vr_esp_sa *handoff_sa(struct vr_esp_sa **slot, struct vr_esp_sa *sa);

/* Give a relay's two directions its guest's redirect (NULL: none); returns
 * once no worker is inside the tunnel port it had. */
void handoff_tunnel(struct vr_vm2dev *v, struct vr_dev2vm *d, struct vr_tunnel_port *t);

/* Queue frames for the vm2dev worker to send on its device ahead of guest
 * traffic; returns how many it took (the rest stay the caller's). Many
 * producers: any control thread. */
unsigned handoff_inject(struct vr_vm2dev *d, struct rte_mbuf **m, unsigned n);

#endif
