/* SPDX-License-Identifier: BSD-3-Clause */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>
#include <zmq.h>

#include "control.h"
#include "endpoint.h"
#include "errmsg.h"
#include "log.h"
#include "perm.h"

typedef size_t (*handler_fn)(const uint8_t *req, size_t len, uint8_t **out);

static const handler_fn handlers[VR_SVC_N] = {portctl_handle, stats_handle, config_handle,
                                              sched_handle};

static struct {
	const struct vr_conf *conf;
	void *ctx;
	void *sock[VR_SVC_N];
} api;

size_t
api_pack(const ProtobufCMessage *msg, uint8_t **out)
{
	size_t n = protobuf_c_message_get_packed_size(msg);

	*out = malloc(n ? n : 1);
	return *out != NULL ? protobuf_c_message_pack(msg, *out) : 0;
}

/* A client's ROUTER routing id (at most 255 bytes by ZMTP). */
struct api_client {
	size_t len;
	uint8_t id[256];
};

/* The client whose request is being handled (control thread only). */
static struct api_client current;

struct api_client *
api_defer(enum vr_service s)
{
	struct api_client *c = malloc(sizeof(*c));

	(void)s;
	if (c != NULL)
		*c = current;
	return c;
}

/* The REQ envelope back: routing id, empty delimiter, body. */
static void
send_reply(enum vr_service s, const struct api_client *c, const uint8_t *buf, size_t len)
{
	void *sock = api.sock[s];

	if (endpoint_send(sock, c->id, c->len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
	    endpoint_send(sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
	    endpoint_send(sock, buf, len, ZMQ_DONTWAIT) < 0)
		VR_LOG(WARNING, "control %s: reply not sent: %s", vr_service_name(s),
		       zmq_strerror(errno));
}

void
api_reply_to(enum vr_service s, struct api_client *c, const uint8_t *buf, size_t len)
{
	if (api.sock[s] != NULL)
		send_reply(s, c, buf, len);
	free(c);
}

/* Reads the rest of a message; how many parts there were. */
static unsigned
drain_parts(void *sock, zmq_msg_t *msg)
{
	unsigned n = 0;

	while (zmq_msg_more(msg)) {
		zmq_msg_close(msg);
		zmq_msg_init(msg);
		if (endpoint_recv(msg, sock, ZMQ_DONTWAIT) < 0)
			break;
		n++;
	}
	return n;
}

/* One request: routing id, empty delimiter, one body part. A body of more
 * parts is malformed: its parts are dropped and the request answered with
 * an error; a message with no envelope (not from a REQ socket) cannot be
 * answered and is dropped. */
static void
on_request(void *arg)
{
	enum vr_service s = (enum vr_service)(uintptr_t)arg;
	void *sock = api.sock[s];
	zmq_msg_t id, delim, body;
	uint8_t *out = NULL;
	size_t n;
	bool ok;

	zmq_msg_init(&id);
	if (endpoint_recv(&id, sock, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&id);
		return;
	}
	zmq_msg_init(&delim);
	zmq_msg_init(&body);
	ok = zmq_msg_more(&id) && zmq_msg_size(&id) < sizeof(current.id) &&
	     endpoint_recv(&delim, sock, ZMQ_DONTWAIT) >= 0 && zmq_msg_size(&delim) == 0 &&
	     zmq_msg_more(&delim) && endpoint_recv(&body, sock, ZMQ_DONTWAIT) >= 0;
	if (!ok) {
		drain_parts(sock, zmq_msg_more(&delim) ? &delim : &id);
		goto done;
	}
	current.len = zmq_msg_size(&id);
	memcpy(current.id, zmq_msg_data(&id), current.len);
	/* 0xff is never valid protobuf: a multi-part request decodes as malformed */
	if (drain_parts(sock, &body) > 0)
		n = handlers[s]((const uint8_t *)"\xff", 1, &out);
	else
		n = handlers[s](zmq_msg_data(&body), zmq_msg_size(&body), &out);
	if (n != VR_REPLY_LATER) /* deferred: api_reply_to answers */
		send_reply(s, &current, out, n);
	free(out);
done:
	zmq_msg_close(&body);
	zmq_msg_close(&delim);
	zmq_msg_close(&id);
}

int
api_start(const struct vr_conf *conf, char *err, size_t errlen)
{
	struct vr_perm perm;
	char sub[VR_ERR_MAX];

	api.conf = conf;
	if (vr_perm_resolve(&perm, conf->ctl.owner, conf->ctl.group, conf->ctl.mode, sub,
	                    sizeof(sub)) < 0)
		return vr_err(err, errlen, "control endpoints: %s", sub);
	api.ctx = zmq_ctx_new();
	if (api.ctx == NULL)
		return vr_err(err, errlen, "ZeroMQ: %s", zmq_strerror(errno));
	for (int s = 0; s < VR_SVC_N; s++) {
		const char *ep = conf->ctl.ep[s];

		if (ep[0] == '\0')
			continue;
		api.sock[s] = endpoint_bind(api.ctx, ep, &conf->ctl, &perm, sub, sizeof(sub));
		if (api.sock[s] == NULL ||
		    control_watch(-1, api.sock[s], on_request, (void *)(uintptr_t)s) < 0) {
			api_stop();
			return vr_err(err, errlen, "control %s service: %s", vr_service_name(s),
			              sub);
		}
		VR_LOG(INFO, "control: %s service on %s", vr_service_name(s), ep);
	}
	return 0;
}

void
api_stop(void)
{
	for (int s = 0; s < VR_SVC_N; s++) {
		if (api.sock[s] == NULL)
			continue;
		control_unwatch(-1, api.sock[s]);
		endpoint_close(api.sock[s], api.conf->ctl.ep[s]);
		api.sock[s] = NULL;
	}
	endpoint_fini();
	if (api.ctx != NULL)
		zmq_ctx_term(api.ctx);
	api.ctx = NULL;
}
