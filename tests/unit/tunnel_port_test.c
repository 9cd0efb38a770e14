/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The tunnel as a port (ports/tunnel), driven by the relay's own
 * directions: relay A's guest-to-device direction sends a guest's frames
 * into A's tunnel port, which seals them onto A's (fake) device; what that
 * device sent is put on relay B's tunnel ring, as B's device side would;
 * B's device-to-guest direction takes them from B's tunnel port into B's
 * (fake) guest. Frames arrive in order, byte for byte but for the Ethernet
 * header the redirect writes; IPv4 and IPv6 share the tunnel; a forged
 * frame and a frame for another SPI are dropped and counted; a device that
 * takes nothing costs counted drops, not a stall; every mbuf comes back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_udp.h>

#include "dev2vm.h"
#include "eal.h"
#include "fakeport.h"
#include "handoff.h"
#include "keys.h"
#include "neigh.h"
#include "tunnel_port.h"
#include "unit.h"
#include "vm2dev.h"

#define RETRY 1000

static struct rte_mempool *pool;
static char err[256];
static const struct rte_ether_addr guest_mac = {{0x52, 0x54, 0, 0, 0, 1}};
static const struct rte_ether_addr old_gw = {{0x02, 0, 0, 0, 0, 0x99}};

struct site {
	struct fake_port guest, dev;
	struct vr_tunnel_port tun;
	struct vr_vm2dev vm2dev; /* guest -> tunnel */
	struct vr_dev2vm dev2vm; /* tunnel -> guest */
};

/* The underlay of the sites made next: IPv4 unless a test says IPv6. */
static bool under6;
static const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, 0xa, [15] = 0x10};
static const uint8_t b6[16] = {0x20, 0x01, 0x0d, 0xb8, 0xb, [15] = 0x10};

static struct vr_esp_path
path(bool at_a)
{
	struct vr_esp_path p = {.local_port = 4500, .peer_port = 4500, .ipv6 = under6};
	uint8_t a[4] = {198, 51, 100, 10}, b[4] = {203, 0, 113, 10};
	size_t len = under6 ? 16 : 4;

	memcpy(p.local, under6 ? (at_a ? a6 : b6) : (at_a ? a : b), len);
	memcpy(p.peer, under6 ? (at_a ? b6 : a6) : (at_a ? b : a), len);
	return p;
}

static void
fake_up(struct fake_port *f, uint16_t queues)
{
	f->port.ops = &fake_ops;
	f->port.n_txq = queues;
	f->port.pool = pool;
	handoff_port_queues(&f->port, (1ULL << queues) - 1, (1ULL << queues) - 1);
	handoff_port_up(&f->port);
}

