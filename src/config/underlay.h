/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A relay's own place on the network it shares with a device (issue 13,
 * docs/tunnel.md): the underlay address(es) the tunnel runs from, their
 * gateways, and the relay whose device carries them. Configuration only;
 * pure and unit-tested.
 *
 *   underlay-relay    = N                   relay whose device carries it
 *   underlay-ipv4     = 198.51.100.10/24    address/prefix
 *   underlay-gateway4 = 198.51.100.1        next hop off the prefix
 *   underlay-ipv6     = 2001:db8:a::10/64
 *   underlay-gateway6 = 2001:db8:a::1       (or a link-local fe80::/10)
 */
#ifndef VR_UNDERLAY_H
#define VR_UNDERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vr_underlay_conf {
	int relay; /* -1: none configured */
	bool has4, has6, has_gw4, has_gw6;
	uint8_t ip4[4], gw4[4], prefix4;
	uint8_t ip6[16], gw6[16], prefix6;
	/* a gateway's MAC given (underlay-gateway4-mac, -6-mac): never asked */
	bool has_gw4_mac, has_gw6_mac;
	uint8_t gw4_mac[6], gw6_mac[6];
	/* a redirect ends once its sessions did, or at the latest after
	 * lifetime_s; one that carried nothing ends after unused_s */
	uint32_t lifetime_s, unused_s;
	/* when a session ends (tunnel/flows.h): idle timeouts per protocol, and
	 * the linger of a TCP session after FIN or RST */
	uint32_t tcp_idle_s, udp_idle_s, other_idle_s, tcp_linger_s;
	/* an SA is replaced by its next after rekey_s, or once it sealed
	 * rekey_packets (at most 2^31: half the sequence space is left for
	 * the second the control thread may take to notice) */
	uint32_t rekey_s, rekey_packets;
};

void vr_underlay_init(struct vr_underlay_conf *u);

/* One underlay-* key: 0 done, -1 with err, 1 not an underlay key. */
int vr_underlay_set(struct vr_underlay_conf *u, const char *key, const char *val, char *err,
                    size_t errlen);

/* The keys together: an address needs a relay and a relay an address, a
 * gateway needs its family's address and lies on its prefix. */
int vr_underlay_validate(const struct vr_underlay_conf *u, char *err, size_t errlen);

#endif
