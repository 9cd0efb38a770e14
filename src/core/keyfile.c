/* SPDX-License-Identifier: BSD-3-Clause */
#include "keyfile.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "errmsg.h"
#include "safefile.h"

int
vr_key_line(FILE *f, char key[VR_Z85_KEY_LEN + 1])
{
	char line[256];

	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strcspn(line, "\r\n");

		line[n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		if (n != VR_Z85_KEY_LEN)
			return -1;
		memcpy(key, line, VR_Z85_KEY_LEN + 1);
		return 1;
	}
	return 0;
}

FILE *
vr_key_file_open(const char *path, const char *what, char *err, size_t errlen)
{
	char sub[VR_ERR_MAX];
	int fd = vr_open_regular(path, 0, sub, sizeof(sub));
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;

	if (fd < 0)
		vr_err(err, errlen, "%s %s", what, sub);
	else if (f == NULL) {
		vr_err(err, errlen, "%s %s: %s", what, path, strerror(errno));
		close(fd);
	}
	return f;
}

int
vr_secret_key_load(const char *path, char key[VR_Z85_KEY_LEN + 1], char *err, size_t errlen)
{
	FILE *f = vr_key_file_open(path, "CURVE secret key", err, errlen);
	struct stat st;
	int rc;

	if (f == NULL)
		return -1;
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 0077) != 0) {
		fclose(f);
		return vr_err(err, errlen, "CURVE secret key %s is readable by others (mode %o)",
		              path, st.st_mode & 0777);
	}
	rc = vr_key_line(f, key);
	fclose(f);
	if (rc <= 0)
		return vr_err(err, errlen, "CURVE secret key %s: no 40-character Z85 key line",
		              path);
	return 0;
}
