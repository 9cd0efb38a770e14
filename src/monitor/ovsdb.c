/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * OVSDB monitor: a JSON-RPC client (RFC 7047) of ovsdb-server on its unix
 * socket, in the control loop. It monitors the Interface table (name,
 * external_ids, options) and keeps one relay per row that asks for one
 * (ovsdb_row.h): rows added or given the key add their relay, rows deleted
 * or stripped of the key remove it, a changed row is re-done.
 *
 * The relays it made are remembered by row uuid. When ovsdb-server goes
 * away the relays stay (the VMs keep their network); a timer retries the
 * connection every second, and the fresh initial table is then compared
 * with what is remembered, so rows deleted meanwhile lose their relay (the
 * original never noticed those).
 */
#include "ovsdb.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "api.h"
#include "config.h"
#include "control.h"
#include "errmsg.h"
#include "log.h"
#include "ovsdb_row.h"
#include "request.h"

#define RX_MAX (4 << 20)

struct owned {
	char uuid[40];
	int id;
	char device[VR_DEVARGS_MAX];
	bool seen; /* in the current initial table */
};

static struct {
	char path[VR_PATH_MAX];
	int fd, timer;
	char *rx;
	size_t rx_len;
	struct owned own[VR_MAX_RELAYS];
	unsigned n_own;
	unsigned long connects;
} db = {.fd = -1, .timer = -1};

static struct owned *
find_owned(const char *uuid)
{
	for (unsigned i = 0; i < db.n_own; i++)
		if (strcmp(db.own[i].uuid, uuid) == 0)
			return &db.own[i];
	return NULL;
}

static void
drop_owned(struct owned *o)
{
	*o = db.own[--db.n_own];
}

/* The PCI device behind a netdev (a VF's representor or the VF itself). */
static int
netdev_pci(const char *name, char *out, size_t len)
{
	char link[VR_PATH_MAX * 2], target[VR_PATH_MAX * 2], pci[16];
	ssize_t n;

	if (strchr(name, '/') != NULL)
		return -1;
	snprintf(link, sizeof(link), "/sys/class/net/%s/device", name);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return -1;
	target[n] = '\0';
	if (vr_pci_parse(basename(target), pci) < 0)
		return -1;
	snprintf(out, len, "%s", pci);
	return 0;
}

static void
run(enum vr_port_op op, int id, const char *device, const char *iface, char *err, size_t errlen,
    int *rc)
{
	static struct vr_port_req q;
	int code;

	memset(&q, 0, sizeof(q));
	q.op = op;
	q.id = id;
	q.conditional = true;
	snprintf(q.device, sizeof(q.device), "%s", device);
	*rc = portctl_execute(&q, &code, err, errlen, NULL, 0);
	if (*rc < 0)
		VR_LOG(WARNING, "ovsdb: interface %s: %s refused: %s", iface, vr_port_op_name(op),
		       err);
	else
		VR_LOG(NOTICE, "ovsdb: interface %s: relay %d %s", iface, id,
		       op == VR_PORT_ADD ? "added" : "removed");
}

/* Bring relays in line with one row's new state (NULL = deleted). */
static void
apply_row(const char *uuid, const json_t *row)
{
	struct vr_ovsdb_row want = {.id = -1};
	struct owned *o = find_owned(uuid);
	char err[VR_ERR_MAX], device[VR_DEVARGS_MAX] = "";
	int rc;

	if (row != NULL && vr_ovsdb_row_parse(row, &want, err, sizeof(err)) < 0)
		VR_LOG(WARNING, "ovsdb: %s; no relay for it", err);
	if (want.id >= 0) {
		if (want.devargs[0] != '\0')
			snprintf(device, sizeof(device), "%s", want.devargs);
		else if (netdev_pci(want.name, device, sizeof(device)) < 0) {
			VR_LOG(WARNING,
			       "ovsdb: interface %s: no PCI device behind it and no "
			       "options:dpdk-devargs; no relay for it",
			       want.name);
			want.id = -1;
		}
	}
	if (o != NULL) {
		o->seen = true;
		if (want.id == o->id && strcmp(device, o->device) == 0)
			return;
		run(VR_PORT_REMOVE, o->id, o->device, want.name[0] ? want.name : uuid, err,
		    sizeof(err), &rc);
		drop_owned(o);
	}
	if (want.id < 0)
		return;
	run(VR_PORT_ADD, want.id, device, want.name, err, sizeof(err), &rc);
	if (rc == 0 && db.n_own < VR_MAX_RELAYS) {
		o = &db.own[db.n_own++];
		snprintf(o->uuid, sizeof(o->uuid), "%s", uuid);
		o->id = want.id;
		snprintf(o->device, sizeof(o->device), "%s", device);
		o->seen = true;
	}
}

static void
apply_updates(const json_t *updates)
{
	const json_t *rows = json_object_get(updates, "Interface"), *change;
	const char *uuid;

	json_object_foreach((json_t *)rows, uuid, change)
	{
		const json_t *row = json_object_get(change, "new");

		apply_row(uuid, json_is_object(row) ? row : NULL);
	}
}

/* After the initial table: relays of rows deleted while disconnected go. */
static void
forget_unseen(void)
{
	char err[VR_ERR_MAX];
	int rc;

	for (unsigned i = 0; i < db.n_own;) {
		if (db.own[i].seen) {
			i++;
			continue;
		}
		run(VR_PORT_REMOVE, db.own[i].id, db.own[i].device, db.own[i].uuid, err,
		    sizeof(err), &rc);
		drop_owned(&db.own[i]);
	}
}

