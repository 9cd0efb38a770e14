/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Config parsing. The file format is line oriented (docs/configuration.md):
 *
 *   [daemon]            settings and relay defaults
 *   workers = 1,2
 *   [relay 0]           one section per relay, id in the header
 *   device = net_memif0,role=server
 *   socket = /run/vrelay/vm0.sock
 *
 * Parsing is strict: unknown keys, trailing garbage and out-of-range numbers
 * are errors naming the line, because a relay silently configured from a typo
 * is a VM silently cut off.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devargs.h"
#include "errmsg.h"

#define DEFAULT_SOCKET_DIR "/run/vrelay"

void
vr_relay_conf_init(struct vr_relay_conf *r, const struct vr_relay_conf *defaults)
{
	if (defaults != NULL) {
		*r = *defaults;
		return;
	}
	memset(r, 0, sizeof(*r));
	r->id = -1;
	r->mode = VR_VHOST_SERVER;
	r->queues = 1;
	r->mtu = 1500;
	r->mrgbuf = true;
	r->tso = true;
	r->cpu[0] = VR_CPU_UNPINNED;
	r->cpu[1] = VR_CPU_UNPINNED;
}

void
vr_conf_init(struct vr_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->main_cpu = -1;
	snprintf(c->file_prefix, sizeof(c->file_prefix), "vrelay");
	snprintf(c->socket_dir, sizeof(c->socket_dir), DEFAULT_SOCKET_DIR);
	c->socket_mode = 0660;
	c->retry_us = 1000;
	/* QEMU's default downtime limit is 300 ms: 4096 frames (8 MiB) hold a
	 * guest's 100 Mbit/s of full-size frames or 13 kpps of small ones for
	 * that long, twice over; docs/memory.md has the pool cost */
	c->hold_frames = 4096;
	c->hold_bytes = 8 << 20;
	c->hold_ms = 2000;
	c->log_level = 7; /* RTE_LOG_INFO */
	vr_relay_conf_init(&c->defaults, NULL);
	vr_underlay_init(&c->underlay);
	snprintf(c->control_dir, sizeof(c->control_dir), DEFAULT_SOCKET_DIR);
	c->ctl.mode = 0660;
	snprintf(c->ctl.devices, sizeof(c->ctl.devices), "pci bond");
	for (int i = 0; i < VR_MAX_RELAYS; i++)
		c->ctl.pins[i][0] = c->ctl.pins[i][1] = VR_CPU_UNPINNED;
}

static const char *const service_keys[VR_SVC_N] = {"zmq-port-control", "zmq-stats", "zmq-config",
                                                   "zmq-core-sched"};
static const char *const service_files[VR_SVC_N] = {"port_control", "stats", "config",
                                                    "core_sched"};

const char *
vr_service_name(enum vr_service s)
{
	return s < VR_SVC_N ? service_files[s] : "?";
}

void
vr_conf_finish(struct vr_conf *c)
{
	for (int s = 0; s < VR_SVC_N; s++) {
		if (strcmp(c->ctl.ep[s], "off") == 0)
			c->ctl.ep[s][0] = '\0';
		else if (c->ctl.ep[s][0] == '\0')
			snprintf(c->ctl.ep[s], sizeof(c->ctl.ep[s]), "ipc://%.*s/%s",
			         (int)(sizeof(c->ctl.ep[s]) - 32), c->control_dir,
			         service_files[s]);
	}
	for (uint16_t i = 0; i < c->n_relays; i++) {
		vr_relay_conf_apply_pins(&c->relays[i], c);
		vr_relay_conf_default_socket(&c->relays[i], c->socket_dir, c->ctl.socket_pattern);
	}
}

void
vr_relay_conf_apply_pins(struct vr_relay_conf *r, const struct vr_conf *c)
{
	if (r->id < 0 || r->id >= VR_MAX_RELAYS)
		return;
	for (int k = 0; k < 2; k++)
		if (r->cpu[k] == VR_CPU_UNPINNED)
			r->cpu[k] = c->ctl.pins[r->id][k];
}

