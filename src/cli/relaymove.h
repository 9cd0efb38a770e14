/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The relays' side of a guest's move from one relay to another (docs/
 * migration.md, "What the relays do"), shared by vrelay-migrate and the
 * libvirt hook: before the move, the destination is primed with what the
 * source learned and a redirect (another subnet) or handover (one LAN) is
 * set up; at the source's STOP the destination announces the guest and a
 * redirect the guest already had moves along; a failed move is undone.
 */
#ifndef VR_RELAYMOVE_H
#define VR_RELAYMOVE_H

#include <stdbool.h>

#include "ctlclient.h"

enum vr_move_redirect { VR_MOVE_AUTO, VR_MOVE_ALWAYS, VR_MOVE_NEVER };

struct vr_move {
	const char *prog;               /* for messages */
	enum vr_move_redirect redirect; /* --redirect */
	char dir[4096], src_dir[4096];  /* the relays' control directories or files */
	int id, src_id;
	char items[VR_ANNOUNCE_MAX][48]; /* what the source learned: MAC, addresses */
	unsigned n;
	bool redirected; /* a redirect was set up for this move */
	/* The source relay before the move. A guest it got through a redirect
	 * (role "destination") takes that redirect along: ended when the guest
	 * goes home to the redirect's source, else moved to end at the new
	 * relay; never a chain through a host the guest left. */
	struct vr_ctl_relay info;
	enum { FOLLOW_NONE, FOLLOW_HOME, FOLLOW_ON } follow;
	bool followed; /* done, at STOP */
	bool own;      /* a redirect for what the source relay's own LAN gave */
	bool handover; /* the redirect is a same-LAN switchover: ends at RESUME */
};

/* Before the move: hand what relay src_id (at src_dir) learned to relay
 * dst_id (at dst_dir), then set up the redirect or handover the move
 * needs. The number of items handed over (0: the guest sent nothing yet),
 * -1 when a relay could not be reached or refused, -2 when a needed
 * redirect could not be made (nothing is left set up then). */
int vr_move_prepare(struct vr_move *mv, const char *src_dir, int src_id, const char *dst_dir,
                    int dst_id);

/* The guest stopped at the source: the destination announces it now and
 * holds its frames; a redirect it had moves along. */
void vr_move_stopped(struct vr_move *mv);

/* The guest arrived: a handover's source side ends (the destination ends
 * its own once it ran dry). */
void vr_move_completed(struct vr_move *mv);

/* The guest stays at the source: what vr_move_prepare and vr_move_stopped
 * set up is taken down again. */
void vr_move_undo(struct vr_move *mv);

#endif
