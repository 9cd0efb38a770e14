/* SPDX-License-Identifier: BSD-3-Clause */
#include "remote.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zmq.h>

#include "config.h"
#include "errmsg.h"
#include "safefile.h"

#define REMOTE_FILE_MAX (16 * 1024)

/* The service names of the ipc:// endpoints, and the config keys naming
 * the same services' endpoints: one index for both. */
static const char *const services[VR_REMOTE_SERVICES] = {"port_control", "stats", "config",
                                                         "core_sched"};
static const char *const ep_keys[VR_REMOTE_SERVICES] = {"zmq-port-control", "zmq-stats",
                                                        "zmq-config", "zmq-core-sched"};

bool
vr_remote_is(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* s without the blanks around it, in place. */
static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* One "key = value" line of the file. */
static int
remote_set(struct vr_remote *r, const char *key, const char *val, char *secret_path,
           size_t secret_max, char *err, size_t errlen)
{
	uint8_t bin[32];

	for (int i = 0; i < VR_REMOTE_SERVICES; i++) {
		if (strcmp(key, ep_keys[i]) != 0)
			continue;
		if (strncmp(val, "tcp://", 6) != 0 || strlen(val) >= VR_REMOTE_EP_MAX)
			return vr_err(err, errlen, "%s '%s' is not a tcp:// endpoint", key, val);
		snprintf(r->ep[i], VR_REMOTE_EP_MAX, "%s", val);
		return 0;
	}
	if (strcmp(key, "curve-server-key") == 0) {
		if (strlen(val) != VR_Z85_KEY_LEN || zmq_z85_decode(bin, val) == NULL)
			return vr_err(err, errlen, "%s is not a 40-character Z85 key", key);
		memcpy(r->server_key, val, VR_Z85_KEY_LEN + 1);
		return 0;
	}
	if (strcmp(key, "curve-secret-key") == 0) {
		if (strlen(val) == 0 || strlen(val) >= secret_max)
			return vr_err(err, errlen, "%s '%s' is not a file name", key, val);
		snprintf(secret_path, secret_max, "%s", val);
		return 0;
	}
	return vr_err(err, errlen, "unknown key '%s'", key);
}

/* The lines of text into r; the secret key's file name into secret_path. */
static int
remote_parse(char *text, struct vr_remote *r, char *secret_path, size_t secret_max, char *err,
             size_t errlen)
{
	char sub[VR_ERR_MAX];
	int line = 0;

	for (char *next, *l = text; l != NULL; l = next) {
		char *eq, *key;

		next = strchr(l, '\n');
		if (next != NULL)
			*next++ = '\0';
		line++;
		key = trim(l);
		if (*key == '\0' || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (eq == NULL)
			return vr_err(err, errlen, "line %d: not KEY = VALUE", line);
		*eq = '\0';
		if (remote_set(r, trim(key), trim(eq + 1), secret_path, secret_max, sub,
		               sizeof(sub)) < 0)
			return vr_err(err, errlen, "line %d: %s", line, sub);
	}
	return 0;
}

int
vr_remote_load(const char *path, struct vr_remote *r, char *err, size_t errlen)
{
	char sub[VR_ERR_MAX], secret_path[PATH_MAX] = "";
	size_t len;
	char *text = vr_read_regular(path, REMOTE_FILE_MAX, &len, sub, sizeof(sub));
	int rc;

	memset(r, 0, sizeof(*r));
	if (text == NULL)
		return vr_err(err, errlen, "%s", sub);
	rc = strlen(text) == len
	         ? remote_parse(text, r, secret_path, sizeof(secret_path), sub, sizeof(sub))
	         : vr_err(sub, sizeof(sub), "a NUL byte in the file");
	free(text);
	if (rc < 0)
		return vr_err(err, errlen, "%s: %s", path, sub);
	if (r->server_key[0] == '\0' || secret_path[0] == '\0')
		return vr_err(err, errlen,
		              "%s: curve-server-key and curve-secret-key are both needed", path);
	if (vr_secret_key_load(secret_path, r->secret_key, sub, sizeof(sub)) < 0)
		return vr_err(err, errlen, "%s: %s", path, sub);
	if (zmq_curve_public(r->public_key, r->secret_key) != 0) {
		vr_remote_wipe(r);
		return vr_err(err, errlen, "%s: CURVE secret key %s: not a key (%s)", path,
		              secret_path, zmq_strerror(zmq_errno()));
	}
	return 0;
}

const char *
vr_remote_endpoint(const struct vr_remote *r, const char *service)
{
	for (int i = 0; i < VR_REMOTE_SERVICES; i++)
		if (strcmp(service, services[i]) == 0)
			return r->ep[i][0] != '\0' ? r->ep[i] : NULL;
	return NULL;
}

void
vr_remote_wipe(struct vr_remote *r)
{
	explicit_bzero(r->secret_key, sizeof(r->secret_key));
}
