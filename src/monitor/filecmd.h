/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One line of the watched command file (docs/control.md, "File monitor"):
 *   add ID DEVICE [member=PCI]... [mode=N]
 *   remove ID
 *   add-sock PATH DEVICE [member=PCI]... [mode=N] [id=ID]
 *   remove-sock PATH
 *   add_port NETDEV, del_port NETDEV   (virtio-forwarder's /tmp/vio_cmd)
 * Keywords match whole words (the original matched their first letter).
 * Pure: unit-tested and fuzzed.
 */
#ifndef VR_FILECMD_H
#define VR_FILECMD_H

#include <stddef.h>

#include "request.h"

/* 1 = a request in q; 2 = one whose q->device is a kernel netdev, to be
 * resolved to its VF (netdev_vf.h); 0 = blank or comment; -1 = error. */
int vr_filecmd_parse(const char *line, struct vr_port_req *q, char *err, size_t errlen);

#endif
