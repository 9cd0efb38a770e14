/* SPDX-License-Identifier: BSD-3-Clause */
#include "ctlclient.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <zmq.h>

#include "config.h"
#include "remote.h"
#include "virtioforwarder.pb-c.h"

/* Where service is, into ep: the control directory's ipc:// socket, or
 * the endpoint a remote relay's file names, with its CURVE keys set on s
 * (remote.h). 0, or -1 with the reason printed. */
static int
endpoint_of(const struct vr_ctl *c, const char *service, void *s, char *ep, size_t max)
{
	char err[VR_ERR_MAX];
	struct vr_remote r;
	const char *at;
	int rc = -1;

	if (!vr_remote_is(c->dir)) {
		snprintf(ep, max, "ipc://%s/%s", c->dir, service);
		if (access(ep + 6, W_OK) == 0)
			return 0;
		fprintf(stderr, "%s: %s: %m (is vrelayd running, and the directory right?)\n",
		        c->prog, ep + 6);
		return -1;
	}
	if (vr_remote_load(c->dir, &r, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", c->prog, err);
		return -1;
	}
	at = vr_remote_endpoint(&r, service);
	if (at == NULL)
		fprintf(stderr, "%s: %s: no endpoint for the %s service\n", c->prog, c->dir,
		        service);
	else if (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, r.server_key, VR_Z85_KEY_LEN) != 0 ||
	         zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, r.public_key, VR_Z85_KEY_LEN) != 0 ||
	         zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, r.secret_key, VR_Z85_KEY_LEN) != 0)
		fprintf(stderr, "%s: %s: CURVE: %s\n", c->prog, c->dir, zmq_strerror(zmq_errno()));
	else
		rc = snprintf(ep, max, "%s", at) < (int)max ? 0 : -1;
	vr_remote_wipe(&r);
	return rc;
}

/* One request/reply on a service. */
static int
transact(const struct vr_ctl *c, const char *service, const uint8_t *req, size_t len, uint8_t **buf,
         size_t *n)
{
	char ep[VR_REMOTE_EP_MAX + VR_PATH_MAX + 32];
	void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_REQ);
	int zero = 0, rc = -1;
	zmq_msg_t msg;

	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(s, ZMQ_RCVTIMEO, &c->timeout_ms, sizeof(c->timeout_ms));
	if (endpoint_of(c, service, s, ep, sizeof(ep)) < 0)
		goto out;
	if (zmq_connect(s, ep) != 0 || zmq_send(s, req, len, 0) < 0) {
		fprintf(stderr, "%s: %s: %s\n", c->prog, ep, zmq_strerror(zmq_errno()));
		goto out;
	}
	zmq_msg_init(&msg);
	if (zmq_msg_recv(&msg, s, 0) < 0) {
		fprintf(stderr, "%s: %s: no answer within %d ms%s\n", c->prog, ep, c->timeout_ms,
		        strncmp(ep, "tcp://", 6) == 0
		            ? " (or our CURVE key is not authorised there)"
		            : "");
		zmq_msg_close(&msg);
		goto out;
	}
	*n = zmq_msg_size(&msg);
	*buf = malloc(*n ? *n : 1);
	memcpy(*buf, zmq_msg_data(&msg), *n);
	zmq_msg_close(&msg);
	rc = 0;
out:
	zmq_close(s);
	zmq_ctx_term(ctx);
	return rc;
}

int
vr_ctl_exchange(const struct vr_ctl *c, const char *service, const ProtobufCMessage *m,
                uint8_t **buf, size_t *n)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *req = malloc(len ? len : 1);
	int rc;

	protobuf_c_message_pack(m, req);
	rc = transact(c, service, req, len, buf, n);
	free(req);
	return rc;
}

/* A list of strings into n items of text, at most VR_ANNOUNCE_MAX. */
static unsigned
items_copy(char items[][48], unsigned n, char **from, size_t nfrom)
{
	for (size_t i = 0; i < nfrom && n < VR_ANNOUNCE_MAX; i++)
		snprintf(items[n++], 48, "%s", from[i]);
	return n;
}

/* The stats service's reply for the n relays of ids (n 0: every relay),
 * or NULL with the reason printed, named by what (the relays asked for). */