int
vr_pci_parse(const char *s, char out[16])
{
	unsigned dom = 0, bus, dev, fn;
	int n = 0;

	if (s == NULL)
		return -1;
	if (sscanf(s, "%4x:%2x:%2x.%1x%n", &dom, &bus, &dev, &fn, &n) == 4 && s[n] == '\0' &&
	    n == 12)
		goto ok;
	dom = 0;
	n = 0;
	if (sscanf(s, "%2x:%2x.%1x%n", &bus, &dev, &fn, &n) == 3 && s[n] == '\0' && n == 7)
		goto ok;
	return -1;
ok:
	for (const char *p = s; *p != '\0'; p++)
		if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
			return -1; /* sscanf's %x also takes signs and blanks */
	if (dom > 0xffff || bus > 0xff || dev > 0x1f || fn > 7)
		return -1;
	snprintf(out, 16, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return 0;
}

bool
vr_path_in_dir(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	/* down to n = 0 for "/": path[0] is then the separator */
	while (n > 0 && dir[n - 1] == '/')
		n--;
	if (strncmp(path, dir, n) != 0 || path[n] != '/' || path[n + 1] == '\0')
		return false;
	for (const char *p = path + n; p != NULL; p = strchr(p + 1, '/')) {
		if (strncmp(p, "/../", 4) == 0 || strcmp(p, "/..") == 0 ||
		    strncmp(p, "/./", 3) == 0 || strcmp(p, "/.") == 0 || strncmp(p, "//", 2) == 0)
			return false;
		if (p[1] == '\0')
			return false; /* a directory, not a file */
	}
	return true;
}

int
vr_socket_pattern_check(const char *pattern, char *err, size_t errlen)
{
	const char *p = strchr(pattern, '%');

	if (p == NULL || p[1] != 'u' || strchr(p + 2, '%') != NULL)
		return vr_err(err, errlen,
		              "socket pattern '%s' must hold exactly one %%u (the relay id)",
		              pattern);
	if (strchr(pattern, '/') != NULL)
		return vr_err(err, errlen, "socket pattern '%s' is a file name: no '/'", pattern);
	return 0;
}

/* Strict unsigned parse of the whole string in [min, max], base 0 or given. */
static int
parse_u64(const char *s, int base, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s == '\0' || *s == '-' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
vr_relay_id_parse(const char *s, const char *end)
{
	char buf[16];
	size_t n = end != NULL ? (size_t)(end - s) : strlen(s);
	uint64_t v;

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return parse_u64(buf, 10, 0, VR_MAX_RELAYS - 1, &v) == 0 ? (int)v : -1;
}

static int
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"yes", "y", "true", "on", "1"};
	static const char *const no[] = {"no", "n", "false", "off", "0"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int
copy_str(char *dst, size_t dstlen, const char *src)
{
	size_t n = strlen(src);

	if (n == 0 || n >= dstlen)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

bool
vr_cpuset_has(const struct vr_cpuset *set, int cpu)
{
	for (uint16_t i = 0; i < set->n; i++)
		if (set->cpu[i] == cpu)
			return true;
	return false;
}

static int
cpuset_add(struct vr_cpuset *set, uint64_t cpu, char *err, size_t errlen)
{
	if (cpu >= VR_MAX_CPUS)
		return vr_err(err, errlen, "CPU %llu is out of range (0..%d)",
		              (unsigned long long)cpu, VR_MAX_CPUS - 1);
	if (vr_cpuset_has(set, (int)cpu))
		return vr_err(err, errlen, "CPU %llu is listed twice", (unsigned long long)cpu);
	set->cpu[set->n++] = (uint16_t)cpu;
	return 0;
}

static int
cpuset_parse_mask(struct vr_cpuset *set, const char *hex, char *err, size_t errlen)
{
	size_t len = strlen(hex);

	if (len == 0)
		return vr_err(err, errlen, "empty CPU mask");
	/* Walk nibbles from the least significant end: masks may exceed 64 bits. */
	for (size_t i = 0; i < len; i++) {
		char ch = hex[len - 1 - i];
		int nib;

		if (!isxdigit((unsigned char)ch))
			return vr_err(err, errlen, "'%c' is not a hex digit in CPU mask", ch);
		nib = isdigit((unsigned char)ch) ? ch - '0' : tolower((unsigned char)ch) - 'a' + 10;
		for (int b = 0; b < 4; b++)
			if (nib & (1 << b))
				if (cpuset_add(set, i * 4 + b, err, errlen) < 0)
					return -1;
	}
	return 0;
}

int
vr_cpuset_parse(struct vr_cpuset *set, const char *s, char *err, size_t errlen)
{
	char buf[512], *save = NULL, *tok;

	memset(set, 0, sizeof(*set));
	if (strncasecmp(s, "0x", 2) == 0) {
		if (cpuset_parse_mask(set, s + 2, err, errlen) < 0)
			return -1;
		if (set->n == 0)
			return vr_err(err, errlen, "CPU mask '%s' names no CPU", s);
		return 0;
	}
	if (copy_str(buf, sizeof(buf), s) < 0)
		return vr_err(err, errlen, "CPU list is empty or too long");
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(tok, '-');
		uint64_t lo, hi;

		if (dash != NULL)
			*dash = '\0';
		if (parse_u64(tok, 10, 0, VR_MAX_CPUS - 1, &lo) < 0)
			return vr_err(err, errlen, "'%s' is not a CPU number (0..%d)", tok,
			              VR_MAX_CPUS - 1);
		hi = lo;
		if (dash != NULL && parse_u64(dash + 1, 10, lo, VR_MAX_CPUS - 1, &hi) < 0)
			return vr_err(err, errlen, "bad CPU range '%s-%s'", tok, dash + 1);
		for (uint64_t c = lo; c <= hi; c++)
			if (cpuset_add(set, c, err, errlen) < 0)
				return -1;
	}
	if (set->n == 0)
		return vr_err(err, errlen, "CPU list '%s' names no CPU", s);
	return 0;
}

int
vr_pin_parse(int cpu[2], const char *s, char *err, size_t errlen)
{
	char buf[64];
	char *comma;
	uint64_t a, b;

	if (copy_str(buf, sizeof(buf), s) < 0)
		return vr_err(err, errlen, "CPU pin is empty or too long");
	comma = strchr(buf, ',');
	if (comma != NULL)
		*comma = '\0';
	if (parse_u64(buf, 10, 0, VR_MAX_CPUS - 1, &a) < 0)
		return vr_err(err, errlen, "pin '%s': '%s' is not a CPU number", s, buf);
	b = a;
	if (comma != NULL && parse_u64(comma + 1, 10, 0, VR_MAX_CPUS - 1, &b) < 0)
		return vr_err(err, errlen, "pin '%s': '%s' is not a CPU number", s, comma + 1);
	cpu[0] = (int)a;
	cpu[1] = (int)b;
	return 0;
}

static int
parse_mode(const char *val, enum vr_vhost_mode *mode)
{
	if (strcmp(val, "server") == 0)
		*mode = VR_VHOST_SERVER;
	else if (strcmp(val, "client") == 0)
		*mode = VR_VHOST_CLIENT;
	else
		return -1;
	return 0;
}

int
vr_conf_set_relay(struct vr_relay_conf *r, const char *key, const char *val, char *err,
                  size_t errlen)
{
	uint64_t v;

	if (strcmp(key, "id") == 0) {
		if (parse_u64(val, 10, 0, VR_MAX_RELAYS - 1, &v) < 0)
			return vr_err(err, errlen, "relay id '%s' is not in 0..%d", val,
			              VR_MAX_RELAYS - 1);
		r->id = (int)v;
	} else if (strcmp(key, "device") == 0) {
		if (copy_str(r->device, sizeof(r->device), val) < 0)
			return vr_err(err, errlen, "device is empty or longer than %d bytes",
			              VR_DEVARGS_MAX - 1);
	} else if (strcmp(key, "socket") == 0) {
		if (val[0] != '/' || copy_str(r->socket, sizeof(r->socket), val) < 0)
			return vr_err(err, errlen,
			              "socket '%s' must be an absolute path shorter than %d bytes",
			              val, VR_PATH_MAX);
	} else if (strcmp(key, "mode") == 0) {
		if (parse_mode(val, &r->mode) < 0)
			return vr_err(err, errlen, "mode '%s' is neither 'server' nor 'client'",
			              val);
	} else if (strcmp(key, "queues") == 0) {
		if (parse_u64(val, 10, 1, VR_MAX_QP, &v) < 0)
			return vr_err(err, errlen, "queues '%s' is not in 1..%d", val, VR_MAX_QP);
		r->queues = (uint16_t)v;
	} else if (strcmp(key, "mtu") == 0) {
		if (parse_u64(val, 10, VR_MTU_MIN, VR_MTU_MAX, &v) < 0)
			return vr_err(err, errlen, "mtu '%s' is not in %d..%d", val, VR_MTU_MIN,
			              VR_MTU_MAX);
		r->mtu = (uint16_t)v;
	} else if (strcmp(key, "mrgbuf") == 0) {
		if (parse_bool(val, &r->mrgbuf) < 0)
			return vr_err(err, errlen, "mrgbuf '%s' is not yes/no", val);
	} else if (strcmp(key, "tso") == 0) {
		if (parse_bool(val, &r->tso) < 0)
			return vr_err(err, errlen, "tso '%s' is not yes/no", val);
	} else if (strcmp(key, "cpu") == 0) {
		return vr_pin_parse(r->cpu, val, err, errlen);
	} else if (strcmp(key, "member") == 0) {
		return vr_relay_conf_add_member(r, val, err, errlen);
	} else if (strcmp(key, "bond-mode") == 0) {
		if (parse_u64(val, 10, 0, VR_BOND_MODE_MAX, &v) < 0)
			return vr_err(err, errlen, "bond-mode '%s' is not in 0..%d", val,
			              VR_BOND_MODE_MAX);
		r->bond_mode = (uint8_t)v;
	} else if (strcmp(key, "ident") == 0) {
		if (copy_str(r->ident, sizeof(r->ident), val) < 0)
			return vr_err(err, errlen, "ident '%s' is longer than %zu bytes", val,
			              sizeof(r->ident) - 1);
	} else {
		return vr_err(err, errlen, "unknown relay key '%s'", key);
	}
	return 0;
}

int
vr_relay_conf_add_member(struct vr_relay_conf *r, const char *member, char *err, size_t errlen)
{
	char pci[16];

	if (r->n_members >= VR_BOND_MAX)
		return vr_err(err, errlen, "a bond takes at most %d members", VR_BOND_MAX);
	if (member[0] == '\0' || strlen(member) >= VR_MEMBER_MAX)
		return vr_err(err, errlen, "bond member '%s' is empty or too long", member);
	if (vr_pci_parse(member, pci) == 0)
		member = pci;
	for (unsigned i = 0; i < r->n_members; i++)
		if (strcmp(r->members[i], member) == 0)
			return vr_err(err, errlen, "bond member %s is given twice", member);
	snprintf(r->members[r->n_members++], VR_MEMBER_MAX, "%s", member);
	return 0;
}

static int
parse_log_level(const char *val, int *level)
{
	static const char *const names[] = {"",        "emerg",  "alert", "crit", "err",
	                                    "warning", "notice", "info",  "debug"};
	uint64_t v;

	for (int i = 1; i <= 8; i++) {
		if (strcasecmp(val, names[i]) == 0) {
			*level = i;
			return 0;
		}
	}
	if (parse_u64(val, 10, 1, 8, &v) < 0)
		return -1;
	*level = (int)v;
	return 0;
}

/* 8-4-4-4-12 hex digits, as EAL's --vfio-vf-token takes (rte_uuid_parse). */
static bool
is_uuid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i] != '\0'; i++)
		if (shape[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* "ipc:///path", "tcp://host:port" or "off". */
static int
set_endpoint(char *dst, size_t len, const char *key, const char *val, char *err, size_t errlen)
{
	if (strcmp(val, "off") != 0 && strncmp(val, "ipc://", 6) != 0 &&
	    strncmp(val, "tcp://", 6) != 0)
		return vr_err(err, errlen, "%s '%s' is not ipc://PATH, tcp://HOST:PORT or off", key,
		              val);
	if (strncmp(val, "ipc://", 6) == 0 && val[6] != '/')
		return vr_err(err, errlen, "%s '%s': the ipc path must be absolute", key, val);
	if (copy_str(dst, len, val) < 0)
		return vr_err(err, errlen, "%s '%s' is too long", key, val);
	return 0;
}

static int
set_abs_path(char *dst, size_t len, const char *key, const char *val, char *err, size_t errlen)
{
	if (val[0] != '/' || copy_str(dst, len, val) < 0)
		return vr_err(err, errlen, "%s '%s' must be an absolute path of under %zu bytes",
		              key, val, len);
	return 0;
}

/* Daemon keys of the control plane (docs/control.md). 1 = not one of them. */
static int
set_control_key(struct vr_conf *c, const char *key, const char *val, char *err, size_t errlen)
{
	struct vr_ctl_conf *t = &c->ctl;
	uint64_t v;
	bool b;

	for (int s = 0; s < VR_SVC_N; s++)
		if (strcmp(key, service_keys[s]) == 0)
			return set_endpoint(t->ep[s], sizeof(t->ep[s]), key, val, err, errlen);
	if (strcmp(key, "control-dir") == 0)
		return set_abs_path(c->control_dir, sizeof(c->control_dir) - 32, key, val, err,
		                    errlen);
	if (strcmp(key, "control-owner") == 0 || strcmp(key, "control-group") == 0) {
		char *dst = key[8] == 'o' ? t->owner : t->group;

		if (copy_str(dst, sizeof(t->owner), val) < 0)
			return vr_err(err, errlen, "%s '%s' is too long", key, val);
		return 0;
	}
	if (strcmp(key, "control-mode") == 0) {
		if (parse_u64(val, 8, 0, 0777, &v) < 0)
			return vr_err(err, errlen, "control-mode '%s' is not an octal mode", val);
		if (v & 0002)
			return vr_err(err, errlen,
			              "control-mode %s would let any local user rewire VMs: "
			              "not world-writable",
			              val);
		t->mode = (mode_t)v;
		return 0;
	}
	if (strcmp(key, "curve-secret-key") == 0)
		return set_abs_path(t->curve_secret_file, sizeof(t->curve_secret_file), key, val,
		                    err, errlen);
	if (strcmp(key, "curve-client-keys") == 0)
		return set_abs_path(t->curve_clients_file, sizeof(t->curve_clients_file), key, val,
		                    err, errlen);
	if (strcmp(key, "ovsdb") == 0)
		return strcmp(val, "off") == 0
		           ? (t->ovsdb[0] = '\0', 0)
		           : set_abs_path(t->ovsdb, sizeof(t->ovsdb), key, val, err, errlen);
	if (strcmp(key, "watch-file") == 0)
		return set_abs_path(t->watch_file, sizeof(t->watch_file), key, val, err, errlen);
	if (strcmp(key, "control-devices") == 0)
		return vr_device_kinds_parse(val, t->devices, sizeof(t->devices), err, errlen);
	if (strcmp(key, "dynamic-sockets") == 0) {
		if (parse_bool(val, &b) < 0)
			return vr_err(err, errlen, "dynamic-sockets '%s' is not yes or no", val);
		t->dynamic_sockets = b;
		return 0;
	}
	if (strcmp(key, "socket-pattern") == 0) {
		if (vr_socket_pattern_check(val, err, errlen) < 0)
			return -1;
		return copy_str(t->socket_pattern, sizeof(t->socket_pattern), val) < 0
		           ? vr_err(err, errlen, "socket-pattern '%s' is too long", val)
		           : 0;
	}
	if (strcmp(key, "huge-dir") == 0)
		return set_abs_path(c->huge_dir, sizeof(c->huge_dir), key, val, err, errlen);
	if (strcmp(key, "pid-file") == 0)
		return set_abs_path(c->pid_file, sizeof(c->pid_file), key, val, err, errlen);
	if (strcmp(key, "user") == 0 || strcmp(key, "group") == 0) {
		char *dst = key[0] == 'u' ? c->run_user : c->run_group;

		if (copy_str(dst, sizeof(c->run_user), val) < 0)
			return vr_err(err, errlen, "%s '%s' is too long", key, val);
		return 0;
	}
	if (strcmp(key, "vfio-vf-token") == 0) {
		if (!is_uuid(val) || copy_str(c->vfio_token, sizeof(c->vfio_token), val) < 0)
			return vr_err(err, errlen,
			              "vfio-vf-token '%s' is not a UUID "
			              "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
			              val);
		return 0;
	}
	return 1;
}

const char *
vr_log_level_name(int level)
{
	static const char *const names[] = {"?",       "emerg",  "alert", "crit", "err",
	                                    "warning", "notice", "info",  "debug"};

	return level >= 1 && level <= 8 ? names[level] : "?";
}

int
vr_conf_set_daemon(struct vr_conf *c, const char *key, const char *val, char *err, size_t errlen)
{
	uint64_t v;
	int rc = set_control_key(c, key, val, err, errlen);

	if (rc <= 0 || (rc = vr_underlay_set(&c->underlay, key, val, err, errlen)) <= 0)
		return rc;
	if (strcmp(key, "workers") == 0) {
		return vr_cpuset_parse(&c->workers, val, err, errlen);
	} else if (strcmp(key, "main-cpu") == 0) {
		if (parse_u64(val, 10, 0, VR_MAX_CPUS - 1, &v) < 0)
			return vr_err(err, errlen, "main-cpu '%s' is not a CPU number", val);
		c->main_cpu = (int)v;
	} else if (strcmp(key, "file-prefix") == 0) {
		if (copy_str(c->file_prefix, sizeof(c->file_prefix), val) < 0 ||
		    strchr(val, '/') != NULL)
			return vr_err(err, errlen, "file-prefix '%s' is empty, too long or has '/'",
			              val);
	} else if (strcmp(key, "socket-dir") == 0) {
		if (val[0] != '/' || copy_str(c->socket_dir, sizeof(c->socket_dir), val) < 0)
			return vr_err(err, errlen, "socket-dir '%s' must be an absolute path", val);
	} else if (strcmp(key, "socket-owner") == 0) {
		if (copy_str(c->socket_owner, sizeof(c->socket_owner), val) < 0)
			return vr_err(err, errlen, "socket-owner '%s' is empty or too long", val);
	} else if (strcmp(key, "socket-group") == 0) {
		if (copy_str(c->socket_group, sizeof(c->socket_group), val) < 0)
			return vr_err(err, errlen, "socket-group '%s' is empty or too long", val);
	} else if (strcmp(key, "socket-mode") == 0) {
		if (parse_u64(val, 8, 0, 0777, &v) < 0)
			return vr_err(err, errlen, "socket-mode '%s' is not an octal mode", val);
		if (v & 0002)
			return vr_err(err, errlen,
			              "socket-mode %s would let any local user act as a guest's "
			              "QEMU: not world-writable",
			              val);
		c->socket_mode = (mode_t)v;
	} else if (strcmp(key, "retry-us") == 0) {
		if (parse_u64(val, 10, 0, 10000000, &v) < 0)
			return vr_err(err, errlen, "retry-us '%s' is not in 0..10000000", val);
		c->retry_us = (uint32_t)v;
	} else if (strcmp(key, "hold-frames") == 0) {
		if (parse_u64(val, 10, 0, 65535, &v) < 0)
			return vr_err(err, errlen, "hold-frames '%s' is not in 0..65535", val);
		c->hold_frames = (uint32_t)v;
	} else if (strcmp(key, "hold-bytes") == 0) {
		if (parse_u64(val, 10, 0, 1u << 30, &v) < 0)
			return vr_err(err, errlen, "hold-bytes '%s' is not in 0..1073741824", val);
		c->hold_bytes = (uint32_t)v;
	} else if (strcmp(key, "hold-ms") == 0) {
		if (parse_u64(val, 10, 1, 60000, &v) < 0)
			return vr_err(err, errlen, "hold-ms '%s' is not in 1..60000", val);
		c->hold_ms = (uint32_t)v;
	} else if (strcmp(key, "log-level") == 0) {
		if (parse_log_level(val, &c->log_level) < 0)
			return vr_err(err, errlen, "log-level '%s' is not a level name or 1..8",
			              val);
	} else if (strcmp(key, "id") == 0 || strcmp(key, "device") == 0 ||
	           strcmp(key, "socket") == 0 || strcmp(key, "cpu") == 0) {
		return vr_err(err, errlen, "'%s' belongs in a [relay N] section", key);
	} else if (strcmp(key, "member") == 0 || strcmp(key, "bond-mode") == 0 ||
	           strcmp(key, "ident") == 0) {
		return vr_err(err, errlen, "'%s' belongs in a [relay N] section", key);
	} else if (strcmp(key, "mode") == 0 || strcmp(key, "queues") == 0 ||
	           strcmp(key, "mtu") == 0 || strcmp(key, "mrgbuf") == 0 ||
	           strcmp(key, "tso") == 0) {
		/* defaults for every relay */
		return vr_conf_set_relay(&c->defaults, key, val, err, errlen);
	} else {
		return vr_err(err, errlen, "unknown key '%s'", key);
	}
	return 0;
}

static char *
trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* The keys given so far in one section or relay spec: a key given twice is
 * a mistake (which one was meant?), except member, which lists. */
struct keys_seen {
	unsigned n;
	char key[40][32];
};

static int
note_key(struct keys_seen *k, const char *key, char *err, size_t errlen)
{
	if (strcmp(key, "member") == 0)
		return 0;
	for (unsigned i = 0; i < k->n; i++)
		if (strcmp(k->key[i], key) == 0)
			return vr_err(err, errlen, "'%s' is given twice", key);
	if (k->n < sizeof(k->key) / sizeof(k->key[0]))
		snprintf(k->key[k->n++], sizeof(k->key[0]), "%s", key);
	return 0;
}

int
vr_relay_conf_parse_spec(struct vr_relay_conf *r, const struct vr_relay_conf *defaults,
                         const char *spec, char *err, size_t errlen)
{
	char buf[VR_DEVARGS_MAX + 512], *save = NULL, *tok;
	char sub[VR_ERR_MAX];
	struct keys_seen seen = {0};

	vr_relay_conf_init(r, defaults);
	if (copy_str(buf, sizeof(buf), spec) < 0)
		return vr_err(err, errlen, "relay spec is empty or too long");
	for (tok = strtok_r(buf, " \t", &save); tok != NULL; tok = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(tok, '=');

		if (eq == NULL || eq == tok || eq[1] == '\0')
			return vr_err(err, errlen, "relay spec item '%s' is not key=value", tok);
		*eq = '\0';
		if (note_key(&seen, tok, sub, sizeof(sub)) < 0 ||
		    vr_conf_set_relay(r, tok, eq + 1, sub, sizeof(sub)) < 0)
			return vr_err(err, errlen, "relay spec: %s", sub);
	}
	if (r->id < 0)
		return vr_err(err, errlen, "relay spec '%s' has no id=", spec);
	return 0;
}

/* "[relay 3]" -> 3; "[daemon]" -> -2; anything else -> -1 */
static int
parse_section(char *hdr, char *err, size_t errlen)
{
	char *name = trim(hdr);
	uint64_t id;

	if (strcmp(name, "daemon") == 0)
		return -2;
	if (strncmp(name, "relay", 5) == 0 && isspace((unsigned char)name[5])) {
		char *num = trim(name + 5);

		if (parse_u64(num, 10, 0, VR_MAX_RELAYS - 1, &id) == 0)
			return (int)id;
		return vr_err(err, errlen, "relay id '%s' is not in 0..%d", num, VR_MAX_RELAYS - 1);
	}
	return vr_err(err, errlen, "unknown section [%s] (expected [daemon] or [relay N])", name);
}

/* One "key = value" line into the current section (-2 daemon, >= 0 relay index). */
static int
parse_assignment(struct vr_conf *c, int section, struct keys_seen *seen, char *line, char *err,
                 size_t errlen)
{
	char *eq = strchr(line, '=');
	char *key, *val;

	if (eq == NULL)
		return vr_err(err, errlen, "expected 'key = value', got '%s'", line);
	*eq = '\0';
	key = trim(line);
	val = trim(eq + 1);
	if (*key == '\0')
		return vr_err(err, errlen, "missing key before '='");
	if (*val == '\0')
		return vr_err(err, errlen, "key '%s' has no value", key);
	if (note_key(seen, key, err, errlen) < 0)
		return -1;
	if (section == -2)
		return vr_conf_set_daemon(c, key, val, err, errlen);
	if (strcmp(key, "id") == 0)
		return vr_err(err, errlen, "the relay id goes in the section header");
	return vr_conf_set_relay(&c->relays[section], key, val, err, errlen);
}

static int
open_relay_section(struct vr_conf *c, int id, char *err, size_t errlen)
{
	for (uint16_t i = 0; i < c->n_relays; i++)
		if (c->relays[i].id == id)
			return vr_err(err, errlen, "relay %d is defined twice", id);
	if (c->n_relays >= VR_MAX_RELAYS)
		return vr_err(err, errlen, "more than %d relays", VR_MAX_RELAYS);
	vr_relay_conf_init(&c->relays[c->n_relays], &c->defaults);
	c->relays[c->n_relays].id = id;
	return c->n_relays++;
}

int
vr_conf_parse_text(struct vr_conf *c, const char *text, const char *name, char *err, size_t errlen)
{
	char line[VR_DEVARGS_MAX + 256], sub[VR_ERR_MAX];
	int section = -2, lineno = 0;
	const char *p = text;
	struct keys_seen seen = {0};

	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		char *s, *hash;

		lineno++;
		if (len >= sizeof(line))
			return vr_err(err, errlen, "%s:%d: line longer than %zu bytes", name,
			              lineno, sizeof(line) - 1);
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + (nl != NULL);
		if (memchr(line, '\0', len) != NULL)
			return vr_err(err, errlen, "%s:%d: NUL byte in line", name, lineno);
		hash = strchr(line, '#');
		if (hash != NULL)
			*hash = '\0';
		s = trim(line);
		if (*s == '\0')
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']');
			int id;

			if (close == NULL || *trim(close + 1) != '\0')
				return vr_err(err, errlen, "%s:%d: malformed section header '%s'",
				              name, lineno, s);
			*close = '\0';
			id = parse_section(s + 1, sub, sizeof(sub));
			if (id == -1)
				return vr_err(err, errlen, "%s:%d: %s", name, lineno, sub);
			section = id == -2 ? -2 : open_relay_section(c, id, sub, sizeof(sub));
			if (section == -1)
				return vr_err(err, errlen, "%s:%d: %s", name, lineno, sub);
			seen.n = 0;
			continue;
		}
		if (parse_assignment(c, section, &seen, s, sub, sizeof(sub)) < 0)
			return vr_err(err, errlen, "%s:%d: %s", name, lineno, sub);
	}
	return 0;
}

