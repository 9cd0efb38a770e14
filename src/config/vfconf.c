/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-forwarder's config file, read unchanged: /etc/default/virtioforwarder
 * holds shell variables (VIRTIOFWD_*, VIO4WD_*) that its start script turned
 * into command-line options. vrelayd reads the file itself, so the subset of
 * shell it uses is parsed here: NAME=value, quoting with '' and "", bash
 * arrays NAME=(a b c), comments. Anything more (expansions, commands) is an
 * error naming the line, because guessing what a shell would have done is
 * how a relay ends up on the wrong CPU. docs/configuration.md maps each
 * variable onto vrelay's settings.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "errmsg.h"
#include "vfconf.h"

#define VF_MAX_VALUES    128
#define VF_VALUE_MAX     VR_DEVARGS_MAX
#define VF_IPC_FILE      "/tmp/vio_cmd" /* the original's --ipc command file */
#define VF_DEFAULT_OVSDB "/usr/local/var/run/openvswitch/db.sock"
#define VF_DEFAULT_TOKEN "14d63f20-8445-11ea-8900-1f9ce7d5650d"
#define VF_PID_NAME      "virtio-forwarder.pid"

struct vf_values {
	int n;
	bool array;
	char v[VF_MAX_VALUES][VF_VALUE_MAX];
};

struct vf_ctx {
	struct vr_conf *c;
	const char *name;
	int line;
	char *warn;
	size_t warnlen;
	bool ipc_port_control;
	char ovsdb[VR_PATH_MAX];
	int ovsdb_line;
	bool core_sched;
	char core_sched_ep[VR_EP_MAX];
	/* as before the file: a list variable assigned again starts from these */
	uint16_t n_relays0;
	int pins0[VR_MAX_RELAYS][2];
	/* one line's value and its list items: too big for the stack, so on the
	 * heap for the parse, not static (parsing stays reentrant) */
	struct vf_scratch {
		struct vf_values vals;
		char items[VF_MAX_VALUES][VF_VALUE_MAX];
	} * scratch;
};

static void
warnf(struct vf_ctx *x, const char *fmt, const char *var, const char *why)
{
	size_t used;

	if (x->warn == NULL)
		return;
	used = strlen(x->warn);
	if (used + 1 >= x->warnlen)
		return;
	if (x->line > 0)
		snprintf(x->warn + used, x->warnlen - used, "%s:%d: ", x->name, x->line);
	else
		snprintf(x->warn + used, x->warnlen - used, "%s: ", x->name);
	used = strlen(x->warn);
	snprintf(x->warn + used, x->warnlen - used, fmt, var, why);
	used = strlen(x->warn);
	if (used + 1 < x->warnlen) {
		x->warn[used] = '\n';
		x->warn[used + 1] = '\0';
	}
}

/* A backslash ending the line: the shell would join the next line to it. */
static bool
is_continuation(const char *p)
{
	return p[0] == '\\' && p[1] == '\0';
}

/* One shell word starting at *pp: unquoted text, '...' and "..." segments.
 * As in a shell, '#' starts a comment only at the start of a word, which the
 * callers test: inside a word it is text. */
static int
read_word(const char **pp, char *out, size_t outlen, char *err, size_t errlen)
{
	const char *p = *pp;
	size_t n = 0;

	while (*p != '\0' && !isspace((unsigned char)*p) && *p != ')') {
		char q = *p;

		if (q == '$' || q == '`' || q == '(' || q == ';' || q == '&' || q == '|' ||
		    q == '<' || q == '>')
			return vr_err(err, errlen,
			              "'%c' (shell expansion or command) is not supported", q);
		if (q == '\'' || q == '"') {
			const char *end = strchr(p + 1, q);

			if (end == NULL)
				return vr_err(err, errlen, "unterminated %c quote", q);
			for (const char *s = p + 1; s < end; s++) {
				if (q == '"' && (*s == '$' || *s == '`' || *s == '\\'))
					return vr_err(err, errlen,
					              "'%c' inside double quotes is not supported",
					              *s);
				if (n + 1 >= outlen)
					return vr_err(err, errlen, "value longer than %zu bytes",
					              outlen - 1);
				out[n++] = *s;
			}
			p = end + 1;
			continue;
		}
		if (q == '\\')
			return vr_err(err, errlen,
			              is_continuation(p) ? "continuation lines are not supported"
			                                 : "backslash escapes are not supported");
		if (n + 1 >= outlen)
			return vr_err(err, errlen, "value longer than %zu bytes", outlen - 1);
		out[n++] = *p++;
	}
	out[n] = '\0';
	*pp = p;
	return 0;
}