static Virtioforwarder__StatsResponse *
stats_query(const struct vr_ctl *c, uint32_t *ids, size_t n, const char *what)
{
	Virtioforwarder__StatsRequest req = VIRTIOFORWARDER__STATS_REQUEST__INIT;
	Virtioforwarder__StatsResponse *resp;
	uint8_t *buf;
	size_t len;

	req.n_relay = n;
	req.relay = ids;
	if (vr_ctl_exchange(c, "stats", &req.base, &buf, &len) < 0)
		return NULL;
	resp = virtioforwarder__stats_response__unpack(NULL, len, buf);
	free(buf);
	if (resp == NULL || resp->status != 0 || (n > 0 && resp->n_relay != n)) {
		fprintf(stderr, "%s: %s: %s: %s\n", c->prog, c->dir, what,
		        resp != NULL && resp->error ? resp->error
		        : n > 0                     ? "no such relay"
		                                    : "malformed reply");
		if (resp != NULL)
			virtioforwarder__stats_response__free_unpacked(resp, NULL);
		return NULL;
	}
	return resp;
}

int
vr_ctl_relay_find(const struct vr_ctl *c, const char *socket, const char *mac, bool active)
{
	Virtioforwarder__StatsResponse *resp = stats_query(c, NULL, 0, "relays");
	int id = -1;

	if (resp == NULL)
		return -2;
	for (size_t i = 0; i < resp->n_relay && id < 0; i++) {
		const Virtioforwarder__RelayState *rs = resp->relay[i];

		if ((socket == NULL || strcmp(rs->vhost->vhost_socket_name, socket) == 0) &&
		    (mac == NULL ||
		     (rs->guest_mac != NULL && strcasecmp(rs->guest_mac, mac) == 0)) &&
		    (!active || rs->active))
			id = (int)rs->id;
	}
	virtioforwarder__stats_response__free_unpacked(resp, NULL);
	return id;
}

int
vr_ctl_relay_info(const struct vr_ctl *c, int id, struct vr_ctl_relay *o)
{
	Virtioforwarder__StatsResponse *resp;
	Virtioforwarder__RelayState *rs;
	uint32_t ids[1] = {(uint32_t)id};
	char what[32];

	snprintf(what, sizeof(what), "relay %d", id);
	if ((resp = stats_query(c, ids, 1, what)) == NULL)
		return -1;
	rs = resp->relay[0];
	memset(o, 0, sizeof(*o));
	o->peer_relay = rs->has_redirect_peer_relay ? (int)rs->redirect_peer_relay : -1;
	if (rs->guest_mac != NULL && rs->guest_mac[0] != '\0')
		o->n_learned = items_copy(o->learned, items_copy(o->learned, 0, &rs->guest_mac, 1),
		                          rs->guest_ip, rs->n_guest_ip);
	o->handover = rs->has_redirect_handover && rs->redirect_handover;
	if (rs->redirect_role != NULL) {
		snprintf(o->role, sizeof(o->role), "%s", rs->redirect_role);
		snprintf(o->peer, sizeof(o->peer), "%s",
		         rs->redirect_peer ? rs->redirect_peer : "");
		o->n_carried = items_copy(o->carried, 0, rs->redirect_guest, rs->n_redirect_guest);
	}
	if (rs->redirect_peer_control != NULL)
		snprintf(o->peer_control, sizeof(o->peer_control), "%s", rs->redirect_peer_control);
	virtioforwarder__stats_response__free_unpacked(resp, NULL);
	return 0;
}

/* One port control request to relay id; the reply (caller frees), or NULL
 * with *rc -1 (refused: printed) or -2 (no answer). */
static Virtioforwarder__PortControlResponse *
port_request(const struct vr_ctl *c, Virtioforwarder__PortControlRequest *req, int id,
             const char *what, int *rc)
{
	Virtioforwarder__PortControlResponse *resp;
	uint8_t *buf;
	size_t len;

	req->has_virtio_id = 1;
	req->virtio_id = (uint32_t)id;
	*rc = -2;
	if (vr_ctl_exchange(c, "port_control", &req->base, &buf, &len) < 0)
		return NULL;
	resp = virtioforwarder__port_control_response__unpack(NULL, len, buf);
	free(buf);
	if (resp == NULL)
		return NULL;
	*rc = 0;
	if (resp->status == VIRTIOFORWARDER__PORT_CONTROL_RESPONSE__STATUS__OK)
		return resp;
	fprintf(stderr, "%s: %s: relay %d: %s refused: %s\n", c->prog, c->dir, id, what,
	        resp->error_code_source ? resp->error_code_source : "?");
	virtioforwarder__port_control_response__free_unpacked(resp, NULL);
	*rc = -1;
	return NULL;
}

