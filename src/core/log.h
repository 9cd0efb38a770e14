/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VR_LOG_H
#define VR_LOG_H

#include <rte_log.h>

extern int vr_logtype;

#define VR_LOG(level, fmt, ...)                                                                    \
	rte_log(RTE_LOG_##level, vr_logtype, "vrelay: " fmt "\n", ##__VA_ARGS__)

#endif
