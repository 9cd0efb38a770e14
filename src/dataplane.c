/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The two relay directions. Run on worker lcores only: no locks, no
 * allocation, no syscalls of our own (lib/vhost may kick the guest's call
 * eventfd inside rte_vhost_enqueue_burst; that is the virtio contract).
 *
 * Backpressure: when the peer takes only part of a burst, the rest waits in
 * the direction's pending buffer for its queue and is retried on the next
 * passes; while a queue has pending packets no new ones are taken from that
 * source (the source ring fills and pushes back). Only when the peer makes no
 * progress for retry_tsc are the pending packets dropped and counted.
 */
#include "dataplane.h"

#include <rte_ethdev.h>
#include <rte_ring.h>
#include <rte_vhost.h>

#include "flowhash.h"
#include "offload.h"

#define VIRTIO_RXQ(qp) ((uint16_t)((qp)*2))
#define VIRTIO_TXQ(qp) ((uint16_t)((qp)*2 + 1))

static inline uint64_t
sum_bytes(struct rte_mbuf **m, uint16_t n)
{
	uint64_t bytes = 0;

	for (uint16_t i = 0; i < n; i++)
		bytes += rte_pktmbuf_pkt_len(m[i]);
	return bytes;
}

static void
pending_keep(struct vr_dir *d, struct vr_pending *p, struct rte_mbuf **m, uint16_t n, uint64_t now)
{
	if (p->n == 0) {
		p->since = now;
		ctr_add(d->c.retries, 1); /* a new backpressure episode */
	}
	rte_memcpy(&p->m[p->n], m, n * sizeof(m[0]));
	p->n += n;
}

static void
pending_consume(struct vr_pending *p, uint16_t sent, uint64_t now)
{
	p->n -= sent;
	if (p->n > 0)
		memmove(&p->m[0], &p->m[sent], p->n * sizeof(p->m[0]));
	p->since = now;
}

/* No peer will take these (the guest or its vring is gone): drop and count. */
static void
pending_drop_unready(struct vr_dir *d, struct vr_pending *p)
{
	ctr_add(d->c.drop_unready, p->n);
	ctr_add(d->c.drop_unready_bytes, sum_bytes(p->m, p->n));
	rte_pktmbuf_free_bulk(p->m, p->n);
	p->n = 0;
}

/* The peer made no progress for the whole retry window: give up on these. */
static void
pending_expire(struct vr_dir *d, struct vr_pending *p, uint64_t now)
{
	if (p->n == 0 || now - p->since <= d->retry_tsc)
		return;
	ctr_add(d->c.drop_full, p->n);
	ctr_add(d->c.drop_full_bytes, sum_bytes(p->m, p->n));
	rte_pktmbuf_free_bulk(p->m, p->n);
	p->n = 0;
}

/* Guest RX vring: lib/vhost copies into guest buffers, so we free what it took. */
static uint16_t
guest_enqueue(struct vr_dir *d, const struct vr_guest *g, uint16_t qp, struct rte_mbuf **m,
              uint16_t n)
{
	uint16_t sent = rte_vhost_enqueue_burst(g->vid, VIRTIO_RXQ(qp), m, n);

	if (sent > 0) {
		ctr_add(d->c.tx_pkts, sent);
		ctr_add(d->c.tx_bytes, sum_bytes(m, sent));
		ctr_add(d->c.q_pkts[qp], sent);
		rte_pktmbuf_free_bulk(m, sent);
	}
	return sent;
}

/* Device TX queue: the driver owns what it took, so count bytes beforehand. */
static uint16_t
device_transmit(struct vr_dir *d, uint16_t txq, struct rte_mbuf **m, uint16_t n)
{
	uint64_t bytes = sum_bytes(m, n);
	uint16_t sent = rte_eth_tx_burst(d->port, txq, m, n);

	if (sent > 0) {
		if (sent < n)
			bytes -= sum_bytes(m + sent, n - sent);
		ctr_add(d->c.tx_pkts, sent);
		ctr_add(d->c.tx_bytes, bytes);
	}
	return sent;
}

/* ---- device to guest ---- */

