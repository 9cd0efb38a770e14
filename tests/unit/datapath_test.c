/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The two directions (datapath/vm2dev.c, dev2vm.c) between fake ports
 * (fakeport.h), on real mbufs from an EAL in memory: backpressure and the
 * retry window, the hold, vrings going away, a guest that vanishes, flow
 * spread over queues, chained frames, software TSO, injected frames and
 * the per-pass budget, with every counter checked at every step and every
 * mbuf back in its pool at the end. Time is the test's: each poll is given
 * its own "now".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "dev2vm.h"
#include "eal.h"
#include "fakeport.h"
#include "handoff.h"
#include "neigh.h"
#include "offload.h"
#include "unit.h"
#include "vm2dev.h"

#define HOLD_FRAMES 100  /* the hold's frames: more than a pending buffer's */
#define RETRY       1000 /* TSC cycles of the retry window, in test time */

static struct rte_mempool *pool;

/* A relay's worth of ports and directions. */
struct rig {
	struct fake_port guest, dev;
	struct vr_vm2dev vm2dev;
	struct vr_dev2vm dev2vm;
};

static struct rig *
rig_new(uint16_t dev_queues)
{
	struct rig *r = aligned_alloc(RTE_CACHE_LINE_SIZE,
	                              RTE_ALIGN_CEIL(sizeof(struct rig), RTE_CACHE_LINE_SIZE));

	assert_non_null(r);
	memset(r, 0, sizeof(*r));
	r->guest.port.ops = &fake_ops;
	r->guest.port.n_txq = VR_MAX_QP;
	r->guest.port.pool = pool;
	r->dev.port.ops = &fake_ops;
	r->dev.port.n_txq = dev_queues;
	r->dev.port.pool = pool;
	handoff_port_queues(&r->dev.port, (1ULL << dev_queues) - 1, (1ULL << dev_queues) - 1);
	handoff_port_up(&r->dev.port);
	r->vm2dev.d = (struct vr_dir){.kind = VR_VM2DEV,
	                              .src = &r->guest.port,
	                              .dst = &r->dev.port,
	                              .retry_tsc = RETRY,
	                              .worker = -1};
	r->dev2vm.d = (struct vr_dir){.kind = VR_DEV2VM,
	                              .src = &r->dev.port,
	                              .dst = &r->guest.port,
	                              .retry_tsc = RETRY,
	                              .worker = -1};
	rte_seqcount_init(&r->vm2dev.learned_sc);
	r->vm2dev.inject = rte_ring_create("dp_test_inject", 64, SOCKET_ID_ANY, RING_F_SC_DEQ);
	assert_non_null(r->vm2dev.inject);
	r->dev2vm.hold.ring = rte_ring_create("dp_test_hold", HOLD_FRAMES, SOCKET_ID_ANY,
	                                      RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
	r->dev2vm.hold.bytes_max = UINT64_MAX;
	r->dev2vm.hold.patience = UINT64_MAX / 2;
	assert_non_null(r->dev2vm.hold.ring);
	return r;
}

/* A guest with queue pairs 0..n-1 enabled both ways. */
static void
guest_up(struct rig *r, unsigned n)
{
	uint64_t mask = (1ULL << n) - 1;

	handoff_port_queues(&r->guest.port, mask, mask);
	handoff_port_up(&r->guest.port);
}

static void
guest_down(struct rig *r)
{
	handoff_port_down(&r->guest.port);
	handoff_port_queues(&r->guest.port, 0, 0);
}

/* Everything back: what the directions hold, what the ports hold. */
static void
rig_free(struct rig *r)
{
	dir_drain(&r->vm2dev.d);
	dir_drain(&r->dev2vm.d);
	for (unsigned q = 0; q < VR_MAX_QP; q++) {
		fake_queue_free(&r->guest.rx[q]);
		fake_queue_free(&r->guest.tx[q]);
		fake_queue_free(&r->dev.rx[q]);
		fake_queue_free(&r->dev.tx[q]);
	}
	rte_ring_free(r->vm2dev.inject);
	rte_ring_free(r->dev2vm.hold.ring);
	free(r);
	assert_int_equal(rte_mempool_avail_count(pool), pool->size); /* nothing leaked */
}

/* A UDP/IPv4 frame of len bytes (>= 64) from 192.0.2.<flow> port 1000+flow,
 * carrying seq in its payload, in segments of at most seg bytes. */
static struct rte_mbuf *
frame(uint32_t seq, uint16_t flow, uint16_t len, uint16_t seg)
{
	uint8_t f[9018] = {0};
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + 14);
	struct rte_udp_hdr *u = (struct rte_udp_hdr *)(ip + 1);
	struct rte_mbuf *head = NULL;

	memcpy(f, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00", 14);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(len - 14));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(0xc0000200u + flow); /* 192.0.2.x */
	ip->dst_addr = rte_cpu_to_be_32(0xc6336401u);        /* 198.51.100.1 */
	u->src_port = rte_cpu_to_be_16((uint16_t)(1000 + flow));
	u->dst_port = rte_cpu_to_be_16(5201);
	u->dgram_len = rte_cpu_to_be_16((uint16_t)(len - 34));
	memcpy(f + 42, &seq, sizeof(seq));
	for (uint32_t off = 0; off < len;) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		uint16_t n = (uint16_t)RTE_MIN((uint32_t)seg, len - off);

		assert_non_null(m);
		memcpy(rte_pktmbuf_append(m, n), f + off, n);
		off += n;
		if (head == NULL)
			head = m;
		else
			assert_int_equal(rte_pktmbuf_chain(head, m), 0);
	}
	return head;
}

