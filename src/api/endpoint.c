/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Binding a service's ZeroMQ socket safely. Whoever can write to a port
 * control endpoint can rewire every VM's network, so:
 *  - ipc:// endpoints: the socket file is created under a umask that gives
 *    it the configured mode (never world-writable) from its first moment,
 *    then the configured owner and group, never following a link put in
 *    its place; a live socket of another daemon is refused.
 *  - tcp:// endpoints: refused unless CURVE is configured. The server's
 *    secret key comes from a file; clients are checked against a file of
 *    authorised public keys by a ZAP handler, which is one more socket in
 *    the control loop (docs/control.md, "Security").
 */
#include "endpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "control.h"
#include "errmsg.h"
#include "keyfile.h"
#include "log.h"
#include "safefile.h"
#include "sockpath.h"

/* ZeroMQ calls interrupted by a signal (DPDK's tap driver uses SIGIO) are
 * tried again: a REP or ZAP socket that loses a reply half-way never serves
 * another request. */
int
endpoint_send(void *sock, const void *buf, size_t len, int flags)
{
	int rc, tries = 0;

	do
		rc = zmq_send(sock, buf, len, flags);
	while (rc < 0 && zmq_errno() == EINTR && ++tries < 1000);
	return rc;
}

int
endpoint_recv(zmq_msg_t *msg, void *sock, int flags)
{
	int rc, tries = 0;

	do
		rc = zmq_msg_recv(msg, sock, flags);
	while (rc < 0 && zmq_errno() == EINTR && ++tries < 1000);
	return rc;
}

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define MAX_CLIENTS  64

static struct {
	void *zap;
	int n_clients;
	uint8_t clients[MAX_CLIENTS][32];
} curve;

static int
load_clients(const char *path, char *err, size_t errlen)
{
	FILE *f = vr_key_file_open(path, "CURVE client keys", err, errlen);
	char key[VR_Z85_KEY_LEN + 1];
	int rc;

	if (f == NULL)
		return -1;
	curve.n_clients = 0;
	while ((rc = vr_key_line(f, key)) > 0 && curve.n_clients < MAX_CLIENTS) {
		if (zmq_z85_decode(curve.clients[curve.n_clients], key) == NULL) {
			rc = -1;
			break;
		}
		curve.n_clients++;
	}
	fclose(f);
	if (rc < 0)
		return vr_err(err, errlen,
		              "CURVE client keys %s: key %d is not a 40-character Z85 key", path,
		              curve.n_clients + 1);
	if (curve.n_clients == 0)
		return vr_err(err, errlen, "CURVE client keys %s: no key", path);
	return 0;
}

static bool
client_allowed(const uint8_t *key, size_t len)
{
	if (len != 32)
		return false;
	for (int i = 0; i < curve.n_clients; i++)
		if (memcmp(curve.clients[i], key, 32) == 0)
			return true;
	return false;
}

/* One ZAP request (RFC 27): version, id, domain, address, identity,
 * mechanism, credentials... Answered 200 for an authorised key, else 400. */
static void
on_zap(void *arg)
{
	zmq_msg_t part[8];
	int n = 0, more = 1;
	bool ok = false;
	char addr[64] = "?";

	(void)arg;
	while (more && n < 8) {
		zmq_msg_init(&part[n]);
		if (endpoint_recv(&part[n], curve.zap, ZMQ_DONTWAIT) < 0)
			return;
		more = zmq_msg_more(&part[n]);
		n++;
	}
	if (n >= 7 && zmq_msg_size(&part[5]) == 5 &&
	    memcmp(zmq_msg_data(&part[5]), "CURVE", 5) == 0)
		ok = client_allowed(zmq_msg_data(&part[6]), zmq_msg_size(&part[6]));
	if (n >= 4)
		snprintf(addr, sizeof(addr), "%.*s", (int)zmq_msg_size(&part[3]),
		         (char *)zmq_msg_data(&part[3]));
	if (!ok)
		VR_LOG(WARNING, "control: refused a client from %s: key not authorised", addr);
	if (n >= 2) {
		endpoint_send(curve.zap, "1.0", 3, ZMQ_SNDMORE);
		endpoint_send(curve.zap, zmq_msg_data(&part[1]), zmq_msg_size(&part[1]),
		              ZMQ_SNDMORE);
		endpoint_send(curve.zap, ok ? "200" : "400", 3, ZMQ_SNDMORE);
		endpoint_send(curve.zap, ok ? "OK" : "key not authorised", ok ? 2 : 18,
		              ZMQ_SNDMORE);
		endpoint_send(curve.zap, "", 0, ZMQ_SNDMORE);
		endpoint_send(curve.zap, "", 0, 0);
	}
	for (int i = 0; i < n; i++)
		zmq_msg_close(&part[i]);
	while (more) { /* drain a malformed request's remaining parts */
		zmq_msg_t extra;

		zmq_msg_init(&extra);
		if (endpoint_recv(&extra, curve.zap, ZMQ_DONTWAIT) < 0)
			break;
		more = zmq_msg_more(&extra);
		zmq_msg_close(&extra);
	}
}

