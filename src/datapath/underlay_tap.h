/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The relay's own traffic on a device that also carries a guest's (the
 * tunnel's underlay, docs/tunnel.md): of the frames the device receives,
 * ARP and neighbour discovery about the relay's underlay address go to the
 * control thread's ring, ESP-in-UDP to that address goes to the ring of the
 * tunnel its SPI names, anything else addressed to it is dropped; none of them reaches the
 * guest. The device-to-guest worker calls vr_underlay_tap_take on every
 * burst of a relay that has a tap (handoff_underlay), before counting.
 *
 * Worker code: no lock, no allocation, no syscall; the rings are
 * single-producer (this worker) and single-consumer.
 */
#ifndef VR_UNDERLAY_TAP_H
#define VR_UNDERLAY_TAP_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ip_frag.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

/* Which tunnel's ring takes ESP with an SPI: immutable once published
 * (handoff_tunnels replaces it whole). */
/* six inbound SPIs (by family: the current, the next, the last) for each of
 * VR_MAX_RELAYS redirects */
#define VR_DEMUX_MAX 384
/* Tunnel packets being reassembled at once, and how long the first piece
 * waits for the rest (a path that reorders by more loses the packet). */
#define VR_UNDERLAY_FRAG_PACKETS 128
#define VR_UNDERLAY_FRAG_MS      500
struct vr_tunnel_demux {
	uint16_t n;
	struct {
		uint32_t spi;
		struct rte_ring *ring; /* SP (this worker) / SC (the tunnel's reader) */
	} e[VR_DEMUX_MAX];
};

struct vr_underlay_tap {
	bool has4, has6;               /* [ctl] */
	uint8_t ip4[4];                /* [ctl] */
	uint8_t ip6[16];               /* [ctl] */
	uint16_t esp_port;             /* [ctl] UDP port of the tunnel (4500) */
	struct rte_ring *to_ctl;       /* [ctl] ARP and ND about our addresses */
	struct vr_tunnel_demux *demux; /* [pub] ESP-in-UDP to us by SPI; NULL: no tunnel */
	/* [ctl] what the tunnels sealed, for the relay's vm2dev worker to send on
	 * the device (tunnel_port.h, vr_under_port) */
	struct rte_ring *sealed;
	/* [pub] the gateway's MAC per family ([0] IPv4, [1] IPv6) in the first
	 * 6 bytes, 0 while unknown: the next hop of the tunnels to peers off the
	 * LAN (tunnel_port.h, hop), read when a frame is sealed, so that a
	 * gateway which changes its MAC (or answered first from another
	 * interface) does not leave the redirects made before sending to the
	 * old one. */
	uint64_t next_hop[2];
	/* [ctl] made by the control thread, then the worker's alone: IPv4
	 * fragments of tunnel packets to us, reassembled (docs/tunnel.md, MTU);
	 * NULL: fragments are dropped */
	struct rte_ip_frag_tbl *frags;
	struct rte_ip_frag_death_row dr;
	/* worker's, read relaxed */
	uint64_t ctl_frames, tunnel_frames, tunnel_unclaimed, other_dropped, ring_full;
	uint64_t fragments;   /* IPv4 fragments to us, taken whatever comes of them */
	uint64_t reassembled; /* tunnel packets made whole from them (counted again) */
};

/* Takes the relay's own frames out of m[0..n) (keeping the order of the
 * rest at the front); returns how many are left for the guest. now: the
 * TSC, for the fragments' timeout. */
uint16_t vr_underlay_tap_take(struct vr_underlay_tap *t, struct rte_mbuf **m, uint16_t n,
                              uint64_t now);

/* Control thread, once no worker uses the tap (handoff_underlay(NULL)):
 * frees what waits in its control ring, sealed ring and fragment table,
 * before the pool they came from goes. The tunnels' rings are their redirects' to drain. */
void vr_underlay_tap_drain(struct vr_underlay_tap *t);

#endif
