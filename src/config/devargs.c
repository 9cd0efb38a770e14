/* SPDX-License-Identifier: BSD-3-Clause */
#include "devargs.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "errmsg.h"

void
vr_devargs_kind(const char *device, uint8_t n_members, char *kind, size_t len)
{
	char pci[16], head[VR_DEVARGS_MAX];
	size_t n;

	snprintf(head, sizeof(head), "%.*s", (int)strcspn(device, ","), device);
	if (n_members > 0)
		snprintf(kind, len, "bond");
	else if (vr_pci_parse(head, pci) == 0)
		snprintf(kind, len, "pci");
	else {
		n = strlen(head);
		while (n > 0 && isdigit((unsigned char)head[n - 1]))
			n--;
		snprintf(kind, len, "%.*s", (int)n, head);
	}
}

static bool
kind_name_ok(const char *k, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)k[i]) && !isdigit((unsigned char)k[i]) && k[i] != '_')
			return false;
	return true;
}

int
vr_device_kinds_parse(const char *list, char *out, size_t outlen, char *err, size_t errlen)
{
	size_t used = 0;

	out[0] = '\0';
	for (const char *p = list; *p != '\0';) {
		size_t n;

		p += strspn(p, " \t,");
		n = strcspn(p, " \t,");
		if (n == 0)
			break;
		if (!kind_name_ok(p, n) || isdigit((unsigned char)p[n - 1]))
			return vr_err(
			    err, errlen,
			    "control-devices item '%.*s' is not pci, bond or a driver name "
			    "such as net_memif",
			    (int)n, p);
		if (used + n + 2 > outlen)
			return vr_err(err, errlen, "control-devices is longer than %zu bytes",
			              outlen - 1);
		used += (size_t)snprintf(out + used, outlen - used, "%s%.*s", used ? " " : "",
		                         (int)n, p);
		p += n;
	}
	return 0;
}

bool
vr_device_kind_allowed(const char *kinds, const char *kind)
{
	size_t n = strlen(kind);
	const char *p = kinds;

	while (n > 0 && *p != '\0') {
		size_t item = strcspn(p, " ");

		if (item == n && strncmp(p, kind, n) == 0)
			return true;
		p += item;
		p += *p == ' ';
	}
	return false;
}

/* Calls each value of devargs' key=value arguments (after the name) in turn
 * until fn returns non-zero; returns that. */
static int
each_value(const char *devargs, int (*fn)(const char *v, size_t n, void *arg), void *arg)
{
	for (const char *a = strchr(devargs, ','); a != NULL; a = strchr(a + 1, ',')) {
		size_t item = strcspn(a + 1, ",");
		const char *eq = memchr(a + 1, '=', item);
		int rc;

		if (eq == NULL)
			continue;
		rc = fn(eq + 1, item - (size_t)(eq + 1 - (a + 1)), arg);
		if (rc != 0)
			return rc;
	}
	return 0;
}

struct inside {
	const char *dir;
	char bad[VR_PATH_MAX];
};

static int
value_inside(const char *v, size_t n, void *arg)
{
	struct inside *in = arg;
	char path[VR_PATH_MAX];

	if (memchr(v, '/', n) == NULL)
		return 0;
	snprintf(path, sizeof(path), "%.*s", (int)n, v);
	if (n < sizeof(path) && vr_path_in_dir(path, in->dir))
		return 0;
	snprintf(in->bad, sizeof(in->bad), "%s", path);
	return 1;
}

int
vr_devargs_paths_inside(const char *devargs, const char *dir, char *err, size_t errlen)
{
	struct inside in = {.dir = dir};

	if (each_value(devargs, value_inside, &in) != 0)
		return vr_err(err, errlen,
		              "device argument path %s is outside the socket directory %s", in.bad,
		              dir);
	return 0;
}

static int
value_is(const char *v, size_t n, void *arg)
{
	const char *path = arg;

	return strlen(path) == n && strncmp(v, path, n) == 0;
}

bool
vr_devargs_names_path(const char *devargs, const char *path)
{
	return path[0] != '\0' && each_value(devargs, value_is, (void *)path) != 0;
}
