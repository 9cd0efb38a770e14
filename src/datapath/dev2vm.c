/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device to guest (dev2vm.h). Worker code: no locks, no allocation, no
 * syscalls of our own (lib/vhost may kick the guest's call eventfd inside
 * its enqueue when the guest asks for interrupts: the virtio contract).
 */
#include "dev2vm.h"

#include <string.h>

#include "flowhash.h"
#include "pending.h"

/* Offers what waits for guest queue pair qp again. */
static void
flush_to_guest(struct vr_dir *d, uint16_t qp, uint64_t now)
{
	if (d->pend[qp].n > 0)
		ctr_add(d->q_pkts[qp], pending_flush(d, &d->pend[qp], qp, now));
}

/* Keeps order: new frames queue behind pending ones of the same vring. */
static void
send_to_guest(struct vr_dir *d, uint16_t qp, struct rte_mbuf **m, uint16_t n, uint64_t now)
{
	struct vr_pending *p = &d->pend[qp];
	uint16_t sent;

	if (p->n > 0) {
		pending_keep(d, p, m, n, now);
		flush_to_guest(d, qp, now);
		return;
	}
	sent = dir_send(d, qp, m, n);
	ctr_add(d->q_pkts[qp], sent);
	if (sent < n)
		pending_keep(d, p, m + sent, (uint16_t)(n - sent), now);
}

static inline uint32_t
frame_hash(struct rte_mbuf *m)
{
	if (m->ol_flags & RTE_MBUF_F_RX_RSS_HASH)
		return m->hash.rss;
	return vr_flow_hash(rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m));
}

static void
spread(struct vr_dir *d, struct rte_mbuf **m, uint16_t n, uint64_t now)
{
	struct rte_mbuf *bucket[VR_MAX_QP][VR_BURST];
	uint16_t count[VR_MAX_QP];

	if (d->n_txq == 1) {
		send_to_guest(d, d->txq[0], m, n, now);
		return;
	}
	memset(count, 0, d->n_txq * sizeof(count[0]));
	for (uint16_t i = 0; i < n; i++) {
		uint16_t k = (uint16_t)(frame_hash(m[i]) % d->n_txq);

		bucket[k][count[k]++] = m[i];
	}
	for (uint16_t k = 0; k < d->n_txq; k++)
		if (count[k] > 0)
			send_to_guest(d, d->txq[k], bucket[k], count[k], now);
}

/* Room a pending buffer has for one more burst. */
static inline uint16_t
pend_room(const struct vr_pending *p)
{
	uint16_t free = (uint16_t)(VR_PEND_MAX - p->n);

	return free < VR_BURST ? free : VR_BURST;
}

/* Room every enabled vring's pending buffer has for one more burst. */
static uint16_t
guest_room(const struct vr_dir *d)
{
	uint16_t room = VR_BURST;

	for (uint16_t k = 0; k < d->n_txq; k++)
		room = RTE_MIN(room, pend_room(&d->pend[d->txq[k]]));
	return room;
}

/* Holding frames for a guest on its way? Once the deadline passes without
 * it, what was held is dropped as not-ready. hold_until is the control
 * side's (handoff_hold); the worker only notes which deadline it is done
 * with, so neither side's store can undo the other's. */
static bool
hold_active(struct vr_dev2vm *v, uint64_t now)
{
	uint64_t until = __atomic_load_n(&v->hold_until, __ATOMIC_RELAXED);

	if (likely(until == 0 || until == v->hold_over))
		return false;
	if (now < until)
		return true;
	v->hold_over = until;
	pending_drop_except(&v->d, 0);
	vr_hold_drop(&v->d, &v->hold);
	return false;
}

static void into_tunnel(struct vr_dev2vm *v, struct vr_tunnel_port *t, struct rte_mbuf **m,
                        uint16_t n, uint64_t bytes);

/* The guest or its enabled vrings changed. A guest that came ends the hold,
 * and what waits for it gets a fresh retry window: its first enqueue may
 * find the vring not yet filled. Without a guest, held frames stay while
 * the hold lasts; frames for vrings that went are dropped, or follow the
 * guest through its redirect's tunnel. */
