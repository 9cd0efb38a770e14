/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vhost-user side of a relay, on the rte_vhost API directly (not the
 * net_vhost PMD) so the relay sees every lifecycle event. Two halves:
 *   vhost.c       control: socket, features, lib/vhost's callbacks, the vid map
 *   vhost_port.c  data path: the port ops (dequeue from the guest's TX
 *                 vrings, enqueue into its RX vrings)
 * Port queue q is guest queue pair q: rx_burst reads vring 2q+1, tx_burst
 * writes vring 2q.
 *
 * The owner (a relay) learns of guests through hooks; this module never
 * sees the relay itself.
 */
#ifndef VR_VHOST_H
#define VR_VHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "perm.h"
#include "port.h"

struct vr_vhost;

struct vr_vhost_hooks {
	/* lib/vhost's event thread, may block and take locks: a guest's
	 * vrings are ready (new_device; return -1 to refuse) or gone
	 * (destroy_device; nothing may touch the vid once it returns). */
	int (*guest_started)(void *owner, struct vr_vhost *vh, int vid);
	void (*guest_stopped)(void *owner, struct vr_vhost *vh, int vid);
	/* Under a lib/vhost vq lock a worker may spin on: atomics only. */
	void (*migration_started)(void *owner);
	/* A second frontend on the socket, refused (lib/vhost's thread, under
	 * vhost.c's map lock: atomics only). */
	void (*frontend_refused)(void *owner);
};

struct vr_vhost {
	struct vr_port port; /* first: the data path sees only this */
	/* [ctl] The guest's vid: set before the port is published up and left
	 * alone until it is published down (handoff.h), so a worker that saw
	 * port.gen != 0 may use it for the rest of its pass. -1 without one. */
	int vid;
	/* control side, relay lock (the owner's) */
	struct vr_relay_conf conf; /* socket, mode, features wanted */
	bool registered;
	bool running; /* new_device seen, destroy_device not yet */
	/* written lock-free by callbacks that may run under a vq lock (atomics) */
	uint64_t vrings;   /* bit per enabled virtqueue index */
	uint64_t features; /* negotiated */
	bool migrating;    /* VHOST_F_LOG_ALL set */
	const struct vr_vhost_hooks *hooks;
	void *owner;
};

/* The data-path half (vhost_port.c), for vr_vhost_ops. */
uint16_t vhost_port_rx(struct vr_port *p, uint16_t q, struct rte_mbuf **m, uint16_t n);
uint16_t vhost_port_tx(struct vr_port *p, uint16_t q, struct rte_mbuf **m, uint16_t n);

void vhost_set_socket_perm(const struct vr_perm *p);

/* Fills vh for relay conf c (its guest's frames come from pool). */
void vhost_init(struct vr_vhost *vh, const struct vr_relay_conf *c, struct rte_mempool *pool,
                const struct vr_vhost_hooks *hooks, void *owner);

/* The port ops: start registers the socket (listen or connect), stop
 * unregisters it and may run guest_stopped: never under the owner's lock. */
extern const struct vr_port_ops vr_vhost_ops;

/* From guest_started: the vid's session begins (features, kicks off).
 * Returns the guest memory's NUMA node, or -1. */
int vhost_session_begin(struct vr_vhost *vh, int vid);
/* From guest_stopped, after the port was published down. */
void vhost_session_end(struct vr_vhost *vh);

/* Guest queue pairs with an enabled vring. */
unsigned vhost_guest_queues(const struct vr_vhost *vh);

/* The guest has frames waiting on an enabled TX vring (control side). */
bool vhost_guest_waiting(const struct vr_vhost *vh);

#endif
