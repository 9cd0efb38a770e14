/* SPDX-License-Identifier: BSD-3-Clause */
/* Reading header fields in network byte order at any alignment: a frame's
 * headers need not sit on 2-byte boundaries (a VLAN tag, an odd IP
 * header length). */
#ifndef VR_WIRE_H
#define VR_WIRE_H

#include <stdint.h>

static inline uint16_t
vr_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

#endif