static void
to_guest_flush(struct vr_dir *d, const struct vr_guest *g, uint16_t qp, uint64_t now)
{
	struct vr_pending *p = &d->pend[qp];
	uint16_t sent;

	if (p->n == 0)
		return;
	sent = guest_enqueue(d, g, qp, p->m, p->n);
	if (sent > 0)
		pending_consume(p, sent, now);
	pending_expire(d, p, now);
}

/* Keeps order: new packets queue behind pending ones of the same vring. */
static void
to_guest_send(struct vr_dir *d, const struct vr_guest *g, uint16_t qp, struct rte_mbuf **m,
              uint16_t n, uint64_t now)
{
	struct vr_pending *p = &d->pend[qp];
	uint16_t sent;

	if (p->n > 0) {
		pending_keep(d, p, m, n, now);
		to_guest_flush(d, g, qp, now);
		return;
	}
	sent = guest_enqueue(d, g, qp, m, n);
	if (sent < n)
		pending_keep(d, p, m + sent, n - sent, now);
}

static inline uint32_t
packet_hash(struct rte_mbuf *m)
{
	if (m->ol_flags & RTE_MBUF_F_RX_RSS_HASH)
		return m->hash.rss;
	return vr_flow_hash(rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m));
}

static void
to_guest_spread(struct vr_dir *d, const struct vr_guest *g, struct rte_mbuf **m, uint16_t n,
                uint64_t now)
{
	struct rte_mbuf *bucket[VR_MAX_QP][VR_BURST];
	uint16_t count[VR_MAX_QP];

	if (d->n_rx == 1) {
		to_guest_send(d, g, d->rx_qp[0], m, n, now);
		return;
	}
	memset(count, 0, d->n_rx * sizeof(count[0]));
	for (uint16_t i = 0; i < n; i++) {
		uint16_t k = (uint16_t)(packet_hash(m[i]) % d->n_rx);

		bucket[k][count[k]++] = m[i];
	}
	for (uint16_t k = 0; k < d->n_rx; k++)
		if (count[k] > 0)
			to_guest_send(d, g, d->rx_qp[k], bucket[k], count[k], now);
}

/* Room every enabled vring's pending buffer has for one more burst. */
static uint16_t
to_guest_room(const struct vr_dir *d)
{
	uint16_t room = VR_BURST;

	for (uint16_t k = 0; k < d->n_rx; k++) {
		uint16_t free = VR_PEND_MAX - d->pend[d->rx_qp[k]].n;

		if (free < room)
			room = free;
	}
	return room;
}

static void drop_pending_except(struct vr_dir *d, uint64_t keep);

/* Holding frames for a guest on its way (hold_until)? Once the window
 * closes without it, what was held is dropped as not-ready. */
static bool
hold_active(struct vr_dir *d, uint64_t now)
{
	uint64_t until = __atomic_load_n(&d->hold_until, __ATOMIC_RELAXED);

	if (until == 0)
		return false;
	if (now < until)
		return true;
	__atomic_store_n(&d->hold_until, 0, __ATOMIC_RELAXED);
	drop_pending_except(d, 0);
	return false;
}

/* Room in the hold buffer for one more burst. */
static uint16_t
hold_room(const struct vr_dir *d)
{
	uint16_t free = VR_PEND_MAX - d->pend[0].n;

	return free < VR_BURST ? free : VR_BURST;
}

static unsigned
dev2vm_poll(struct vr_dir *d, const struct vr_guest *g, uint64_t now, struct vr_budget *b)
{
	struct rte_mbuf *m[VR_BURST];
	unsigned moved = 0;
	bool holding = unlikely(g == NULL && hold_active(d, now));

	if (g != NULL)
		for (uint16_t k = 0; k < d->n_rx; k++)
			to_guest_flush(d, g, d->rx_qp[k], now);

	for (uint16_t i = 0; i < d->n_devq && budget_left(b); i++) {
		uint16_t q = (uint16_t)((d->next_q + i) % d->n_devq);
		uint16_t want, n;

		do {
			want = budget_burst(b, g != NULL ? to_guest_room(d)
			                       : holding ? hold_room(d)
			                                 : VR_BURST);
			if (want == 0)
				break;
			n = rte_eth_rx_burst(d->port, q, m, want);
			if (n == 0)
				break;
			uint64_t bytes = sum_bytes(m, n);

			ctr_add(d->c.rx_pkts, n);
			ctr_add(d->c.rx_bytes, bytes);
			budget_charge(b, n, bytes);
			moved += n;
			if (g == NULL && holding) {
				pending_keep(d, &d->pend[0], m, n, now);
			} else if (g == NULL || d->n_rx == 0) {
				ctr_add(d->c.drop_unready, n);
				ctr_add(d->c.drop_unready_bytes, bytes);
				rte_pktmbuf_free_bulk(m, n);
			} else {
				to_guest_spread(d, g, m, n, now);
			}
		} while (n == want && budget_left(b));
	}
	d->next_q++;
	return moved;
}