/* The guest's items (a MAC, then addresses) into req's announce list. */
static void
set_items(Virtioforwarder__PortControlRequest *req, char **ptrs, char items[][48], unsigned n)
{
	for (unsigned i = 0; i < n && i < VR_ANNOUNCE_MAX; i++)
		ptrs[i] = items[i];
	req->n_announce = n < VR_ANNOUNCE_MAX ? n : VR_ANNOUNCE_MAX;
	req->announce = ptrs;
}

int
vr_ctl_announce(const struct vr_ctl *c, int id, char items[][48], unsigned n, bool now)
{
	Virtioforwarder__PortControlRequest req = VIRTIOFORWARDER__PORT_CONTROL_REQUEST__INIT;
	Virtioforwarder__PortControlResponse *resp;
	char *ptrs[VR_ANNOUNCE_MAX];
	int rc;

	set_items(&req, ptrs, items, n);
	req.op = VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__ANNOUNCE;
	req.has_announce_now = now;
	req.announce_now = now;
	resp = port_request(c, &req, id, "ANNOUNCE", &rc);
	if (resp != NULL)
		virtioforwarder__port_control_response__free_unpacked(resp, NULL);
	return rc;
}

/* The daemon's underlay addresses, and (mac not NULL) the MAC they are
 * at ("" when it has none). */
static int
underlay_query(const struct vr_ctl *c, char addrs[2][48], unsigned *n, char mac[18])
{
	Virtioforwarder__ConfigRequest req = VIRTIOFORWARDER__CONFIG_REQUEST__INIT;
	Virtioforwarder__ConfigResponse *resp;
	uint8_t *buf;
	size_t len;

	if (vr_ctl_exchange(c, "config", &req.base, &buf, &len) < 0)
		return -1;
	resp = virtioforwarder__config_response__unpack(NULL, len, buf);
	free(buf);
	if (resp == NULL)
		return -1;
	*n = 0;
	for (size_t i = 0; i < resp->n_underlay && *n < 2; i++)
		snprintf(addrs[(*n)++], 48, "%s", resp->underlay[i]);
	if (mac != NULL)
		snprintf(mac, 18, "%s", resp->underlay_mac != NULL ? resp->underlay_mac : "");
	virtioforwarder__config_response__free_unpacked(resp, NULL);
	return 0;
}

int
vr_ctl_underlay(const struct vr_ctl *c, char addrs[2][48], unsigned *n)
{
	return underlay_query(c, addrs, n, NULL);
}

/* "ADDR/PREFIX" into its address (16 bytes, IPv4 in the first 4), family
 * and prefix; false if it is neither. */
static bool
parse_underlay(const char *text, uint8_t ip[16], bool *v6, unsigned *prefix)
{
	char addr[48];
	const char *slash = strchr(text, '/');

	if (slash == NULL || (size_t)(slash - text) >= sizeof(addr))
		return false;
	memcpy(addr, text, (size_t)(slash - text));
	addr[slash - text] = '\0';
	*v6 = strchr(addr, ':') != NULL;
	*prefix = (unsigned)atoi(slash + 1);
	return *prefix <= (*v6 ? 128u : 32u) && inet_pton(*v6 ? AF_INET6 : AF_INET, addr, ip) == 1;
}

/* Whether a and b share their first bits bits. */
static bool
same_prefix(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	for (unsigned i = 0; i < bits; i++)
		if (((a[i / 8] ^ b[i / 8]) >> (7 - i % 8)) & 1)
			return false;
	return true;
}

bool
vr_ctl_on_prefix(const char *addr, const char *prefix)
{
	uint8_t ia[16], ip[16];
	unsigned plen;
	bool v6, a6 = strchr(addr, ':') != NULL;

	return parse_underlay(prefix, ip, &v6, &plen) && v6 == a6 &&
	       inet_pton(a6 ? AF_INET6 : AF_INET, addr, ia) == 1 && same_prefix(ia, ip, plen);
}

int
vr_ctl_peer_underlay(const struct vr_ctl *src, const struct vr_ctl *dst, char peer[48],
                     bool *same_subnet)
{
	char a[2][48], b[2][48];
	unsigned na, nb;

	if (vr_ctl_underlay(src, a, &na) < 0 || vr_ctl_underlay(dst, b, &nb) < 0)
		return -1;
	for (int v6 = 0; v6 < 2; v6++)
		for (unsigned i = 0; i < na; i++)
			for (unsigned j = 0; j < nb; j++) {
				uint8_t ia[16], ib[16];
				bool fa, fb;
				unsigned pa, pb;

				if (!parse_underlay(a[i], ia, &fa, &pa) ||
				    !parse_underlay(b[j], ib, &fb, &pb) || fa != v6 || fb != v6)
					continue;
				inet_ntop(v6 ? AF_INET6 : AF_INET, ib, peer, 48);
				*same_subnet = pa == pb && same_prefix(ia, ib, pa);
				return 0;
			}
	fprintf(stderr,
	        "%s: %s and %s have no underlay address family in common (underlay-ipv4, "
	        "underlay-ipv6)\n",
	        src->prog, src->dir, dst->dir);
	return -1;
}

