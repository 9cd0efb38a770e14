/* SPDX-License-Identifier: BSD-3-Clause */
#include "ctlclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "config.h"
#include "virtioforwarder.pb-c.h"

/* One request/reply on a service. */
static int
transact(const struct vr_ctl *c, const char *service, const uint8_t *req, size_t len, uint8_t **buf,
         size_t *n)
{
	char ep[VR_PATH_MAX + 32];
	void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_REQ);
	int zero = 0, rc = -1;
	zmq_msg_t msg;

	snprintf(ep, sizeof(ep), "ipc://%s/%s", c->dir, service);
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(s, ZMQ_RCVTIMEO, &c->timeout_ms, sizeof(c->timeout_ms));
	if (access(ep + 6, W_OK) != 0) {
		fprintf(stderr, "%s: %s: %m (is vrelayd running, and the directory right?)\n",
		        c->prog, ep + 6);
		goto out;
	}
	if (zmq_connect(s, ep) != 0 || zmq_send(s, req, len, 0) < 0) {
		fprintf(stderr, "%s: %s: %s\n", c->prog, ep, zmq_strerror(zmq_errno()));
		goto out;
	}
	zmq_msg_init(&msg);
	if (zmq_msg_recv(&msg, s, 0) < 0) {
		fprintf(stderr, "%s: %s: no answer within %d ms\n", c->prog, ep, c->timeout_ms);
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

int
vr_ctl_learned(const struct vr_ctl *c, int id, char items[][48], unsigned *n)
{
	Virtioforwarder__StatsRequest req = VIRTIOFORWARDER__STATS_REQUEST__INIT;
	Virtioforwarder__StatsResponse *resp;
	uint32_t ids[1] = {(uint32_t)id};
	uint8_t *buf;
	size_t len;

	req.n_relay = 1;
	req.relay = ids;
	if (vr_ctl_exchange(c, "stats", &req.base, &buf, &len) < 0)
		return -1;
	resp = virtioforwarder__stats_response__unpack(NULL, len, buf);
	free(buf);
	if (resp == NULL || resp->status != 0 || resp->n_relay != 1) {
		fprintf(stderr, "%s: %s: relay %d: %s\n", c->prog, c->dir, id,
		        resp != NULL && resp->error ? resp->error : "no such relay");
		if (resp != NULL)
			virtioforwarder__stats_response__free_unpacked(resp, NULL);
		return -1;
	}
	*n = 0;
	if (resp->relay[0]->guest_mac != NULL && resp->relay[0]->guest_mac[0] != '\0') {
		snprintf(items[(*n)++], 48, "%s", resp->relay[0]->guest_mac);
		for (size_t i = 0; i < resp->relay[0]->n_guest_ip && *n < VR_ANNOUNCE_MAX; i++)
			snprintf(items[(*n)++], 48, "%s", resp->relay[0]->guest_ip[i]);
	}
	virtioforwarder__stats_response__free_unpacked(resp, NULL);
	return 0;
}

int
vr_ctl_announce(const struct vr_ctl *c, int id, char items[][48], unsigned n, bool now)
{
	Virtioforwarder__PortControlRequest req = VIRTIOFORWARDER__PORT_CONTROL_REQUEST__INIT;
	Virtioforwarder__PortControlResponse *resp;
	char *ptrs[VR_ANNOUNCE_MAX];
	uint8_t *buf;
	size_t len;
	int rc;

	for (unsigned i = 0; i < n && i < VR_ANNOUNCE_MAX; i++)
		ptrs[i] = items[i];
	req.op = VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__ANNOUNCE;
	req.has_virtio_id = 1;
	req.virtio_id = (uint32_t)id;
	req.n_announce = n < VR_ANNOUNCE_MAX ? n : VR_ANNOUNCE_MAX;
	req.announce = ptrs;
	req.has_announce_now = now;
	req.announce_now = now;
	if (vr_ctl_exchange(c, "port_control", &req.base, &buf, &len) < 0)
		return -2;
	resp = virtioforwarder__port_control_response__unpack(NULL, len, buf);
	free(buf);
	if (resp == NULL)
		return -2;
	rc = resp->status == VIRTIOFORWARDER__PORT_CONTROL_RESPONSE__STATUS__OK ? 0 : -1;
	if (rc < 0)
		fprintf(stderr, "%s: %s: relay %d: ANNOUNCE refused: %s\n", c->prog, c->dir, id,
		        resp->error_code_source ? resp->error_code_source : "?");
	virtioforwarder__port_control_response__free_unpacked(resp, NULL);
	return rc;
}
