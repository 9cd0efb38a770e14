/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VR_VHOST_H
#define VR_VHOST_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"

struct vr_socket_perm {
	uid_t uid; /* (uid_t)-1: unchanged */
	gid_t gid; /* (gid_t)-1: unchanged */
	mode_t mode;
};

void vhost_set_socket_perm(const struct vr_socket_perm *p);

/* Register, configure features and start the relay's vhost-user socket. */
int vhost_register(const struct vr_relay_conf *c, char *err, size_t errlen);
void vhost_unregister(const struct vr_relay_conf *c);

#endif
