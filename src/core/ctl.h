/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The internal control API: what every control source calls to change the
 * relays. The sources are the ZeroMQ services (api/), the OVSDB and file
 * monitors (monitor/), the config file at start-up and on SIGHUP
 * (main/control.c); telemetry only reads, through relay.h's lookups under
 * the relay lock.
 *
 * Threads and locks: every control source runs on the control thread, in
 * its one event loop (main/control.h), so control operations never run
 * concurrently with each other. They may run concurrently with lib/vhost's
 * event thread (the vhost hooks) and the telemetry thread: the relay lock
 * (relay.h) serialises all three; ctl takes it itself, callers never hold
 * it. The vhost module's map lock guards only its socket registry and vid
 * map. Workers take no lock: they see changes through handoff.h.
 */
#ifndef VR_CTL_H
#define VR_CTL_H

#include <stddef.h>

#include "config.h"
#include "request.h"

/* The running configuration the requests are read against (socket
 * directory and pattern, relay defaults, pins). */
void ctl_init(const struct vr_conf *running);
const struct vr_conf *ctl_conf(void);

struct vr_ctl_result {
	int code;                   /* 0, or a negative errno */
	char msg[VR_ERR_MAX];       /* what was wrong */
	char query[VR_DEVARGS_MAX]; /* QUERY_PCI: the device */
	bool has_peer;              /* REDIRECT: what the peer relay needs */
	struct vr_redirect_req peer;
};

/* A port request (ADD, ADD_SOCK, REMOVE, REMOVE_SOCK, QUERY_PCI,
 * ANNOUNCE, REDIRECT, UNREDIRECT): 0, or -1 with res saying why. */
int ctl_port(const struct vr_port_req *q, struct vr_ctl_result *res);

/* Move a relay's directions (VR_CPU_UNPINNED: leave that one). Returns how
 * many changed worker (0: already there), or -1 with err set. */
int ctl_pin(int id, int cpu_vm2dev, int cpu_dev2vm, char *err, size_t errlen);

/* Bring the relays from configuration old to next: add, remove, re-pin. */
void ctl_apply(const struct vr_conf *old, const struct vr_conf *next);

#endif
