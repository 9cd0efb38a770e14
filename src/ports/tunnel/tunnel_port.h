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

#include "announce.h"
#include "esp.h"
#include "flows.h"
#include "port.h"
#include "redirect_req.h"

struct vr_tunnel_port {
	struct vr_port port;      /* first: a struct vr_port * points here */
	enum vr_tunnel_role role; /* [ctl] */
	struct vr_port *under;    /* [ctl] where sealed frames go (vr_under_port) */
	uint16_t under_q;         /* [ctl] its transmit queue */
	/* [ctl] the underlay's MTU: a sealed IPv4 packet longer is sent in
	 * fragments, an IPv6 one dropped and counted (docs/tunnel.md, MTU); 0:
	 * never cut */
	uint16_t under_mtu;
	/* [ctl] by inner family: the largest TCP MSS whose segments, sealed,
	 * fit the underlay whole; a SYN through the tunnel offering more is
	 * lowered to it (mss_clamped). 0: none lowered (vr_tunnel_mss) */
	uint16_t mss[2];
	/* [pub] by inner family ([0] IPv4, [1] IPv6): the SA that seals, and
	 * those that open: the current one, the peer's next (ready before the
	 * peer seals with it: a rekey loses nothing) and, for a moment after
	 * the peer's rekey, its last (docs/tunnel.md, "Rekeying") */
	struct vr_esp_sa *out[2], *in[2], *in_next[2], *in_prev[2];
	/* [ctl] where the next hop of what out[f] seals is read when it is sent
	 * (the underlay's gateway, which may change: underlay_tap.h next_hop);
	 * NULL: the SA's own (a peer on the same LAN) */
	const uint64_t *hop[2];
	/* [ctl] a switchover within one LAN (docs/tunnel.md, "Same LAN"): SOURCE
	 * passes on what reaches it for the guest while the network relearns,
	 * DEST takes it; neither answers for anyone nor diverts the guest's own
	 * frames, whose addresses are at home on the LAN */
	bool handover;
	struct rte_ring *rx; /* [ctl] sealed frames for this tunnel (SP/SC) */
	/* [ctl] ARP replies and neighbour advertisements made by tx_burst, handed
	 * out by rx_burst (SP: tx's caller, SC: rx's caller); NULL: none made */
	struct rte_ring *answers;
	struct rte_ether_addr deliver_dst, deliver_src; /* [ctl] on what comes out */
	/* [ctl] the guest's old identity: SOURCE answers the LAN's questions
	 * about these addresses with answer_mac (the guest's); DEST answers the
	 * guest's questions from them with answer_mac (the old gateway's) */
	struct vr_addrs old;
	struct rte_ether_addr answer_mac;
	/* [ctl] the sessions through it, per side: [VR_SEAL] what tx_burst seals,
	 * [VR_OPEN] what rx_burst opens; each written by its side's worker only
	 * (one_way tables), read by the control thread (flows.h); NULL: none */
	struct vr_flows *flows[2];
	uint64_t now[2];                       /* worker's: its side's clock (vr_tunnel_tick) */
	uint64_t swept[2];                     /* worker's: when its side's table was swept */
	uint64_t sweep_every;                  /* [ctl] TSC between sweeps; 0: every pass */
	struct vr_esp_counters sealed, opened; /* worker's; read relaxed */
	uint64_t under_full, answered, answers_full;
	uint64_t fragmented, frag_failed; /* sealed packets cut for the underlay, or not */
	/* a handover's markers (docs/tunnel.md, "Same LAN"), passed on by SOURCE
	 * or taken by DEST; DEST's worker notes the first (marked): what the
	 * source passed on before it has all arrived */
	uint64_t markers;
	bool marked;
	uint64_t mss_clamped;
};

enum { VR_SEAL = 0, VR_OPEN = 1 };

/* The MSS for t->mss[inner_ipv6] over an underlay of that MTU (IPv6 when
 * under6): the MTU less ESP-in-UDP's largest overhead and the inner IP and
 * TCP headers. */
uint16_t vr_tunnel_mss(uint16_t under_mtu, bool under6, bool inner_ipv6);

/* m is a handover's marker (never handed out by rx_burst; for tests). */
bool vr_tunnel_is_marker(const struct rte_mbuf *m);

/* Once per pass, by the direction that calls side's burst (before it): the
 * clock the flows are seen at, and a bounded sweep of that side's table. */
void vr_tunnel_tick(struct vr_tunnel_port *t, int side, uint64_t now);

/* The side of t a direction kind (VR_VM2DEV or VR_DEV2VM) works: SOURCE
 * seals what its device received and opens into its device; DEST seals what
 * its guest sent and opens into its guest. */
static inline int
vr_tunnel_side(const struct vr_tunnel_port *t, bool vm2dev)
{
	return (t->role == VR_TUNNEL_DEST) == vm2dev ? VR_SEAL : VR_OPEN;
}

/* The underlay as tunnels see it: a ring of sealed frames with many
 * producers (every worker that seals, for any redirect) and one consumer,
 * the underlay relay's guest-to-device worker, which owns the device's
 * transmit queues (vm2dev.h). A full ring takes less, as a full NIC does. */
struct vr_under_port {
	struct vr_port port;
	struct rte_ring *ring; /* [ctl] MP/SC */
};
void vr_under_port_init(struct vr_under_port *u, struct rte_ring *ring);

/* DEST's guest-to-device split: the frames of m[0..n) the guest sent from
 * an old address (IP, and its ARP/ND questions about others) go into the
 * tunnel, the rest stay at the front of m in order; returns how many stay.
 * *bytes gets the bytes of those diverted. */
uint16_t vr_tunnel_divert(struct vr_tunnel_port *t, struct rte_mbuf **m, uint16_t n,
                          uint64_t *bytes);

/* Sets up the port's ops and fields around what the caller made (SAs, the
 * ring): the control thread, before a direction holds it. */
void vr_tunnel_port_init(struct vr_tunnel_port *t, struct vr_port *under, uint16_t under_q,
                         struct rte_mempool *pool);

#endif
