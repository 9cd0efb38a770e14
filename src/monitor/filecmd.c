/* SPDX-License-Identifier: BSD-3-Clause */
#include "filecmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"

#define MAX_WORDS 16

static int
parse_id(const char *s, int *id, char *err, size_t errlen)
{
	*id = vr_relay_id_parse(s, NULL);
	if (*id < 0)
		return vr_err(err, errlen, "relay id '%s' is not in 0..%d", s, VR_MAX_RELAYS - 1);
	return 0;
}

static int
parse_socket(const char *s, struct vr_port_req *q, char *err, size_t errlen)
{
	if (s[0] != '/' || strlen(s) >= sizeof(q->socket))
		return vr_err(err, errlen, "socket '%s' must be an absolute path under %zu bytes",
		              s, sizeof(q->socket));
	snprintf(q->socket, sizeof(q->socket), "%s", s);
	return 0;
}

/* DEVICE and the key=value options after it. */
static int
parse_device(char **w, int n, struct vr_port_req *q, char *err, size_t errlen)
{
	struct vr_relay_conf tmp;
	char sub[VR_ERR_MAX], pci[16];

	if (strlen(w[0]) >= sizeof(q->device))
		return vr_err(err, errlen, "device longer than %zu bytes", sizeof(q->device) - 1);
	snprintf(q->device, sizeof(q->device), "%s", vr_pci_parse(w[0], pci) == 0 ? pci : w[0]);
	tmp.n_members = 0;
	q->mode = 1;
	for (int i = 1; i < n; i++) {
		if (strncmp(w[i], "member=", 7) == 0) {
			if (vr_pci_parse(w[i] + 7, pci) < 0)
				return vr_err(err, errlen, "member '%s' is not a PCI address",
				              w[i] + 7);
			if (vr_relay_conf_add_member(&tmp, pci, sub, sizeof(sub)) < 0)
				return vr_err(err, errlen, "%s", sub);
		} else if (strncmp(w[i], "mode=", 5) == 0) {
			char *end;
			long m = strtol(w[i] + 5, &end, 10);

			if (w[i][5] == '\0' || *end != '\0' || m < 0 || m > VR_BOND_MODE_MAX)
				return vr_err(err, errlen, "mode '%s' is not in 0..%d", w[i] + 5,
				              VR_BOND_MODE_MAX);
			q->mode = (uint8_t)m;
		} else if (strncmp(w[i], "id=", 3) == 0 && q->op == VR_PORT_ADD_SOCK) {
			if (parse_id(w[i] + 3, &q->id, err, errlen) < 0)
				return -1;
		} else {
			return vr_err(err, errlen, "unexpected '%s' (member=PCI, mode=N%s)", w[i],
			              q->op == VR_PORT_ADD_SOCK ? ", id=ID" : "");
		}
	}
	if (tmp.n_members == 1)
		return vr_err(err, errlen, "a bond needs 2 to %d members", VR_BOND_MAX);
	if (tmp.n_members > 0 && strncmp(q->device, "net_bonding", 11) != 0)
		return vr_err(err, errlen, "a bond's name must start with net_bonding, not '%s'",
		              q->device);
	q->n_members = tmp.n_members;
	memcpy(q->members, tmp.members, sizeof(q->members));
	return 0;
}

static int
expect_words(const char *cmd, int n, int lo, int hi, char *err, size_t errlen)
{
	if (n < lo || n > hi)
		return vr_err(err, errlen, "'%s' takes %d%s arguments, got %d", cmd, lo - 1,
		              hi > lo ? " or more" : "", n - 1);
	return 0;
}

int
vr_filecmd_parse(const char *line, struct vr_port_req *q, char *err, size_t errlen)
{
	char buf[VR_DEVARGS_MAX + 1024], *w[MAX_WORDS], *save = NULL, *tok;
	int n = 0;

	memset(q, 0, sizeof(*q));
	q->id = -1;
	q->conditional = true; /* replaying the file after a restart changes nothing */
	if (strlen(line) >= sizeof(buf))
		return vr_err(err, errlen, "line longer than %zu bytes", sizeof(buf) - 1);
	snprintf(buf, sizeof(buf), "%s", line);
	for (tok = strtok_r(buf, " \t\r\n", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == MAX_WORDS)
			return vr_err(err, errlen, "more than %d words", MAX_WORDS);
		w[n++] = tok;
	}
	if (n == 0 || w[0][0] == '#')
		return 0;
	if (strcmp(w[0], "add") == 0) {
		q->op = VR_PORT_ADD;
		if (expect_words(w[0], n, 3, MAX_WORDS, err, errlen) < 0 ||
		    parse_id(w[1], &q->id, err, errlen) < 0 ||
		    parse_device(w + 2, n - 2, q, err, errlen) < 0)
			return -1;
	} else if (strcmp(w[0], "remove") == 0) {
		q->op = VR_PORT_REMOVE;
		if (expect_words(w[0], n, 2, 2, err, errlen) < 0 ||
		    parse_id(w[1], &q->id, err, errlen) < 0)
			return -1;
	} else if (strcmp(w[0], "add-sock") == 0) {
		q->op = VR_PORT_ADD_SOCK;
		if (expect_words(w[0], n, 3, MAX_WORDS, err, errlen) < 0 ||
		    parse_socket(w[1], q, err, errlen) < 0 ||
		    parse_device(w + 2, n - 2, q, err, errlen) < 0)
			return -1;
	} else if (strcmp(w[0], "remove-sock") == 0) {
		q->op = VR_PORT_REMOVE_SOCK;
		if (expect_words(w[0], n, 2, 2, err, errlen) < 0 ||
		    parse_socket(w[1], q, err, errlen) < 0)
			return -1;
	} else if (strcmp(w[0], "add_port") == 0 || strcmp(w[0], "del_port") == 0) {
		/* virtio-forwarder's /tmp/vio_cmd: the caller resolves the netdev */
		q->op = w[0][0] == 'a' ? VR_PORT_ADD : VR_PORT_REMOVE;
		if (expect_words(w[0], n, 2, 2, err, errlen) < 0)
			return -1;
		if (strlen(w[1]) >= sizeof(q->device))
			return vr_err(err, errlen, "interface name longer than %zu bytes",
			              sizeof(q->device) - 1);
		snprintf(q->device, sizeof(q->device), "%s", w[1]);
		return 2;
	} else {
		return vr_err(err, errlen,
		              "unknown command '%.32s' (add, remove, add-sock, remove-sock, "
		              "add_port, del_port)",
		              w[0]);
	}
	return 1;
}
