/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Decoding and checking of control requests (proto/virtioforwarder.proto)
 * into plain structs the services act on. Pure (protobuf-c only, no DPDK,
 * no daemon state), so that every check is unit-tested and fuzzed with
 * libFuzzer. A request that fails here gets an error reply carrying err,
 * which names the field and value at fault.
 */
#ifndef VR_REQUEST_H
#define VR_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "announce.h"
#include "config.h"
#include "redirect_req.h"

#define VR_REQ_MAX_BYTES   65536 /* larger requests are refused unread */
#define VR_STATS_DELAY_MAX 60000 /* ms */

enum vr_port_op {
	VR_PORT_ADD,
	VR_PORT_REMOVE,
	VR_PORT_ADD_SOCK,
	VR_PORT_REMOVE_SOCK,
	VR_PORT_QUERY,
	VR_PORT_ANNOUNCE,  /* proto op 100 */
	VR_PORT_REDIRECT,  /* 101 */
	VR_PORT_UNREDIRECT /* 102 */
};

struct vr_port_req {
	enum vr_port_op op;
	int id;           /* virtio_id, -1 absent */
	bool conditional; /* idempotent: no change is success */
	/* the device: PCI address (canonical), devargs, or a bond's name;
	 * "" when the request names none (REMOVE by id, REMOVE_SOCK by path) */
	char device[VR_DEVARGS_MAX];
	uint8_t n_members; /* > 0: a bond of these PCI addresses */
	uint8_t mode;
	char members[VR_BOND_MAX][VR_MEMBER_MAX];
	char socket[VR_PATH_MAX]; /* vhost_path, "" absent */
	struct vr_addrs announce; /* ANNOUNCE */
	bool announce_now;
	struct vr_redirect_req redirect; /* REDIRECT; guest from announce */
	/* a declarative source asking (OVSDB's "interface X"); NULL for the
	 * imperative ones. A relay it added is removed only by it (ctl.h). */
	const char *owner;
};

struct vr_stats_req {
	uint16_t n; /* 0 = every relay */
	uint8_t ids[VR_MAX_RELAYS];
	bool include_inactive;
	uint32_t delay_ms;
};

/* Status codes of StatsResponse. */
enum { VR_STATS_OK = 0, VR_STATS_EBADR = 400, VR_STATS_E2BIG = 413, VR_STATS_ENOMEM = 500 };

struct vr_sched_req {
	bool get_cores; /* GET_EAL_CORES; else UPDATE */
	uint16_t n;
	struct {
		int id;
		int cpu[2]; /* [vm2dev], [dev2vm]; VR_CPU_UNPINNED = leave */
	} map[VR_MAX_RELAYS];
};

/* Each returns 0, or -1 with err; decode_stats returns a StatsResponse status. */
int vr_port_req_decode(const uint8_t *buf, size_t len, struct vr_port_req *q, char *err,
                       size_t errlen);
int vr_stats_req_decode(const uint8_t *buf, size_t len, struct vr_stats_req *q, char *err,
                        size_t errlen);
int vr_sched_req_decode(const uint8_t *buf, size_t len, struct vr_sched_req *q, char *err,
                        size_t errlen);
int vr_config_req_decode(const uint8_t *buf, size_t len, char *err, size_t errlen);

const char *vr_port_op_name(enum vr_port_op op);

#endif
