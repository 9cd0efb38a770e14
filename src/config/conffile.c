/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reading a config file and telling its format: vrelay's own (config.c) or
 * virtio-forwarder's shell variables (vfconf.c). The two parsers know
 * nothing of each other; only this file knows both.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "errmsg.h"
#include "vfconf.h"

int
vr_conf_load_file(struct vr_conf *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *text;
	long size;
	size_t got;
	int rc;

	if (f == NULL)
		return vr_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		fclose(f);
		return vr_err(err, errlen, "%s: cannot read: %s", path, strerror(errno));
	}
	if (size > 1 << 20) {
		fclose(f);
		return vr_err(err, errlen, "%s: larger than 1 MiB", path);
	}
	text = malloc((size_t)size + 1);
	if (text == NULL) {
		fclose(f);
		return vr_err(err, errlen, "%s: out of memory", path);
	}
	got = fread(text, 1, (size_t)size, f);
	fclose(f);
	text[got] = '\0';
	if (strlen(text) != got)
		rc = vr_err(err, errlen, "%s: file contains a NUL byte", path);
	else if (vr_vfconf_detect(text))
		rc = vr_vfconf_parse_text(c, text, path, c->warnings, sizeof(c->warnings), err,
		                          errlen);
	else
		rc = vr_conf_parse_text(c, text, path, err, errlen);
	free(text);
	return rc;
}
