/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest to device (vm2dev.h). Worker code: no locks, no allocation beyond
 * the relay's own mbuf pool, no syscalls.
 */
#include "vm2dev.h"

#include <rte_memcpy.h>

#include "learn.h"
#include "offload.h"
#include "pending.h"
#include "underlay_tap.h"

/* The worker's only write of learned: readers retry around it. */
static void
learned_store(struct vr_vm2dev *v, const struct vr_addrs *next)
{
	rte_seqcount_write_begin(&v->learned_sc);
	v->learned = *next;
	rte_seqcount_write_end(&v->learned_sc);
}

void
vm2dev_learned(const struct vr_vm2dev *v, struct vr_addrs *out)
{
	uint32_t sn;

	do {
		sn = rte_seqcount_read_begin(&v->learned_sc);
		memcpy(out, (const void *)&v->learned, sizeof(*out));
	} while (rte_seqcount_read_retry(&v->learned_sc, sn));
}

static void
learn_from(struct vr_vm2dev *v, struct rte_mbuf **m, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *f = rte_pktmbuf_mtod(m[i], const uint8_t *);
		uint32_t len = rte_pktmbuf_data_len(m[i]);
		struct vr_addrs next;

		if (len < 14 || likely(!learn_may_teach(&v->learned, f, len)))
			continue;
		next = v->learned;
		if (vr_addrs_learn(&next, f, len))
			learned_store(v, &next);
	}
}

/* Announcements the control side queued go out ahead of guest traffic. */
static void
inject_send(struct vr_vm2dev *v)
{
	struct rte_mbuf *m[VR_BURST];
	unsigned n = rte_ring_sc_dequeue_burst(v->inject, (void **)m, VR_BURST, NULL);
	uint16_t sent = port_tx(v->d.dst, 0, m, (uint16_t)n);

	ctr_add(v->d.c.announced, sent);
	if (sent < n)
		rte_pktmbuf_free_bulk(m + sent, n - sent);
}

/* The tunnels' sealed frames, and SOURCE's frames from the peer: out on
 * the device (queue 0, which this worker owns) ahead of guest traffic.
 * What the device does not take is dropped, as a full NIC ring drops:
 * holding it would stall the tunnels behind one queue. */
static unsigned
to_device_now(struct vr_vm2dev *v, struct rte_mbuf **m, uint16_t n, uint64_t *sent_ctr,
              struct vr_budget *b)
{
	uint16_t sent = port_tx(v->d.dst, 0, m, n);

	budget_charge(b, n, 0);
	ctr_add(*sent_ctr, sent);
	if (sent < n) {
		ctr_add(v->d.c.drop_full, (uint64_t)(n - sent));
		rte_pktmbuf_free_bulk(m + sent, (unsigned)(n - sent));
	}
	return n;
}

/* Every tunnel that seals towards this device fills the tap's ring, some
 * from other workers: empty it as far as the pass's budget goes, or it
 * overflows and the tunnels drop (under_full) what they already sealed. */
static unsigned
sealed_send(struct vr_vm2dev *v, const struct vr_underlay_tap *u, struct vr_budget *b)
{
	struct rte_mbuf *m[VR_BURST];
	unsigned n, moved = 0;

	do {
		n = rte_ring_sc_dequeue_burst(u->sealed, (void **)m, budget_burst(b, VR_BURST),
		                              NULL);
		if (n > 0)
			moved += to_device_now(v, m, (uint16_t)n, &v->d.c.sealed_sent, b);
	} while (n == VR_BURST && budget_left(b));
	return moved;
}

static unsigned
from_tunnel(struct vr_vm2dev *v, struct vr_tunnel_port *t, struct vr_budget *b)
{
	struct rte_mbuf *m[VR_BURST];
	uint16_t n = port_rx(&t->port, 0, m, budget_burst(b, VR_BURST));

	if (n == 0)
		return 0;
	ctr_add(v->d.c.tunnel_in_bytes, sum_bytes(m, n));
	return to_device_now(v, m, n, &v->d.c.tunnel_in, b);
}

static inline uint16_t
dev_queue(const struct vr_vm2dev *v, uint16_t qp)
{
	return (uint16_t)(qp % v->d.dst->n_txq);
}

/* Software TSO: moves frames waiting in uncut[qp] into pend[qp] in order,
 * cutting those marked for it, as far as pend has room and the pool mbufs. */
