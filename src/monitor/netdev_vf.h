/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-forwarder's command file (/tmp/vio_cmd) names a VF by its kernel
 * netdev ("add_port eth5"); the relay is the VF's index on its PF and the
 * device its PCI address. Both are read from sysfs.
 */
#ifndef VR_NETDEV_VF_H
#define VR_NETDEV_VF_H

#include <stddef.h>

#include "config.h"

/* The PCI function behind netdev (canonical, into pci[16]); -1 when none
 * (not an interface name, no such interface, not a PCI device). */
int vr_netdev_pci(const char *sysfs, const char *netdev, char *pci);

/* For netdev under sysfs (normally "/sys"): the VF's PCI address (canonical,
 * into pci[VR_MEMBER_MAX]) and its index on the PF (*vf, 0..VR_MAX_RELAYS-1).
 * -1 with err naming what is missing: no such netdev, not a PCI device, not
 * an SR-IOV VF, an index outside the relay ids. */
int vr_netdev_vf(const char *sysfs, const char *netdev, char *pci, int *vf, char *err,
                 size_t errlen);

#endif