static int
send_json(json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT);
	size_t len = s != NULL ? strlen(s) : 0, off = 0;

	json_decref(msg);
	while (s != NULL && off < len) {
		ssize_t n = send(db.fd, s + off, len - off, MSG_NOSIGNAL);

		if (n <= 0) {
			free(s);
			return -1;
		}
		off += (size_t)n;
	}
	free(s);
	return s != NULL ? 0 : -1;
}

static void
handle_message(json_t *msg)
{
	const json_t *method = json_object_get(msg, "method");
	const json_t *id = json_object_get(msg, "id");

	if (json_is_string(method) && strcmp(json_string_value(method), "echo") == 0) {
		send_json(json_pack("{sOsOs[]}", "id", id, "result", json_object_get(msg, "params"),
		                    "error"));
	} else if (json_is_string(method) && strcmp(json_string_value(method), "update") == 0) {
		apply_updates(json_array_get(json_object_get(msg, "params"), 1));
	} else if (json_is_string(id) && strcmp(json_string_value(id), "vrelay-monitor") == 0) {
		const json_t *error = json_object_get(msg, "error");

		if (error != NULL && !json_is_null(error)) {
			char *e = json_dumps(error, JSON_COMPACT | JSON_ENCODE_ANY);

			VR_LOG(ERR, "ovsdb: monitor refused: %s", e != NULL ? e : "?");
			free(e);
			return;
		}
		for (unsigned i = 0; i < db.n_own; i++)
			db.own[i].seen = false;
		apply_updates(json_object_get(msg, "result"));
		forget_unseen();
		VR_LOG(NOTICE, "ovsdb: in sync with %s (%u relays from it)", db.path, db.n_own);
	}
}

static void disconnect(const char *why);

static void
on_readable(void *arg)
{
	json_error_t jerr;
	ssize_t n;

	(void)arg;
	if (db.rx_len + 65536 > RX_MAX) {
		disconnect("a message larger than 4 MiB");
		return;
	}
	n = recv(db.fd, db.rx + db.rx_len, 65536, MSG_DONTWAIT);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		disconnect(n == 0 ? "ovsdb-server closed the connection" : strerror(errno));
		return;
	}
	db.rx_len += (size_t)n;
	for (;;) {
		size_t skip = 0;
		json_t *msg;

		while (skip < db.rx_len && (db.rx[skip] == ' ' || db.rx[skip] == '\n'))
			skip++;
		if (skip == db.rx_len) {
			db.rx_len = 0;
			return;
		}
		msg = json_loadb(db.rx + skip, db.rx_len - skip, JSON_DISABLE_EOF_CHECK, &jerr);
		if (msg == NULL) {
			if (jerr.position >= (int)(db.rx_len - skip) - 1 ||
			    strstr(jerr.text, "end of") != NULL)
				return; /* incomplete: wait for more */
			disconnect("malformed JSON from ovsdb-server");
			return;
		}
		handle_message(msg);
		json_decref(msg);
		if (db.fd < 0)
			return;
		memmove(db.rx, db.rx + skip + (size_t)jerr.position,
		        db.rx_len - skip - (size_t)jerr.position);
		db.rx_len -= skip + (size_t)jerr.position;
	}
}

static int
try_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", db.path);
	db.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (db.fd < 0)
		return -1;
	if (connect(db.fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(db.fd);
		db.fd = -1;
		return -1;
	}
	db.rx_len = 0;
	if (control_watch(db.fd, NULL, on_readable, NULL) < 0 ||
	    send_json(json_pack("{sssss[ss{s{s[sss]}}]}", "id", "vrelay-monitor", "method",
	                        "monitor", "params", "Open_vSwitch", "vrelay", "Interface",
	                        "columns", "name", "external_ids", "options")) < 0) {
		disconnect("cannot send the monitor request");
		return -1;
	}
	db.connects++;
	VR_LOG(INFO, "ovsdb: connected to %s", db.path);
	return 0;
}

static void
on_retry(void *arg)
{
	uint64_t ticks;

	(void)arg;
	if (read(db.timer, &ticks, sizeof(ticks)) < 0)
		return;
	if (try_connect() < 0)
		control_timer_arm(db.timer, 1000);
}

static void
disconnect(const char *why)
{
	VR_LOG(WARNING, "ovsdb: connection to %s lost (%s); relays kept, retrying every second",
	       db.path, why);
	control_unwatch(db.fd, NULL);
	close(db.fd);
	db.fd = -1;
	control_timer_arm(db.timer, 1000);
}

int
ovsdb_start(const char *path, char *err, size_t errlen)
{
	snprintf(db.path, sizeof(db.path), "%s", path);
	db.rx = malloc(RX_MAX);
	db.timer = control_timer_new();
	if (db.rx == NULL || db.timer < 0 || control_watch(db.timer, NULL, on_retry, NULL) < 0)
		return vr_err(err, errlen, "ovsdb: out of resources");
	if (try_connect() < 0) {
		VR_LOG(WARNING, "ovsdb: %s not reachable yet (%s); retrying every second", path,
		       strerror(errno));
		control_timer_arm(db.timer, 1000);
	}
	return 0;
}

void
ovsdb_stop(void)
{
	if (db.fd >= 0) {
		control_unwatch(db.fd, NULL);
		close(db.fd);
		db.fd = -1;
	}
	if (db.timer >= 0) {
		control_unwatch(db.timer, NULL);
		close(db.timer);
		db.timer = -1;
	}
	free(db.rx);
	db.rx = NULL;
}