static uint32_t
seq_of(const struct rte_mbuf *m)
{
	uint32_t seq;

	memcpy(&seq, rte_pktmbuf_read(m, 42, sizeof(seq), &seq), sizeof(seq));
	return seq;
}

/* n frames of 64 bytes, sequence numbers from first, into queue fq. */
static void
push_frames(struct fake_queue *fq, uint32_t first, uint32_t n, uint16_t flow)
{
	for (uint32_t i = 0; i < n; i++)
		fake_queue_push(fq, frame(first + i, flow, 64, 2048));
}

/* Frames at..at+n of what fq took carry sequence numbers first, first+1, ... */
static void
assert_run(const struct fake_queue *fq, uint32_t at, uint32_t first, uint32_t n)
{
	assert_true(at + n <= fq->n);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(seq_of(fq->m[at + i]), first + i);
}

/* Everything fq took carries sequence numbers first, first+1, ... */
static void
assert_in_order(const struct fake_queue *fq, uint32_t first)
{
	assert_run(fq, 0, first, fq->n);
}

static uint32_t
pending_total(const struct vr_dir *d)
{
	uint32_t n = 0;

	for (unsigned q = 0; q < VR_MAX_QP; q++)
		n += d->pend[q].n;
	return n;
}

/* ---- guest to device ---- */

static void
test_vm2dev_relays_in_order(void **state)
{
	struct rig *r = rig_new(1);
	struct vr_dir *d = &r->vm2dev.d;

	(void)state;
	guest_up(r, 1);
	push_frames(&r->guest.rx[0], 0, 40, 1);
	r->dev.tx_room[0] = 1000;
	assert_int_equal(poll_at(d, 1), 40);
	assert_int_equal(r->dev.tx[0].n, 40);
	assert_in_order(&r->dev.tx[0], 0);
	assert_int_equal(d->c.rx_pkts, 40);
	assert_int_equal(d->c.tx_pkts, 40);
	assert_int_equal(d->c.rx_bytes, 40 * 64);
	assert_int_equal(d->c.tx_bytes, 40 * 64);
	assert_int_equal(d->q_pkts[0], 40);
	assert_int_equal(d->c.retries, 0);
	/* the guest's MAC was learned from the frames' source */
	struct vr_addrs a;

	vm2dev_learned(&r->vm2dev, &a);
	assert_true(a.has_mac);
	assert_memory_equal(a.mac, "\x02\x00\x00\x00\x00\x02", 6);
	rig_free(r);
}

/* The device stops taking: what it left waits, nothing more is taken from
 * the guest, and only a whole retry window without progress drops. */
static void
test_vm2dev_backpressure_and_retry_window(void **state)
{
	struct rig *r = rig_new(1);
	struct vr_dir *d = &r->vm2dev.d;

	(void)state;
	guest_up(r, 1);
	push_frames(&r->guest.rx[0], 0, 100, 1);
	r->dev.tx_room[0] = 10;
	/* one burst of 32 taken, 10 sent, 22 wait; the guest keeps 68 */
	assert_int_equal(poll_at(d, 100), 32);
	assert_int_equal(d->pend[0].n, 22);
	assert_int_equal(fake_queue_len(&r->guest.rx[0]), 68);
	assert_int_equal(d->c.retries, 1);
	/* no room, within the window: nothing moves, nothing is dropped */
	assert_int_equal(poll_at(d, 100 + RETRY), 0);
	assert_int_equal(d->pend[0].n, 22);
	assert_int_equal(fake_queue_len(&r->guest.rx[0]), 68);
	assert_int_equal(d->c.drop_full, 0);
	/* progress renews the window: 5 go at 100 + RETRY + 1 */
	r->dev.tx_room[0] = 5;
	poll_at(d, 100 + RETRY + 1);
	assert_int_equal(d->pend[0].n, 17);
	poll_at(d, 100 + 2 * RETRY + 1);
	assert_int_equal(d->c.drop_full, 0);
	/* a whole window past the last progress: the 17 are dropped, counted */
	poll_at(d, 100 + 2 * RETRY + 2);
	assert_int_equal(d->c.drop_full, 17);
	assert_int_equal(d->c.drop_full_bytes, 17 * 64);
	assert_int_equal(d->c.tx_pkts, 15);
	/* the device is back: the guest's remaining frames flow again, in order */
	r->dev.tx_room[0] = 1000;
	poll_at(d, 100 + 2 * RETRY + 3);
	assert_int_equal(r->dev.tx[0].n, 15 + 68);
	assert_run(&r->dev.tx[0], 0, 0, 15);   /* before the stall */
	assert_run(&r->dev.tx[0], 15, 32, 68); /* 15..31 were dropped */
	rig_free(r);
}