static void
on_sync(struct vr_dev2vm *v, uint32_t old_gen, uint64_t now, struct vr_tunnel_port *t)
{
	struct vr_dir *d = &v->d;
	uint64_t keep = 0;

	/* the guest left for the relay at the tunnel's other end: what waited
	 * for it here follows it there, in order, instead of being dropped */
	if (d->seen_dst_gen == 0 && t != NULL && t->role == VR_TUNNEL_SOURCE)
		for (uint16_t qp = 0; qp < VR_MAX_QP; qp++) {
			struct vr_pending *p = &d->pend[qp];

			if (p->n > 0)
				into_tunnel(v, t, p->m, p->n, sum_bytes(p->m, p->n));
			p->n = 0;
		}

	if (d->seen_dst_gen == 0 && v->hold.releasing) {
		/* gone in the middle of taking what was held for it */
		vr_hold_drop(d, &v->hold);
		v->hold.releasing = false;
	}
	if (d->seen_dst_gen != 0) {
		v->hold_over = __atomic_load_n(&v->hold_until, __ATOMIC_RELAXED);
		for (uint16_t k = 0; k < d->n_txq; k++)
			keep |= 1ULL << d->txq[k];
		if (d->seen_dst_gen != old_gen)
			for (uint16_t qp = 0; qp < VR_MAX_QP; qp++)
				d->pend[qp].since = now;
	} else if (hold_active(v, now)) {
		return;
	}
	pending_drop_except(d, keep);
}

/* A handover's destination keeps the device's frames for the guest apart
 * (dev2vm.h, settle_until) until the source's marker: what the source
 * passed on is older than anything that reaches this device directly, but
 * comes a longer way. Once the guest runs and what was held before it is
 * in, the wait lasts SETTLE_MS at most (a marker takes one underlay round
 * trip after the guest's announcement). True while it lasts. */
#define SETTLE_MS 20

static bool
settling(struct vr_dev2vm *v, const struct vr_tunnel_port *t, uint64_t now)
{
	if (t != v->settle_for) { /* a new redirect, or none */
		v->settle_for = t;
		v->settle_until =
		    t != NULL && t->handover && t->role == VR_TUNNEL_DEST && v->hold.late != NULL
		        ? VR_SETTLE_ARMED
		        : 0;
	}
	if (v->settle_until == 0)
		return false;
	if (t->marked || now >= v->settle_until) {
		v->settle_until = 0;
		vr_hold_settle(&v->hold); /* behind what the tunnel brought */
		return false;
	}
	if (v->settle_until == VR_SETTLE_ARMED && v->d.n_txq > 0 && !v->hold.releasing &&
	    vr_hold_count(&v->hold) == 0)
		v->settle_until = now + rte_get_tsc_hz() / 1000 * SETTLE_MS;
	return true;
}

/* Frames of the device or of a tunnel, for the guest: held while it is on
 * its way (or settling), into its vrings, or dropped as nobody's. */
static void
deliver(struct vr_dev2vm *v, struct rte_mbuf **m, uint16_t n, uint64_t bytes, bool holding,
        uint64_t now)
{
	struct vr_dir *d = &v->d;

	if (holding)
		vr_hold_keep(d, &v->hold, m, n);
	else if (d->n_txq > 0)
		spread(d, m, n, now);
	else
		dir_drop_unready(d, m, n, bytes);
}

/* Room for one more burst where frames go now. */
static uint16_t
room(struct vr_dev2vm *v, bool holding)
{
	return holding ? vr_hold_room(&v->hold) : v->d.n_txq > 0 ? guest_room(&v->d) : VR_BURST;
}

/* DEST: what the peer relay sent the guest comes in ahead of the device's. */
static unsigned
from_tunnel(struct vr_dev2vm *v, struct vr_tunnel_port *t, bool holding, uint64_t now,
            struct vr_budget *b)
{
	struct rte_mbuf *m[VR_BURST];
	uint16_t want = budget_burst(b, room(v, holding)), n;
	uint64_t bytes;

	if (want == 0)
		return 0;
	n = port_rx(&t->port, 0, m, want);
	if (n == 0)
		return 0;
	if (unlikely(!holding && v->d.n_txq == 0)) {
		/* the tunnel brings frames only once the guest left the source:
		 * it is on its way here, however long ago the redirect was made
		 * (a move driven by libvirt's hook gives no word at the STOP) */
		__atomic_store_n(&v->hold_until, now + v->hold.patience, __ATOMIC_RELAXED);
		holding = true;
	}
	bytes = sum_bytes(m, n);
	ctr_add(v->d.c.tunnel_in, n);
	ctr_add(v->d.c.tunnel_in_bytes, bytes);
	budget_charge(b, n, bytes);
	deliver(v, m, n, bytes, holding, now);
	return n;
}

/* SOURCE with the guest gone: what the device receives for it goes to the
 * relay it went to (the tunnel takes every frame). */
static void
into_tunnel(struct vr_dev2vm *v, struct vr_tunnel_port *t, struct rte_mbuf **m, uint16_t n,
            uint64_t bytes)
{
	ctr_add(v->d.c.tunnel_out, n);
	ctr_add(v->d.c.tunnel_out_bytes, bytes);
	port_tx(&t->port, 0, m, n);
}

