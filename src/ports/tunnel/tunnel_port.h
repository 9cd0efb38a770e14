/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The relay-to-relay tunnel as a port (port.h): a direction gives it a
 * guest's frames and it sends them, sealed (tunnel/esp.h), on a device
 * port's transmit queue towards the peer relay; it receives the peer's
 * sealed frames from a ring that the device side fills, and hands out the
 * guest packets inside with the Ethernet header the redirect needs.
 *
 * Sealing can only be done once, so tx_burst takes every frame it is
 * offered: frames the device then does not take are dropped and counted
 * (under_full), as a full NIC ring drops. Both bursts keep the order of
 * the frames of each inner family. Worker code: no lock, no allocation,
 * no system call.
 */
#ifndef VR_TUNNEL_PORT_H
#define VR_TUNNEL_PORT_H

#include <rte_ring.h>

#include "esp.h"
#include "port.h"

struct vr_tunnel_port {
	struct vr_port port;              /* first: a struct vr_port * points here */
	struct vr_port *under;            /* [ctl] the device port the underlay runs on */
	uint16_t under_q;                 /* [ctl] its transmit queue, the tunnel's alone */
	struct vr_esp_sa *out[2], *in[2]; /* [ctl] by inner family: [0] IPv4, [1] IPv6 */
	struct rte_ring *rx;              /* [ctl] sealed frames for this tunnel (SP/SC) */
	struct rte_ether_addr deliver_dst, deliver_src; /* [ctl] on what comes out */
	struct vr_esp_counters sealed, opened;          /* worker's; read relaxed */
	uint64_t under_full;
};

/* Sets up the port's ops and fields around what the caller made (SAs, the
 * ring): the control thread, before a direction holds it. */
void vr_tunnel_port_init(struct vr_tunnel_port *t, struct vr_port *under, uint16_t under_q,
                         struct rte_mempool *pool);

#endif
