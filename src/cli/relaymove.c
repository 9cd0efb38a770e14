/* SPDX-License-Identifier: BSD-3-Clause */
#include "relaymove.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void move_msg(const struct vr_move *mv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
move_msg(const struct vr_move *mv, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", mv->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Hand what the source relay learned to the destination relay. Returns
 * the number of addresses handed over, or -1. */
static int
prime_destination(struct vr_move *mv)
{
	struct vr_ctl src = {mv->prog, mv->src_dir, 5000}, dst = {mv->prog, mv->dir, 5000};

	if (vr_ctl_relay_info(&src, mv->src_id, &mv->info) < 0)
		return -1;
	mv->n = mv->info.n_learned;
	memcpy(mv->items, mv->info.learned, sizeof(mv->items));
	if (mv->n == 0) {
		move_msg(mv,
		         "warning: source relay %d has not seen the guest send yet: nothing to "
		         "announce",
		         mv->src_id);
		return 0;
	}
	return vr_ctl_announce(&dst, mv->id, mv->items, mv->n, false) == 0 ? (int)mv->n : -1;
}

enum { NEED_NONE, NEED_REDIRECT, NEED_HANDOVER };

/* What a move from src to dst needs (--redirect, and in auto whether both
 * have an underlay and where dst's is): a redirect to another prefix, a
 * handover on the same one, none, or -1 when one was asked for and cannot
 * be made. */
static int
redirect_needed(struct vr_move *mv, const struct vr_ctl *src, const struct vr_ctl *dst)
{
	char peer[48], a[2][48], b[2][48];
	unsigned na = 0, nb = 0;
	bool same = false;

	if (mv->redirect == VR_MOVE_NEVER)
		return 0;
	if (mv->redirect == VR_MOVE_AUTO &&
	    (vr_ctl_underlay(src, a, &na) < 0 || vr_ctl_underlay(dst, b, &nb) < 0 || na == 0 ||
	     nb == 0))
		return 0; /* relays without an underlay: no tunnel to use */
	if (vr_ctl_peer_underlay(src, dst, peer, &same) < 0)
		return mv->redirect == VR_MOVE_ALWAYS ? -1 : 0;
	return same && mv->redirect == VR_MOVE_AUTO ? NEED_HANDOVER : NEED_REDIRECT;
}

/* Whether addr ("ADDR/PREFIX" or "ADDR") is the address text. */
static bool
is_address(const char *addr, const char *text)
{
	size_t n = strcspn(addr, "/");

	return strlen(text) == n && strncmp(addr, text, n) == 0;
}

/* The relay at the redirect's other end (its source): the destination
 * when the guest goes home. */
static struct vr_ctl
peer_ctl(struct vr_move *mv, int *id)
{
	struct vr_ctl c = {mv->prog, mv->info.peer_control, 5000};

	*id = mv->info.peer_relay;
	if (mv->follow == FOLLOW_HOME) {
		c.dir = mv->dir;
		*id = mv->id;
	}
	return c;
}

/* The source relay got the guest through a redirect: plan to take it
 * along. Home: the destination's underlay is the redirect's peer. */
static int
follow_plan(struct vr_move *mv)
{
	struct vr_ctl dst = {mv->prog, mv->dir, 5000};
	char b[2][48];
	unsigned nb = 0;

	if (vr_ctl_underlay(&dst, b, &nb) < 0)
		return -1;
	mv->follow = FOLLOW_ON;
	for (unsigned i = 0; i < nb; i++)
		if (is_address(b[i], mv->info.peer))
			mv->follow = FOLLOW_HOME;
	if (mv->follow == FOLLOW_ON &&
	    (mv->info.peer_control[0] == '\0' || mv->info.peer_relay < 0)) {
		move_msg(mv,
		         "relay %d's redirect does not say where its peer %s is controlled "
		         "(made without vrelay-migrate or vrelayctl?): it cannot move along",
		         mv->src_id, mv->info.peer);
		return -1;
	}
	return 0;
}

/* A move into another subnet (or --redirect always): the two relays carry
 * the guest's old addresses between them (docs/tunnel.md), set up before
 * the guest moves; a redirect the guest already has moves with it at the
 * STOP (redirect_follow). 0, or -1 when it was needed and could not be made. */
static int
redirect_setup(struct vr_move *mv)
{
	struct vr_ctl src = {mv->prog, mv->src_dir, 5000};
	struct vr_ctl dst = {mv->prog, mv->dir, 5000};
	int need;

	if (mv->info.handover) { /* left by a move that did not finish */
		int sid;
		struct vr_ctl s = peer_ctl(mv, &sid);

		vr_ctl_unredirect(&src, mv->src_id);
		if (s.dir[0] != '\0' && sid >= 0)
			vr_ctl_unredirect(&s, sid);
		mv->info.role[0] = '\0';
	}
	if (strcmp(mv->info.role, "destination") == 0)
		return follow_plan(mv);
	if (mv->n == 0 || (need = redirect_needed(mv, &src, &dst)) == NEED_NONE)
		return 0;
	if (need == NEED_HANDOVER) {
		/* the switchover is zero-loss all the same; without it, the
		 * announcements alone move the guest */
		mv->handover =
		    vr_ctl_handover(&src, mv->src_id, &dst, mv->id, mv->items, mv->n) == 0;
		mv->redirected = mv->handover;
		return 0;
	}
	if (need < 0 || vr_ctl_redirect(&src, mv->src_id, &dst, mv->id, mv->items, mv->n) != 0)
		return -1;
	mv->redirected = true;
	return 0;
}

/* What the guest got on the source relay's own LAN: the MAC, and the
 * addresses the relay learned that lie on its underlay's prefixes (the
 * LAN its underlay address is on) and the redirect does not carry. How
 * many items, 0 when no address is left. */
static unsigned
own_items(struct vr_move *mv, const struct vr_ctl *src, char own[][48])
{
	char under[2][48];
	unsigned n = 1, nu = 0;

	if (vr_ctl_underlay(src, under, &nu) < 0)
		return 0;
	snprintf(own[0], 48, "%s", mv->items[0]);
	for (unsigned i = 1; i < mv->n; i++) {
		bool mine = false;

		for (unsigned j = 0; j < nu; j++)
			mine = mine || vr_ctl_on_prefix(mv->items[i], under[j]);
		for (unsigned j = 1; j < mv->info.n_carried && mine; j++)
			mine = strcmp(mv->items[i], mv->info.carried[j]) != 0;
		if (mine)
			snprintf(own[n++], 48, "%s", mv->items[i]);
	}
	return n > 1 ? n : 0;
}

/* The guest stopped at the source: its redirect moves along. Home, it ends
 * on both relays (the guest's old addresses are on its LAN again), and the
 * destination holds what arrives for the guest until it starts; onward,
 * its source relay gets a redirect to the destination instead. Then the
 * addresses the guest got on the source's LAN get a redirect of their own,
 * when the destination's slot is free (home). */
static void
redirect_follow(struct vr_move *mv)
{
	struct vr_ctl src = {mv->prog, mv->src_dir, 1000};
	struct vr_ctl dst = {mv->prog, mv->dir, 1000};
	char own[VR_ANNOUNCE_MAX][48];
	unsigned n;
	int sid;
	struct vr_ctl s = peer_ctl(mv, &sid);

	if (mv->follow == FOLLOW_NONE)
		return;
	vr_ctl_unredirect(&src, mv->src_id);
	vr_ctl_unredirect(&s, sid);
	mv->followed = true;
	if (mv->follow == FOLLOW_ON &&
	    vr_ctl_redirect(&s, sid, &dst, mv->id, mv->info.carried, mv->info.n_carried) != 0)
		move_msg(mv,
		         "the redirect from %s could not be moved to the destination: the guest's "
		         "old sessions end",
		         mv->info.peer);
	n = own_items(mv, &src, own);
	if (n == 0 || redirect_needed(mv, &src, &dst) != NEED_REDIRECT)
		return;
	if (mv->follow == FOLLOW_ON)
		move_msg(mv,
		         "warning: %s and %u more addresses the guest got on the source's LAN are "
		         "not carried: the destination relay has the moved redirect",
		         own[1], n - 2);
	else
		mv->own = vr_ctl_redirect(&src, mv->src_id, &dst, mv->id, own, n) == 0;
}

/* The guest stays at the source: no redirect is left behind, and one it
 * had ends at the source relay again. */
void
vr_move_undo(struct vr_move *mv)
{
	struct vr_ctl src = {mv->prog, mv->src_dir, 5000};
	struct vr_ctl dst = {mv->prog, mv->dir, 5000};
	int sid;
	struct vr_ctl s = peer_ctl(mv, &sid);

	if (mv->redirected || mv->own) {
		vr_ctl_unredirect(&src, mv->src_id);
		vr_ctl_unredirect(&dst, mv->id);
		mv->redirected = mv->own = false;
	}
	if (!mv->followed)
		return;
	if (mv->follow == FOLLOW_ON) {
		vr_ctl_unredirect(&s, sid);
		vr_ctl_unredirect(&dst, mv->id);
	}
	vr_ctl_redirect(&s, sid, &src, mv->src_id, mv->info.carried, mv->info.n_carried);
	mv->followed = false;
}

/* The guest stopped at the source (the downtime begins): the destination
 * relay announces it now and holds its frames until its vrings start, so
 * the network has moved before the guest resumes. */
void
vr_move_stopped(struct vr_move *mv)
{
	struct vr_ctl dst = {mv->prog, mv->dir, 1000};

	redirect_follow(mv);
	if (mv->n > 0)
		vr_ctl_announce(&dst, mv->id, mv->items, mv->n, true);
}

int
vr_move_prepare(struct vr_move *mv, const char *src_dir, int src_id, const char *dst_dir,
                int dst_id)
{
	int n;

	snprintf(mv->src_dir, sizeof(mv->src_dir), "%s", src_dir);
	snprintf(mv->dir, sizeof(mv->dir), "%s", dst_dir);
	mv->src_id = src_id;
	mv->id = dst_id;
	if ((n = prime_destination(mv)) < 0)
		return -1;
	return redirect_setup(mv) < 0 ? -2 : n;
}

void
vr_move_completed(struct vr_move *mv)
{
	if (mv->handover) /* the destination ends its side once it ran dry */
		vr_ctl_unredirect(&(struct vr_ctl){mv->prog, mv->src_dir, 5000}, mv->src_id);
}