static const char *
skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* The value after '=': a word or a bash array, then only a comment. */
static int
read_value(const char *p, struct vf_values *vals, char *err, size_t errlen)
{
	vals->n = 0;
	vals->array = *p == '(';
	if (!vals->array) {
		if (read_word(&p, vals->v[0], VF_VALUE_MAX, err, errlen) < 0)
			return -1;
		vals->n = 1;
	} else {
		p++;
		for (;;) {
			p = skip_space(p);
			if (*p == ')')
				break;
			if (*p == '\0' || *p == '#')
				return vr_err(err, errlen,
				              "array not closed with ')' on this line");
			if (vals->n >= VF_MAX_VALUES)
				return vr_err(err, errlen, "more than %d array elements",
				              VF_MAX_VALUES);
			if (read_word(&p, vals->v[vals->n], VF_VALUE_MAX, err, errlen) < 0)
				return -1;
			vals->n++;
		}
		p++;
	}
	p = skip_space(p);
	if (is_continuation(p))
		return vr_err(err, errlen, "continuation lines are not supported");
	if (*p != '\0' && *p != '#')
		return vr_err(err, errlen, "unexpected text '%s' after the value", p);
	return 0;
}

/* A plain string value split on blanks (and, for CPU_PINS, on ';', as the
 * original's --virtio-cpu list): "a b" and (a b) mean the same. */
static int
split_items(const struct vf_values *vals, const char *seps, char items[][VF_VALUE_MAX], int max)
{
	int n = 0;

	for (int i = 0; i < vals->n; i++) {
		char buf[VF_VALUE_MAX], *save = NULL, *tok;

		snprintf(buf, sizeof(buf), "%s", vals->v[i]);
		for (tok = strtok_r(buf, seps, &save); tok != NULL && n < max;
		     tok = strtok_r(NULL, seps, &save))
			snprintf(items[n++], VF_VALUE_MAX, "%s", tok);
	}
	return n;
}

static int
static_vf(struct vf_ctx *x, const char *item, char *err, size_t errlen)
{
	const char *eq = strchr(item, '=');
	struct vr_conf *c = x->c;
	struct vr_relay_conf *r;
	char pci[16], addr[32];
	long id;

	if (eq == NULL || (size_t)(eq - item) >= sizeof(addr))
		return vr_err(err, errlen, "STATIC_VFS item '%s' is not PCI=ID", item);
	memcpy(addr, item, (size_t)(eq - item));
	addr[eq - item] = '\0';
	if (vr_pci_parse(addr, pci) < 0)
		return vr_err(err, errlen, "STATIC_VFS item '%s': '%s' is not a PCI address", item,
		              addr);
	id = vr_relay_id_parse(eq + 1, NULL);
	if (id < 0)
		return vr_err(err, errlen, "STATIC_VFS item '%s': relay id not in 0..%d", item,
		              VR_MAX_RELAYS - 1);
	for (uint16_t i = 0; i < c->n_relays; i++)
		if (c->relays[i].id == (int)id)
			return vr_err(err, errlen, "STATIC_VFS: relay %ld is given twice", id);
	if (c->n_relays >= VR_MAX_RELAYS)
		return vr_err(err, errlen, "STATIC_VFS: more than %d relays", VR_MAX_RELAYS);
	r = &c->relays[c->n_relays++];
	vr_relay_conf_init(r, &c->defaults);
	r->id = (int)id;
	snprintf(r->device, sizeof(r->device), "%s", pci);
	return 0;
}

