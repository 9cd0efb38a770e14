/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * CURVE key files, as vrelayd's endpoints (api/endpoint.c) and the control
 * clients (cli/remote.c) read them: lines of 40-character Z85 keys, '#'
 * comments and blank lines skipped; a secret key's file readable by its
 * owner only. Opened without blocking (safefile.h).
 */
#ifndef VR_KEYFILE_H
#define VR_KEYFILE_H

#include <stdio.h>

#define VR_Z85_KEY_LEN 40

/* The next key line of f into key: 1, 0 at the end, -1 for a line that is
 * not a key. */
int vr_key_line(FILE *f, char key[VR_Z85_KEY_LEN + 1]);

/* A key file (what names it in errors), or NULL with err set. */
FILE *vr_key_file_open(const char *path, const char *what, char *err, size_t errlen);

/* The secret key in path's first key line. 0, or -1 with err set. */
int vr_secret_key_load(const char *path, char key[VR_Z85_KEY_LEN + 1], char *err, size_t errlen);

#endif
