/* SPDX-License-Identifier: BSD-3-Clause */
#include "netdev_vf.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errmsg.h"

/* The last component of the link at path, as a canonical PCI address. */
static int
link_pci(const char *path, char out[16])
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	const char *base;

	if (n < 0)
		return -1;
	target[n] = '\0';
	base = strrchr(target, '/');
	return vr_pci_parse(base != NULL ? base + 1 : target, out);
}

/* Which virtfnN of the PF at pf_dir is pci; -1 when none. */
static int
vf_index(const char *pf_dir, const char *pci)
{
	char path[PATH_MAX + 256], other[16], *end;
	struct dirent *e;
	DIR *d = opendir(pf_dir);
	int found = -1;

	if (d == NULL)
		return -1;
	while (found < 0 && (e = readdir(d)) != NULL) {
		long n;

		if (strncmp(e->d_name, "virtfn", 6) != 0)
			continue;
		n = strtol(e->d_name + 6, &end, 10);
		if (e->d_name[6] == '\0' || *end != '\0' || n < 0 || n > INT_MAX)
			continue;
		snprintf(path, sizeof(path), "%s/%s", pf_dir, e->d_name);
		if (link_pci(path, other) == 0 && strcmp(other, pci) == 0)
			found = (int)n;
	}
	closedir(d);
	return found;
}

static bool
is_ifname(const char *netdev)
{
	return netdev[0] != '\0' && strlen(netdev) < IFNAMSIZ && strchr(netdev, '/') == NULL &&
	       strcmp(netdev, ".") != 0 && strcmp(netdev, "..") != 0;
}

int
vr_netdev_pci(const char *sysfs, const char *netdev, char *pci)
{
	char path[PATH_MAX];

	if (!is_ifname(netdev))
		return -1;
	snprintf(path, sizeof(path), "%s/class/net/%s/device", sysfs, netdev);
	return link_pci(path, pci);
}

int
vr_netdev_vf(const char *sysfs, const char *netdev, char *pci, int *vf, char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (!is_ifname(netdev))
		return vr_err(err, errlen, "'%s' is not a network interface name", netdev);
	snprintf(path, sizeof(path), "%s/class/net/%s", sysfs, netdev);
	if (access(path, F_OK) != 0)
		return vr_err(err, errlen, "no network interface %s", netdev);
	if (vr_netdev_pci(sysfs, netdev, pci) != 0)
		return vr_err(err, errlen, "%s is not a PCI device", netdev);
	snprintf(path, sizeof(path), "%s/class/net/%s/device/physfn", sysfs, netdev);
	if (access(path, F_OK) != 0)
		return vr_err(err, errlen, "%s (%s) is not an SR-IOV VF", netdev, pci);
	*vf = vf_index(path, pci);
	if (*vf < 0)
		return vr_err(err, errlen, "%s (%s): its PF does not list it", netdev, pci);
	if (*vf >= VR_MAX_RELAYS)
		return vr_err(err, errlen, "%s (%s) is VF %d: relay ids end at %d", netdev, pci,
		              *vf, VR_MAX_RELAYS - 1);
	return 0;
}
