/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control thread's event loop (main lcore): signals through a signalfd
 * and a one-second timer for rates and load, in one epoll set. Later control
 * sources (ZeroMQ, OVSDB, inotify) join the same loop.
 */
#ifndef VR_CONTROL_H
#define VR_CONTROL_H

#include "config.h"

/* Apply a new configuration to the running relays (add/remove/re-pin). */
void control_apply(const struct vr_conf *old, const struct vr_conf *next);

/* Run until SIGTERM/SIGINT. argv is re-parsed on SIGHUP. */
int control_run(struct vr_conf *conf, int argc, char *const argv[]);

#endif
