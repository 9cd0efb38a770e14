/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port control service: ADD, REMOVE, ADD_SOCK, REMOVE_SOCK, QUERY_PCI and
 * ANNOUNCE (docs/control.md), decoded here and carried out by the internal
 * control API (ctl.h). Errors reply ERROR with a negative errno in
 * error_code and, in error_code_source, a sentence naming the relay,
 * device or path at fault.
 */
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

size_t
portctl_handle(const uint8_t *req, size_t len, uint8_t **out)
{
	Virtioforwarder__PortControlResponse resp = VIRTIOFORWARDER__PORT_CONTROL_RESPONSE__INIT;
	struct vr_port_req q;
	struct vr_ctl_result res = {.code = -EINVAL};
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
	return api_pack(&resp.base, out);
}
