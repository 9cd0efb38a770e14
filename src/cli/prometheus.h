/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A stats reply in Prometheus' text exposition format (version 0.0.4),
 * for `vrelayctl stats --prometheus` (docs/telemetry.md, "Prometheus"):
 * every counter of counters.h as a `vrelay_..._total` counter family
 * labelled by relay (and direction), the rates and worker CPUs as gauges,
 * and a `vrelay_relay_info` gauge carrying device, socket, mode and state.
 */
#ifndef VR_PROMETHEUS_H
#define VR_PROMETHEUS_H

#include <stdio.h>

#include "virtioforwarder.pb-c.h"

void prometheus_write(FILE *out, const Virtioforwarder__StatsResponse *r);

#endif