static int
cpu_pin(struct vf_ctx *x, const char *item, char *err, size_t errlen)
{
	const char *colon = strchr(item, ':');
	char sub[VR_ERR_MAX];
	int cpu[2];
	long id;

	if (colon == NULL)
		return vr_err(err, errlen, "CPU_PINS item '%s' is not RELAY:CPU[,CPU]", item);
	id = vr_relay_id_parse(item, colon);
	if (id < 0)
		return vr_err(err, errlen, "CPU_PINS item '%s': relay id not in 0..%d", item,
		              VR_MAX_RELAYS - 1);
	if (vr_pin_parse(cpu, colon + 1, sub, sizeof(sub)) < 0)
		return vr_err(err, errlen, "CPU_PINS item '%s': %s", item, sub);
	/* virtio-forwarder's pair is "vf_to_vm,vm_to_vf"; vrelay's cpu[] is
	 * [vm2dev, dev2vm] */
	x->c->ctl.pins[id][0] = cpu[1];
	x->c->ctl.pins[id][1] = cpu[0];
	return 0;
}

/* A list variable: as in a shell, an assignment replaces what an earlier one
 * of the same variable gave, so that is undone first. */
static int
list_var(struct vf_ctx *x, const char *var, const struct vf_values *vals,
         int (*fn)(struct vf_ctx *, const char *, char *, size_t), char *err, size_t errlen)
{
	char(*items)[VF_VALUE_MAX] = x->scratch->items;
	struct vr_conf *c = x->c;
	bool pins = strcmp(var, "CPU_PINS") == 0;
	int n = split_items(vals, pins ? " \t;" : " \t", items, VF_MAX_VALUES);

	if (!pins) {
		memset(&c->relays[x->n_relays0], 0,
		       (size_t)(c->n_relays - x->n_relays0) * sizeof(c->relays[0]));
		c->n_relays = x->n_relays0;
	} else {
		memcpy(c->ctl.pins, x->pins0, sizeof(x->pins0));
	}
	for (int i = 0; i < n; i++)
		if (fn(x, items[i], err, errlen) < 0)
			return -1;
	return 0;
}

static int
set_daemon(struct vf_ctx *x, const char *key, const char *val, const char *var, char *err,
           size_t errlen)
{
	char sub[VR_ERR_MAX];

	if (vr_conf_set_daemon(x->c, key, val, sub, sizeof(sub)) < 0)
		return vr_err(err, errlen, "VIRTIOFWD_%s: %s", var, sub);
	return 0;
}

static int
set_flag(struct vf_ctx *x, const char *var, const char *v, char *err, size_t errlen)
{
	bool on = v[0] != '\0'; /* the start script tests for non-empty */
	struct vr_relay_conf *d = &x->c->defaults;

	if (strcmp(var, "JUMBO") == 0)
		d->mtu = on ? VR_MTU_MAX : 1500;
	else if (strcmp(var, "MRGBUF") == 0)
		d->mrgbuf = on;
	else if (strcmp(var, "VHOST_CLIENT") == 0)
		d->mode = on ? VR_VHOST_CLIENT : VR_VHOST_SERVER;
	else if (strcmp(var, "DYNAMIC_SOCKETS") == 0)
		x->c->ctl.dynamic_sockets = on;
	else if (strcmp(var, "IPC_PORT_CONTROL") == 0)
		x->ipc_port_control = on;
	else if (strcmp(var, "TSO") == 0)
		d->tso = on;
	else if (strcmp(var, "ZERO_COPY") == 0 && on)
		warnf(x, "VIRTIOFWD_%s: %s", var, "ignored: zero-copy is not supported");
	else if (strcmp(var, "CPU_NIC_SAME_NUMA") == 0 && on)
		warnf(x, "VIRTIOFWD_%s: %s", var,
		      "ignored: vrelay takes memory per relay on the device's and guest's node");
	else if (strcmp(var, "ZERO_COPY") != 0 && strcmp(var, "CPU_NIC_SAME_NUMA") != 0)
		return 1;
	(void)err;
	(void)errlen;
	return 0;
}