/* Site A seals with keys k4/k6, site B opens with the same. */
static struct site *
site_new(bool at_a, const char *ring)
{
	struct site *s = aligned_alloc(RTE_CACHE_LINE_SIZE,
	                               RTE_ALIGN_CEIL(sizeof(struct site), RTE_CACHE_LINE_SIZE));
	struct vr_esp_path p = path(at_a);

	assert_non_null(s);
	memset(s, 0, sizeof(*s));
	fake_up(&s->guest, 1);
	fake_up(&s->dev, 1);
	s->dev.tx_room[0] = UINT32_MAX;
	vr_tunnel_port_init(&s->tun, &s->dev.port, 0, pool);
	for (int fam = 0; fam < 2; fam++) {
		struct vr_esp_key k = {.spi = 0x7000u + (uint32_t)fam, .key_len = 16};

		memset(k.key, 0x30 + fam, sizeof(k.key));
		s->tun.out[fam] =
		    vr_esp_sa_create(true, fam, &k, &p, 0, SOCKET_ID_ANY, err, sizeof(err));
		s->tun.in[fam] =
		    vr_esp_sa_create(false, fam, &k, &p, 1024, SOCKET_ID_ANY, err, sizeof(err));
		assert_non_null(s->tun.out[fam]);
		assert_non_null(s->tun.in[fam]);
	}
	s->tun.rx = rte_ring_create(ring, 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	assert_non_null(s->tun.rx);
	s->tun.deliver_dst = guest_mac;
	s->tun.deliver_src = old_gw;
	assert_int_equal(s->tun.port.ops->start(&s->tun.port, err, sizeof(err)), 0);
	s->vm2dev.d = (struct vr_dir){.kind = VR_VM2DEV,
	                              .src = &s->guest.port,
	                              .dst = &s->tun.port,
	                              .retry_tsc = RETRY,
	                              .worker = -1};
	s->dev2vm.d = (struct vr_dir){.kind = VR_DEV2VM,
	                              .src = &s->tun.port,
	                              .dst = &s->guest.port,
	                              .retry_tsc = RETRY,
	                              .worker = -1};
	rte_seqcount_init(&s->vm2dev.learned_sc);
	{
		char name[32];

		snprintf(name, sizeof(name), "%s_inject", ring);
		s->vm2dev.inject = rte_ring_create(name, 64, SOCKET_ID_ANY, RING_F_SC_DEQ);
	}
	assert_non_null(s->vm2dev.inject);
	s->guest.tx_room[0] = UINT32_MAX;
	return s;
}

static void
site_free(struct site *s)
{
	struct rte_mbuf *m;

	dir_drain(&s->vm2dev.d);
	dir_drain(&s->dev2vm.d);
	fake_queue_free(&s->guest.rx[0]);
	fake_queue_free(&s->guest.tx[0]);
	fake_queue_free(&s->dev.rx[0]);
	fake_queue_free(&s->dev.tx[0]);
	while (rte_ring_dequeue(s->tun.rx, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(s->tun.rx);
	rte_ring_free(s->vm2dev.inject);
	for (int fam = 0; fam < 2; fam++) {
		vr_esp_sa_free(s->tun.out[fam]);
		vr_esp_sa_free(s->tun.in[fam]);
	}
	free(s);
}

/* A UDP frame of len bytes, IPv4 or IPv6, carrying seq. */
static struct rte_mbuf *
frame(uint32_t seq, bool v6, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, len);
	size_t l3 = v6 ? 40 : 20;

	memset(p, 0, len);
	memcpy(p, "\x02\x00\x00\x00\x00\x99\x52\x54\x00\x00\x00\x01", 12);
	if (v6) {
		p[12] = 0x86, p[13] = 0xdd;
		p[14] = 0x60;
		p[18] = (uint8_t)((len - 54) >> 8), p[19] = (uint8_t)(len - 54);
		p[20] = IPPROTO_UDP;
		p[21] = 64;
	} else {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + 14);

		p[12] = 0x08;
		ip->version_ihl = 0x45;
		ip->total_length = rte_cpu_to_be_16((uint16_t)(len - 14));
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_UDP;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
	memcpy(p + 14 + l3 + 8, &seq, sizeof(seq));
	return m;
}

static uint32_t
seq_of(const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t seq;

	memcpy(&seq, p + 14 + (p[12] == 0x86 ? 40 : 20) + 8, sizeof(seq));
	return seq;
}

/* What A's device sent goes onto B's tunnel ring, as B's device side would
 * put it there. */
static void
carry(struct site *a, struct site *b)
{
	struct fake_queue *fq = &a->dev.tx[0];

	while (fq->head < fq->n)
		assert_int_equal(rte_ring_enqueue(b->tun.rx, fq->m[fq->head++]), 0);
	fq->head = fq->n = 0;
}

/* Frame i's size: 64 to 1463 bytes (80 and up for IPv6, every third). */
static uint16_t
size_of(uint32_t i)
{
	return (uint16_t)((i % 3 == 0 ? 80 : 64) + i % 1400);
}

static void
guest_frames_cross_the_tunnel_in_order(void **state)
{
	struct site *a = site_new(true, "tp_ring_a"), *b = site_new(false, "tp_ring_b");
	uint32_t n = 300;

	(void)state;
	for (uint32_t i = 0; i < n; i++)
		fake_queue_push(&a->guest.rx[0], frame(i, i % 3 == 0, size_of(i)));
	for (uint64_t now = 1; fake_queue_len(&a->guest.rx[0]) > 0; now++)
		poll_at(&a->vm2dev.d, now);
	assert_int_equal(a->vm2dev.d.c.tx_pkts, n);
	assert_int_equal(a->tun.sealed.pkts, n);
	assert_int_equal(a->dev.tx[0].n, n);
	/* nothing of a guest frame in the clear on the underlay */
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(vr_esp_frame_spi(a->dev.tx[0].m[i], 4500), 0x7000u + (i % 3 == 0));
	carry(a, b);
	for (uint64_t now = 1; rte_ring_count(b->tun.rx) > 0; now++)
		poll_at(&b->dev2vm.d, now);
	assert_int_equal(b->tun.opened.pkts, n);
	assert_int_equal(b->dev2vm.d.c.tx_pkts, n);
	assert_int_equal(b->guest.tx[0].n, n);
	/* each family in order; the redirect's Ethernet header on every frame */
	for (int fam = 0; fam < 2; fam++) {
		uint32_t next = fam ? 0 : 1;

		for (uint32_t i = 0; i < n; i++) {
			const struct rte_mbuf *m = b->guest.tx[0].m[i];
			const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const void *);

			if ((eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6)) != fam)
				continue;
			assert_int_equal(seq_of(m), next);
			assert_int_equal(m->pkt_len, size_of(next));
			assert_memory_equal(&eth->dst_addr, &guest_mac, 6);
			assert_memory_equal(&eth->src_addr, &old_gw, 6);
			next += fam ? 3 : (next % 3 == 2 ? 2 : 1);
		}
	}
	site_free(a);
	site_free(b);
	assert_int_equal(rte_mempool_avail_count(pool), pool->size);
}

/* Sealed frames leave for the next hop known when they are sealed, per
 * family (the underlay's gateway, which may change); a family without one
 * (a peer on the same LAN) keeps its SA's. */
static void
sealed_frames_go_to_the_current_next_hop(void **state)
{
	static const uint8_t gw[2][6] = {{2, 0, 0, 0, 0, 0xfb}, {2, 0, 0, 0, 0, 0xf0}};
	static const uint8_t sas[6] = {0}; /* path()'s */
	struct site *a = site_new(true, "tp_ring_h");
	uint64_t hop = 0;

	(void)state;
	a->tun.hop[0] = &hop;
	/* round 0: no gateway known yet; 1: one; 2: it changed */
	for (uint32_t round = 0; round < 3; round++) {
		if (round > 0)
			memcpy(&hop, gw[round - 1], 6);
		fake_queue_push(&a->guest.rx[0], frame(2 * round, false, 100));
		fake_queue_push(&a->guest.rx[0], frame(2 * round + 1, true, 100));
		poll_at(&a->vm2dev.d, 1 + round);
		assert_int_equal(a->dev.tx[0].n, 2 * (round + 1));
		for (int v6 = 0; v6 < 2; v6++) {
			const struct rte_mbuf *m = a->dev.tx[0].m[2 * round + v6];
			const uint8_t *want = v6 || round == 0 ? sas : gw[round - 1];

			assert_memory_equal(
			    rte_pktmbuf_mtod(m, const struct rte_ether_hdr *)->dst_addr.addr_bytes,
			    want, 6);
		}
	}
	site_free(a);
}