/* The guest leaves with frames waiting: what it sent still goes out. */
static void
test_vm2dev_guest_gone_with_frames_pending(void **state)
{
	struct rig *r = rig_new(1);
	struct vr_dir *d = &r->vm2dev.d;

	(void)state;
	guest_up(r, 1);
	push_frames(&r->guest.rx[0], 0, 20, 1);
	poll_at(d, 1); /* the device takes nothing yet */
	assert_int_equal(d->pend[0].n, 20);
	guest_down(r);
	r->dev.tx_room[0] = 1000;
	poll_at(d, 2);
	assert_int_equal(d->pend[0].n, 0);
	assert_int_equal(d->c.tx_pkts, 20);
	assert_in_order(&r->dev.tx[0], 0);
	/* and nothing is taken from a guest that is not there */
	push_frames(&r->guest.rx[0], 100, 5, 1);
	assert_int_equal(poll_at(d, 3), 0);
	assert_int_equal(r->guest.rx_calls, 1);
	rig_free(r);
}

/* Guest queue pair q goes out on device queue q mod n. */
static void
test_vm2dev_queue_pairs_map_onto_device_queues(void **state)
{
	struct rig *r = rig_new(2);
	struct vr_dir *d = &r->vm2dev.d;

	(void)state;
	guest_up(r, 3);
	for (uint16_t q = 0; q < 3; q++)
		push_frames(&r->guest.rx[q], 100 * q, 7, q);
	r->dev.tx_room[0] = r->dev.tx_room[1] = 1000;
	assert_int_equal(poll_at(d, 1), 21);
	assert_int_equal(r->dev.tx[0].n, 14); /* guest queues 0 and 2 */
	assert_int_equal(r->dev.tx[1].n, 7);
	for (uint16_t q = 0; q < 3; q++)
		assert_int_equal(d->q_pkts[q], 7);
	rig_free(r);
}

/* Announcements queued by the control side go out ahead of guest frames. */
static void
test_vm2dev_injected_frames_first(void **state)
{
	struct rig *r = rig_new(1);
	struct vr_dir *d = &r->vm2dev.d;
	struct rte_mbuf *m[3];

	(void)state;
	guest_up(r, 1);
	for (int i = 0; i < 3; i++)
		m[i] = frame(900 + (uint32_t)i, 9, 64, 2048);
	assert_int_equal(handoff_inject(&r->vm2dev, m, 3), 3);
	push_frames(&r->guest.rx[0], 0, 4, 1);
	r->dev.tx_room[0] = 1000;
	poll_at(d, 1);
	assert_int_equal(d->c.announced, 3);
	assert_int_equal(d->c.tx_pkts, 4); /* announcements are not guest traffic */
	assert_int_equal(r->dev.tx[0].n, 7);
	for (int i = 0; i < 3; i++)
		assert_int_equal(seq_of(r->dev.tx[0].m[i]), 900 + i);
	assert_int_equal(seq_of(r->dev.tx[0].m[3]), 0);
	rig_free(r);
}

/* A guest's TSO frame for a device without TSO: cut into MSS segments,
 * more than one pending buffer holds, between the frames sent before and
 * after it, in order. */
static void
test_vm2dev_software_tso_keeps_order(void **state)
{
	struct rig *r = rig_new(1);
	struct vr_dir *d = &r->vm2dev.d;
	/* 14 + 20 + 20 header bytes, 10000 payload bytes, MSS 100: 100 segments */
	uint8_t f[10054] = {0};
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + 14);
	struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)(ip + 1);
	struct rte_mbuf *big = NULL;

	(void)state;
	guest_up(r, 1);
	memcpy(f, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00", 14);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16(sizeof(f) - 14);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = rte_cpu_to_be_32(0xc0000201u);
	ip->dst_addr = rte_cpu_to_be_32(0xc6336401u);
	t->data_off = 5 << 4;
	t->tcp_flags = RTE_TCP_ACK_FLAG;
	for (uint32_t off = 0; off < sizeof(f);) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		uint16_t n = (uint16_t)RTE_MIN(2048u, (uint32_t)sizeof(f) - off);

		memcpy(rte_pktmbuf_append(m, n), f + off, n);
		off += n;
		if (big == NULL)
			big = m;
		else
			assert_int_equal(rte_pktmbuf_chain(big, m), 0);
	}
	big->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_NONE | RTE_MBUF_F_RX_LRO;
	big->tso_segsz = 100;
	fake_queue_push(&r->guest.rx[0], frame(1, 1, 64, 2048));
	fake_queue_push(&r->guest.rx[0], big);
	fake_queue_push(&r->guest.rx[0], frame(2, 1, 64, 2048));
	r->dev.tx_room[0] = 1000;
	for (uint64_t now = 1; now <= 4; now++)
		poll_at(d, now);
	assert_int_equal(d->c.tso_cut, 1);
	assert_int_equal(d->c.tso_segments, 100);
	assert_int_equal(d->c.offload_bad, 0);
	assert_int_equal(r->dev.tx[0].n, 102);
	assert_int_equal(seq_of(r->dev.tx[0].m[0]), 1);
	for (uint32_t i = 1; i <= 100; i++) {
		const struct rte_mbuf *s = r->dev.tx[0].m[i];
		const struct rte_tcp_hdr *th =
		    rte_pktmbuf_mtod_offset(s, const struct rte_tcp_hdr *, 34);

		assert_int_equal(rte_pktmbuf_pkt_len(s), 54 + 100);
		assert_int_equal(s->ol_flags & RTE_MBUF_F_RX_LRO, 0);
		assert_int_equal(rte_be_to_cpu_32(th->sent_seq), (i - 1) * 100); /* in order */
	}
	assert_int_equal(seq_of(r->dev.tx[0].m[101]), 2);
	rig_free(r);
}