static int
set_endpoint_var(struct vf_ctx *x, const char *var, const char *v, char *err, size_t errlen)
{
	static const struct {
		const char *var, *key;
		enum vr_service svc;
	} map[] = {{"ZMQ_CONFIG_EP", "zmq-config", VR_SVC_CONFIG},
	           {"ZMQ_PORT_CONTROL_EP", "zmq-port-control", VR_SVC_PORT_CONTROL},
	           {"ZMQ_STATS_EP", "zmq-stats", VR_SVC_STATS}};

	if (strcmp(var, "ZMQ_CORE_SCHED_EP") == 0) {
		snprintf(x->core_sched_ep, sizeof(x->core_sched_ep), "%s", v);
		return 0;
	}
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(var, map[i].var) != 0)
			continue;
		if (v[0] != '\0')
			return set_daemon(x, map[i].key, v, var, err, errlen);
		/* blank, also after an earlier value: vrelay's default */
		x->c->ctl.ep[map[i].svc][0] = '\0';
		return 0;
	}
	return 1;
}

/* VIRTIOFWD_<var> with a single value v. */
static int
virtiofwd_var(struct vf_ctx *x, const char *var, const char *v, char *err, size_t errlen)
{
	char buf[VR_PATH_MAX * 2], sub[VR_ERR_MAX];
	int rc;

	if ((rc = set_flag(x, var, v, err, errlen)) <= 0)
		return rc;
	if ((rc = set_endpoint_var(x, var, v, err, errlen)) <= 0)
		return rc;
	if (strcmp(var, "CPU_MASK") == 0) {
		if (vr_cpuset_parse(&x->c->workers, v, sub, sizeof(sub)) < 0)
			return vr_err(err, errlen, "VIRTIOFWD_CPU_MASK: %s", sub);
	} else if (strcmp(var, "LOG_LEVEL") == 0) {
		if (v[0] == '\0')
			return 0;
		if (strlen(v) != 1 || v[0] < '0' || v[0] > '7')
			return vr_err(err, errlen, "VIRTIOFWD_LOG_LEVEL '%s' is not 0..7", v);
		x->c->log_level = v[0] - '0' + 1; /* syslog 0..7 -> RTE_LOG 1..8 */
	} else if (strcmp(var, "OVSDB_SOCK_PATH") == 0) {
		/* cut short it would name another socket: refused */
		if (strlen(v) >= sizeof(x->ovsdb))
			return vr_err(err, errlen,
			              "VIRTIOFWD_OVSDB_SOCK_PATH is longer than a unix socket path "
			              "(%zu bytes)",
			              sizeof(x->ovsdb) - 1);
		memcpy(x->ovsdb, v, strlen(v) + 1);
		x->ovsdb_line = x->line;
	} else if (strcmp(var, "SOCKET_OWNER") == 0 || strcmp(var, "SOCKET_GROUP") == 0) {
		if (v[0] != '\0')
			return set_daemon(x, var[7] == 'O' ? "socket-owner" : "socket-group", v,
			                  var, err, errlen);
	} else if (strcmp(var, "SOCKET_DIR") == 0) {
		return v[0] == '\0' ? 0 : set_daemon(x, "socket-dir", v, var, err, errlen);
	} else if (strcmp(var, "SOCKET_FNAME_PATTERN") == 0) {
		return v[0] == '\0' ? 0 : set_daemon(x, "socket-pattern", v, var, err, errlen);
	} else if (strcmp(var, "HUGETLBFS_MOUNT_POINT") == 0) {
		return v[0] == '\0' ? 0 : set_daemon(x, "huge-dir", v, var, err, errlen);
	} else if (strcmp(var, "MASTER_LCORE") == 0) {
		return v[0] == '\0' ? 0 : set_daemon(x, "main-cpu", v, var, err, errlen);
	} else if (strcmp(var, "PID_DIR") == 0) {
		if (v[0] == '\0')
			return 0;
		snprintf(buf, sizeof(buf), "%.*s/%s", VR_PATH_MAX, v, VF_PID_NAME);
		return set_daemon(x, "pid-file", buf, var, err, errlen);
	} else if (strcmp(var, "VFIO_VF_TOKEN") == 0) {
		if (v[0] == '\0')
			return 0;
		return set_daemon(x, "vfio-vf-token", strcmp(v, "0") == 0 ? VF_DEFAULT_TOKEN : v,
		                  var, err, errlen);
	} else if (strcmp(var, "BIND_VFIO_PCI") == 0) {
		if (v[0] != '\0')
			warnf(x, "VIRTIOFWD_%s: %s", var,
			      "ignored: vrelayd binds no drivers; bind the devices to vfio-pci "
			      "before it starts (dpdk-devbind.py, driverctl)");
	} else if (strcmp(var, "BINARY") != 0) {
		warnf(x, "VIRTIOFWD_%s: %s", var, "unknown variable, ignored");
	}
	return 0;
}