/* A rekey (docs/tunnel.md, "Rekeying"): the sealing side swaps its
 * outbound SA for the one after it (vr_key_next) between two bursts; the
 * opening side had that one ready as in_next, so every frame opens, in
 * order, and only then is the new SA known to be in use. */
static void
rekey_between_bursts_loses_nothing(void **state)
{
	struct site *a = site_new(true, "tp_ring_rk_a"), *b = site_new(false, "tp_ring_rk_b");
	struct vr_esp_path pa = path(true), pb = path(false);
	struct vr_esp_key k = {.spi = 0x7000u, .key_len = 16}, next;

	(void)state;
	memset(k.key, 0x30, sizeof(k.key)); /* site_new's IPv4 key */
	vr_key_next(&k, &next);
	b->tun.in_next[0] =
	    vr_esp_sa_create(false, false, &next, &pb, 1024, SOCKET_ID_ANY, err, sizeof(err));
	assert_non_null(b->tun.in_next[0]);
	for (uint32_t i = 0; i < 40; i++) {
		if (i == 20)
			vr_esp_sa_free(handoff_sa(
			    &a->tun.out[0], vr_esp_sa_create(true, false, &next, &pa, 0,
			                                     SOCKET_ID_ANY, err, sizeof(err))));
		fake_queue_push(&a->guest.rx[0], frame(i, false, size_of(i)));
		poll_at(&a->vm2dev.d, 1 + i);
	}
	assert_int_equal(a->dev.tx[0].n, 40);
	assert_int_equal(vr_esp_frame_spi(a->dev.tx[0].m[19], 4500), k.spi);
	assert_int_equal(vr_esp_frame_spi(a->dev.tx[0].m[20], 4500), next.spi);
	assert_int_equal(vr_esp_sa_used(a->tun.out[0]), 20);
	carry(a, b);
	assert_int_equal(vr_esp_sa_used(b->tun.in_next[0]), 0);
	for (uint64_t now = 1; rte_ring_count(b->tun.rx) > 0; now++)
		poll_at(&b->dev2vm.d, now);
	assert_int_equal(b->tun.opened.pkts, 40);
	assert_int_equal(b->tun.opened.no_sa + b->tun.opened.auth + b->tun.opened.replay, 0);
	assert_int_equal(vr_esp_sa_used(b->tun.in[0]), 20);
	assert_int_equal(vr_esp_sa_used(b->tun.in_next[0]), 20);
	for (uint32_t i = 0; i < 40; i++)
		assert_int_equal(seq_of(b->guest.tx[0].m[i]), i);
	vr_esp_sa_free(b->tun.in_next[0]);
	b->tun.in_next[0] = NULL;
	site_free(a);
	site_free(b);
	assert_int_equal(rte_mempool_avail_count(pool), pool->size);
}

/* A TCP segment of family v6 with flags and an MSS option of mss (and a
 * NOP, NOP, SACK-permitted after it), its checksums right. */
static struct rte_mbuf *
tcp_seg(bool v6, uint8_t flags, uint16_t mss)
{
	struct rte_mbuf *m = frame(0, v6, (uint16_t)(14 + (v6 ? 40 : 20) + 28));
	uint8_t *ip = rte_pktmbuf_mtod_offset(m, uint8_t *, 14), *tcp = ip + (v6 ? 40 : 20);
	const uint8_t opts[8] = {2, 4, (uint8_t)(mss >> 8), (uint8_t)mss, 1, 1, 4, 2};

	memset(tcp, 0, 28);
	tcp[1] = 80, tcp[3] = 81, tcp[12] = 7 << 4, tcp[13] = flags, tcp[15] = 0xff;
	memcpy(tcp + 20, opts, sizeof(opts));
	if (v6) {
		ip[6] = IPPROTO_TCP;
		*(uint16_t *)(tcp + 16) = rte_ipv6_udptcp_cksum((struct rte_ipv6_hdr *)ip, tcp);
	} else {
		ip[9] = IPPROTO_TCP;
		ip[10] = ip[11] = 0;
		*(uint16_t *)(ip + 10) = rte_ipv4_cksum((struct rte_ipv4_hdr *)ip);
		*(uint16_t *)(tcp + 16) = rte_ipv4_udptcp_cksum((struct rte_ipv4_hdr *)ip, tcp);
	}
	return m;
}

/* The MSS option of the TCP segment in m, its checksum checked. */
static uint16_t
mss_of(const struct rte_mbuf *m)
{
	const uint8_t *ip = rte_pktmbuf_mtod_offset(m, const uint8_t *, 14);
	bool v6 = (ip[0] >> 4) == 6;
	const uint8_t *tcp = ip + (v6 ? 40 : 20);

	assert_int_equal(v6 ? rte_ipv6_udptcp_cksum_verify((const struct rte_ipv6_hdr *)ip, tcp)
	                    : rte_ipv4_udptcp_cksum_verify((const struct rte_ipv4_hdr *)ip, tcp),
	                 0);
	return (uint16_t)(tcp[22] << 8 | tcp[23]);
}

/* New sessions through the tunnel offer no more than fits the underlay
 * whole: a SYN's (and a SYN-ACK's) larger MSS is lowered, checksum mended;
 * a smaller one, and any other segment, pass untouched. */
