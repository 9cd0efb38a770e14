/* SPDX-License-Identifier: BSD-3-Clause */
/* Binding ZeroMQ service sockets with permissions and CURVE (endpoint.c). */
#ifndef VR_ENDPOINT_H
#define VR_ENDPOINT_H

#include <stddef.h>

#include <zmq.h>
#include <sys/types.h>

#include "config.h"
#include "perm.h"

/* Messages above this are dropped by libzmq itself (memory bound); smaller
 * ones above VR_REQ_MAX_BYTES get an error reply. */
#define VR_ENDPOINT_MAX_MSG (1 << 20)

/* A bound ZMQ_ROUTER socket (api.c speaks the REQ envelope), or NULL with err. */
void *endpoint_bind(void *ctx, const char *ep, const struct vr_ctl_conf *cc,
                    const struct vr_perm *perm, char *err, size_t errlen);
void endpoint_close(void *s, const char *ep);
void endpoint_fini(void);

/* zmq_send / zmq_msg_recv, tried again when a signal interrupts them. */
int endpoint_send(void *sock, const void *buf, size_t len, int flags);
int endpoint_recv(zmq_msg_t *msg, void *sock, int flags);

#endif
