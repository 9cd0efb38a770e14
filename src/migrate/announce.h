/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Where a guest is: learning its addresses from what it sends, and the
 * frames that tell a network it has moved (live migration).
 *
 * The guest-to-device worker learns the guest's MAC from every frame's
 * source and its IP addresses from the ARP and IPv6 neighbour discovery it
 * sends (a guest always resolves or answers before it talks, so those name
 * every address in use without parsing each packet). The control plane
 * reads the result (vr_addrs_snapshot) and vrelay-migrate hands it to the
 * destination relay, which sends the announcement frames the moment the
 * guest's vrings start there: one RARP for the MAC (what QEMU sends), a
 * gratuitous ARP per IPv4 address and an unsolicited neighbour
 * advertisement per IPv6 address, so switches and peers learn the new
 * place without waiting for the guest.
 *
 * Everything here is pure (no DPDK state): fuzzable and unit-tested.
 */
#ifndef VR_ANNOUNCE_H
#define VR_ANNOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VR_ADDRS_MAX      8  /* of each family; later ones replace the oldest */
#define VR_ANNOUNCE_FRAME 86 /* bytes of the largest frame built (an NA): VR_NEIGH_FRAME */
#define VR_ANNOUNCE_MAX   (1 + 2 * VR_ADDRS_MAX)

struct vr_addrs {
	bool has_mac;
	uint8_t mac[6];
	uint8_t n4, n6;
	uint8_t next4, next6; /* slot the next new address replaces once full */
	uint8_t ip4[VR_ADDRS_MAX][4];
	uint8_t ip6[VR_ADDRS_MAX][16];
};

/* Learn from one frame the guest sent; true if a was changed. */
bool vr_addrs_learn(struct vr_addrs *a, const uint8_t *frame, size_t len);

/* Add one address (true if new); used by learning and by the control side. */
bool vr_addrs_add4(struct vr_addrs *a, const uint8_t ip[4]);
bool vr_addrs_add6(struct vr_addrs *a, const uint8_t ip[16]);

/* Whether ip (IPv6 if v6, else IPv4) is one of a's addresses. */
bool vr_addrs_has(const struct vr_addrs *a, bool v6, const uint8_t *ip);
/* The addresses of b that a lacks join a, when both are one guest's (the
 * same MAC, or a has none yet). */
void vr_addrs_merge(struct vr_addrs *a, const struct vr_addrs *b);

/* Parse "MAC" / "IPv4" / "IPv6" text into a; -1 with err naming it. */
int vr_addrs_parse(struct vr_addrs *a, const char *text, char *err, size_t errlen);
/* Text forms for stats. */
void vr_addrs_mac_str(const struct vr_addrs *a, char *out, size_t len);
void vr_addrs_ip_str(const struct vr_addrs *a, unsigned i, char *out, size_t len);
static inline unsigned
vr_addrs_n_ip(const struct vr_addrs *a)
{
	return a->n4 + a->n6;
}

/* The announcement frames for a: frames[i] gets len[i] bytes
 * (VR_ANNOUNCE_FRAME each); returns how many (0 without a MAC). */
unsigned vr_announce_frames(const struct vr_addrs *a, uint8_t frames[][VR_ANNOUNCE_FRAME],
                            size_t len[]);

#endif
