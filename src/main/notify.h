/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Telling the service manager how vrelayd is (sd_notify, libsystemd;
 * docs/deployment.md): READY=1 once the configured relays run and the
 * endpoints listen, a STATUS= line of relays and guests, RELOADING=1 and
 * READY=1 around a reload, STOPPING=1 at shutdown, and WATCHDOG=1 from the
 * control loop itself (so a control loop that hangs stops the pings and
 * the service manager restarts vrelayd). Without NOTIFY_SOCKET all of it
 * costs nothing: vrelayd needs no systemd to run. Control thread only.
 */
#ifndef VR_NOTIFY_H
#define VR_NOTIFY_H

/* Start-up is complete. */
void notify_ready(void);

/* Once a control tick: the status line, sent when it changed. */
void notify_status(void);

void notify_reloading(void);
void notify_reloaded(void);
void notify_stopping(void);

/* The watchdog's timer on the control loop, when the service manager asked
 * for pings (WATCHDOG_USEC): 0, or -1 when it cannot be set up. */
int notify_watchdog_start(void);
void notify_watchdog_stop(void);

#endif
