/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reading a config file and telling its format: vrelay's own (config.c) or
 * virtio-forwarder's shell variables (vfconf.c). The two parsers know
 * nothing of each other; only this file knows both. The file is read without
 * blocking (safefile.h): a FIFO or a device in its place is refused. Line
 * ends written by Windows editors (CR LF) are taken as LF, so both parsers
 * and the format detection see the lines the operator wrote.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "errmsg.h"
#include "safefile.h"
#include "vfconf.h"

/* CR LF to LF in place; a lone CR stays (the parsers name it). */
static void
crlf_to_lf(char *text)
{
	char *w = text;

	for (const char *r = text; *r != '\0'; r++)
		if (!(r[0] == '\r' && r[1] == '\n'))
			*w++ = *r;
	*w = '\0';
}

int
vr_conf_load_file(struct vr_conf *c, const char *path, char *err, size_t errlen)
{
	size_t len;
	char *text = vr_read_regular(path, VR_CONF_FILE_MAX, &len, err, errlen);
	int rc;

	if (text == NULL)
		return -1;
	if (strlen(text) != len) {
		free(text);
		return vr_err(err, errlen, "%s: file contains a NUL byte", path);
	}
	crlf_to_lf(text);
	if (vr_vfconf_detect(text))
		rc = vr_vfconf_parse_text(c, text, path, c->warnings, sizeof(c->warnings), err,
		                          errlen);
	else
		rc = vr_conf_parse_text(c, text, path, err, errlen);
	free(text);
	return rc;
}