void
vr_relay_conf_default_socket(struct vr_relay_conf *r, const char *socket_dir, const char *pattern)
{
	char name[VR_PATH_MAX];

	if (r->socket[0] != '\0')
		return;
	if (pattern == NULL || pattern[0] == '\0')
		pattern = "relay%u.sock";
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(name, sizeof(name), pattern, (unsigned)r->id); /* checked: one %u */
#pragma GCC diagnostic pop
	/* too long a path is cut here and refused by validation (no socket there) */
	if ((size_t)snprintf(r->socket, sizeof(r->socket), "%.*s/%.*s", VR_PATH_MAX, socket_dir,
	                     VR_PATH_MAX, name) >= sizeof(r->socket))
		r->socket[0] = '\0';
}

/* The device's name, its devargs up to the first ',', with a PCI address in
 * full form, so that "05:00.1" and "0000:05:00.1" compare equal. */
static void
device_name(const char *device, char out[VR_DEVARGS_MAX])
{
	char pci[16];

	snprintf(out, VR_DEVARGS_MAX, "%.*s", (int)strcspn(device, ","), device);
	if (vr_pci_parse(out, pci) == 0)
		snprintf(out, VR_DEVARGS_MAX, "%s", pci);
}

/* What EAL would refuse with a page of usage text, or take to mean
 * something else: a name of letters, digits and _:.- and no empty or
 * keyless argument ("x,,a=1", "x,=1"). */