/* ---- guest to device ---- */

/*
 * Learning the guest's addresses (announce.h). Most frames are neither ARP
 * nor neighbour discovery and come from the MAC already known: they cost
 * two compares. The rest update a copy that readers see through learned_seq.
 */
static inline bool
may_teach(const struct vr_dir *d, const uint8_t *f, uint32_t len)
{
	uint16_t type = (uint16_t)(f[12] << 8 | f[13]);

	if (type == 0x0806)
		return true;
	if (type == 0x86dd)
		return len >= 14 + 40 + 1 && f[14 + 6] == 58 &&
		       (f[14 + 40] == 135 || f[14 + 40] == 136);
	return !d->learned.has_mac || memcmp(f + 6, d->learned.mac, 6) != 0;
}

/* The worker's only write of learned: readers retry while learned_seq is odd
 * or moved (dir_learned_read). */
static void
learned_store(struct vr_dir *d, const struct vr_addrs *next)
{
	__atomic_store_n(&d->learned_seq, d->learned_seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	d->learned = *next;
	__atomic_store_n(&d->learned_seq, d->learned_seq + 1, __ATOMIC_RELEASE);
}

static void
learn_from(struct vr_dir *d, struct rte_mbuf **m, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *f = rte_pktmbuf_mtod(m[i], const uint8_t *);
		uint32_t len = rte_pktmbuf_data_len(m[i]);
		struct vr_addrs next;

		if (len < 14 || likely(!may_teach(d, f, len)))
			continue;
		next = d->learned;
		if (vr_addrs_learn(&next, f, len))
			learned_store(d, &next);
	}
}

void
dir_learned_read(const struct vr_dir *d, struct vr_addrs *out)
{
	uint32_t before, after;

	do {
		before = __atomic_load_n(&d->learned_seq, __ATOMIC_ACQUIRE);
		memcpy(out, (const void *)&d->learned, sizeof(*out));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		after = __atomic_load_n(&d->learned_seq, __ATOMIC_RELAXED);
	} while ((before & 1) != 0 || before != after);
}

/* Announcements the control side queued go out ahead of guest traffic. */
static void
inject_send(struct vr_dir *d)
{
	struct rte_mbuf *m[VR_BURST];
	unsigned n = rte_ring_sc_dequeue_burst(d->inject, (void **)m, VR_BURST, NULL);
	uint16_t sent = rte_eth_tx_burst(d->port, 0, m, (uint16_t)n);

	ctr_add(d->c.announced, sent);
	if (sent < n)
		rte_pktmbuf_free_bulk(m + sent, n - sent);
}

/* Guest queue pair qp goes out on device queue qp mod n_devq. */
static bool
pending_to_device(struct vr_dir *d, uint16_t qp, uint64_t now)
{
	struct vr_pending *p = &d->pend[qp];
	uint16_t sent;

	if (p->n == 0)
		return true;
	sent = device_transmit(d, qp % d->n_devq, p->m, p->n);
	if (sent > 0)
		pending_consume(p, sent, now);
	pending_expire(d, p, now);
	return p->n == 0;
}

/* Software TSO: moves frames waiting in uncut[qp] into pend[qp] in order,
 * cutting those marked for it, as far as pend has room and the pool mbufs. */