static int
one_var(struct vf_ctx *x, const char *name, const struct vf_values *vals, char *err, size_t errlen)
{
	if (strncmp(name, "VIRTIOFWD_", 10) == 0) {
		const char *var = name + 10;

		if (strcmp(var, "STATIC_VFS") == 0)
			return list_var(x, var, vals, static_vf, err, errlen);
		if (strcmp(var, "CPU_PINS") == 0)
			return list_var(x, var, vals, cpu_pin, err, errlen);
		if (vals->array)
			return vr_err(err, errlen, "%s takes one value, not an array", name);
		return virtiofwd_var(x, var, vals->v[0], err, errlen);
	}
	if (strncmp(name, "VIO4WD_CORE_SCHED_", 18) == 0) {
		/* the others configure the separate load balancer, not the daemon */
		if (strcmp(name + 18, "ENABLE") == 0)
			x->core_sched = !vals->array && strcmp(vals->v[0], "true") == 0;
		return 0;
	}
	warnf(x, "%s: %s", name, "not a virtio-forwarder variable, ignored");
	return 0;
}

static int
parse_line(struct vf_ctx *x, const char *s, char *err, size_t errlen)
{
	struct vf_values *vals = &x->scratch->vals;
	char name[64];
	size_t n = 0;

	s = skip_space(s);
	if (*s == '\0' || *s == '#')
		return 0; /* a comment: a backslash at its end continues nothing */
	if (strncmp(s, "export", 6) == 0 && (s[6] == ' ' || s[6] == '\t'))
		s = skip_space(s + 6);
	if (is_continuation(s))
		return vr_err(err, errlen, "continuation lines are not supported");
	if (!isalpha((unsigned char)*s) && *s != '_')
		return vr_err(err, errlen, "expected NAME=value, got '%s'", s);
	while ((isalnum((unsigned char)s[n]) || s[n] == '_') && n + 1 < sizeof(name)) {
		name[n] = s[n];
		n++;
	}
	name[n] = '\0';
	if (s[n] != '=')
		return vr_err(err, errlen, "expected NAME=value (no blanks around '='), got '%s'",
		              s);
	if (read_value(s + n + 1, vals, err, errlen) < 0)
		return -1;
	return one_var(x, name, vals, err, errlen);
}

