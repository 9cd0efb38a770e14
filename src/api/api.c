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

void
api_reply(enum vr_service s, const uint8_t *buf, size_t len)
{
	if (endpoint_send(api.sock[s], buf, len, ZMQ_DONTWAIT) < 0)
		VR_LOG(WARNING, "control %s: reply not sent: %s", vr_service_name(s),
		       zmq_strerror(errno));
	control_pause(-1, api.sock[s], false);
}

/* One request: a single-part message (a multi-part one is malformed: its
 * parts are dropped and an empty request is answered with an error). */
static void
on_request(void *arg)
{
	enum vr_service s = (enum vr_service)(uintptr_t)arg;
	zmq_msg_t msg;
	uint8_t *out = NULL;
	size_t n;
	bool multi = false;

	zmq_msg_init(&msg);
	if (endpoint_recv(&msg, api.sock[s], ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&msg);
		return;
	}
	while (zmq_msg_more(&msg)) {
		multi = true;
		zmq_msg_close(&msg);
		zmq_msg_init(&msg);
		if (endpoint_recv(&msg, api.sock[s], ZMQ_DONTWAIT) < 0)
			break;
	}
	/* 0xff is never valid protobuf: a multi-part request decodes as malformed */
	if (multi)
		n = handlers[s]((const uint8_t *)"\xff", 1, &out);
	else
		n = handlers[s](zmq_msg_data(&msg), zmq_msg_size(&msg), &out);
	zmq_msg_close(&msg);
	if (n == VR_REPLY_LATER) {
		control_pause(-1, api.sock[s], true); /* deferred: api_reply resumes */
		return;
	}
	if (endpoint_send(api.sock[s], out, n, ZMQ_DONTWAIT) < 0)
		VR_LOG(WARNING, "control %s: reply not sent: %s", vr_service_name(s),
		       zmq_strerror(errno));
	free(out);
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
