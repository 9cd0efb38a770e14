/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Root is needed to start: EAL maps hugepages and opens VFIO, the endpoint
 * files are given their owners. Running on, vrelayd needs much less: it
 * probes devices whose VFIO groups its user may open, grows its memory in a
 * hugetlbfs its user may write, makes sockets in its own directory, and
 * gives new vhost-user sockets their configured owner (CAP_CHOWN, kept only
 * when that owner is not vrelayd's own user and group, on the control
 * thread, which makes them).
 * VFIO pins every hugepage it maps: RLIMIT_MEMLOCK is raised while root,
 * instead of keeping CAP_IPC_LOCK (limits are per process, capabilities
 * per thread, and lib/vhost's thread may grow memory too).
 */
#include "privdrop.h"

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmsg.h"
#include "log.h"

int
privdrop_resolve(const struct vr_conf *c, struct vr_runas *to, char *err, size_t errlen)
{
	struct vr_perm p;
	struct passwd *pw;
	char sub[VR_ERR_MAX];

	to->uid = (uid_t)-1;
	to->gid = (gid_t)-1;
	to->user[0] = '\0';
	if (c->run_user[0] == '\0') {
		if (c->run_group[0] != '\0')
			return vr_err(err, errlen, "group '%s' is set without a user",
			              c->run_group);
		return 0;
	}
	if (vr_perm_resolve(&p, c->run_user, c->run_group, 0, sub, sizeof(sub)) < 0)
		return vr_err(err, errlen, "user/group: %s", sub);
	pw = getpwuid(p.uid);
	to->uid = p.uid;
	/* no group given: the user's own */
	to->gid = p.gid != (gid_t)-1 ? p.gid : pw != NULL ? pw->pw_gid : (gid_t)-1;
	if (to->gid == (gid_t)-1)
		return vr_err(err, errlen, "user '%s' has no group: set group", c->run_user);
	snprintf(to->user, sizeof(to->user), "%s", pw != NULL ? pw->pw_name : c->run_user);
	return 0;
}

/* vrelayd's own socket directory, made by root at start, becomes the
 * user's, so relays added later can make their sockets in it. */
static void
own_socket_dir(const char *dir, const struct vr_runas *to)
{
	struct stat st;

	if (lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == 0 &&
	    fchownat(AT_FDCWD, dir, to->uid, to->gid, AT_SYMLINK_NOFOLLOW) != 0)
		VR_LOG(WARNING, "socket directory %s: cannot give it to %s: %s", dir, to->user,
		       strerror(errno));
}

int
privdrop_needs_chown(const struct vr_runas *to, const struct vr_perm *perm)
{
	return (perm->uid != (uid_t)-1 && perm->uid != to->uid) ||
	       (perm->gid != (gid_t)-1 && perm->gid != to->gid);
}

int
privdrop(const struct vr_conf *c, const struct vr_runas *to, int keep_chown, char *err,
         size_t errlen)
{
	struct rlimit lim;
	int rc;

	if (to->uid == (uid_t)-1) {
		if (geteuid() == 0)
			VR_LOG(NOTICE, "running as root: set user (docs/security.md) to drop it");
		return 0;
	}
	if (geteuid() != 0)
		return vr_err(err, errlen, "user %s: only root can change user", to->user);
	/* as high as this process may go (a container may cap the hard limit) */
	if (getrlimit(RLIMIT_MEMLOCK, &lim) == 0) {
		lim.rlim_cur = lim.rlim_max = RLIM_INFINITY;
		if (setrlimit(RLIMIT_MEMLOCK, &lim) != 0 && getrlimit(RLIMIT_MEMLOCK, &lim) == 0) {
			lim.rlim_cur = lim.rlim_max;
			setrlimit(RLIMIT_MEMLOCK, &lim);
			VR_LOG(WARNING,
			       "RLIMIT_MEMLOCK stays at %llu bytes: VFIO devices added later "
			       "may fail to map memory",
			       (unsigned long long)lim.rlim_max);
		}
	}
	own_socket_dir(c->socket_dir, to);
	capng_clear(CAPNG_SELECT_BOTH);
	if (keep_chown)
		capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_CHOWN);
	rc =
	    capng_change_id((int)to->uid, (int)to->gid, CAPNG_INIT_SUPP_GRP | CAPNG_CLEAR_BOUNDING);
	if (rc != 0)
		return vr_err(err, errlen, "cannot become user %s (uid %u, gid %u): libcap-ng %d",
		              to->user, (unsigned)to->uid, (unsigned)to->gid, rc);
	if (getuid() != to->uid || geteuid() != to->uid || getegid() != to->gid)
		return vr_err(err, errlen, "user %s: still uid %u", to->user, (unsigned)geteuid());
	VR_LOG(NOTICE, "running as %s (uid %u, gid %u)%s", to->user, (unsigned)to->uid,
	       (unsigned)to->gid, keep_chown ? ", keeping CAP_CHOWN" : ", no capabilities");
	return 0;
}
