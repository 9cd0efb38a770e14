/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Live migration's destination side, control thread: the addresses primed
 * for a guest on its way (the ANNOUNCE op), the hold of its frames while it
 * is stopped at the source, and the announcement frames queued for the
 * device when it stops there and again when its vrings start here. Frames
 * reach the data plane through handoff_inject and the hold through
 * handoff_hold; the relay lock is held throughout.
 */
#ifndef VR_PRIME_H
#define VR_PRIME_H

#include <stdbool.h>
#include <stddef.h>

#include "announce.h"

struct vr_relay;

/* Announce a when the guest starts on relay id; now: also at once (the
 * guest stopped at the source), holding the device's frames for it until
 * it starts. */
int prime_announce(int id, const struct vr_addrs *a, bool now, char *err, size_t errlen);

/* The guest's vrings just started here: tell the network (relay lock held).
 * The primed addresses are sent once, and kept as the guest's identity
 * while it stays (relay.h, arrived). */
void prime_guest_started(struct vr_relay *r);

#endif