static void
uncut_to_pending(struct vr_vm2dev *v, uint16_t qp, uint64_t now)
{
	struct vr_pending *u = &v->uncut[qp], *p = &v->d.pend[qp];
	uint32_t *done = &v->uncut_done[qp];
	uint16_t moved = 0;

	while (moved < u->n && p->n < VR_PEND_MAX) {
		struct rte_mbuf *f = u->m[moved];
		int cut = 0;

		if (p->n == 0)
			p->since = now;
		if (!offload_to_cut(f)) {
			p->m[p->n++] = f;
			moved++;
			continue;
		}
		cut = offload_cut(f, done, v->d.src->pool, p->m + p->n,
		                  (uint16_t)(VR_PEND_MAX - p->n));
		if (cut > 0) {
			p->n = (uint16_t)(p->n + cut);
			u->since = now; /* progress, though f is not done */
			ctr_add(v->d.c.tso_segments, (uint64_t)cut);
		}
		if (cut >= 0 && *done < offload_payload(f))
			break; /* pend is full or the pool empty: go on next pass */
		ctr_add(v->d.c.tso_cut, cut >= 0);
		ctr_add(v->d.c.offload_bad, cut < 0);
		rte_pktmbuf_free(f);
		*done = 0;
		moved++;
	}
	if (moved > 0)
		pending_consume(u, moved, now);
	pending_expire(&v->d, u, now);
	if (u->n == 0)
		*done = 0; /* expired with a frame cut in part */
}

/* Everything taken from guest queue pair qp goes out before more is taken:
 * true once nothing of it waits. */
static bool
to_device_flush(struct vr_vm2dev *v, uint16_t qp, uint64_t now)
{
	uint16_t q = dev_queue(v, qp);

	struct vr_pending *p = &v->d.pend[qp];

	if (p->n > 0) {
		pending_flush(&v->d, p, q, now);
		if (p->n > 0)
			return false;
	}
	if (likely(v->uncut[qp].n == 0))
		return true;
	uncut_to_pending(v, qp, now);
	pending_flush(&v->d, p, q, now);
	return p->n == 0 && v->uncut[qp].n == 0;
}

/* A frame chained in more mbufs than the device takes is made one mbuf,
 * or dropped when it does not fit in one (the guest chose the chain; a NIC
 * given too many descriptors for one frame may stall or report the VF). */
static bool
fits_device(struct vr_vm2dev *v, struct rte_mbuf *f)
{
	const struct vr_port *p = v->d.dst;
	uint16_t max = (f->ol_flags & RTE_MBUF_F_TX_TCP_SEG) ? p->max_tso_segs : p->max_segs;

	if (max == 0 || f->nb_segs <= max || rte_pktmbuf_linearize(f) == 0)
		return true;
	ctr_add(v->d.c.drop_segs, 1);
	rte_pktmbuf_free(f);
	return false;
}

/* One frame the guest left a checksum or segmentation to: finished here,
 * handed to the device (and checked by its driver), or marked for cutting.
 * false: it was dropped, and counted. */
static bool
finish_offload(struct vr_vm2dev *v, uint16_t q, struct rte_mbuf *f, bool *cut)
{
	enum vr_offload_verdict verdict = offload_prepare(f, v->d.dst->tx_offloads);

	*cut = verdict == VR_OFL_CUT;
	if (verdict == VR_OFL_READY && (f->ol_flags & RTE_MBUF_F_TX_L4_MASK) &&
	    port_tx_prepare(v->d.dst, q, &f, 1) != 1)
		verdict = VR_OFL_BAD;
	if (unlikely(verdict == VR_OFL_BAD)) {
		ctr_add(v->d.c.offload_bad, 1);
		rte_pktmbuf_free(f);
		return false;
	}
	if (*cut)
		return true;
	if (f->ol_flags & RTE_MBUF_F_TX_L4_MASK)
		ctr_add(v->d.c.offload_dev, 1);
	else
		ctr_add(v->d.c.csum_sw, 1);
	return true;
}

/* A burst with offload requests or chained frames (offload.h): each frame
 * finished or marked in place, or dropped when it cannot be met. From the
 * first frame to cut on, the burst waits in uncut[qp]. Returns the frames
 * before it, ready to send. */
static uint16_t
finish_frames(struct vr_vm2dev *v, uint16_t qp, struct rte_mbuf **m, uint16_t n, uint64_t now)
{
	uint16_t k = 0, first_cut = UINT16_MAX;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *f = m[i];
		bool cut = false;

		if (offload_wanted(f) && !finish_offload(v, dev_queue(v, qp), f, &cut))
			continue;
		if (cut)
			first_cut = RTE_MIN(first_cut, k);
		else if (f->nb_segs > 1 && !fits_device(v, f))
			continue;
		m[k++] = f;
	}
	if (first_cut == UINT16_MAX)
		return k;
	/* uncut[qp] is empty here: the queue pair is only polled once it is */
	rte_memcpy(v->uncut[qp].m, m + first_cut, (k - first_cut) * sizeof(m[0]));
	v->uncut[qp].n = (uint16_t)(k - first_cut);
	v->uncut[qp].since = now;
	return first_cut;
}

