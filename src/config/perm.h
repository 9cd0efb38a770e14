/* SPDX-License-Identifier: BSD-3-Clause */
/* Owner, group and mode of the unix sockets the daemon creates. */
#ifndef VR_PERM_H
#define VR_PERM_H

#include <stddef.h>
#include <sys/types.h>

struct vr_perm {
	uid_t uid; /* (uid_t)-1: unchanged */
	gid_t gid; /* (gid_t)-1: unchanged */
	mode_t mode;
};

/* owner/group by name or number ("" = unchanged); -1 with err naming the
 * unknown one. */
int vr_perm_resolve(struct vr_perm *p, const char *owner, const char *group, mode_t mode, char *err,
                    size_t errlen);

/* virtio-forwarder's default owner of server sockets, so that QEMU under
 * libvirt can connect: used when neither socket-owner nor socket-group is
 * configured, both accounts exist (libvirt is installed) and vrelayd starts
 * as root. */
#define VR_PERM_LIBVIRT_USER  "libvirt-qemu"
#define VR_PERM_LIBVIRT_GROUP "kvm"

/* vr_perm_resolve, with the libvirt default above when owner and group are
 * both "" and the accounts exist. */
int vr_perm_resolve_sockets(struct vr_perm *p, const char *owner, const char *group, mode_t mode,
                            char *err, size_t errlen);

/* The umask under which a new socket file gets exactly p->mode: set around
 * bind, so there is no moment with another mode and no chmod by path. */
mode_t vr_perm_umask(const struct vr_perm *p);

/* Give a socket just made to p's owner and group. A link put in its place
 * between bind and now is changed itself, never what it points to. */
int vr_perm_chown(const char *path, const struct vr_perm *p);

#endif
