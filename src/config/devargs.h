/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a device string ("0000:05:00.1", "net_memif0,socket=/run/x.sock,...")
 * may do. Port control as root would otherwise turn devargs into a root
 * shell's reach: net_pcap writes a file anywhere, net_af_packet reads any
 * host interface, net_memif opens sockets outside the socket directory.
 * Requests from the runtime control sources (ZeroMQ, OVSDB, watch file) are
 * held to an allow-list of device kinds (control-devices) and every path
 * they name must lie inside the socket directory; the operator's own config
 * file is not restricted. No device may name one of vrelayd's own vhost-user
 * sockets (in one process DPDK's virtio_user and lib/vhost deadlock on the
 * memory lock).
 */
#ifndef VR_DEVARGS_H
#define VR_DEVARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VR_DEVICE_KINDS_MAX 256

/* A device's kind: "pci", "bond" (members given), or its driver name
 * without the instance number ("net_memif" for "net_memif3,..."). */
void vr_devargs_kind(const char *device, uint8_t n_members, char *kind, size_t len);

/* Validates a control-devices list ("pci bond net_memif", commas or blanks)
 * and stores it normalised (one blank between kinds). */
int vr_device_kinds_parse(const char *list, char *out, size_t outlen, char *err, size_t errlen);

/* Whether kind is on the normalised list. */
bool vr_device_kind_allowed(const char *kinds, const char *kind);

/* Every argument value that looks like a path ('/' in it) lies inside dir;
 * -1 with err naming the first that does not. */
int vr_devargs_paths_inside(const char *devargs, const char *dir, char *err, size_t errlen);

/* Whether an argument value of devargs is exactly path. */
bool vr_devargs_names_path(const char *devargs, const char *path);

#endif