/* One pass takes at most the budget's frames from a busy guest. */
static void
test_vm2dev_budget_per_pass(void **state)
{
	struct rig *r = rig_new(1);
	struct vr_dir *d = &r->vm2dev.d;

	(void)state;
	guest_up(r, 1);
	push_frames(&r->guest.rx[0], 0, 1000, 1);
	r->dev.tx_room[0] = 2000;
	assert_int_equal(poll_at(d, 1), VR_BUDGET_PKTS);
	assert_int_equal(poll_at(d, 2), VR_BUDGET_PKTS);
	assert_int_equal(d->c.tx_pkts, 2 * VR_BUDGET_PKTS);
	rig_free(r);
}

/* Issue 12 item 4: a chain longer than the device takes is made one mbuf
 * when it fits in one, else dropped and counted; shorter chains go as they
 * are, all in order. */
static void
test_vm2dev_chains_longer_than_the_device_takes(void **state)
{
	struct rig *r = rig_new(1);
	struct vr_dir *d = &r->vm2dev.d;
	struct fake_queue *tx = &r->dev.tx[0];

	(void)state;
	r->dev.port.max_segs = 2;
	guest_up(r, 1);
	fake_queue_push(&r->guest.rx[0], frame(0, 1, 1500, 500));  /* 3 segments, fits one */
	fake_queue_push(&r->guest.rx[0], frame(1, 1, 9018, 2048)); /* 5 segments, does not */
	fake_queue_push(&r->guest.rx[0], frame(2, 1, 3000, 2048)); /* 2 segments: as it is */
	fake_queue_push(&r->guest.rx[0], frame(3, 1, 64, 2048));
	r->dev.tx_room[0] = 100;
	assert_int_equal(poll_at(d, 1), 4);
	assert_int_equal(d->c.drop_segs, 1);
	assert_int_equal(d->c.tx_pkts, 3);
	assert_int_equal(tx->n, 3);
	assert_int_equal(seq_of(tx->m[0]), 0);
	assert_int_equal(tx->m[0]->nb_segs, 1);
	assert_int_equal(rte_pktmbuf_pkt_len(tx->m[0]), 1500);
	assert_int_equal(seq_of(tx->m[1]), 2);
	assert_int_equal(tx->m[1]->nb_segs, 2);
	assert_int_equal(seq_of(tx->m[2]), 3);
	rig_free(r);
}

/* A driver that refuses every frame carrying TX offload flags. */
static uint16_t
refuse_flagged(struct vr_port *p, uint16_t q, struct rte_mbuf **m, uint16_t n)
{
	(void)p;
	(void)q;
	for (uint16_t i = 0; i < n; i++)
		if (m[i]->ol_flags & RTE_MBUF_F_TX_OFFLOAD_MASK)
			return i;
	return n;
}

/* Issue 12 item 4: a frame handed to the device's checksum offload goes
 * through the driver's tx_prepare; one it refuses is dropped, counted, and
 * the rest of the burst goes on. */
static void
test_vm2dev_device_offload_checked_by_driver(void **state)
{
	struct rig *r = rig_new(1);
	struct vr_dir *d = &r->vm2dev.d;
	struct vr_port_ops ops = fake_ops;
	struct rte_mbuf *m;

	(void)state;
	ops.tx_prepare = refuse_flagged;
	r->dev.port.ops = &ops;
	r->dev.port.tx_offloads = VR_OFFLOAD_DEV_TX;
	guest_up(r, 1);
	m = frame(0, 1, 200, 2048);
	m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_NONE; /* the guest left its UDP checksum */
	fake_queue_push(&r->guest.rx[0], m);
	fake_queue_push(&r->guest.rx[0], frame(1, 1, 64, 2048));
	r->dev.tx_room[0] = 100;
	assert_int_equal(poll_at(d, 1), 2);
	assert_int_equal(d->c.offload_bad, 1);
	assert_int_equal(d->c.offload_dev, 0);
	assert_int_equal(d->c.tx_pkts, 1);
	assert_int_equal(seq_of(r->dev.tx[0].m[0]), 1);
	r->dev.port.ops = &fake_ops;
	rig_free(r);
}

/* ---- device to guest ---- */

