/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control timer's once-a-second sampling: rates per relay direction,
 * worker load, and pool exhaustion (nombuf).
 */
#ifndef VR_SAMPLE_H
#define VR_SAMPLE_H

#include <stdint.h>

void sample_relays(uint64_t now_ns);

#endif