static int
devargs_check(const struct vr_relay_conf *r, char *err, size_t errlen)
{
	const char *d = r->device;
	size_t name = strcspn(d, ",");

	if (name == 0)
		return vr_err(err, errlen, "relay %d: device '%s' has no name before its first ','",
		              r->id, d);
	for (size_t i = 0; i < name; i++)
		if (!isalnum((unsigned char)d[i]) && strchr("_:.-", d[i]) == NULL)
			return vr_err(err, errlen,
			              "relay %d: device name '%.*s' has '%c' (letters, digits, "
			              "_ : . - only)",
			              r->id, (int)name, d, d[i]);
	for (const char *a = d + name; *a == ','; a += 1 + strcspn(a + 1, ",")) {
		if (a[1] == ',' || a[1] == '\0' || a[1] == '=')
			return vr_err(
			    err, errlen,
			    "relay %d: device '%s' has an empty argument or one without a "
			    "name",
			    r->id, d);
	}
	return 0;
}

int
vr_relay_conf_validate(const struct vr_relay_conf *r, const struct vr_cpuset *workers, char *err,
                       size_t errlen)
{
	if (r->id < 0 || r->id >= VR_MAX_RELAYS)
		return vr_err(err, errlen, "relay id %d is not in 0..%d", r->id, VR_MAX_RELAYS - 1);
	if (r->device[0] == '\0')
		return vr_err(err, errlen, "relay %d: no device given", r->id);
	if (devargs_check(r, err, errlen) < 0)
		return -1;
	if (r->n_members > 0 && strncmp(r->device, "net_bonding", 11) != 0)
		return vr_err(
		    err, errlen,
		    "relay %d: a bond's device name must start with net_bonding, not '%s'", r->id,
		    r->device);
	if (r->n_members == 1)
		return vr_err(err, errlen, "relay %d: a bond needs at least 2 members", r->id);
	if (r->n_members > 0 && strchr(r->device, ',') != NULL)
		return vr_err(err, errlen,
		              "relay %d: bond name '%s' takes no arguments (use bond-mode, member)",
		              r->id, r->device);
	if (r->socket[0] != '/')
		return vr_err(err, errlen, "relay %d: socket path must be absolute", r->id);
	for (int d = 0; d < 2; d++)
		if (r->cpu[d] != VR_CPU_UNPINNED && !vr_cpuset_has(workers, r->cpu[d]))
			return vr_err(err, errlen, "relay %d: CPU %d is not a worker CPU", r->id,
			              r->cpu[d]);
	return 0;
}

