/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The client side of vrelayd's ZeroMQ services, shared by vrelayctl and
 * vrelay-migrate: one request/reply, and the two exchanges live migration
 * needs (what a relay learned of its guest; priming the destination).
 */
#ifndef VR_CTLCLIENT_H
#define VR_CTLCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "announce.h"

struct vr_ctl {
	const char *prog; /* for messages */
	const char *dir;  /* the daemon's control directory */
	int timeout_ms;
};

/* Pack m, send it on service (e.g. "port_control"), reply in *buf (caller
 * frees). 0, or -1 with the reason printed to stderr. */
int vr_ctl_exchange(const struct vr_ctl *c, const char *service, const ProtobufCMessage *m,
                    uint8_t **buf, size_t *n);

/* What a relay knows of its guest and of its redirect (the stats service),
 * as text: lists are "MAC", then IP addresses. */
struct vr_ctl_relay {
	char learned[VR_ANNOUNCE_MAX][48]; /* from the guest's own frames */
	unsigned n_learned;
	char role[16];                     /* the redirect's: "source", "destination"; "" none */
	char peer[48];                     /* its peer's underlay address */
	char carried[VR_ANNOUNCE_MAX][48]; /* the old identity it carries */
	unsigned n_carried;
	char peer_control[256]; /* where its peer is controlled; "" unknown */
	int peer_relay;         /* -1 unknown */
	bool handover;          /* a switchover within one LAN */
};
/* Relay id's. 0, or -1 with the reason printed. */
int vr_ctl_relay_info(const struct vr_ctl *c, int id, struct vr_ctl_relay *o);

/* The relay serving socket path (when socket is not NULL) whose guest
 * has MAC mac (when mac is not NULL; any case); with active, only one
 * whose guest is connected. Its id, -1 when none does, -2 when the
 * daemon could not be asked (printed). */
int vr_ctl_relay_find(const struct vr_ctl *c, const char *socket, const char *mac, bool active);

/* Prime relay id with the ANNOUNCE op. 0, -1 refused (printed), -2 no answer. */
/* now: the guest just stopped at the source (announce at once, hold). */
int vr_ctl_announce(const struct vr_ctl *c, int id, char items[][48], unsigned n, bool now);

/* The daemon's underlay addresses as text (n of them, at most 2). 0, or
 * -1 with the reason printed. */
int vr_ctl_underlay(const struct vr_ctl *c, char addrs[2][48], unsigned *n);

/* dst's underlay address that src can reach (the family both have, IPv4
 * first) as text, and whether it lies on src's own prefix. 0, or -1 with
 * the reason printed. */
int vr_ctl_peer_underlay(const struct vr_ctl *src, const struct vr_ctl *dst, char peer[48],
                         bool *same_subnet);

/* Whether address text addr lies on prefix ("ADDRESS/PREFIX", as
 * vr_ctl_underlay gives it). */
bool vr_ctl_on_prefix(const char *addr, const char *prefix);

/* A redirect for the guest leaving relay src_id (daemon src) for relay
 * dst_id (daemon dst): REDIRECT at the source, which makes the keys, then
 * its peer_request at the destination (undone at the source if that
 * fails). items: the guest's MAC and old addresses, or none for what the
 * source learned. Each relay is told where the other is controlled (the
 * directory in the vr_ctl), for a later move. 0, -1 refused (printed), -2
 * no answer. */
int vr_ctl_redirect(const struct vr_ctl *src, int src_id, const struct vr_ctl *dst, int dst_id,
                    char items[][48], unsigned n);
/* The same within one LAN, for the switchover only (docs/tunnel.md, "Same
 * LAN"): the source passes on what reaches it for the guest until the
 * network has relearned; ended with UNREDIRECT once the guest runs. */
int vr_ctl_handover(const struct vr_ctl *src, int src_id, const struct vr_ctl *dst, int dst_id,
                    char items[][48], unsigned n);
int vr_ctl_unredirect(const struct vr_ctl *c, int id);

#endif
