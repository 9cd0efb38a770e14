/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One line of the watched command file (docs/control.md, "File monitor"):
 *   add ID DEVICE [member=PCI]... [mode=N]
 *   remove ID
 *   add-sock PATH DEVICE [member=PCI]... [mode=N] [id=ID]
 *   remove-sock PATH
 * Keywords match whole words (the original matched their first letter).
 * Pure: unit-tested and fuzzed.
 */
#ifndef VR_FILECMD_H
#define VR_FILECMD_H

#include <stddef.h>

#include "request.h"

/* 1 = a request in q; 0 = blank or comment; -1 = error in err. */
int vr_filecmd_parse(const char *line, struct vr_port_req *q, char *err, size_t errlen);

#endif