static int
setup_curve(void *ctx, void *s, const struct vr_ctl_conf *cc, const char *ep, char *err,
            size_t errlen)
{
	char secret[VR_Z85_KEY_LEN + 1];
	int one = 1;

	if (cc->curve_secret_file[0] == '\0' || cc->curve_clients_file[0] == '\0')
		return vr_err(
		    err, errlen,
		    "%s: a tcp:// endpoint lets anyone who reaches it rewire VMs; it needs "
		    "curve-secret-key and curve-client-keys",
		    ep);
	if (vr_secret_key_load(cc->curve_secret_file, secret, err, errlen) < 0 ||
	    load_clients(cc->curve_clients_file, err, errlen) < 0)
		return -1;
	if (curve.zap == NULL) {
		curve.zap = zmq_socket(ctx, ZMQ_REP);
		if (curve.zap == NULL || zmq_bind(curve.zap, ZAP_ENDPOINT) != 0 ||
		    control_watch(-1, curve.zap, on_zap, NULL) < 0)
			return vr_err(err, errlen, "ZAP handler: %s", zmq_strerror(errno));
	}
	if (zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
	    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, secret, VR_Z85_KEY_LEN) != 0 ||
	    zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, "vrelay", 6) != 0)
		return vr_err(err, errlen,
		              "%s: CURVE setup failed: %s (is libzmq built with "
		              "CURVE?)",
		              ep, zmq_strerror(errno));
	memset(secret, 0, sizeof(secret));
	return 0;
}

static int
mkdir_parent(const char *path)
{
	char dir[VR_EP_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) == 0 || errno == EEXIST)
		return 0;
	return mkdir_parent(dir) == 0 ? mkdir(dir, 0755) : -1;
}

static int
bind_ipc(void *s, const char *ep, const struct vr_perm *p, char *err, size_t errlen)
{
	const char *path = ep + 6;
	char sub[VR_ERR_MAX];
	mode_t old;
	int rc;

	if (mkdir_parent(path) < 0)
		return vr_err(err, errlen, "%s: cannot create its directory: %s", ep,
		              strerror(errno));
	if (sockpath_claim(path, sub, sizeof(sub)) < 0)
		return vr_err(err, errlen, "%s: %s", ep, sub);
	old = umask(vr_perm_umask(p)); /* the socket file is born with its mode */
	rc = zmq_bind(s, ep);
	umask(old);
	if (rc != 0)
		return vr_err(err, errlen, "%s: bind failed: %s", ep, zmq_strerror(errno));
	if (vr_perm_chown(path, p) != 0)
		return vr_err(err, errlen, "%s: cannot set owner: %s", ep, strerror(errno));
	return 0;
}

void *
endpoint_bind(void *ctx, const char *ep, const struct vr_ctl_conf *cc, const struct vr_perm *perm,
              char *err, size_t errlen)
{
	void *s = zmq_socket(ctx, ZMQ_ROUTER);
	int zero = 0;
	int64_t max = VR_ENDPOINT_MAX_MSG;

	if (s == NULL) {
		vr_err(err, errlen, "%s: %s", ep, zmq_strerror(errno));
		return NULL;
	}
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof(max));
	if (strncmp(ep, "ipc://", 6) == 0) {
		if (bind_ipc(s, ep, perm, err, errlen) == 0)
			return s;
	} else if (strncmp(ep, "tcp://", 6) == 0) {
		if (setup_curve(ctx, s, cc, ep, err, errlen) == 0) {
			if (zmq_bind(s, ep) == 0)
				return s;
			vr_err(err, errlen, "%s: bind failed: %s", ep, zmq_strerror(errno));
		}
	} else {
		vr_err(err, errlen, "%s: only ipc:// and tcp:// endpoints are supported", ep);
	}
	zmq_close(s);
	return NULL;
}

void
endpoint_close(void *s, const char *ep)
{
	zmq_close(s);
	if (strncmp(ep, "ipc://", 6) == 0)
		unlink(ep + 6);
}

void
endpoint_fini(void)
{
	if (curve.zap != NULL) {
		control_unwatch(-1, curve.zap);
		zmq_close(curve.zap);
		curve.zap = NULL;
	}
}
