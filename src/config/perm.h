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

#endif