static void
syn_mss_clamped_to_the_underlay(void **state)
{
	struct site *a = site_new(true, "tp_mss_a"), *b = site_new(false, "tp_mss_b");
	const struct {
		bool v6;
		uint8_t flags;
		uint16_t mss, want;
	} c[] = {
	    {false, 0x02, 1460, 1395}, /* 1500 - 65 (ESP in UDP in IPv4) - 40 */
	    {false, 0x12, 8960, 1395}, {false, 0x02, 1200, 1200},
	    {false, 0x10, 1460, 1460}, /* not a SYN */
	    {true, 0x02, 1440, 1375},  /* 1500 - 65 - 60 */
	};
	const uint32_t n = RTE_DIM(c);

	(void)state;
	assert_int_equal(vr_tunnel_mss(1500, false, false), 1395);
	assert_int_equal(vr_tunnel_mss(1500, true, true), 1355);
	assert_int_equal(vr_tunnel_mss(0, false, false), 0);
	for (int f = 0; f < 2; f++)
		a->tun.mss[f] = vr_tunnel_mss(1500, false, f);
	for (uint32_t i = 0; i < n; i++)
		fake_queue_push(&a->guest.rx[0], tcp_seg(c[i].v6, c[i].flags, c[i].mss));
	poll_at(&a->vm2dev.d, 1);
	carry(a, b);
	poll_at(&b->dev2vm.d, 1);
	assert_int_equal(b->guest.tx[0].n, n);
	for (uint32_t i = 0, k[2] = {0, 0}; i < n; i++) {
		/* each family in order */
		uint32_t j = 0, seen = 0;

		for (; j < n; j++)
			if (((rte_pktmbuf_mtod(b->guest.tx[0].m[j], const uint8_t *)[12] ==
			      0x86)) == c[i].v6 &&
			    seen++ == k[c[i].v6])
				break;
		k[c[i].v6]++;
		assert_int_equal(mss_of(b->guest.tx[0].m[j]), c[i].want);
	}
	assert_int_equal(a->tun.mss_clamped, 3);
	site_free(a);
	site_free(b);
	assert_int_equal(rte_mempool_avail_count(pool), pool->size);
}

static void
forged_foreign_and_full_device(void **state)
{
	struct site *a = site_new(true, "tp_ring_a2"), *b = site_new(false, "tp_ring_b2");
	struct rte_mbuf *m;

	(void)state;
	for (uint32_t i = 0; i < 3; i++)
		fake_queue_push(&a->guest.rx[0], frame(i, false, 200));
	poll_at(&a->vm2dev.d, 1);
	assert_int_equal(a->dev.tx[0].n, 3);
	/* frame 0 forged in flight; frame 1 named for an SPI B does not have */
	m = a->dev.tx[0].m[0];
	*rte_pktmbuf_mtod_offset(m, uint8_t *, m->pkt_len - 3) ^= 1;
	m = a->dev.tx[0].m[1];
	*rte_pktmbuf_mtod_offset(m, uint8_t *, 14 + 20 + 8 + 3) ^= 0x40;
	carry(a, b);
	poll_at(&b->dev2vm.d, 1);
	assert_int_equal(b->tun.opened.auth, 1);
	assert_int_equal(b->tun.opened.no_sa, 1);
	assert_int_equal(b->tun.opened.pkts, 1);
	assert_int_equal(b->guest.tx[0].n, 1);
	assert_int_equal(seq_of(b->guest.tx[0].m[0]), 2);

	/* A's device takes nothing: counted drops, the guest side never stalls */
	a->dev.tx_room[0] = 0;
	for (uint32_t i = 0; i < 10; i++)
		fake_queue_push(&a->guest.rx[0], frame(i, false, 100));
	poll_at(&a->vm2dev.d, 2);
	assert_int_equal(fake_queue_len(&a->guest.rx[0]), 0);
	assert_int_equal(a->tun.under_full, 10);
	/* and frames that are not IP never reach the device */
	a->dev.tx_room[0] = UINT32_MAX;
	m = frame(99, false, 100);
	rte_pktmbuf_mtod(m, uint8_t *)[12] = 0x08, rte_pktmbuf_mtod(m, uint8_t *)[13] = 0x06;
	fake_queue_push(&a->guest.rx[0], m);
	poll_at(&a->vm2dev.d, 3);
	assert_int_equal(a->tun.sealed.not_ip, 1);
	assert_int_equal(a->dev.tx[0].n, 0); /* carry() emptied it; nothing new came */
	site_free(a);
	site_free(b);
	assert_int_equal(rte_mempool_avail_count(pool), pool->size);
}

/* Sealed packets longer than the underlay's MTU go in fragments (outer
 * IPv4 or IPv6); the receiving relay's tap makes them whole (in whatever
 * order the pieces come) before the tunnel opens them: every frame
 * arrives, byte for byte. */
