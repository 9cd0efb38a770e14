/* SPDX-License-Identifier: BSD-3-Clause */
/* Burst and pending sizes, shared by the data plane and the pure sizing code. */
#ifndef VR_DATAPLANE_LIMITS_H
#define VR_DATAPLANE_LIMITS_H

#define VR_BURST_LIMIT 32
#define VR_PEND_LIMIT  (2 * VR_BURST_LIMIT)

#endif
