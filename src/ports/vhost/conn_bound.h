/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/vhost serves every vhost-user connection from one thread and reads a
 * message's payload, and writes its replies, with blocking calls. A
 * frontend that sends a header and withholds the payload, or never reads
 * its replies, would stop that thread, and with it every relay's guest
 * connections, reconnections and migrations. DPDK 22.11 gives no handle on
 * the connection, so vrelayd finds its socket by path as it is made and
 * bounds both directions: a stalled message then ends that connection only.
 */
#ifndef VR_CONN_BOUND_H
#define VR_CONN_BOUND_H

/* Longest wait for the rest of a message, or for room for a reply. QEMU
 * writes each message whole, so only a stalled or hostile frontend waits. */
#define VR_VHOST_MSG_TIMEOUT_MS 1000

/* Give every connected stream socket bound to or connected to path (the
 * connection lib/vhost just accepted or made) send and receive timeouts.
 * Returns how many it bounded. */
int conn_bound_timeouts(const char *path);

#endif
