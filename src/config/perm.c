/* SPDX-License-Identifier: BSD-3-Clause */
#include "perm.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "errmsg.h"

/* A user or group given by name or number; -1 when neither. */
static long
resolve_id(const char *name, bool is_group)
{
	struct passwd *pw = is_group ? NULL : getpwnam(name);
	struct group *gr = is_group ? getgrnam(name) : NULL;
	char *end;
	long id;

	if (pw != NULL)
		return pw->pw_uid;
	if (gr != NULL)
		return gr->gr_gid;
	id = strtol(name, &end, 10);
	return *end == '\0' && end != name && id >= 0 ? id : -1;
}

int
vr_perm_resolve(struct vr_perm *p, const char *owner, const char *group, mode_t mode, char *err,
                size_t errlen)
{
	long id;

	p->uid = (uid_t)-1;
	p->gid = (gid_t)-1;
	p->mode = mode;
	if (owner[0] != '\0') {
		id = resolve_id(owner, false);
		if (id < 0)
			return vr_err(err, errlen, "owner '%s': no such user", owner);
		p->uid = (uid_t)id;
	}
	if (group[0] != '\0') {
		id = resolve_id(group, true);
		if (id < 0)
			return vr_err(err, errlen, "group '%s': no such group", group);
		p->gid = (gid_t)id;
	}
	return 0;
}

int
vr_perm_resolve_sockets(struct vr_perm *p, const char *owner, const char *group, mode_t mode,
                        char *err, size_t errlen)
{
	/* a vrelayd started unprivileged could not give them away */
	if (owner[0] == '\0' && group[0] == '\0' && geteuid() == 0 &&
	    getpwnam(VR_PERM_LIBVIRT_USER) != NULL && getgrnam(VR_PERM_LIBVIRT_GROUP) != NULL)
		return vr_perm_resolve(p, VR_PERM_LIBVIRT_USER, VR_PERM_LIBVIRT_GROUP, mode, err,
		                       errlen);
	return vr_perm_resolve(p, owner, group, mode, err, errlen);
}

mode_t
vr_perm_umask(const struct vr_perm *p)
{
	return ~p->mode & 0777;
}

int
vr_perm_chown(const char *path, const struct vr_perm *p)
{
	if (p->uid == (uid_t)-1 && p->gid == (gid_t)-1)
		return 0;
	return fchownat(AT_FDCWD, path, p->uid, p->gid, AT_SYMLINK_NOFOLLOW);
}