/* Pins from the control sources' defaults (virtio-forwarder's CPU_PINS):
 * a pin outside the worker set would refuse every add of that relay. */
static int
pins_check(const struct vr_conf *c, char *err, size_t errlen)
{
	for (int i = 0; i < VR_MAX_RELAYS; i++)
		for (int k = 0; k < 2; k++)
			if (c->ctl.pins[i][k] != VR_CPU_UNPINNED &&
			    !vr_cpuset_has(&c->workers, c->ctl.pins[i][k]))
				return vr_err(err, errlen,
				              "CPU pin of relay %d: CPU %d is not a worker CPU", i,
				              c->ctl.pins[i][k]);
	return 0;
}

/* A tcp:// endpoint needs CURVE keys (api/endpoint.c refuses it otherwise). */
static int
endpoints_check(const struct vr_ctl_conf *cc, char *err, size_t errlen)
{
	for (int s = 0; s < VR_SVC_N; s++)
		if (strncmp(cc->ep[s], "tcp://", 6) == 0 &&
		    (cc->curve_secret_file[0] == '\0' || cc->curve_clients_file[0] == '\0'))
			return vr_err(
			    err, errlen,
			    "%s: a tcp:// endpoint lets anyone who reaches it rewire VMs; "
			    "it needs curve-secret-key and curve-client-keys",
			    cc->ep[s]);
	return 0;
}