static void
cut_and_made_whole(bool v6)
{
	struct site *a, *b;
	struct vr_underlay_tap tap = {
	    .has4 = !v6, .has6 = v6, .ip4 = {203, 0, 113, 10}, .esp_port = 4500};
	struct vr_tunnel_demux demux = {.n = 2};
	struct fake_queue *fq;
	uint32_t n = 40, cut = 0, mtu = v6 ? 1280 : 576, outer = v6 ? 40 : 20;

	under6 = v6;
	a = site_new(true, v6 ? "fr6_a" : "fr_a");
	b = site_new(false, v6 ? "fr6_b" : "fr_b");
	under6 = false;
	fq = &a->dev.tx[0];
	memcpy(tap.ip6, b6, 16);
	for (int fam = 0; fam < 2; fam++) {
		demux.e[fam].spi = 0x7000u + (uint32_t)fam;
		demux.e[fam].ring = b->tun.rx;
	}
	tap.demux = &demux;
	tap.frags = rte_ip_frag_table_create(32, 4, 128, rte_get_tsc_hz(), SOCKET_ID_ANY);
	assert_non_null(tap.frags);
	a->tun.under_mtu = (uint16_t)mtu;
	for (uint32_t i = 0; i < n; i++)
		fake_queue_push(&a->guest.rx[0], frame(i, i % 4 == 0, (uint16_t)(200 + i * 41)));
	poll_at(&a->vm2dev.d, 1);
	/* no piece longer than the MTU; a packet cut in pieces is counted once */
	for (uint32_t i = 0; i < fq->n; i++) {
		assert_true(fq->m[i]->pkt_len - 14 <= mtu);
		assert_int_equal(fq->m[i]->nb_segs, 1);
	}
	for (uint32_t i = 0; i < n; i++) { /* RFC 4303/3948 sizes, inner family aside */
		uint32_t inner = 200 + i * 41 - 14, esp = RTE_ALIGN_CEIL(inner + 2, 4);

		cut += outer + 8 + 8 + 8 + esp + 16 > mtu;
	}
	assert_true(cut > 0);
	assert_int_equal(a->tun.fragmented, cut);
	assert_int_equal(a->tun.frag_failed, 0);
	assert_true(fq->n > n);
	/* the first packet cut arrives with its pieces reversed */
	for (uint32_t i = 0; i + 1 < fq->n; i++) {
		const uint8_t *ip = rte_pktmbuf_mtod_offset(fq->m[i], const uint8_t *, 14);

		if (v6 ? ip[6] == IPPROTO_FRAGMENT
		       : rte_ipv4_frag_pkt_is_fragmented((const struct rte_ipv4_hdr *)ip)) {
			struct rte_mbuf *x = fq->m[i];

			fq->m[i] = fq->m[i + 1];
			fq->m[i + 1] = x;
			break;
		}
	}
	assert_int_equal(vr_underlay_tap_take(&tap, fq->m, (uint16_t)fq->n, 1), 0);
	fq->head = fq->n = 0;
	assert_int_equal(tap.reassembled, cut);
	for (uint64_t now = 2; rte_ring_count(b->tun.rx) > 0; now++)
		poll_at(&b->dev2vm.d, now);
	assert_int_equal(b->guest.tx[0].n, n);
	assert_int_equal(b->tun.opened.pkts, n);
	for (uint32_t i = 0; i < n; i++) {
		const struct rte_mbuf *m = b->guest.tx[0].m[i];
		const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
		uint32_t seq = seq_of(m);

		assert_int_equal(m->pkt_len, 200 + seq * 41);
		assert_int_equal(p[12] == 0x86, seq % 4 == 0);
	}
	vr_underlay_tap_drain(&tap);
	rte_ip_frag_table_destroy(tap.frags);
	site_free(a);
	site_free(b);
	assert_int_equal(rte_mempool_avail_count(pool), pool->size);
}

static void
big_frames_cut_and_made_whole(void **state)
{
	(void)state;
	cut_and_made_whole(false);
}

static void
big_frames_cut_over_ipv6_and_made_whole(void **state)
{
	(void)state;
	cut_and_made_whole(true);
}

/* A relay's own two directions, its guest and its LAN (fake ports), with
 * the redirect hooked in as vrelayd does (handoff_tunnel). */
struct relay {
	struct fake_port guest, lan;
	struct vr_vm2dev vm2dev;
	struct vr_dev2vm dev2vm;
};

