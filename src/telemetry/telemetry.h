/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VR_TELEMETRY_H
#define VR_TELEMETRY_H

int telemetry_register(void);

#endif
