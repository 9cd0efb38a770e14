/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A redirect as the control protocol carries it (the REDIRECT op,
 * docs/tunnel.md): decoded by api/request.c, carried out by redirect.h.
 */
#ifndef VR_REDIRECT_REQ_H
#define VR_REDIRECT_REQ_H

#include <stdbool.h>
#include <stdint.h>

#include "announce.h"
#include "esp_key.h"

/* Which end of a redirect (docs/tunnel.md, "The redirect"):
 *   SOURCE  the relay the guest left: what its device receives for the guest
 *           is sealed to the peer while no guest is here (dev2vm), and what
 *           the peer sends comes out on the device (vm2dev);
 *   DEST    the relay the guest is on now: what the guest sends from an old
 *           address is sealed to the peer (vm2dev, vr_tunnel_divert), and
 *           what the peer sends goes into the guest (dev2vm). */
enum vr_tunnel_role { VR_TUNNEL_SOURCE, VR_TUNNEL_DEST };

#define VR_REDIRECT_SAS     4   /* out IPv4, out IPv6, in IPv4, in IPv6 */
#define VR_PEER_CONTROL_MAX 256 /* a control directory or endpoint, with its NUL */

struct vr_redirect_req {
	enum vr_tunnel_role role;
	bool peer6;       /* the peer relay's underlay address family */
	uint8_t peer[16]; /* its address; IPv4 in the first 4 bytes */
	/* the guest: its MAC and old addresses (SOURCE: empty takes what the
	 * relay learned) */
	struct vr_addrs guest;
	bool has_gw_mac;   /* DEST: the old LAN's gateway, which the guest */
	uint8_t gw_mac[6]; /* keeps talking to; SOURCE: overrides the learned one */
	uint8_t n_sa;      /* 0: make fresh keys; else VR_REDIRECT_SAS, in order */
	struct vr_esp_key sa[VR_REDIRECT_SAS];
	/* where the peer relay is controlled, and its relay: kept for whoever
	 * moves the guest on (empty, -1: not given) */
	char peer_control[VR_PEER_CONTROL_MAX];
	int peer_relay;
	/* the peer is on this LAN: its underlay MAC is the next hop */
	bool has_peer_mac;
	uint8_t peer_mac[6];
	bool handover; /* a switchover within one LAN (tunnel_port.h) */
};

#endif
