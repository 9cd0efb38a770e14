/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sessions a redirect carries (docs/tunnel.md, "Lifetime"): every flow
 * seen on a departed guest's old addresses, until it ends. A redirect lives
 * while its table holds a flow (and less than its maximum lifetime).
 *
 * A flow is the 5-tuple in either direction. TCP ends at RST, or once both
 * sides sent FIN, after a linger for retransmissions; any flow ends when
 * idle for its protocol's timeout (RFC 5382 and RFC 4787 give the floors:
 * 2 h 4 min for established TCP, 2 min for UDP).
 *
 * One worker owns a table (the one moving the redirect's frames): it adds,
 * updates and sweeps with no lock, no allocation and no system call. The
 * control thread makes and frees tables and reads the counters.
 */
#ifndef VR_FLOWS_H
#define VR_FLOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vr_flow_limits {
	uint32_t max_flows;
	uint64_t tcp_idle_ms;   /* established (or half-open) TCP */
	uint64_t tcp_linger_ms; /* after FIN both ways or RST */
	uint64_t udp_idle_ms;
	uint64_t other_idle_ms; /* ICMP and the rest */
	/* the table sees one direction of each flow (one side of a tunnel): a
	 * FIN from that side ends the flow, as the other side's table ends it
	 * at the other FIN */
	bool one_way;
};

/* Defaults: 7440 s, 10 s, 300 s, 60 s, 65536 flows. */
void vr_flow_limits_default(struct vr_flow_limits *l);

#define VR_FLOW_COUNTERS(X)                                                                        \
	X(added, "flows_added", "flows first seen")                                                \
	X(ended_fin, "flows_ended_fin", "TCP flows ended by FIN both ways")                        \
	X(ended_rst, "flows_ended_rst", "TCP flows ended by RST")                                  \
	X(ended_idle, "flows_ended_idle", "flows ended by their idle timeout")                     \
	X(table_full, "flows_table_full", "frames of new flows not tracked: the table was full")   \
	X(not_ip, "flows_not_ip", "frames too short or not IP to track")

struct vr_flow_counters {
#define VR_FLOW_FIELD(field, ...) uint64_t field;
	VR_FLOW_COUNTERS(VR_FLOW_FIELD)
#undef VR_FLOW_FIELD
};

struct vr_flows;

/* hz: the clock the callers' now counts in (rte_get_tsc_hz()). NULL on
 * failure (no memory). */
struct vr_flows *vr_flows_create(const char *name, const struct vr_flow_limits *l, uint64_t hz,
                                 int socket);
void vr_flows_free(struct vr_flows *f);

/* One IP packet (ip points at its IP header) of the redirect, at now. */
void vr_flows_see(struct vr_flows *f, const uint8_t *ip, size_t len, uint64_t now);

/* Ends the flows whose time is up, looking at no more than budget of them
 * (the sweep resumes where it stopped). Returns how many live. */
uint32_t vr_flows_expire(struct vr_flows *f, uint64_t now, uint32_t budget);

/* Live flows and the counters, for the control thread (relaxed reads). */
uint32_t vr_flows_live(const struct vr_flows *f);
void vr_flows_counters(const struct vr_flows *f, struct vr_flow_counters *out);

#endif
