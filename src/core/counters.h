/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Every counter vrelayd keeps, declared once. Telemetry (/vrelay/relay,ID),
 * the stats service (StatsResponse counters), vrelayctl's tables and its
 * --json are all generated from these lists: a new counter is one line here
 * plus the code that counts it.
 *
 * Direction counters: X(field, dirs, name, column, help)
 *   field   member of struct vr_dir_counters
 *   dirs    VR_CTR_BOTH, or VR_CTR_VM2DEV for guest-to-device only
 *   name    its name in telemetry, the stats service and --json; a dot
 *           nests it ("offload.device" is "device" in an "offload" object)
 *   column  vrelayctl stats column header, or NULL for --json only
 * Written by the one worker that owns the direction (ctr_add), read by the
 * control thread (ctr_read).
 */
#ifndef VR_COUNTERS_H
#define VR_COUNTERS_H

#include <stdint.h>

#define VR_CTR_VM2DEV 1u
#define VR_CTR_DEV2VM 2u
#define VR_CTR_BOTH   (VR_CTR_VM2DEV | VR_CTR_DEV2VM)

#define VR_DIR_COUNTERS(X)                                                                         \
	X(rx_pkts, VR_CTR_BOTH, "rx_pkts", "RX_PKTS", "frames taken from the source port")         \
	X(rx_bytes, VR_CTR_BOTH, "rx_bytes", NULL, "bytes of those frames")                        \
	X(tx_pkts, VR_CTR_BOTH, "tx_pkts", "TX_PKTS", "frames the destination port took")          \
	X(tx_bytes, VR_CTR_BOTH, "tx_bytes", NULL, "bytes of those frames")                        \
	X(drop_full, VR_CTR_BOTH, "drop_full", "DROP_FULL",                                        \
	  "dropped: the destination took nothing for the whole retry window")                      \
	X(drop_full_bytes, VR_CTR_BOTH, "drop_full_bytes", NULL, "bytes of those frames")          \
	X(drop_unready, VR_CTR_BOTH, "drop_unready", "DROP_NOPEER",                                \
	  "dropped: nobody to take them (no guest, its vring disabled)")                           \
	X(drop_unready_bytes, VR_CTR_BOTH, "drop_unready_bytes", NULL, "bytes of those frames")    \
	X(held, VR_CTR_DEV2VM, "held", NULL,                                                       \
	  "frames held for a guest on its way (dev2vm: the migration's destination)")              \
	X(retries, VR_CTR_BOTH, "retries", "RETRIES",                                              \
	  "backpressure episodes: the destination took a burst only in part")                      \
	X(tunnel_out, VR_CTR_BOTH, "tunnel.out", "TUNNEL_OUT",                                     \
	  "frames of the guest's redirect sent into the tunnel (docs/tunnel.md)")                  \
	X(tunnel_out_bytes, VR_CTR_BOTH, "tunnel.out_bytes", NULL, "bytes of those frames")        \
	X(tunnel_in, VR_CTR_BOTH, "tunnel.in", "TUNNEL_IN",                                        \
	  "frames of the guest's redirect that came out of the tunnel")                            \
	X(tunnel_in_bytes, VR_CTR_BOTH, "tunnel.in_bytes", NULL, "bytes of those frames")          \
	X(sealed_sent, VR_CTR_VM2DEV, "tunnel.sealed_sent", NULL,                                  \
	  "sealed tunnel frames sent on this device (the underlay relay)")                         \
	X(announced, VR_CTR_VM2DEV, "announced", NULL,                                             \
	  "announcement frames sent on the device (live migration)")                               \
	X(offload_dev, VR_CTR_VM2DEV, "offload.device", NULL,                                      \
	  "frames whose checksum or segmentation the device finishes")                             \
	X(csum_sw, VR_CTR_VM2DEV, "offload.csum_sw", NULL,                                         \
	  "frames whose L4 checksum the relay finished")                                           \
	X(tso_cut, VR_CTR_VM2DEV, "offload.tso_cut", NULL,                                         \
	  "TCP frames the relay cut into segments")                                                \
	X(tso_segments, VR_CTR_VM2DEV, "offload.tso_segments", NULL, "segments made of them")      \
	X(offload_bad, VR_CTR_VM2DEV, "offload.dropped", NULL,                                     \
	  "dropped: an offload request the relay cannot meet")                                     \
	X(drop_segs, VR_CTR_VM2DEV, "drop_segs", NULL,                                             \
	  "dropped: chained in more segments than the device takes, too long to linearise")

/*
 * Relay counters: X(field, key, help). Control-side (vhost callbacks and
 * the control timer), atomics; struct vr_relay_counters.
 */
#define VR_RELAY_COUNTERS(X)                                                                       \
	X(connects, "connects", "guest sessions started (vhost-user new_device)")                  \
	X(disconnects, "disconnects", "guest sessions ended")                                      \
	X(migrations, "migrations", "live migrations started (dirty logging switched on)")         \
	X(nombuf, "nombuf", "seconds the guest had frames waiting while the relay pool was empty") \
	X(frontends_refused, "frontends_refused",                                                  \
	  "vhost-user connections refused: a guest was connected already")

#define VR_CTR_FIELD(field, ...) uint64_t field;
#define VR_CTR_COUNT(...)        +1

struct vr_dir_counters {
	VR_DIR_COUNTERS(VR_CTR_FIELD)
};

struct vr_relay_counters {
	VR_RELAY_COUNTERS(VR_CTR_FIELD)
};

/* What the generated outputs need to know of one counter (counters.c). */
struct vr_ctr_desc {
	const char *name;
	const char *column; /* NULL: not a table column */
	const char *help;
	unsigned dirs;   /* VR_CTR_* (direction counters) */
	unsigned offset; /* of its uint64_t in the counter struct */
};

#define VR_N_DIR_COUNTERS   (0 VR_DIR_COUNTERS(VR_CTR_COUNT))
#define VR_N_RELAY_COUNTERS (0 VR_RELAY_COUNTERS(VR_CTR_COUNT))

extern const struct vr_ctr_desc vr_dir_counter_desc[VR_N_DIR_COUNTERS];
extern const struct vr_ctr_desc vr_relay_counter_desc[VR_N_RELAY_COUNTERS];

static inline uint64_t
vr_ctr_value(const void *counters, const struct vr_ctr_desc *desc)
{
	return __atomic_load_n((const uint64_t *)((const char *)counters + desc->offset),
	                       __ATOMIC_RELAXED);
}

/* Single-writer counter update, readable from another thread without tearing. */
#define ctr_add(field, n) __atomic_store_n(&(field), (field) + (n), __ATOMIC_RELAXED)
#define ctr_read(field)   __atomic_load_n(&(field), __ATOMIC_RELAXED)

#endif
