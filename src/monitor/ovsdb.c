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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl.h"
#include "config.h"
#include "control.h"
#include "errmsg.h"
#include "log.h"
#include "netdev_vf.h"
#include "ovsdb_row.h"
#include "request.h"

#define RX_MAX (4 << 20)

/* One Interface row that asks for a relay. Rows that were refused (the id
 * or device held by another row, say) stay here inactive and are tried
 * again whenever a relay is removed: OVSDB states what is wanted, so a row
 * gets its relay as soon as it can have it, as ovs-vswitchd does for ports. */
struct wanted {
	char uuid[40];
	char name[64];
	int id;
	char device[VR_DEVARGS_MAX];
	bool active; /* holds its relay */
	bool seen;   /* in the current initial table */
	bool fresh;  /* arrived in the update being applied */
};

#define WANTED_MAX (4 * VR_MAX_RELAYS)

static struct {
	char path[VR_PATH_MAX];
	int fd, timer;
	char *rx;
	size_t rx_len;
	struct wanted rows[WANTED_MAX];
	unsigned n_rows;
	unsigned long connects;
} db = {.fd = -1, .timer = -1};

static struct wanted *
find_wanted(const char *uuid)
{
	for (unsigned i = 0; i < db.n_rows; i++)
		if (strcmp(db.rows[i].uuid, uuid) == 0)
			return &db.rows[i];
	return NULL;
}

/* Add or remove a row's relay; quiet: a retry, logged only if it works. */
static int
run(enum vr_port_op op, const struct wanted *w, bool quiet)
{
	struct vr_port_req q;
	struct vr_ctl_result res;
	char who[96];
	int rc;

	memset(&q, 0, sizeof(q));
	snprintf(who, sizeof(who), "OVSDB interface %s", w->name);
	q.owner = who;
	q.op = op;
	q.id = w->id;
	q.conditional = true;
	snprintf(q.device, sizeof(q.device), "%s", w->device);
	rc = ctl_port(&q, &res);
	if (rc < 0 && !quiet)
		VR_LOG(WARNING, "ovsdb: interface %s: %s refused: %s%s", w->name,
		       vr_port_op_name(op), res.msg,
		       op == VR_PORT_ADD ? " (tried again when a relay is removed)" : "");
	else if (rc == 0)
		VR_LOG(NOTICE, "ovsdb: interface %s: relay %d on %s %s", w->name, w->id, w->device,
		       op == VR_PORT_ADD ? "added" : "removed");
	return rc;
}

/* What one row now asks for; w->id = -1 if nothing (or nothing usable). */
static void
row_wants(const char *uuid, const json_t *row, struct wanted *w)
{
	struct vr_ovsdb_row r = {.id = -1};
	char err[VR_ERR_MAX];

	memset(w, 0, sizeof(*w));
	w->id = -1;
	snprintf(w->uuid, sizeof(w->uuid), "%s", uuid);
	if (row == NULL)
		return;
	if (vr_ovsdb_row_parse(row, &r, err, sizeof(err)) < 0)
		VR_LOG(WARNING, "ovsdb: %s; no relay for it", err);
	snprintf(w->name, sizeof(w->name), "%s", r.name[0] ? r.name : uuid);
	if (r.id < 0)
		return;
	if (r.devargs[0] != '\0')
		snprintf(w->device, sizeof(w->device), "%s", r.devargs);
	else if (vr_netdev_pci("/sys", r.name, w->device) < 0) {
		VR_LOG(WARNING,
		       "ovsdb: interface %s: no PCI device behind it and no "
		       "options:dpdk-devargs; no relay for it",
		       w->name);
		return;
	}
	w->id = r.id;
}

/* Remove a row's relay (if it holds one) and forget the row. */
static bool
drop_wanted(struct wanted *w)
{
	bool removed = w->active && run(VR_PORT_REMOVE, w, false) == 0;

	*w = db.rows[--db.n_rows];
	return removed;
}

/*
 * Bring relays in line with one update (or, initial, the whole table). All
 * removals come before any add, so a transaction in which one row gives up
 * a relay id or device and another takes it works in whatever order the
 * rows arrive; refused rows are retried after removals.
 */
static void
apply_updates(const json_t *updates, bool initial)
{
	const json_t *rows = json_object_get(updates, "Interface"), *change;
	unsigned i;
	bool removed = false;
	const char *uuid;

	for (i = 0; initial && i < db.n_rows; i++)
		db.rows[i].seen = false;
	json_object_foreach((json_t *)rows, uuid, change)
	{
		const json_t *row = json_object_get(change, "new");
		struct wanted want, *w = find_wanted(uuid);

		row_wants(uuid, json_is_object(row) ? row : NULL, &want);
		if (w != NULL && w->id == want.id && strcmp(w->device, want.device) == 0) {
			w->seen = true;
			continue;
		}
		if (w != NULL)
			removed |= drop_wanted(w);
		if (want.id < 0)
			continue;
		if (db.n_rows == WANTED_MAX) {
			VR_LOG(WARNING,
			       "ovsdb: interface %s: more than %d rows ask for relays; ignored",
			       want.name, WANTED_MAX);
			continue;
		}
		want.seen = want.fresh = true;
		db.rows[db.n_rows++] = want;
	}
	for (i = 0; initial && i < db.n_rows;)
		if (db.rows[i].seen)
			i++;
		else
			removed |= drop_wanted(&db.rows[i]);
	/* Older refused rows only retry after a removal, and quietly, so a
	 * standing conflict is logged once. */
	for (i = 0; i < db.n_rows; i++) {
		struct wanted *w = &db.rows[i];

		if (!w->active && (w->fresh || removed))
			w->active = run(VR_PORT_ADD, w, !w->fresh) == 0;
		w->fresh = false;
	}
}

static unsigned
relays_held(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < db.n_rows; i++)
		n += db.rows[i].active;
	return n;
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
		apply_updates(json_array_get(json_object_get(msg, "params"), 1), false);
	} else if (json_is_string(id) && strcmp(json_string_value(id), "vrelay-monitor") == 0) {
		const json_t *error = json_object_get(msg, "error");

		if (error != NULL && !json_is_null(error)) {
			char *e = json_dumps(error, JSON_COMPACT | JSON_ENCODE_ANY);

			VR_LOG(ERR, "ovsdb: monitor refused: %s", e != NULL ? e : "?");
			free(e);
			return;
		}
		apply_updates(json_object_get(msg, "result"), true);
		VR_LOG(NOTICE, "ovsdb: in sync with %s (%u relays from it)", db.path,
		       relays_held());
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
