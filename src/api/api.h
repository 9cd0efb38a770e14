/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ZeroMQ control services, wire-compatible with virtio-forwarder
 * (proto/virtioforwarder.proto, docs/control.md): port control, stats,
 * config and core scheduler, each a ROUTER socket on its own endpoint (REQ
 * clients see a REP; a deferred reply goes to its own client while the
 * others are served), all served by the control loop. Handlers act through the internal control
 * API (ctl.h).
 */
#ifndef VR_API_H
#define VR_API_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

int api_start(const struct vr_conf *conf, char *err, size_t errlen);
void api_stop(void);

/* The client of the request being handled, kept for a reply later (stats
 * with a delay); NULL on no memory. api_reply_to sends and frees it. */
struct api_client;
struct api_client *api_defer(enum vr_service s);
void api_reply_to(enum vr_service s, struct api_client *c, const uint8_t *buf, size_t len);

/* Handlers: fill *out (malloc'd) with the packed reply, return its length;
 * or return VR_REPLY_LATER after api_defer, to answer later through
 * api_reply_to. */
#define VR_REPLY_LATER ((size_t)-1)
size_t portctl_handle(const uint8_t *req, size_t len, uint8_t **out);
size_t stats_handle(const uint8_t *req, size_t len, uint8_t **out);
size_t config_handle(const uint8_t *req, size_t len, uint8_t **out);
size_t sched_handle(const uint8_t *req, size_t len, uint8_t **out);

/* A reply message packed into *out (malloc'd); its length, 0 on no memory. */
struct ProtobufCMessage;
size_t api_pack(const struct ProtobufCMessage *msg, uint8_t **out);

#endif
