/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A vrelayd controlled from another host (docs/control.md, "Relays on
 * other hosts"): where vrelayctl and vrelay-migrate take a control
 * directory, a regular file may stand instead, naming the daemon's tcp://
 * endpoints and the CURVE keys to reach them with:
 *
 *   zmq-port-control = tcp://[2001:db8::2]:5601
 *   zmq-stats = tcp://[2001:db8::2]:5602
 *   zmq-config = tcp://[2001:db8::2]:5603
 *   curve-server-key = <the daemon's public key, 40 characters of Z85>
 *   curve-secret-key = /etc/vrelay/client.key
 *
 * The keys are the daemon's own config keys; the secret key is the
 * client's (its public key is in the daemon's curve-client-keys).
 */
#ifndef VR_REMOTE_H
#define VR_REMOTE_H

#include <stdbool.h>
#include <stddef.h>

#include "keyfile.h"

#define VR_REMOTE_SERVICES 4
#define VR_REMOTE_EP_MAX   256

struct vr_remote {
	char ep[VR_REMOTE_SERVICES][VR_REMOTE_EP_MAX]; /* by service (remote.c); "": not given */
	char server_key[VR_Z85_KEY_LEN + 1];
	char public_key[VR_Z85_KEY_LEN + 1], secret_key[VR_Z85_KEY_LEN + 1];
};

/* Whether path names such a file (a regular file), not a directory. */
bool vr_remote_is(const char *path);

/* The file at path into r: 0, or -1 with err naming the line at fault. */
int vr_remote_load(const char *path, struct vr_remote *r, char *err, size_t errlen);

/* r's endpoint of service ("port_control", "stats", ...), NULL for none. */
const char *vr_remote_endpoint(const struct vr_remote *r, const char *service);

/* Forgets r's secret key. */
void vr_remote_wipe(struct vr_remote *r);

#endif