/* Chained (jumbo, mergeable-buffer) frames go through whole. */
static void
test_dev2vm_chained_frames(void **state)
{
	struct rig *r = rig_new(1);
	struct vr_dir *d = &r->dev2vm.d;

	(void)state;
	guest_up(r, 1);
	for (uint32_t i = 0; i < 6; i++)
		fake_queue_push(&r->dev.rx[0], frame(i, 1, 9018, 2048));
	r->guest.tx_room[0] = 100;
	assert_int_equal(poll_at(d, 1), 6);
	assert_int_equal(d->c.rx_bytes, 6 * 9018);
	assert_int_equal(d->c.tx_bytes, 6 * 9018);
	for (uint32_t i = 0; i < 6; i++)
		assert_int_equal(r->guest.tx[0].m[i]->nb_segs, 5);
	assert_in_order(&r->guest.tx[0], 0);
	rig_free(r);
}

/* No guest: frames are dropped as not-ready, bytes and all. */
static void
test_dev2vm_no_guest_drops_unready(void **state)
{
	struct rig *r = rig_new(1);
	struct vr_dir *d = &r->dev2vm.d;

	(void)state;
	push_frames(&r->dev.rx[0], 0, 50, 1);
	assert_int_equal(poll_at(d, 1), 50);
	assert_int_equal(d->c.drop_unready, 50);
	assert_int_equal(d->c.drop_unready_bytes, 50 * 64);
	assert_int_equal(d->c.tx_pkts, 0);
	rig_free(r);
}

/* The guest's vring stays full: pending fills to its limit, the device
 * keeps the rest (backpressure), and only then does the window expire. */
static void
test_dev2vm_full_vring_backpressure(void **state)
{
	struct rig *r = rig_new(1);
	struct vr_dir *d = &r->dev2vm.d;

	(void)state;
	guest_up(r, 1);
	push_frames(&r->dev.rx[0], 0, 200, 1);
	poll_at(d, 10);
	poll_at(d, 10);
	poll_at(d, 10);
	assert_int_equal(d->pend[0].n, VR_PEND_MAX);
	assert_int_equal(fake_queue_len(&r->dev.rx[0]), 200 - VR_PEND_MAX);
	assert_int_equal(d->c.retries, 1);
	assert_int_equal(d->c.drop_full, 0);
	poll_at(d, 10 + RETRY + 1);
	assert_int_equal(d->c.drop_full, VR_PEND_MAX);
	/* room again: the rest arrives in order, after the dropped ones */
	r->guest.tx_room[0] = 1000;
	poll_at(d, 10 + RETRY + 2);
	poll_at(d, 10 + RETRY + 3);
	assert_int_equal(d->c.tx_pkts, 200 - VR_PEND_MAX);
	assert_in_order(&r->guest.tx[0], VR_PEND_MAX);
	assert_int_equal(d->c.rx_pkts, d->c.tx_pkts + d->c.drop_full + d->c.drop_unready);
	rig_free(r);
}

/* Frames of one flow stay on one guest queue, in order; flows spread. */
static void
test_dev2vm_multiqueue_spread(void **state)
{
	struct rig *r = rig_new(1);
	struct vr_dir *d = &r->dev2vm.d;
	unsigned used = 0;

	(void)state;
	guest_up(r, 4);
	for (uint32_t i = 0; i < 160; i++)
		fake_queue_push(&r->dev.rx[0], frame(i, (uint16_t)(i % 16), 64, 2048));
	for (unsigned q = 0; q < 4; q++)
		r->guest.tx_room[q] = 1000;
	for (int p = 0; p < 8; p++)
		poll_at(d, 1 + (uint64_t)p);
	assert_int_equal(d->c.tx_pkts, 160);
	for (unsigned q = 0; q < 4; q++) {
		const struct fake_queue *fq = &r->guest.tx[q];

		used += fq->n > 0;
		assert_int_equal(d->q_pkts[q], fq->n);
		for (uint32_t i = 1; i < fq->n; i++)
			assert_true(seq_of(fq->m[i]) > seq_of(fq->m[i - 1]));
	}
	/* each flow on exactly one queue */
	for (uint16_t f = 0; f < 16; f++) {
		unsigned queues = 0;

		for (unsigned q = 0; q < 4; q++) {
			bool here = false;

			for (uint32_t i = 0; i < r->guest.tx[q].n; i++)
				here |= seq_of(r->guest.tx[q].m[i]) % 16 == f;
			queues += here;
		}
		assert_int_equal(queues, 1);
	}
	assert_true(used > 1);
	rig_free(r);
}

/* A vring disabled in the middle of a burst: what waits for it is dropped
 * as not-ready on the next pass; the other queue carries on. */
static uint16_t disable_q = UINT16_MAX;

static void
disable_during_tx(struct fake_port *f, uint16_t q)
{
	if (q == disable_q) {
		handoff_port_queues(&f->port, port_rxq(&f->port),
		                    port_txq(&f->port) & ~(1ULL << q));
		disable_q = UINT16_MAX;
	}
}