static struct relay *
relay_new(struct site *s, const char *ring, bool guest_here)
{
	struct relay *r = aligned_alloc(RTE_CACHE_LINE_SIZE,
	                                RTE_ALIGN_CEIL(sizeof(struct relay), RTE_CACHE_LINE_SIZE));
	char name[32];

	assert_non_null(r);
	memset(r, 0, sizeof(*r));
	fake_up(&r->lan, 1);
	r->lan.tx_room[0] = UINT32_MAX;
	r->guest.port.ops = &fake_ops;
	r->guest.port.n_txq = 1;
	r->guest.port.pool = pool;
	r->guest.tx_room[0] = UINT32_MAX;
	if (guest_here)
		fake_up(&r->guest, 1);
	r->vm2dev.d = (struct vr_dir){.kind = VR_VM2DEV,
	                              .src = &r->guest.port,
	                              .dst = &r->lan.port,
	                              .retry_tsc = RETRY,
	                              .worker = -1};
	r->dev2vm.d = (struct vr_dir){.kind = VR_DEV2VM,
	                              .src = &r->lan.port,
	                              .dst = &r->guest.port,
	                              .retry_tsc = RETRY,
	                              .worker = -1};
	rte_seqcount_init(&r->vm2dev.learned_sc);
	snprintf(name, sizeof(name), "%s_inj", ring);
	r->vm2dev.inject = rte_ring_create(name, 64, SOCKET_ID_ANY, RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "%s_ans", ring);
	s->tun.answers = rte_ring_create(name, 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "%s_hold", ring);
	r->dev2vm.hold.ring = rte_ring_create(name, 256, SOCKET_ID_ANY,
	                                      RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
	snprintf(name, sizeof(name), "%s_late", ring);
	r->dev2vm.hold.late = rte_ring_create(name, 256, SOCKET_ID_ANY,
	                                      RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
	assert_non_null(r->dev2vm.hold.late);
	r->dev2vm.hold.bytes_max = UINT64_MAX;
	r->dev2vm.hold.patience = UINT64_MAX / 2;
	assert_non_null(r->dev2vm.hold.ring);
	assert_non_null(r->vm2dev.inject);
	assert_non_null(s->tun.answers);
	handoff_tunnel(&r->vm2dev, &r->dev2vm, &s->tun);
	return r;
}

static void
relay_free(struct relay *r, struct site *s)
{
	struct rte_mbuf *m;

	handoff_tunnel(&r->vm2dev, &r->dev2vm, NULL);
	dir_drain(&r->vm2dev.d);
	dir_drain(&r->dev2vm.d);
	for (int k = 0; k < 2; k++) {
		struct fake_port *f = k ? &r->lan : &r->guest;

		fake_queue_free(&f->rx[0]);
		fake_queue_free(&f->tx[0]);
	}
	while (rte_ring_dequeue(s->tun.answers, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(s->tun.answers);
	rte_ring_free(r->vm2dev.inject);
	rte_ring_free(r->dev2vm.hold.ring);
	rte_ring_free(r->dev2vm.hold.late);
	free(r);
}

static const uint8_t old_ip[4] = {198, 51, 100, 20}, new_ip[4] = {203, 0, 113, 20};
static const uint8_t client_ip[4] = {192, 0, 2, 10}, gw_ip[4] = {198, 51, 100, 1};
static const struct rte_ether_addr lan_a_gw = {{0x02, 0, 0, 0, 0x01, 0x01}};

/* An IPv4 UDP frame src -> dst carrying seq. */
static struct rte_mbuf *
frame4(uint32_t seq, const uint8_t src[4], const uint8_t dst[4])
{
	struct rte_mbuf *m = frame(seq, false, 100);
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);

	memcpy(&ip->src_addr, src, 4);
	memcpy(&ip->dst_addr, dst, 4);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return m;
}

static struct rte_mbuf *
arp_ask(const struct rte_ether_addr *from, const uint8_t ip[4], const uint8_t target[4])
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t f[VR_NEIGH_FRAME];
	size_t len = vr_neigh_ask4(from->addr_bytes, ip, target, f);

	memcpy(rte_pktmbuf_append(m, (uint16_t)len), f, len);
	return m;
}

/* The ARP reply in m: who it says has which address. */
static void
assert_arp_reply(const struct rte_mbuf *m, const struct rte_ether_addr *mac, const uint8_t ip[4])
{
	struct vr_neigh n;

	assert_true(vr_neigh_parse(rte_pktmbuf_mtod(m, const uint8_t *), m->pkt_len, &n));
	assert_int_equal(n.kind, VR_NEIGH_ARP_REPLY);
	assert_memory_equal(n.sender_mac, mac, 6);
	assert_memory_equal(n.sender_ip, ip, 4);
}

/* Relay A (the guest left it: SOURCE of a redirect for old_ip) and relay
 * B (DEST), each with its site; names unique per test. */
static void
redirect_pair(const char *na, const char *nb, struct site **sa, struct site **sb, struct relay **a,
              struct relay **b)
{
	struct vr_addrs old = {.has_mac = true, .n4 = 1};

	memcpy(old.mac, &guest_mac, 6);
	memcpy(old.ip4[0], old_ip, 4);
	*sa = site_new(true, na);
	*sb = site_new(false, nb);
	(*sa)->tun.role = VR_TUNNEL_SOURCE;
	(*sa)->tun.old = old;
	(*sa)->tun.answer_mac = guest_mac;
	(*sa)->tun.deliver_dst = lan_a_gw;
	(*sa)->tun.deliver_src = guest_mac;
	(*sb)->tun.role = VR_TUNNEL_DEST;
	(*sb)->tun.old = old;
	(*sb)->tun.answer_mac = lan_a_gw;
	(*sb)->tun.deliver_dst = guest_mac;
	(*sb)->tun.deliver_src = lan_a_gw;
	*a = relay_new(*sa, na, false);
	*b = relay_new(*sb, nb, false);
}

static void
redirect_pair_free(struct site *sa, struct site *sb, struct relay *a, struct relay *b)
{
	relay_free(a, sa);
	relay_free(b, sb);
	site_free(sa);
	site_free(sb);
	assert_int_equal(rte_mempool_avail_count(pool), pool->size);
}

/* Relay A (the guest left it: SOURCE) and relay B (the guest is there:
 * DEST), through their own directions: the LAN's frames for the guest
 * reach it at B, held until its vring starts and in order; its frames from
 * the old address reach LAN A in its name towards the gateway, those from
 * its new address go straight out on LAN B; each end answers the ARP it
 * owns; the counters say which frame took which way. */
static void
redirect_through_the_relays_directions(void **state)
{
	struct site *sa, *sb;
	struct relay *a, *b;

	(void)state;
	redirect_pair("rd_a", "rd_b", &sa, &sb, &a, &b);

	/* frames waiting for A's guest when it leaves follow it into the tunnel */
	fake_up(&a->guest, 1);
	a->guest.tx_room[0] = 0;
	for (uint32_t i = 0; i < 5; i++)
		fake_queue_push(&a->lan.rx[0], frame4(900 + i, client_ip, old_ip));
	poll_at(&a->dev2vm.d, 1);
	assert_int_equal(a->dev2vm.d.pend[0].n, 5);
	handoff_port_down(&a->guest.port);
	handoff_port_queues(&a->guest.port, 0, 0);
	poll_at(&a->dev2vm.d, 1);
	assert_int_equal(a->dev2vm.d.c.tunnel_out, 5);
	assert_int_equal(a->dev2vm.d.c.drop_unready, 0);
	assert_int_equal(sa->dev.tx[0].n, 5);
	carry(sa, sb);
	handoff_hold(&b->dev2vm, 1000000);
	poll_at(&b->dev2vm.d, 1);
	assert_int_equal(b->dev2vm.d.c.tunnel_in, 5);
	a->dev2vm.d.c.tunnel_out = b->dev2vm.d.c.tunnel_in = 0;
	a->guest.tx_room[0] = UINT32_MAX;

	/* the client's frames reach A after the guest left; B holds them */
	handoff_hold(&b->dev2vm, 1000000);
	for (uint32_t i = 0; i < 10; i++)
		fake_queue_push(&a->lan.rx[0], frame4(i, client_ip, old_ip));
	poll_at(&a->dev2vm.d, 1);
	assert_int_equal(a->dev2vm.d.c.tunnel_out, 10);
	assert_int_equal(a->dev2vm.d.c.drop_unready, 0);
	assert_int_equal(sa->dev.tx[0].n, 10); /* sealed, on A's underlay */
	carry(sa, sb);
	poll_at(&b->dev2vm.d, 2);
	assert_int_equal(b->dev2vm.d.c.tunnel_in, 10);
	assert_int_equal(b->guest.tx[0].n, 0); /* held: no guest yet */
	fake_up(&b->guest, 1);
	poll_at(&b->dev2vm.d, 3);
	assert_int_equal(b->guest.tx[0].n, 15);
	for (uint32_t i = 0; i < 15; i++) {
		const struct rte_mbuf *m = b->guest.tx[0].m[i];

		assert_int_equal(seq_of(m), i < 5 ? 900 + i : i - 5);
		assert_memory_equal(rte_pktmbuf_mtod(m, const uint8_t *), &guest_mac, 6);
	}

	/* the guest at B: old address into the tunnel, new address direct */
	for (uint32_t i = 0; i < 6; i++)
		fake_queue_push(&b->guest.rx[0],
		                frame4(100 + i, i % 2 ? new_ip : old_ip, client_ip));
	poll_at(&b->vm2dev.d, 4);
	assert_int_equal(b->vm2dev.d.c.tunnel_out, 3);
	assert_int_equal(b->lan.tx[0].n, 3);
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(seq_of(b->lan.tx[0].m[i]), 101 + 2 * i);
	carry(sb, sa);
	poll_at(&a->vm2dev.d, 5);
	assert_int_equal(a->vm2dev.d.c.tunnel_in, 3);
	assert_int_equal(a->lan.tx[0].n, 3);
	for (uint32_t i = 0; i < 3; i++) {
		const struct rte_mbuf *m = a->lan.tx[0].m[i];
		const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);

		assert_int_equal(seq_of(m), 100 + 2 * i);
		assert_memory_equal(&eth->dst_addr, &lan_a_gw, 6);
		assert_memory_equal(&eth->src_addr, &guest_mac, 6);
	}

	/* LAN A asks for the guest's old address: A answers in its name; a
	 * question about another address is nobody's here */
	fake_queue_push(&a->lan.rx[0], arp_ask(&lan_a_gw, gw_ip, old_ip));
	fake_queue_push(&a->lan.rx[0], arp_ask(&lan_a_gw, gw_ip, client_ip));
	poll_at(&a->dev2vm.d, 6);
	poll_at(&a->vm2dev.d, 7);
	assert_int_equal(sa->tun.answered, 1);
	assert_int_equal(sa->tun.sealed.not_ip, 1);
	assert_int_equal(a->lan.tx[0].n, 4);
	assert_arp_reply(a->lan.tx[0].m[3], &guest_mac, old_ip);

	/* the guest at B asks for its old gateway: B answers in its name */
	fake_queue_push(&b->guest.rx[0], arp_ask(&guest_mac, old_ip, gw_ip));
	poll_at(&b->vm2dev.d, 8);
	poll_at(&b->dev2vm.d, 9);
	assert_int_equal(sb->tun.answered, 1);
	assert_int_equal(b->guest.tx[0].n, 16);
	assert_arp_reply(b->guest.tx[0].m[15], &lan_a_gw, gw_ip);
	/* nothing was dropped anywhere, nothing failed to open */
	assert_int_equal(sb->tun.opened.pkts, 15);
	assert_int_equal(sa->tun.opened.pkts, 3);
	assert_int_equal(sa->tun.opened.auth + sb->tun.opened.auth, 0);
	redirect_pair_free(sa, sb, a, b);
}

/* A redirect made long before the guest stopped at the source (libvirt's
 * hook sets it up when the migration begins, and says nothing at the
 * STOP): its hold at B ran out meanwhile. What the tunnel brings once the
 * guest left A is held all the same, until the guest starts at B. */
static void
tunnel_frames_held_after_the_redirects_hold_ran_out(void **state)
{
	struct site *sa, *sb;
	struct relay *a, *b;

	(void)state;
	redirect_pair("late_a", "late_b", &sa, &sb, &a, &b);
	handoff_hold(&b->dev2vm, 10);
	poll_at(&b->dev2vm.d, 20); /* the redirect's hold is over */
	fake_up(&a->guest, 1);
	poll_at(&a->dev2vm.d, 21);
	handoff_port_down(&a->guest.port);
	handoff_port_queues(&a->guest.port, 0, 0);
	for (uint32_t i = 0; i < 8; i++)
		fake_queue_push(&a->lan.rx[0], frame4(i, client_ip, old_ip));
	poll_at(&a->dev2vm.d, 22);
	assert_int_equal(a->dev2vm.d.c.tunnel_out, 8);
	carry(sa, sb);
	poll_at(&b->dev2vm.d, 23);
	assert_int_equal(b->dev2vm.d.c.tunnel_in, 8);
	assert_int_equal(b->guest.tx[0].n, 0);
	assert_int_equal(b->dev2vm.d.c.drop_unready, 0);
	fake_up(&b->guest, 1);
	poll_at(&b->dev2vm.d, 24);
	assert_int_equal(b->guest.tx[0].n, 8);
	for (uint32_t i = 0; i < 8; i++)
		assert_int_equal(seq_of(b->guest.tx[0].m[i]), i);
	redirect_pair_free(sa, sb, a, b);
}

/* An IPv4 frame from LAN A's gateway to the guest carrying seq. */
static struct rte_mbuf *
to_guest(uint32_t seq)
{
	struct rte_mbuf *m = frame4(seq, client_ip, old_ip);
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

	eth->dst_addr = guest_mac;
	eth->src_addr = lan_a_gw;
	return m;
}

/* The guest's frames in B's guest vring are seq first..first+n-1, in order. */
static void
assert_delivered(const struct relay *b, uint32_t first, uint32_t n)
{
	assert_int_equal(b->guest.tx[0].n, n);
	for (uint32_t i = 0; i < n; i++) {
		assert_false(vr_tunnel_is_marker(b->guest.tx[0].m[i]));
		assert_int_equal(seq_of(b->guest.tx[0].m[i]), first + i);
	}
}

/* Two relays on one LAN (a handover): the LAN's frames for the guest that
 * reached A before the LAN learned where it went come to B the long way,
 * after frames that reached B directly later. B keeps the direct ones
 * apart until A's marker (made of the guest's announcement, which reaches
 * A after all the rest) says nothing older is on its way: the guest gets
 * everything in the order the LAN sent it. */
static void
handover_keeps_order_until_the_marker(void **state)
{
	struct site *sa = site_new(true, "ho_a"), *sb = site_new(false, "ho_b");
	struct relay *a, *b;
	uint64_t settle = rte_get_tsc_hz() / 1000 * 20;

	(void)state;
	sa->tun.role = VR_TUNNEL_SOURCE;
	sb->tun.role = VR_TUNNEL_DEST;
	sa->tun.handover = sb->tun.handover = true;
	sa->tun.answer_mac = guest_mac;
	a = relay_new(sa, "ho_a", false);
	b = relay_new(sb, "ho_b", false);
	handoff_hold(&b->dev2vm, UINT64_MAX / 4);

	/* 0..9 reach A and are sealed; 10..14 reach B directly, sooner */
	for (uint32_t i = 0; i < 10; i++)
		fake_queue_push(&a->lan.rx[0], to_guest(i));
	poll_at(&a->dev2vm.d, 1);
	for (uint32_t i = 10; i < 15; i++)
		fake_queue_push(&b->lan.rx[0], to_guest(i));
	poll_at(&b->dev2vm.d, 2);
	carry(sa, sb);
	poll_at(&b->dev2vm.d, 3);
	/* the guest starts at B: what the tunnel brought goes in; the direct
	 * frames wait, and so do those after them, past the patience of no
	 * marker yet only when SETTLE has not passed */
	fake_up(&b->guest, 1);
	for (uint64_t t = 4; t < 8; t++)
		poll_at(&b->dev2vm.d, t);
	fake_queue_push(&b->lan.rx[0], to_guest(15));
	poll_at(&b->dev2vm.d, 8);
	assert_delivered(b, 0, 10);
	/* B announces the guest; A hears it after everything else, and passes
	 * it on as the marker */
	fake_queue_push(&a->lan.rx[0], arp_ask(&guest_mac, old_ip, gw_ip));
	poll_at(&a->dev2vm.d, 9);
	assert_int_equal(sa->tun.markers, 1);
	carry(sa, sb);
	for (uint64_t t = 10; t < 14; t++)
		poll_at(&b->dev2vm.d, t);
	assert_true(sb->tun.marked);
	assert_int_equal(sb->tun.markers, 1);
	assert_delivered(b, 0, 16);
	assert_int_equal(b->dev2vm.d.c.drop_unready + a->dev2vm.d.c.drop_unready, 0);

	/* a new handover whose marker never comes: the direct frames wait
	 * SETTLE after the guest came, no longer */
	handoff_tunnel(&b->vm2dev, &b->dev2vm, NULL);
	poll_at(&b->dev2vm.d, 20);
	sb->tun.marked = false;
	handoff_tunnel(&b->vm2dev, &b->dev2vm, &sb->tun);
	fake_queue_push(&b->lan.rx[0], to_guest(16));
	poll_at(&b->dev2vm.d, 21);
	assert_delivered(b, 0, 16);
	poll_at(&b->dev2vm.d, 21 + settle);
	poll_at(&b->dev2vm.d, 22 + settle);
	assert_delivered(b, 0, 17);

	relay_free(a, sa);
	relay_free(b, sb);
	site_free(sa);
	site_free(sb);
	assert_int_equal(rte_mempool_avail_count(pool), pool->size);
}

static int
eal_up(void **state)
{
	(void)state;
	pool = unit_eal_pool("tunnel_port_test", 4095);
	return pool != NULL && handoff_init(1) == 0 &&
	               vr_esp_init(SOCKET_ID_ANY, err, sizeof(err)) == 0
	           ? 0
	           : -1;
}

static int
eal_down(void **state)
{
	(void)state;
	vr_esp_fini();
	handoff_fini();
	rte_mempool_free(pool);
	return rte_eal_cleanup();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(guest_frames_cross_the_tunnel_in_order),
	    cmocka_unit_test(sealed_frames_go_to_the_current_next_hop),
	    cmocka_unit_test(rekey_between_bursts_loses_nothing),
	    cmocka_unit_test(syn_mss_clamped_to_the_underlay),
	    cmocka_unit_test(forged_foreign_and_full_device),
	    cmocka_unit_test(redirect_through_the_relays_directions),
	    cmocka_unit_test(tunnel_frames_held_after_the_redirects_hold_ran_out),
	    cmocka_unit_test(handover_keeps_order_until_the_marker),
	    cmocka_unit_test(big_frames_cut_and_made_whole),
	    cmocka_unit_test(big_frames_cut_over_ipv6_and_made_whole),
	};

	return cmocka_run_group_tests(tests, eal_up, eal_down);
}