static void
uncut_to_pending(struct vr_dir *d, uint16_t qp, uint64_t now)
{
	struct vr_pending *u = &d->uncut[qp], *p = &d->pend[qp];
	uint32_t *done = &d->uncut_done[qp];
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
		cut = offload_cut(f, done, d->pool, p->m + p->n, (uint16_t)(VR_PEND_MAX - p->n));
		if (cut > 0) {
			p->n = (uint16_t)(p->n + cut);
			u->since = now; /* progress, though f is not done */
			ctr_add(d->c.tso_segments, (uint64_t)cut);
		}
		if (cut >= 0 && *done < offload_payload(f))
			break; /* pend is full or the pool empty: go on next pass */
		ctr_add(d->c.tso_cut, cut >= 0);
		ctr_add(d->c.offload_bad, cut < 0);
		rte_pktmbuf_free(f);
		*done = 0;
		moved++;
	}
	if (moved > 0)
		pending_consume(u, moved, now);
	pending_expire(d, u, now);
	if (u->n == 0)
		*done = 0; /* expired with a frame cut in part */
}

/* Everything taken from guest queue pair qp goes out before more is taken:
 * true once nothing of it waits. */
static bool
to_device_flush(struct vr_dir *d, uint16_t qp, uint64_t now)
{
	if (!pending_to_device(d, qp, now))
		return false;
	if (likely(d->uncut[qp].n == 0))
		return true;
	uncut_to_pending(d, qp, now);
	return pending_to_device(d, qp, now) && d->uncut[qp].n == 0;
}

/* Frames the guest left checksums or segmentation to (offload.h): finishes
 * or marks them in place and drops those that cannot be met. From the first
 * frame to cut on, the burst waits in uncut[qp]. Returns the frames before
 * it, ready to send. */
static uint16_t
vm2dev_offload(struct vr_dir *d, uint16_t qp, struct rte_mbuf **m, uint16_t n, uint64_t now)
{
	uint16_t k = 0, first_cut = UINT16_MAX;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *f = m[i];

		if (offload_wanted(f)) {
			enum vr_offload_verdict v = offload_prepare(f, d->dev_tx);

			if (unlikely(v == VR_OFL_BAD)) {
				ctr_add(d->c.offload_bad, 1);
				rte_pktmbuf_free(f);
				continue;
			}
			if (v == VR_OFL_CUT)
				first_cut = RTE_MIN(first_cut, k);
			else if (f->ol_flags & RTE_MBUF_F_TX_L4_MASK)
				ctr_add(d->c.offload_dev, 1);
			else
				ctr_add(d->c.csum_sw, 1);
		}
		m[k++] = f;
	}
	if (first_cut == UINT16_MAX)
		return k;
	/* uncut[qp] is empty here: the queue pair is only polled once it is */
	rte_memcpy(d->uncut[qp].m, m + first_cut, (k - first_cut) * sizeof(m[0]));
	d->uncut[qp].n = (uint16_t)(k - first_cut);
	d->uncut[qp].since = now;
	return first_cut;
}

static inline bool
burst_wants_offload(struct rte_mbuf **m, uint16_t n)
{
	uint64_t fl = 0;

	for (uint16_t i = 0; i < n; i++)
		fl |= m[i]->ol_flags;
	return (fl & VR_OFFLOAD_RX_FLAGS) != 0;
}

static unsigned
vm2dev_queue(struct vr_dir *d, const struct vr_guest *g, uint16_t qp, uint64_t now,
             struct vr_budget *b)
{
	struct rte_mbuf *m[VR_BURST];
	unsigned moved = 0;
	uint16_t want, n, sent;

	do {
		want = budget_burst(b, VR_BURST);
		if (want == 0)
			break;
		n = rte_vhost_dequeue_burst(g->vid, VIRTIO_TXQ(qp), d->pool, m, want);
		if (n == 0)
			break; /* empty, or no mbufs: the control thread tells them apart */
		uint64_t bytes = sum_bytes(m, n);

		ctr_add(d->c.rx_pkts, n);
		ctr_add(d->c.rx_bytes, bytes);
		ctr_add(d->c.q_pkts[qp], n);
		budget_charge(b, n, bytes);
		moved += n;
		learn_from(d, m, n);
		uint16_t ready = n;

		if (unlikely(burst_wants_offload(m, n)))
			ready = vm2dev_offload(d, qp, m, n, now);
		sent = device_transmit(d, qp % d->n_devq, m, ready);
		if (sent < ready) {
			pending_keep(d, &d->pend[qp], m + sent, ready - sent, now);
			break;
		}
		if (unlikely(d->uncut[qp].n > 0) && !to_device_flush(d, qp, now))
			break;
	} while (n == want && budget_left(b));
	return moved;
}