static void
test_dev2vm_vring_disabled_mid_burst(void **state)
{
	struct rig *r = rig_new(1);
	struct vr_dir *d = &r->dev2vm.d;
	uint32_t on_q1 = 0;

	(void)state;
	guest_up(r, 2);
	for (uint32_t i = 0; i < 32; i++)
		fake_queue_push(&r->dev.rx[0], frame(i, (uint16_t)(i % 8), 64, 2048));
	r->guest.tx_room[0] = 1000; /* queue 1 takes nothing, then goes */
	r->guest.on_tx = disable_during_tx;
	disable_q = 1;
	poll_at(d, 1);
	on_q1 = d->pend[1].n;
	assert_true(on_q1 > 0);
	assert_int_equal(d->c.tx_pkts + on_q1, 32);
	poll_at(d, 2);
	assert_int_equal(d->pend[1].n, 0);
	assert_int_equal(d->c.drop_unready, on_q1);
	assert_int_equal(d->c.drop_full, 0);
	/* from now on every flow goes to queue 0 */
	push_frames(&r->dev.rx[0], 100, 10, 3);
	push_frames(&r->dev.rx[0], 110, 10, 5);
	poll_at(d, 3);
	assert_int_equal(d->c.tx_pkts, 32 - on_q1 + 20);
	assert_int_equal(r->guest.tx[1].n, 0);
	rig_free(r);
}

/* The guest disconnects with frames pending for it: dropped, counted. */
static void
test_dev2vm_guest_gone_with_frames_pending(void **state)
{
	struct rig *r = rig_new(1);
	struct vr_dir *d = &r->dev2vm.d;

	(void)state;
	guest_up(r, 1);
	push_frames(&r->dev.rx[0], 0, 20, 1);
	poll_at(d, 1);
	assert_int_equal(d->pend[0].n, 20);
	guest_down(r);
	poll_at(d, 2);
	assert_int_equal(pending_total(d), 0);
	assert_int_equal(d->c.drop_unready, 20);
	rig_free(r);
}

/* The hold: a guest on its way gets the frames that came before it, in
 * order and first, even when it arrives later than one retry window after
 * the first of them, and even if its first enqueue finds no room. */
static void
test_dev2vm_hold_until_guest_starts(void **state)
{
	struct rig *r = rig_new(1);
	struct vr_dir *d = &r->dev2vm.d;

	(void)state;
	handoff_hold(&r->dev2vm, 100000);
	push_frames(&r->dev.rx[0], 0, 40, 1);
	poll_at(d, 10);
	assert_int_equal(vr_hold_count(&r->dev2vm.hold), 40);
	assert_int_equal(d->c.held, 40);
	assert_int_equal(d->c.drop_unready, 0);
	/* the hold is full: the device keeps what comes next */
	push_frames(&r->dev.rx[0], 40, HOLD_FRAMES, 1);
	poll_at(d, 20);
	assert_int_equal(vr_hold_count(&r->dev2vm.hold), HOLD_FRAMES);
	assert_int_equal(fake_queue_len(&r->dev.rx[0]), 40);
	/* the guest starts 5 windows after the first held frame; its vring is
	 * not filled yet at its first pass */
	guest_up(r, 1);
	poll_at(d, 10 + 5 * RETRY);
	no_regression(d->c.drop_full == 0,
	              "held frames kept their first-held time and expired at once");
	r->guest.tx_room[0] = 1000;
	for (uint64_t k = 1; k <= 8; k++)
		poll_at(d, 10 + 5 * RETRY + k);
	assert_int_equal(d->c.tx_pkts, 40 + HOLD_FRAMES);
	assert_in_order(&r->guest.tx[0], 0);
	/* the hold ended with the guest: after it goes, frames are dropped */
	guest_down(r);
	push_frames(&r->dev.rx[0], 200, 5, 1);
	poll_at(d, 10 + 5 * RETRY + 9);
	assert_int_equal(d->c.drop_unready, 5);
	rig_free(r);
}

/* Held frames go into a guest that came a batch at a time, each once the
 * last was taken, so none waits out a retry window; a guest that takes
 * nothing for the hold's patience loses the rest. */
static void
test_dev2vm_hold_released_in_batches(void **state)
{
	struct rig *r = rig_new(1);
	struct vr_dir *d = &r->dev2vm.d;

	(void)state;
	r->dev2vm.hold.patience = 50 * RETRY;
	handoff_hold(&r->dev2vm, 1000000);
	push_frames(&r->dev.rx[0], 0, 90, 1);
	poll_at(d, 10);
	assert_int_equal(vr_hold_count(&r->dev2vm.hold), 90);
	guest_up(r, 1);
	r->guest.tx_room[0] = 0; /* just resumed: it takes nothing for a while */
	poll_at(d, 20);
	assert_int_equal(vr_hold_count(&r->dev2vm.hold), 90 - VR_BURST);
	/* ten retry windows pass: nothing more is let out, nothing expires */
	for (uint64_t k = 1; k <= 10; k++)
		poll_at(d, 20 + k * RETRY);
	no_regression(d->c.drop_full == 0,
	              "held frames waited out a retry window and were dropped");
	assert_int_equal(vr_hold_count(&r->dev2vm.hold), 90 - VR_BURST);
	/* it takes them: all of them, in order */
	r->guest.tx_room[0] = 1000;
	for (uint64_t k = 11; k <= 20; k++)
		poll_at(d, 20 + k * RETRY);
	assert_int_equal(d->c.tx_pkts, 90);
	assert_in_order(&r->guest.tx[0], 0);
	/* a guest that never takes what was let out: after the patience the
	 * rest of the hold goes, as not-ready */
	guest_down(r);
	handoff_hold(&r->dev2vm, 2000000);
	push_frames(&r->dev.rx[0], 100, 70, 1);
	poll_at(d, 1000000);
	guest_up(r, 1);
	r->guest.tx_room[0] = 0;
	poll_at(d, 1000001);
	assert_int_equal(vr_hold_count(&r->dev2vm.hold), 70 - VR_BURST);
	poll_at(d, 1000001 + 51 * RETRY);
	assert_int_equal(vr_hold_count(&r->dev2vm.hold), 0);
	assert_int_equal(d->c.drop_unready, 70 - VR_BURST);
	rig_free(r);
}

