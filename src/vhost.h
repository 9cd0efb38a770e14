/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VR_VHOST_H
#define VR_VHOST_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"

#include "perm.h"

void vhost_set_socket_perm(const struct vr_perm *p);

/* Register, configure features and start the relay's vhost-user socket. */
int vhost_register(const struct vr_relay_conf *c, char *err, size_t errlen);
void vhost_unregister(const struct vr_relay_conf *c);

#endif
