/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port control service: ADD, REMOVE, ADD_SOCK, REMOVE_SOCK, QUERY_PCI,
 * ANNOUNCE, REDIRECT and UNREDIRECT (docs/control.md), decoded here and carried out by the internal
 * control API (ctl.h). Errors reply ERROR with a negative errno in
 * error_code and, in error_code_source, a sentence naming the relay,
 * device or path at fault.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "errmsg.h"
#include "log.h"
#include "ctl.h"
#include "request.h"
#include "virtioforwarder.pb-c.h"

#include <sodium.h>

/* The REDIRECT the peer relay needs, as a message: role, our address, the
 * guest, the old gateway, the keys. Strings live in txt (one per item). */
struct peer_msg {
	Virtioforwarder__PortControlRequest req;
	Virtioforwarder__PortControlRequest__Redirect rd;
	Virtioforwarder__PortControlRequest__Redirect__SA sa[VR_REDIRECT_SAS];
	Virtioforwarder__PortControlRequest__Redirect__SA *sap[VR_REDIRECT_SAS];
	char txt[VR_ANNOUNCE_MAX + 2][INET6_ADDRSTRLEN];
	char peer_mac[18];
	char *items[VR_ANNOUNCE_MAX];
};

static void
peer_msg_build(const struct vr_redirect_req *p, struct peer_msg *o)
{
	struct vr_addrs gw = {.has_mac = true};
	unsigned n = 0;

	virtioforwarder__port_control_request__init(&o->req);
	virtioforwarder__port_control_request__redirect__init(&o->rd);
	o->req.op = VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__REDIRECT;
	o->req.redirect = &o->rd;
	o->rd.role = p->role == VR_TUNNEL_SOURCE
	                 ? VIRTIOFORWARDER__PORT_CONTROL_REQUEST__REDIRECT__ROLE__SOURCE
	                 : VIRTIOFORWARDER__PORT_CONTROL_REQUEST__REDIRECT__ROLE__DESTINATION;
	inet_ntop(p->peer6 ? AF_INET6 : AF_INET, p->peer, o->txt[0], sizeof(o->txt[0]));
	o->rd.peer = o->txt[0];
	memcpy(gw.mac, p->gw_mac, 6);
	vr_addrs_mac_str(&gw, o->txt[1], sizeof(o->txt[1]));
	o->rd.gateway_mac = o->txt[1];
	if (p->has_peer_mac) {
		memcpy(gw.mac, p->peer_mac, 6);
		vr_addrs_mac_str(&gw, o->peer_mac, sizeof(o->peer_mac));
		o->rd.peer_mac = o->peer_mac;
	}
	o->rd.has_handover = p->handover;
	o->rd.handover = p->handover;
	vr_addrs_mac_str(&p->guest, o->txt[2], sizeof(o->txt[2]));
	o->items[n++] = o->txt[2];
	for (unsigned i = 0; i < vr_addrs_n_ip(&p->guest) && n < VR_ANNOUNCE_MAX; i++, n++) {
		vr_addrs_ip_str(&p->guest, i, o->txt[2 + n], sizeof(o->txt[0]));
		o->items[n] = o->txt[2 + n];
	}
	o->req.n_announce = n;
	o->req.announce = o->items;
	for (unsigned i = 0; i < p->n_sa; i++) {
		virtioforwarder__port_control_request__redirect__sa__init(&o->sa[i]);
		o->sa[i].spi = p->sa[i].spi;
		o->sa[i].key.len = p->sa[i].key_len;
		o->sa[i].key.data = (uint8_t *)p->sa[i].key;
		o->sa[i].salt.len = 4;
		o->sa[i].salt.data = (uint8_t *)p->sa[i].salt;
		o->sap[i] = &o->sa[i];
	}
	o->rd.n_sa = p->n_sa;
	o->rd.sa = o->sap;
}

size_t
portctl_handle(const uint8_t *req, size_t len, uint8_t **out)
{
	Virtioforwarder__PortControlResponse resp = VIRTIOFORWARDER__PORT_CONTROL_RESPONSE__INIT;
	struct vr_port_req q;
	struct vr_ctl_result res = {.code = -EINVAL};
	struct peer_msg peer;
	size_t out_len;
	int rc;

	rc = vr_port_req_decode(req, len, &q, res.msg, sizeof(res.msg));
	if (rc == 0)
		rc = ctl_port(&q, &res);
	resp.status = rc == 0 ? VIRTIOFORWARDER__PORT_CONTROL_RESPONSE__STATUS__OK
	                      : VIRTIOFORWARDER__PORT_CONTROL_RESPONSE__STATUS__ERROR;
	if (rc != 0) {
		VR_LOG(WARNING, "control: port control refused: %s", res.msg);
		resp.has_error_code = 1;
		resp.error_code = res.code;
		resp.error_code_source = res.msg;
	}
	if (rc == 0 && q.op == VR_PORT_QUERY)
		resp.query_string = res.query;
	if (rc == 0 && res.has_peer) {
		peer_msg_build(&res.peer, &peer);
		resp.peer_request = &peer.req;
	}
	out_len = api_pack(&resp.base, out);
	/* key material stays only in the reply on its way out */
	sodium_memzero(&q, sizeof(q));
	sodium_memzero(&res, sizeof(res));
	sodium_memzero(&peer, sizeof(peer));
	return out_len;
}