/* A hold whose guest never comes: at the deadline what was held goes, as
 * not-ready, and frames are dropped as they come from then on. */
static void
test_dev2vm_hold_expires(void **state)
{
	struct rig *r = rig_new(1);
	struct vr_dir *d = &r->dev2vm.d;

	(void)state;
	handoff_hold(&r->dev2vm, 5000);
	push_frames(&r->dev.rx[0], 0, 30, 1);
	poll_at(d, 10);
	assert_int_equal(vr_hold_count(&r->dev2vm.hold), 30);
	poll_at(d, 4999);
	assert_int_equal(d->c.drop_unready, 0);
	poll_at(d, 5000);
	assert_int_equal(vr_hold_count(&r->dev2vm.hold), 0);
	assert_int_equal(d->c.drop_unready, 30);
	push_frames(&r->dev.rx[0], 30, 4, 1);
	poll_at(d, 5001);
	assert_int_equal(d->c.drop_unready, 34);
	assert_int_equal(d->c.drop_full, 0);
	rig_free(r);
}

/* Detached with frames everywhere: all go back, counted as not-ready. */
static void
test_drain_returns_everything(void **state)
{
	struct rig *r = rig_new(1);

	(void)state;
	guest_up(r, 1);
	push_frames(&r->guest.rx[0], 0, 30, 1);
	push_frames(&r->dev.rx[0], 0, 30, 1);
	poll_at(&r->vm2dev.d, 1);
	poll_at(&r->dev2vm.d, 1);
	assert_int_equal(pending_total(&r->vm2dev.d), 30);
	assert_int_equal(pending_total(&r->dev2vm.d), 30);
	dir_drain(&r->vm2dev.d);
	dir_drain(&r->dev2vm.d);
	assert_int_equal(r->vm2dev.d.c.drop_unready, 30);
	assert_int_equal(r->dev2vm.d.c.drop_unready, 30);
	rig_free(r); /* and asserts the pool is whole */
}

/* A frame from bytes. */
static struct rte_mbuf *
raw_frame(const uint8_t *b, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

	assert_non_null(m);
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), b, len);
	return m;
}

/* The relay's own frames on a device shared with a guest (underlay_tap.h):
 * ARP and ND about the relay's address go to the control ring, ESP-in-UDP
 * to it to the tunnel's ring, other traffic to it is dropped; the guest and
 * its counters see only the rest, in order. */