static unsigned
vm2dev_poll(struct vr_dir *d, const struct vr_guest *g, uint64_t now, struct vr_budget *b)
{
	unsigned moved = 0;

	if (unlikely(d->inject != NULL && rte_ring_count(d->inject) > 0))
		inject_send(d);
	if (g == NULL) {
		/* guest gone: what it sent before leaving still goes out */
		for (uint16_t qp = 0; qp < VR_MAX_QP; qp++)
			to_device_flush(d, qp, now);
		return 0;
	}
	for (uint16_t i = 0; i < d->n_tx && budget_left(b); i++) {
		uint16_t qp = d->tx_qp[(d->next_q + i) % d->n_tx];

		if (to_device_flush(d, qp, now))
			moved += vm2dev_queue(d, g, qp, now, b);
	}
	d->next_q++;
	return moved;
}

/* Drop (as not-ready) what waits for a queue pair whose bit in keep (the
 * guest RX vring bit, 2 qp) is clear: a vring that is gone never takes it. */
static void
drop_pending_except(struct vr_dir *d, uint64_t keep)
{
	for (uint16_t qp = 0; qp < VR_MAX_QP; qp++) {
		struct vr_pending *p = &d->pend[qp];

		if (p->n > 0 && !(keep & (1ULL << (2 * qp))))
			pending_drop_unready(d, p);
	}
}

/* The guest or its enabled vrings changed: re-derive the vring lists. */
static void
dir_refresh(struct vr_dir *d, const struct vr_guest *g, uint32_t gen, uint64_t mask)
{
	uint64_t live = g != NULL ? mask : 0;

	d->n_rx = 0;
	d->n_tx = 0;
	for (uint16_t qp = 0; qp < VR_MAX_QP; qp++) {
		if (live & (1ULL << (2 * qp)))
			d->rx_qp[d->n_rx++] = qp;
		if (live & (1ULL << (2 * qp + 1)))
			d->tx_qp[d->n_tx++] = qp;
	}
	if (d->kind == VR_DIR_DEV2VM) {
		/* frames held for a guest on its way stay until it comes */
		if (g != NULL)
			__atomic_store_n(&d->hold_until, 0, __ATOMIC_RELAXED);
		if (g != NULL || __atomic_load_n(&d->hold_until, __ATOMIC_RELAXED) == 0)
			drop_pending_except(d, live);
	}
	if (d->kind == VR_DIR_VM2DEV && gen != d->seen_gen && gen != 0) {
		static const struct vr_addrs none;

		learned_store(d, &none); /* a new guest session: learn it afresh */
	}
	d->seen_gen = gen;
	d->seen_mask = mask;
}

unsigned
dir_poll(struct vr_dir *d, uint64_t now, struct vr_budget *b)
{
	const struct vr_guest *g = __atomic_load_n(&d->guest, __ATOMIC_ACQUIRE);

	uint64_t mask = __atomic_load_n(&d->vring_mask, __ATOMIC_ACQUIRE);
	uint32_t gen = g != NULL ? g->gen : 0;

	if (unlikely(gen != d->seen_gen || mask != d->seen_mask))
		dir_refresh(d, g, gen, mask);

	if (d->kind == VR_DIR_DEV2VM)
		return dev2vm_poll(d, g, now, b);
	return vm2dev_poll(d, g, now, b);
}

void
dir_drain(struct vr_dir *d)
{
	drop_pending_except(d, 0);
	for (uint16_t qp = 0; qp < VR_MAX_QP; qp++) {
		pending_drop_unready(d, &d->uncut[qp]);
		d->uncut_done[qp] = 0;
	}
}