/* After the last line: settings that depend on several variables. */
static int
finish(struct vf_ctx *x, char *err, size_t errlen)
{
	struct vr_ctl_conf *t = &x->c->ctl;

	if (!x->ipc_port_control && t->ep[VR_SVC_PORT_CONTROL][0] != '\0' &&
	    strcmp(t->ep[VR_SVC_PORT_CONTROL], "off") != 0) {
		/* as virtio-forwarder: a ZMQ_PORT_CONTROL_EP is used for port
		 * control whatever IPC_PORT_CONTROL says, and OVSDB is not */
		if (x->ovsdb[0] != '\0') {
			x->line = x->ovsdb_line;
			warnf(x, "VIRTIOFWD_%s: %s", "OVSDB_SOCK_PATH",
			      "ignored: VIRTIOFWD_ZMQ_PORT_CONTROL_EP is set, so ZeroMQ controls "
			      "the ports, not OVSDB");
		}
	} else if (!x->ipc_port_control) {
		/* as virtio-forwarder: OVSDB drives the ports, not ZeroMQ */
		snprintf(t->ovsdb, sizeof(t->ovsdb), "%s",
		         x->ovsdb[0] ? x->ovsdb : VF_DEFAULT_OVSDB);
		snprintf(t->ep[VR_SVC_PORT_CONTROL], VR_EP_MAX, "off");
	} else if (x->ovsdb[0] != '\0') {
		return vr_err(
		    err, errlen,
		    "%s: VIRTIOFWD_OVSDB_SOCK_PATH and VIRTIOFWD_IPC_PORT_CONTROL exclude "
		    "each other",
		    x->name);
	} else if (t->ep[VR_SVC_PORT_CONTROL][0] == '\0') {
		/* as virtio-forwarder: IPC port control without a ZeroMQ endpoint
		 * is its command file */
		if (t->watch_file[0] == '\0')
			snprintf(t->watch_file, sizeof(t->watch_file), "%s", VF_IPC_FILE);
		snprintf(t->ep[VR_SVC_PORT_CONTROL], VR_EP_MAX, "off");
	}
	/* as virtio-forwarder: on only with VIO4WD_CORE_SCHED_ENABLE=true */
	if (!x->core_sched)
		snprintf(t->ep[VR_SVC_CORE_SCHED], VR_EP_MAX, "off");
	else if (x->core_sched_ep[0] != '\0') {
		char sub[VR_ERR_MAX];

		x->line = 0;
		if (vr_conf_set_daemon(x->c, "zmq-core-sched", x->core_sched_ep, sub, sizeof(sub)) <
		    0)
			return vr_err(err, errlen, "%s: VIRTIOFWD_ZMQ_CORE_SCHED_EP: %s", x->name,
			              sub);
	}
	for (uint16_t i = 0; i < x->c->n_relays; i++) {
		struct vr_relay_conf *r = &x->c->relays[i];

		r->mode = x->c->defaults.mode;
		r->mtu = x->c->defaults.mtu;
		r->mrgbuf = x->c->defaults.mrgbuf;
		r->tso = x->c->defaults.tso;
	}
	if (x->c->ctl.socket_pattern[0] == '\0')
		snprintf(x->c->ctl.socket_pattern, VR_PATH_MAX, "virtio-forwarder%%u.sock");
	return 0;
}

static int
parse_lines(struct vf_ctx *x, const char *text, char *err, size_t errlen)
{
	char line[VF_VALUE_MAX + 256], sub[VR_ERR_MAX];
	const char *p = text;

	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);

		x->line++;
		if (len >= sizeof(line))
			return vr_err(err, errlen, "%s:%d: line longer than %zu bytes", x->name,
			              x->line, sizeof(line) - 1);
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + (nl != NULL);
		if (parse_line(x, line, sub, sizeof(sub)) < 0)
			return vr_err(err, errlen, "%s:%d: %s", x->name, x->line, sub);
	}
	return finish(x, err, errlen);
}

int
vr_vfconf_parse_text(struct vr_conf *c, const char *text, const char *name, char *warn,
                     size_t warnlen, char *err, size_t errlen)
{
	struct vf_ctx x = {.c = c, .name = name, .warn = warn, .warnlen = warnlen};
	int rc;

	if (warn != NULL && warnlen > 0)
		warn[0] = '\0';
	else
		x.warn = NULL;
	x.scratch = malloc(sizeof(*x.scratch));
	if (x.scratch == NULL)
		return vr_err(err, errlen, "%s: out of memory", name);
	x.n_relays0 = c->n_relays;
	/* the original offers TSO only for a non-empty VIRTIOFWD_TSO */
	c->defaults.tso = false;
	memcpy(x.pins0, c->ctl.pins, sizeof(x.pins0));
	rc = parse_lines(&x, text, err, errlen);
	free(x.scratch);
	return rc;
}

bool
vr_vfconf_detect(const char *text)
{
	const char *p = text;

	/* the first line that is neither blank nor a comment decides */
	while (*p != '\0') {
		p = skip_space(p);
		if (*p == '#' || *p == '\n') {
			p = strchr(p, '\n');
			if (p == NULL)
				return false;
			p++;
			continue;
		}
		if (strncmp(p, "export", 6) == 0 && (p[6] == ' ' || p[6] == '\t'))
			p = skip_space(p + 6);
		return strncmp(p, "VIRTIOFWD_", 10) == 0 || strncmp(p, "VIO4WD_", 7) == 0;
	}
	return false;
}
