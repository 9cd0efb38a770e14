/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio-forwarder config file (/etc/default/virtioforwarder): shell
 * variables VIRTIOFWD_* and VIO4WD_* mapped onto vrelay's configuration, so
 * an unchanged virtio-forwarder host config starts vrelayd (docs/configuration.md).
 */
#ifndef VR_VFCONF_H
#define VR_VFCONF_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Parse text (named name in messages) into c. Warnings (unsupported or
 * unknown variables) go to warn, one per line, each naming its line. */
int vr_vfconf_parse_text(struct vr_conf *c, const char *text, const char *name, char *warn,
                         size_t warnlen, char *err, size_t errlen);

/* True when text looks like that format rather than vrelay's own. */
bool vr_vfconf_detect(const char *text);

#endif
