/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control thread's event loop (main lcore): one zmq_poll over every
 * control source, so that nothing in the control plane needs a thread or a
 * lock of its own: signals (signalfd), the one-second rate timer (timerfd),
 * the ZeroMQ services (api/), the OVSDB connection and the inotify watch
 * (monitor/). Sources register a callback for an fd or a ZeroMQ socket.
 */
#ifndef VR_CONTROL_H
#define VR_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/* Run until SIGTERM/SIGINT. argv is re-parsed on SIGHUP. */
int control_run(struct vr_conf *conf, int argc, char *const argv[]);

/* Call cb(arg) whenever fd (zsock NULL) or ZeroMQ socket zsock (fd -1) is
 * readable. A paused watch is not polled. */
typedef void (*control_cb)(void *arg);
int control_watch(int fd, void *zsock, control_cb cb, void *arg);
void control_unwatch(int fd, void *zsock);
void control_pause(int fd, void *zsock, bool paused);

/* CLOCK_MONOTONIC in nanoseconds: the clock of rates and delays. */
uint64_t control_now_ns(void);

/* A one-shot timer fd armed ms from now (0 disarms); -1 on error. */
int control_timer_new(void);
int control_timer_arm(int fd, unsigned ms);

#endif
