/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What an OVSDB Interface row asks of vrelay (pure, fuzzed): a row whose
 * external_ids holds virtio_forwarder=N (or virtio_relay=N) wants relay N,
 * with the device in options:dpdk-devargs (the OVS-DPDK convention) or, if
 * absent, the PCI device behind the netdev the row is named after.
 */
#ifndef VR_OVSDB_ROW_H
#define VR_OVSDB_ROW_H

#include <jansson.h>
#include <stddef.h>

#include "config.h"

struct vr_ovsdb_row {
	int id; /* -1: the row wants no relay */
	char name[64];
	char devargs[VR_DEVARGS_MAX]; /* "" = resolve from name */
};

/* 0 with out filled, or -1 with err naming the bad value (the row is then
 * treated as wanting no relay). */
int vr_ovsdb_row_parse(const json_t *row, struct vr_ovsdb_row *out, char *err, size_t errlen);

/* ["map", [[k, v], ...]] -> v for key, or NULL. */
const char *vr_ovsdb_map_get(const json_t *map, const char *key);

#endif
