/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the libvirt hook needs of a domain's XML (the one libvirt passes a
 * hook on stdin): its vhost-user interfaces, each a MAC and a socket.
 */
#ifndef VR_DOMXML_H
#define VR_DOMXML_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define VR_DOMXML_MAX (16 << 20) /* the most the hook reads of stdin */

struct vr_dom_iface {
	char mac[18];           /* as libvirt wrote it, lower case */
	char path[VR_PATH_MAX]; /* <source path=...>: the relay's socket */
	bool qemu_server;       /* <source mode='server'>: QEMU listens */
};

/* The <interface type='vhostuser'> elements of the len bytes of xml into
 * out (at most max). How many, or -1 with err naming what was wrong: not
 * XML, not a domain, an interface without a MAC or a unix socket path, or
 * a path too long for a socket. */
int vr_domxml_vhostuser(const char *xml, size_t len, struct vr_dom_iface *out, unsigned max,
                        char *err, size_t errlen);

#endif
