/* SPDX-License-Identifier: BSD-3-Clause */
/* Burst and pending sizes, shared by the data plane and the pure sizing code. */
#ifndef VR_BURST_H
#define VR_BURST_H

#define VR_BURST    32             /* frames per port call */
#define VR_PEND_MAX (2 * VR_BURST) /* frames a pending buffer holds */

#endif
