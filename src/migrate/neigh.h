/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Neighbour discovery frames, ARP (RFC 826) and IPv6 ND (RFC 4861): read
 * what one says, and build the ones a relay sends. The announcements of a
 * live migration (announce.h) are built here; so are the answers and
 * questions of a relay that owns an address itself (the tunnel's underlay
 * identity, a departed guest's old addresses: docs/tunnel.md).
 *
 * Pure (bytes in, bytes out): unit-tested and fuzzed.
 */
#ifndef VR_NEIGH_H
#define VR_NEIGH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VR_NEIGH_FRAME 86 /* bytes of the largest frame built (an NS or NA) */

enum vr_neigh_kind {
	VR_NEIGH_NONE,
	VR_NEIGH_ARP_REQUEST,
	VR_NEIGH_ARP_REPLY,
	VR_NEIGH_NS,
	VR_NEIGH_NA,
};

/* What one ARP or ND frame says. IPv4 addresses use the first 4 bytes. */
struct vr_neigh {
	enum vr_neigh_kind kind;
	bool ipv6;
	bool has_mac;          /* the sender's link-layer address is known */
	uint8_t sender_mac[6]; /* ARP's sender; ND's link-layer option (else Ethernet source) */
	uint8_t sender_ip[16]; /* ARP's sender; IPv6 source (:: for DAD) */
	uint8_t target_ip[16]; /* the address asked about or advertised */
};

/* Reads an untagged Ethernet frame. ND is taken only as RFC 4861 has a
 * node accept it: hop limit 255, code 0, a correct ICMPv6 checksum, a
 * target that is not multicast. false (kind NONE) for anything else. */
bool vr_neigh_parse(const uint8_t *frame, size_t len, struct vr_neigh *n);

/* The answer of the owner of q->target_ip at mac to the question q (an ARP
 * request or an NS): an ARP reply, or a solicited NA (override set) to the
 * asker, or to all nodes for DAD. Returns its length; 0 if q is neither. */
size_t vr_neigh_answer(const struct vr_neigh *q, const uint8_t mac[6], uint8_t out[VR_NEIGH_FRAME]);

/* The question "who has target?" from (mac, ip): a broadcast ARP request,
 * or an NS to target's solicited-node multicast address. Returns its length. */
size_t vr_neigh_ask4(const uint8_t mac[6], const uint8_t ip[4], const uint8_t target[4],
                     uint8_t out[VR_NEIGH_FRAME]);
size_t vr_neigh_ask6(const uint8_t mac[6], const uint8_t ip[16], const uint8_t target[16],
                     uint8_t out[VR_NEIGH_FRAME]);

/* Announcements: RARP for mac (what QEMU sends after a migration), a
 * gratuitous ARP request for ip, an unsolicited NA for ip to all nodes. */
size_t vr_neigh_rarp(const uint8_t mac[6], uint8_t out[VR_NEIGH_FRAME]);
size_t vr_neigh_garp(const uint8_t mac[6], const uint8_t ip[4], uint8_t out[VR_NEIGH_FRAME]);
size_t vr_neigh_unsolicited_na(const uint8_t mac[6], const uint8_t ip[16],
                               uint8_t out[VR_NEIGH_FRAME]);

#endif
