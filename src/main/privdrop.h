/* SPDX-License-Identifier: BSD-3-Clause */
/* Dropping root once start-up is done (docs/security.md, "Privileges"). */
#ifndef VR_PRIVDROP_H
#define VR_PRIVDROP_H

#include <stddef.h>

#include "config.h"
#include "perm.h"

/* Who to become: user and group resolved (check_host, before EAL); uid -1
 * when the configuration names no user. */
struct vr_runas {
	uid_t uid;
	gid_t gid;
	char user[64];
};

int privdrop_resolve(const struct vr_conf *c, struct vr_runas *to, char *err, size_t errlen);

/* Whether sockets made after the drop must be given away: true when perm
 * names an owner or group other than the one vrelayd runs as. */
int privdrop_needs_chown(const struct vr_runas *to, const struct vr_perm *perm);

/* Becomes to's user and group (and the user's groups), keeping only
 * CAP_CHOWN, and that only when keep_chown (sockets go to another owner).
 * 0 when there is nothing to do or it is done; -1 with err otherwise. */
int privdrop(const struct vr_conf *c, const struct vr_runas *to, int keep_chown, char *err,
             size_t errlen);

#endif