/* vr_ctl_redirect, or with handover a switchover within one LAN (the
 * destination's underlay MAC as the next hop). */
static int
redirect_pair(const struct vr_ctl *src, int src_id, const struct vr_ctl *dst, int dst_id,
              char items[][48], unsigned n, bool handover)
{
	Virtioforwarder__PortControlRequest req = VIRTIOFORWARDER__PORT_CONTROL_REQUEST__INIT;
	Virtioforwarder__PortControlRequest__Redirect rd =
	    VIRTIOFORWARDER__PORT_CONTROL_REQUEST__REDIRECT__INIT;
	Virtioforwarder__PortControlResponse *resp, *done;
	char *ptrs[VR_ANNOUNCE_MAX], peer[48], sdir[PATH_MAX], ddir[PATH_MAX], mac[18], b[2][48];
	unsigned nb;
	bool same;
	int rc;

	if (vr_ctl_peer_underlay(src, dst, peer, &same) < 0)
		return -1;
	if (handover && (!same || underlay_query(dst, b, &nb, mac) < 0 || mac[0] == '\0')) {
		fprintf(stderr, "%s: %s: a handover needs the peer on this LAN, with its MAC\n",
		        src->prog, dst->dir);
		return -1;
	}
	rd.peer_mac = handover ? mac : NULL;
	rd.has_handover = handover;
	rd.handover = handover;
	set_items(&req, ptrs, items, n);
	req.op = VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__REDIRECT;
	rd.role = VIRTIOFORWARDER__PORT_CONTROL_REQUEST__REDIRECT__ROLE__SOURCE;
	rd.peer = peer;
	rd.peer_control = realpath(dst->dir, ddir) != NULL ? ddir : (char *)dst->dir;
	rd.has_peer_relay = 1;
	rd.peer_relay = (uint32_t)dst_id;
	req.redirect = &rd;
	resp = port_request(src, &req, src_id, "REDIRECT", &rc);
	if (resp == NULL)
		return rc;
	if (resp->peer_request == NULL || resp->peer_request->redirect == NULL) {
		fprintf(stderr, "%s: %s: relay %d: REDIRECT answered without the peer's request\n",
		        src->prog, src->dir, src_id);
		rc = -1;
	} else {
		Virtioforwarder__PortControlRequest__Redirect *pr = resp->peer_request->redirect;
		char *unpacked = pr->peer_control;

		/* the keys go from one control channel to the other, nowhere else */
		pr->peer_control = realpath(src->dir, sdir) != NULL ? sdir : (char *)src->dir;
		pr->has_peer_relay = 1;
		pr->peer_relay = (uint32_t)src_id;
		done = port_request(dst, resp->peer_request, dst_id, "REDIRECT", &rc);
		pr->peer_control = unpacked; /* freed with the rest */
		if (done != NULL)
			virtioforwarder__port_control_response__free_unpacked(done, NULL);
	}
	virtioforwarder__port_control_response__free_unpacked(resp, NULL);
	if (rc != 0) /* no half a redirect */
		vr_ctl_unredirect(src, src_id);
	return rc;
}

int
vr_ctl_redirect(const struct vr_ctl *src, int src_id, const struct vr_ctl *dst, int dst_id,
                char items[][48], unsigned n)
{
	return redirect_pair(src, src_id, dst, dst_id, items, n, false);
}

int
vr_ctl_handover(const struct vr_ctl *src, int src_id, const struct vr_ctl *dst, int dst_id,
                char items[][48], unsigned n)
{
	return redirect_pair(src, src_id, dst, dst_id, items, n, true);
}

int
vr_ctl_unredirect(const struct vr_ctl *c, int id)
{
	Virtioforwarder__PortControlRequest req = VIRTIOFORWARDER__PORT_CONTROL_REQUEST__INIT;
	Virtioforwarder__PortControlResponse *resp;
	int rc;

	req.op = VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__UNREDIRECT;
	resp = port_request(c, &req, id, "UNREDIRECT", &rc);
	if (resp != NULL)
		virtioforwarder__port_control_response__free_unpacked(resp, NULL);
	return rc;
}
