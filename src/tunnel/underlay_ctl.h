/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The relay's own address on its underlay (docs/tunnel.md, "Underlay
 * identity"), control side: every 10 ms the control thread answers the ARP
 * requests and neighbour solicitations for the address that the
 * device-to-guest worker put on the tap's control ring (underlay_tap.h),
 * learns the gateway's MAC from its answers, and asks for it (once a
 * second until known, every 30 s after). Frames go out through the relay's
 * inject ring (handoff_inject): the worker sends them, the control thread
 * never touches the device.
 */
#ifndef VR_UNDERLAY_CTL_H
#define VR_UNDERLAY_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "underlay_tap.h"

/* Nothing to do without an underlay-relay. 0, or -1 with err. */
int underlay_start(const struct vr_conf *c, char *err, size_t errlen);
void underlay_stop(void);

/* The tap for relay id's device-to-guest direction: NULL unless id is the
 * underlay relay (relay.c publishes it with handoff_underlay). */
struct vr_underlay_tap *underlay_tap_of(int id);

/* The underlay's configuration and tap, NULL without one (the redirects'). */
const struct vr_underlay_conf *underlay_conf(void);
struct vr_underlay_tap *underlay_tap(void);
/* The MAC of the underlay relay's device, where the underlay addresses
 * are (takes the relay lock): 0, or -1 when that relay is not running. */
struct rte_ether_addr;
int underlay_mac(struct rte_ether_addr *mac);

struct underlay_state {
	bool on;
	int relay;
	bool gw4_known, gw6_known;
	uint8_t gw4_mac[6], gw6_mac[6];
	uint64_t answered, asked, ctl_frames, tunnel_frames, tunnel_unclaimed, other_dropped;
	uint64_t ring_full, fragments, reassembled;
};
void underlay_state(struct underlay_state *s);

#endif