/* One pass over the burst's first cache lines: any offload request or any
 * chained frame sends it through finish_frames. */
static inline bool
burst_needs_care(struct rte_mbuf **m, uint16_t n)
{
	uint64_t fl = 0;
	uint16_t segs = 0;

	for (uint16_t i = 0; i < n; i++) {
		fl |= m[i]->ol_flags;
		segs |= m[i]->nb_segs;
	}
	return (fl & VR_OFFLOAD_RX_FLAGS) != 0 || segs > 1;
}

/* DEST: the guest's frames from its old addresses go into the tunnel;
 * returns how many are left for the device. */
static uint16_t
divert(struct vr_vm2dev *v, struct vr_tunnel_port *t, struct rte_mbuf **m, uint16_t n)
{
	uint64_t bytes;
	uint16_t keep = vr_tunnel_divert(t, m, n, &bytes);

	ctr_add(v->d.c.tunnel_out, (uint64_t)(n - keep));
	ctr_add(v->d.c.tunnel_out_bytes, bytes);
	return keep;
}

static unsigned
poll_queue(struct vr_vm2dev *v, uint16_t qp, uint64_t now, struct vr_budget *b,
           struct vr_tunnel_port *t)
{
	struct vr_dir *d = &v->d;
	struct rte_mbuf *m[VR_BURST];
	unsigned moved = 0;
	uint16_t want, n, ready, sent;

	do {
		want = budget_burst(b, VR_BURST);
		if (want == 0)
			break;
		n = port_rx(d->src, qp, m, want);
		if (n == 0)
			break; /* empty, or no mbufs: the control thread tells them apart */
		uint64_t bytes = sum_bytes(m, n);

		dir_count_rx(d, n, bytes);
		ctr_add(d->q_pkts[qp], n);
		budget_charge(b, n, bytes);
		moved += n;
		learn_from(v, m, n);
		ready = n;
		if (unlikely(t != NULL) && t->role == VR_TUNNEL_DEST)
			ready = divert(v, t, m, n);
		if (unlikely(burst_needs_care(m, ready)))
			ready = finish_frames(v, qp, m, ready, now);
		sent = dir_send(d, dev_queue(v, qp), m, ready);
		if (sent < ready) {
			pending_keep(d, &d->pend[qp], m + sent, (uint16_t)(ready - sent), now);
			break;
		}
		if (unlikely(v->uncut[qp].n > 0) && !to_device_flush(v, qp, now))
			break;
	} while (n == want && budget_left(b));
	return moved;
}

/* A new guest session: learn it afresh. */
static void
on_sync(struct vr_vm2dev *v, uint32_t old_gen)
{
	static const struct vr_addrs none;

	if (v->d.seen_src_gen != old_gen && v->d.seen_src_gen != 0)
		learned_store(v, &none);
}

unsigned
vm2dev_poll(struct vr_vm2dev *v, uint64_t now, struct vr_budget *b)
{
	struct vr_dir *d = &v->d;
	uint32_t old_gen = d->seen_src_gen;
	unsigned moved = 0;
	struct vr_underlay_tap *under = __atomic_load_n(&v->under, __ATOMIC_ACQUIRE);
	struct vr_tunnel_port *t = __atomic_load_n(&v->tunnel, __ATOMIC_ACQUIRE);

	if (unlikely(dir_sync(d)))
		on_sync(v, old_gen);
	if (unlikely(rte_ring_count(v->inject) > 0))
		inject_send(v);
	if (unlikely(under != NULL))
		moved += sealed_send(v, under, b);
	if (unlikely(t != NULL)) {
		vr_tunnel_tick(t, vr_tunnel_side(t, true), now);
		if (t->role == VR_TUNNEL_SOURCE)
			moved += from_tunnel(v, t, b);
	}
	if (d->n_rxq == 0) {
		/* no guest, or no vring: what it sent before still goes out */
		for (uint16_t qp = 0; qp < VR_MAX_QP; qp++)
			to_device_flush(v, qp, now);
		return moved;
	}
	for (uint16_t i = 0; i < d->n_rxq && budget_left(b); i++) {
		uint16_t qp = d->rxq[(d->next_q + i) % d->n_rxq];

		if (to_device_flush(v, qp, now))
			moved += poll_queue(v, qp, now, b, t);
	}
	d->next_q++;
	return moved;
}

void
vm2dev_drain(struct vr_vm2dev *v)
{
	struct rte_mbuf *m;

	for (uint16_t qp = 0; qp < VR_MAX_QP; qp++) {
		if (v->uncut[qp].n > 0)
			pending_drop_unready(&v->d, &v->uncut[qp]);
		v->uncut_done[qp] = 0;
	}
	while (v->inject != NULL && rte_ring_sc_dequeue(v->inject, (void **)&m) == 0)
		rte_pktmbuf_free(m);
}