/* Held frames into the guest that came, a batch at a time, the next once
 * its vrings took the last; what waits in a pending buffer meanwhile gets
 * no retry window (a guest just resumed takes a while to drain its first
 * ring), only the hold's patience, after which what is still held goes.
 * True once nothing held is left: newer frames may follow. */
static bool
release_held(struct vr_dev2vm *v, uint64_t now, struct vr_budget *b)
{
	struct vr_dir *d = &v->d;
	struct vr_hold *h = &v->hold;
	struct rte_mbuf *m[VR_BURST];
	bool waiting = false;
	uint16_t want, n;

	if (!h->releasing) {
		h->releasing = true;
		h->since = now;
	}
	if (now - h->since > h->patience) {
		vr_hold_drop(d, h);
		h->releasing = false;
		return true;
	}
	for (uint16_t k = 0; k < d->n_txq; k++)
		if (d->pend[d->txq[k]].n > 0) {
			d->pend[d->txq[k]].since = now;
			waiting = true;
		}
	if (!waiting && vr_hold_count(h) > 0) {
		want = budget_burst(b, guest_room(d));
		n = want > 0 ? vr_hold_take(h, m, want) : 0;
		if (n > 0) {
			budget_charge(b, n, 0);
			spread(d, m, n, now);
		}
	} else if (!waiting) {
		h->releasing = false; /* all taken */
	}
	return vr_hold_count(h) == 0;
}

void
dev2vm_drain(struct vr_dev2vm *v)
{
	vr_hold_drop(&v->d, &v->hold);
}

unsigned
dev2vm_poll(struct vr_dev2vm *v, uint64_t now, struct vr_budget *b)
{
	struct vr_dir *d = &v->d;
	struct rte_mbuf *m[VR_BURST];
	uint32_t old_gen = d->seen_dst_gen;
	unsigned moved = 0;
	struct vr_underlay_tap *tap = __atomic_load_n(&v->tap, __ATOMIC_ACQUIRE);
	struct vr_tunnel_port *t = __atomic_load_n(&v->tunnel, __ATOMIC_ACQUIRE);

	if (unlikely(dir_sync(d)))
		on_sync(v, old_gen, now, t);
	bool holding = d->n_txq == 0 && unlikely(hold_active(v, now));
	bool away = d->n_txq == 0 && unlikely(t != NULL) && t->role == VR_TUNNEL_SOURCE;
	bool settle = unlikely(t != v->settle_for || v->settle_until != 0) && settling(v, t, now);

	for (uint16_t k = 0; k < d->n_txq; k++)
		flush_to_guest(d, d->txq[k], now);
	/* the guest came: what was held for it goes in before anything newer */
	if (unlikely(v->hold.releasing || vr_hold_count(&v->hold) > 0) && d->n_txq > 0 &&
	    !release_held(v, now, b))
		return moved;
	if (unlikely(t != NULL)) {
		vr_tunnel_tick(t, vr_tunnel_side(t, false), now);
		if (t->role == VR_TUNNEL_DEST)
			moved += from_tunnel(v, t, holding, now, b);
	}
	bool keep = holding || settle; /* the device's frames: no room in the guest's vrings */

	for (uint16_t i = 0; i < d->n_rxq && budget_left(b); i++) {
		uint16_t q = d->rxq[(d->next_q + i) % d->n_rxq];
		uint16_t want, got, n;

		do {
			/* the relay's own frames (the tap) are read even when the
			 * hold is full: the guest's beyond it are dropped then */
			want = budget_burst(b, away || (keep && tap != NULL) ? VR_BURST
			                                                     : room(v, keep));
			if (want == 0)
				break;
			got = port_rx(d->src, q, m, want);
			if (got == 0)
				break;
			n = got;
			if (unlikely(tap != NULL)) {
				/* the relay's own frames never reach the guest nor its
				 * counters, but they cost the worker's budget: a flood of
				 * them must not keep it in this loop */
				n = vr_underlay_tap_take(tap, m, got, now);
				budget_charge(b, (uint32_t)(got - n), 0);
				if (n == 0)
					continue;
			}
			uint64_t bytes = sum_bytes(m, n);

			dir_count_rx(d, n, bytes);
			budget_charge(b, n, bytes);
			moved += n;
			if (away)
				into_tunnel(v, t, m, n, bytes);
			else if (settle)
				vr_hold_keep_late(d, &v->hold, m, n);
			else
				deliver(v, m, n, bytes, holding, now);
		} while (got == want && budget_left(b));
	}
	d->next_q++;
	return moved;
}