static void
test_dev2vm_underlay_frames_never_reach_the_guest(void **state)
{
	static const uint8_t relay4[4] = {198, 51, 100, 10}, host4[4] = {198, 51, 100, 7};
	static const uint8_t other4[4] = {198, 51, 100, 8};
	static const uint8_t relay6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0xa, [15] = 0x10};
	static const uint8_t host6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0xa, [15] = 7};
	static const uint8_t mac[6] = {0x52, 0x54, 0, 0, 0, 7};
	struct vr_underlay_tap tap = {.has4 = true, .has6 = true, .esp_port = 4500};
	struct vr_tunnel_demux demux = {0};
	struct rig *r = rig_new(1);
	uint8_t f[VR_NEIGH_FRAME];
	struct rte_mbuf *m;

	(void)state;
	memcpy(tap.ip4, relay4, 4);
	memcpy(tap.ip6, relay6, 16);
	tap.to_ctl =
	    rte_ring_create("dp_tap_ctl", 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	demux.e[0].spi = 0x1234;
	demux.e[0].ring =
	    rte_ring_create("dp_tap_tun", 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	demux.n = 1;
	tap.demux = &demux;
	assert_non_null(tap.to_ctl);
	assert_non_null(demux.e[0].ring);
	guest_up(r, 1);
	r->guest.tx_room[0] = 100;
	fake_queue_push(&r->dev.rx[0], frame(1, 1, 64, 2048)); /* guest */
	fake_queue_push(&r->dev.rx[0],
	                raw_frame(f, vr_neigh_ask4(mac, host4, relay4, f))); /* ctl */
	fake_queue_push(&r->dev.rx[0],
	                raw_frame(f, vr_neigh_ask4(mac, host4, other4, f))); /* guest */
	fake_queue_push(&r->dev.rx[0],
	                raw_frame(f, vr_neigh_ask6(mac, host6, relay6, f))); /* ctl */
	/* UDP to 198.51.100.10:4500: the tunnel of SPI 0x1234, and an SPI no
	 * tunnel has (unclaimed) */
	for (uint32_t spi = 0x1234; spi <= 0x1235; spi++) {
		m = frame(2, 1, 100, 2048);
		rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14)->dst_addr =
		    RTE_IPV4(10, 100, 51, 198);
		rte_pktmbuf_mtod_offset(m, struct rte_udp_hdr *, 34)->dst_port =
		    rte_cpu_to_be_16(4500);
		rte_be32_t be_spi = rte_cpu_to_be_32(spi);

		memcpy(rte_pktmbuf_mtod_offset(m, uint8_t *, 42), &be_spi, 4);
		fake_queue_push(&r->dev.rx[0], m);
	}
	m = frame(3, 1, 100, 2048); /* UDP to the relay, another port: dropped */
	rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14)->dst_addr =
	    RTE_IPV4(10, 100, 51, 198);
	fake_queue_push(&r->dev.rx[0], m);
	fake_queue_push(&r->dev.rx[0], frame(4, 1, 64, 2048)); /* guest */

	/* with the tap, the guest gets only its own frames */
	handoff_underlay(&r->dev2vm, &r->vm2dev, &tap);
	poll_at(&r->dev2vm.d, 1);
	assert_int_equal(r->guest.tx[0].n, 3);
	assert_int_equal(seq_of(r->guest.tx[0].m[0]), 1);
	assert_int_equal(seq_of(r->guest.tx[0].m[2]), 4);
	assert_int_equal(r->dev2vm.d.c.rx_pkts, 3);
	assert_int_equal(r->dev2vm.d.c.tx_pkts, 3);
	assert_int_equal(tap.ctl_frames, 2);
	assert_int_equal(tap.tunnel_frames, 1);
	assert_int_equal(tap.tunnel_unclaimed, 1);
	assert_int_equal(tap.other_dropped, 1);
	assert_int_equal(rte_ring_count(tap.to_ctl), 2);
	assert_int_equal(rte_ring_count(demux.e[0].ring), 1);
	/* a flood at the relay's address is charged to the budget: one pass
	 * takes no more than a budget's worth off the device */
	for (uint32_t i = 0; i < 4 * VR_BUDGET_PKTS; i++) {
		m = frame(10 + i, 1, 100, 2048);
		rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14)->dst_addr =
		    RTE_IPV4(10, 100, 51, 198);
		fake_queue_push(&r->dev.rx[0], m);
	}
	poll_at(&r->dev2vm.d, 2);
	no_regression(fake_queue_len(&r->dev.rx[0]) >= 3 * VR_BUDGET_PKTS,
	              "frames the tap took were not charged: the pass never ended");
	assert_int_equal(tap.other_dropped, 1 + 4 * VR_BUDGET_PKTS - fake_queue_len(&r->dev.rx[0]));
	handoff_underlay(&r->dev2vm, &r->vm2dev, NULL);
	while (rte_ring_dequeue(tap.to_ctl, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	while (rte_ring_dequeue(demux.e[0].ring, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(tap.to_ctl);
	rte_ring_free(demux.e[0].ring);
	rig_free(r);
}

static int
eal_up(void **state)
{
	(void)state;
	pool = unit_eal_pool("datapath_test", 8191);
	return pool != NULL && handoff_init(1) == 0 ? 0 : -1;
}

static int
eal_down(void **state)
{
	(void)state;
	handoff_fini();
	rte_mempool_free(pool);
	return rte_eal_cleanup();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vm2dev_relays_in_order),
	    cmocka_unit_test(test_vm2dev_backpressure_and_retry_window),
	    cmocka_unit_test(test_vm2dev_guest_gone_with_frames_pending),
	    cmocka_unit_test(test_vm2dev_queue_pairs_map_onto_device_queues),
	    cmocka_unit_test(test_vm2dev_injected_frames_first),
	    cmocka_unit_test(test_vm2dev_software_tso_keeps_order),
	    cmocka_unit_test(test_vm2dev_budget_per_pass),
	    cmocka_unit_test(test_vm2dev_chains_longer_than_the_device_takes),
	    cmocka_unit_test(test_vm2dev_device_offload_checked_by_driver),
	    cmocka_unit_test(test_dev2vm_chained_frames),
	    cmocka_unit_test(test_dev2vm_no_guest_drops_unready),
	    cmocka_unit_test(test_dev2vm_full_vring_backpressure),
	    cmocka_unit_test(test_dev2vm_multiqueue_spread),
	    cmocka_unit_test(test_dev2vm_vring_disabled_mid_burst),
	    cmocka_unit_test(test_dev2vm_guest_gone_with_frames_pending),
	    cmocka_unit_test(test_dev2vm_hold_until_guest_starts),
	    cmocka_unit_test(test_dev2vm_hold_released_in_batches),
	    cmocka_unit_test(test_dev2vm_hold_expires),
	    cmocka_unit_test(test_drain_returns_everything),
	    cmocka_unit_test(test_dev2vm_underlay_frames_never_reach_the_guest),
	};

	return cmocka_run_group_tests(tests, eal_up, eal_down);
}