/* Two relays on one device: the second's probe would fail at start. A
 * device naming a relay's socket: refused at start (devargs.h). */
static int
devices_check(const struct vr_conf *c, char *err, size_t errlen)
{
	char a[VR_DEVARGS_MAX], b[VR_DEVARGS_MAX];

	for (uint16_t i = 0; i < c->n_relays; i++) {
		for (uint16_t j = 0; j < c->n_relays; j++)
			if (vr_devargs_names_path(c->relays[i].device, c->relays[j].socket))
				return vr_err(err, errlen,
				              "relay %d: device %s names relay %d's vhost-user "
				              "socket: a relay cannot be another's guest in one "
				              "vrelayd",
				              c->relays[i].id, c->relays[i].device,
				              c->relays[j].id);
		device_name(c->relays[i].device, a);
		for (uint16_t j = 0; j < i; j++) {
			device_name(c->relays[j].device, b);
			if (strcmp(a, b) == 0)
				return vr_err(err, errlen, "relays %d and %d both use device %s",
				              c->relays[j].id, c->relays[i].id, a);
		}
	}
	return 0;
}

int
vr_conf_validate(const struct vr_conf *c, char *err, size_t errlen)
{
	if (c->workers.n == 0)
		return vr_err(err, errlen, "no worker CPUs configured (workers = ...)");
	if (c->main_cpu >= 0 && vr_cpuset_has(&c->workers, c->main_cpu))
		return vr_err(err, errlen, "main-cpu %d is also a worker CPU", c->main_cpu);
	for (uint16_t i = 0; i < c->n_relays; i++) {
		const struct vr_relay_conf *r = &c->relays[i];

		if (vr_relay_conf_validate(r, &c->workers, err, errlen) < 0)
			return -1;
		for (uint16_t j = 0; j < i; j++) {
			if (c->relays[j].id == r->id)
				return vr_err(err, errlen, "relay %d is defined twice", r->id);
			if (strcmp(c->relays[j].socket, r->socket) == 0)
				return vr_err(err, errlen, "relays %d and %d share socket %s",
				              c->relays[j].id, r->id, r->socket);
		}
	}
	if (devices_check(c, err, errlen) < 0 || pins_check(c, err, errlen) < 0 ||
	    vr_underlay_validate(&c->underlay, err, errlen) < 0)
		return -1;
	return endpoints_check(&c->ctl, err, errlen);
}

static bool
members_equal(const struct vr_relay_conf *a, const struct vr_relay_conf *b)
{
	if (a->n_members != b->n_members || a->bond_mode != b->bond_mode)
		return false;
	for (unsigned i = 0; i < a->n_members; i++)
		if (strcmp(a->members[i], b->members[i]) != 0)
			return false;
	return true;
}

bool
vr_relay_conf_equal(const struct vr_relay_conf *a, const struct vr_relay_conf *b)
{
	return a->id == b->id && strcmp(a->device, b->device) == 0 &&
	       strcmp(a->socket, b->socket) == 0 && a->mode == b->mode && a->queues == b->queues &&
	       a->mtu == b->mtu && a->mrgbuf == b->mrgbuf && a->tso == b->tso &&
	       a->cpu[0] == b->cpu[0] && a->cpu[1] == b->cpu[1] && members_equal(a, b) &&
	       strcmp(a->ident, b->ident) == 0;
}
