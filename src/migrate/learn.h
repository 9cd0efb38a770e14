/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Learning a guest's addresses on the guest-to-device path (announce.h has
 * why ARP and neighbour discovery are enough). Inline: every frame the
 * guest sends passes here, and most are neither ARP nor ND and come from
 * the MAC already known, so they cost two compares.
 */
#ifndef VR_LEARN_H
#define VR_LEARN_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "announce.h"

/* Could frame f (len >= 14 bytes) teach anything new beyond known? */
static inline bool
learn_may_teach(const struct vr_addrs *known, const uint8_t *f, uint32_t len)
{
	uint16_t type = (uint16_t)(f[12] << 8 | f[13]);

	if (type == 0x0806)
		return true;
	if (type == 0x86dd)
		return len >= 14 + 40 + 1 && f[14 + 6] == 58 &&
		       (f[14 + 40] == 135 || f[14 + 40] == 136);
	return !known->has_mac || memcmp(f + 6, known->mac, 6) != 0;
}

#endif
