/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Finishing a guest's checksums and cutting its TCP frames (offload.c), on
 * real mbufs from an EAL in memory (no hugepages). DPDK's own checksum
 * verifiers are the oracle.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "offload.h"
#include "eal.h"
#include "unit.h"

#define TCP_OPT_LEN 12 /* timestamps, as Linux sends */

static struct rte_mempool *pool;

struct frame_spec {
	bool v6, udp, vlan;
	uint32_t payload;
	uint16_t seg_room; /* bytes per mbuf of the built chain */
	uint8_t tcp_flags;
	uint32_t pad; /* Ethernet padding after the IP packet */
};

static uint8_t
payload_byte(uint32_t i)
{
	return (uint8_t)(i * 7 + 3);
}

static uint32_t
hdr_len(const struct frame_spec *f)
{
	return 14 + (f->vlan ? 4 : 0) + (f->v6 ? 40 : 20) + (f->udp ? 8 : 20 + TCP_OPT_LEN);
}

/* Headers of f into h; returns their length. L4 checksum left as garbage. */
static uint32_t
write_headers(const struct frame_spec *f, uint8_t *h)
{
	uint32_t l2 = 14 + (f->vlan ? 4 : 0), l3 = f->v6 ? 40 : 20;
	uint32_t l4 = f->udp ? 8 : 20 + TCP_OPT_LEN, l4_total = l4 + f->payload;

	memset(h, 0, hdr_len(f));
	memcpy(h, "\x02\x00\x00\x00\x00\x01\x52\x54\x00\x00\x02\x0a", 12);
	if (f->vlan) {
		h[12] = 0x81;
		h[14] = 0x00;
		h[15] = 0x07;
	}
	h[l2 - 2] = f->v6 ? 0x86 : 0x08;
	h[l2 - 1] = f->v6 ? 0xdd : 0x00;
	if (f->v6) {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(h + l2);

		ip6->vtc_flow = rte_cpu_to_be_32(6u << 28);
		ip6->payload_len = rte_cpu_to_be_16((uint16_t)l4_total);
		ip6->proto = f->udp ? IPPROTO_UDP : IPPROTO_TCP;
		ip6->hop_limits = 64;
		memcpy(ip6->src_addr, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x10", 16);
		memcpy(ip6->dst_addr, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	} else {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(h + l2);

		ip->version_ihl = 0x45;
		ip->total_length = rte_cpu_to_be_16((uint16_t)(l3 + l4_total));
		ip->packet_id = rte_cpu_to_be_16(0xfffe); /* wraps while cutting */
		ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
		ip->time_to_live = 64;
		ip->next_proto_id = f->udp ? IPPROTO_UDP : IPPROTO_TCP;
		ip->src_addr = rte_cpu_to_be_32(0xc000020a); /* 192.0.2.10 */
		ip->dst_addr = rte_cpu_to_be_32(0xc0000201);
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
	if (f->udp) {
		struct rte_udp_hdr *u = (struct rte_udp_hdr *)(h + l2 + l3);

		u->src_port = rte_cpu_to_be_16(5001);
		u->dst_port = rte_cpu_to_be_16(5201);
		u->dgram_len = rte_cpu_to_be_16((uint16_t)l4_total);
		u->dgram_cksum = 0x5a5a;
	} else {
		struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)(h + l2 + l3);

		t->src_port = rte_cpu_to_be_16(40000);
		t->dst_port = rte_cpu_to_be_16(5201);
		t->sent_seq = rte_cpu_to_be_32(0xfffff000); /* wraps while cutting */
		t->recv_ack = rte_cpu_to_be_32(77);
		t->data_off = (uint8_t)(((20 + TCP_OPT_LEN) / 4) << 4);
		t->tcp_flags = f->tcp_flags;
		t->rx_win = rte_cpu_to_be_16(512);
		t->cksum = 0x5a5a;
		memset(h + l2 + l3 + 20, 1, TCP_OPT_LEN); /* NOPs */
	}
	return hdr_len(f);
}

/* A chain of mbufs holding frame f, each mbuf holding at most seg_room bytes. */
static struct rte_mbuf *
build(const struct frame_spec *f)
{
	uint8_t h[128];
	uint32_t hl = write_headers(f, h), total = hl + f->payload + f->pad;
	uint16_t room = f->seg_room != 0 ? f->seg_room : 2048;
	struct rte_mbuf *head = NULL;

	for (uint32_t off = 0; off < total;) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		uint32_t n = RTE_MIN((uint32_t)room, total - off);
		uint8_t *p;

		assert_non_null(m);
		p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)n);
		assert_non_null(p);
		for (uint32_t i = 0; i < n; i++, off++)
			p[i] = off < hl ? h[off] : payload_byte(off - hl);
		if (head == NULL)
			head = m;
		else
			assert_int_equal(rte_pktmbuf_chain(head, m), 0);
	}
	return head;
}

/* What lib/vhost leaves on a frame whose guest asked for csum or TSO. */
static struct rte_mbuf *
from_guest(const struct frame_spec *f, uint16_t mss)
{
	struct rte_mbuf *m = build(f);

	m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_NONE | (mss ? RTE_MBUF_F_RX_LRO : 0);
	m->tso_segsz = mss;
	return m;
}

/* L4 checksum of m verifies against its IP header (DPDK's verifier). */
static void
assert_l4_ok(const struct rte_mbuf *m)
{
	const void *l3 = rte_pktmbuf_mtod_offset(m, const void *, m->l2_len);
	int rc = RTE_ETH_IS_IPV4_HDR(m->packet_type)
	             ? rte_ipv4_udptcp_cksum_mbuf_verify(m, l3, m->l2_len + m->l3_len)
	             : rte_ipv6_udptcp_cksum_mbuf_verify(m, l3, m->l2_len + m->l3_len);

	assert_int_equal(rc, 0);
}

static void
test_csum_tcp4_in_software(void **state)
{
	struct frame_spec f = {.payload = 1000};
	struct rte_mbuf *m = from_guest(&f, 0);

	(void)state;
	assert_true(offload_wanted(m));
	assert_int_equal(offload_prepare(m, 0), VR_OFL_READY);
	assert_int_equal(m->l2_len, 14);
	assert_int_equal(m->l3_len, 20);
	assert_int_equal(m->l4_len, 20 + TCP_OPT_LEN);
	assert_false(m->ol_flags & (RTE_MBUF_F_TX_L4_MASK | VR_OFFLOAD_RX_FLAGS));
	assert_l4_ok(m);
	rte_pktmbuf_free(m);
}

/* Chained jumbo UDP over IPv6 behind a VLAN tag, cut at odd offsets. */
static void
test_csum_udp6_chained_vlan(void **state)
{
	struct frame_spec f = {
	    .v6 = true, .udp = true, .vlan = true, .payload = 8000, .seg_room = 1001};
	struct rte_mbuf *m = from_guest(&f, 0);

	(void)state;
	assert_true(m->nb_segs > 1);
	assert_int_equal(offload_prepare(m, 0), VR_OFL_READY);
	assert_int_equal(m->l2_len, 18);
	assert_l4_ok(m);
	rte_pktmbuf_free(m);
}

static void
test_padding_trimmed(void **state)
{
	struct frame_spec f = {.payload = 2, .pad = 6};
	struct rte_mbuf *m = from_guest(&f, 0);

	(void)state;
	assert_int_equal(offload_prepare(m, 0), VR_OFL_READY);
	assert_int_equal(rte_pktmbuf_pkt_len(m), hdr_len(&f) + 2);
	assert_l4_ok(m);
	rte_pktmbuf_free(m);
}

/* A device that checksums: flags set, pseudo-header seeded (DPDK's rule). */
static void
test_csum_by_device(void **state)
{
	struct frame_spec f = {.payload = 300};
	struct rte_mbuf *m = from_guest(&f, 0);
	const struct rte_ipv4_hdr *ip;
	uint16_t field;

	(void)state;
	assert_int_equal(offload_prepare(m, RTE_ETH_TX_OFFLOAD_TCP_CKSUM), VR_OFL_READY);
	assert_int_equal(m->ol_flags & (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_IPV4),
	                 RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV4);
	ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, 14);
	memcpy(&field, rte_pktmbuf_mtod_offset(m, uint8_t *, 14 + 20 + 16), 2);
	assert_int_equal(field, rte_ipv4_phdr_cksum(ip, m->ol_flags));
	rte_pktmbuf_free(m);
}

static void
test_tso_by_device(void **state)
{
	struct frame_spec f = {.v6 = true, .payload = 20000};
	struct rte_mbuf *m = from_guest(&f, 1400);

	(void)state;
	assert_int_equal(offload_prepare(m, VR_OFFLOAD_DEV_TX), VR_OFL_READY);
	assert_true(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG);
	assert_true(m->ol_flags & RTE_MBUF_F_TX_IPV6);
	assert_false(offload_to_cut(m));
	assert_int_equal(m->tso_segsz, 1400);
	rte_pktmbuf_free(m);
}

/* Every segment: its length, IP fields, sequence number, flags, payload
 * bytes and checksums. */
static void
check_segments(const struct frame_spec *f, struct rte_mbuf **seg, unsigned n, uint16_t mss)
{
	uint32_t hl = hdr_len(f), l2 = hl - (f->v6 ? 40 : 20) - 20 - TCP_OPT_LEN;

	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *s = seg[i];
		uint32_t len = RTE_MIN((uint32_t)mss, f->payload - i * mss);
		const struct rte_tcp_hdr *t;
		uint8_t buf[16384];
		const uint8_t *p;

		assert_int_equal(rte_pktmbuf_pkt_len(s), hl + len);
		p = rte_pktmbuf_read(s, 0, hl + len, buf);
		if (f->v6) {
			const struct rte_ipv6_hdr *ip6 = (const void *)(p + l2);

			assert_int_equal(rte_be_to_cpu_16(ip6->payload_len), hl - l2 - 40 + len);
		} else {
			const struct rte_ipv4_hdr *ip = (const void *)(p + l2);

			assert_int_equal(rte_be_to_cpu_16(ip->total_length), hl - l2 + len);
			assert_int_equal(rte_be_to_cpu_16(ip->packet_id), (uint16_t)(0xfffe + i));
			assert_int_equal(rte_raw_cksum(ip, 20), 0xffff);
		}
		t = (const void *)(p + hl - 20 - TCP_OPT_LEN);
		assert_int_equal(rte_be_to_cpu_32(t->sent_seq), (uint32_t)(0xfffff000u + i * mss));
		/* FIN and PSH stay on the last segment only, CWR on the first */
		assert_int_equal(t->tcp_flags & RTE_TCP_FIN_FLAG,
		                 i == n - 1 ? f->tcp_flags & RTE_TCP_FIN_FLAG : 0);
		assert_int_equal(t->tcp_flags & RTE_TCP_PSH_FLAG,
		                 i == n - 1 ? f->tcp_flags & RTE_TCP_PSH_FLAG : 0);
		assert_int_equal(t->tcp_flags & RTE_TCP_CWR_FLAG,
		                 i == 0 ? f->tcp_flags & RTE_TCP_CWR_FLAG : 0);
		assert_true(t->tcp_flags & RTE_TCP_ACK_FLAG);
		for (uint32_t b = 0; b < len; b++)
			if (p[hl + b] != payload_byte(i * mss + b))
				fail_msg("segment %u byte %u differs", i, b);
		assert_l4_ok(s);
	}
}

static void
cut_all(const struct frame_spec *f, uint16_t mss, uint16_t room)
{
	struct rte_mbuf *m = from_guest(f, mss), *seg[256];
	unsigned n = 0, want = (f->payload + mss - 1) / mss;
	uint32_t done = 0;

	assert_int_equal(offload_prepare(m, RTE_ETH_TX_OFFLOAD_TCP_CKSUM), VR_OFL_CUT);
	assert_true(offload_to_cut(m));
	assert_int_equal(offload_payload(m), f->payload);
	while (done < f->payload) {
		int c = offload_cut(m, &done, pool, seg + n, room);

		assert_true(c > 0 && c <= room);
		n += (unsigned)c;
	}
	assert_int_equal(n, want);
	check_segments(f, seg, n, mss);
	rte_pktmbuf_free(m);
	rte_pktmbuf_free_bulk(seg, n);
}

static void
test_tso4_cut(void **state)
{
	struct frame_spec f = {.payload = 65000,
	                       .seg_room = 2048,
	                       .tcp_flags = RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG | RTE_TCP_FIN_FLAG |
	                                    RTE_TCP_CWR_FLAG};

	(void)state;
	cut_all(&f, 1448, 64);
	cut_all(&f, 1448, 5); /* pend with little room: cut in several passes */
}

static void
test_tso6_cut_vlan_odd_chain(void **state)
{
	struct frame_spec f = {.v6 = true,
	                       .vlan = true,
	                       .payload = 30001,
	                       .seg_room = 777,
	                       .tcp_flags = RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG | RTE_TCP_CWR_FLAG |
	                                    RTE_TCP_FIN_FLAG};

	(void)state;
	cut_all(&f, 1428, 64);
}

/* MSS beyond one mbuf (MTU 9000): each segment is a chain. */
static void
test_tso_jumbo_mss(void **state)
{
	struct frame_spec f = {.payload = 40000,
	                       .tcp_flags = RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG | RTE_TCP_FIN_FLAG |
	                                    RTE_TCP_CWR_FLAG};
	struct rte_mbuf *m = from_guest(&f, 8948), *seg[8];
	uint32_t done = 0;
	int n;

	(void)state;
	assert_int_equal(offload_prepare(m, 0), VR_OFL_CUT);
	n = offload_cut(m, &done, pool, seg, 8);
	assert_int_equal(n, 5);
	assert_true(seg[0]->nb_segs >= 5);
	check_segments(&f, seg, 5, 8948);
	rte_pktmbuf_free(m);
	rte_pktmbuf_free_bulk(seg, 5);
}

/* An empty pool stops the cut where it is; it goes on when mbufs return. */
static void
test_cut_waits_for_mbufs(void **state)
{
	struct frame_spec f = {.payload = 14480, .tcp_flags = RTE_TCP_ACK_FLAG};
	struct rte_mbuf *m = from_guest(&f, 1448), *seg[16], *hog[8192];
	unsigned held = 0, n = 0;
	uint32_t done = 0;
	int c;

	(void)state;
	assert_int_equal(offload_prepare(m, 0), VR_OFL_CUT);
	while (held < RTE_DIM(hog) && (hog[held] = rte_pktmbuf_alloc(pool)) != NULL)
		held++;
	assert_true(held > 4 && held < RTE_DIM(hog));
	rte_pktmbuf_free_bulk(hog + held - 3, 3); /* room for three segments */
	held -= 3;
	c = offload_cut(m, &done, pool, seg, 16);
	assert_int_equal(c, 3);
	assert_int_equal(done, 3 * 1448);
	assert_int_equal(offload_cut(m, &done, pool, seg + 3, 16), 0);
	rte_pktmbuf_free_bulk(hog, held);
	n = 3;
	while (done < f.payload) {
		c = offload_cut(m, &done, pool, seg + n, 16);
		assert_true(c > 0);
		n += (unsigned)c;
	}
	assert_int_equal(n, 10);
	check_segments(&f, seg, n, 1448);
	rte_pktmbuf_free(m);
	rte_pktmbuf_free_bulk(seg, n);
}

/* One segment's worth, or no MSS: only the checksum is left to do. */
static void
test_tso_single_segment_is_csum(void **state)
{
	struct frame_spec f = {.payload = 1448};
	struct rte_mbuf *m = from_guest(&f, 1448);

	(void)state;
	assert_int_equal(offload_prepare(m, 0), VR_OFL_READY);
	assert_false(offload_to_cut(m));
	assert_l4_ok(m);
	rte_pktmbuf_free(m);
}

/* Requests the relay cannot meet are refused, whatever the frame holds. */
static void
test_bad_requests(void **state)
{
	struct frame_spec tcp = {.payload = 100}, udp = {.udp = true, .payload = 3000};
	struct rte_mbuf *m;
	uint8_t *p;

	(void)state;
	m = from_guest(&udp, 1000); /* UDP fragmentation offload is not offered */
	assert_int_equal(offload_prepare(m, VR_OFFLOAD_DEV_TX), VR_OFL_BAD);
	rte_pktmbuf_free(m);

	m = from_guest(&tcp, 0); /* ARP with a checksum request */
	rte_pktmbuf_mtod(m, uint8_t *)[12] = 0x08;
	rte_pktmbuf_mtod(m, uint8_t *)[13] = 0x06;
	assert_int_equal(offload_prepare(m, 0), VR_OFL_BAD);
	rte_pktmbuf_free(m);

	m = from_guest(&tcp, 0); /* IPv4 length beyond the frame */
	p = rte_pktmbuf_mtod_offset(m, uint8_t *, 14 + 2);
	p[0] = 0x40;
	assert_int_equal(offload_prepare(m, 0), VR_OFL_BAD);
	rte_pktmbuf_free(m);

	m = from_guest(&tcp, 0); /* IPv4 length shorter than its own headers */
	p = rte_pktmbuf_mtod_offset(m, uint8_t *, 14 + 2);
	p[0] = 0;
	p[1] = 30;
	assert_int_equal(offload_prepare(m, 0), VR_OFL_BAD);
	rte_pktmbuf_free(m);

	tcp.seg_room = 40; /* headers split across mbufs */
	m = from_guest(&tcp, 0);
	assert_int_equal(offload_prepare(m, 0), VR_OFL_BAD);
	rte_pktmbuf_free(m);

	tcp.seg_room = 0; /* a fragment */
	m = from_guest(&tcp, 0);
	p = rte_pktmbuf_mtod_offset(m, uint8_t *, 14 + 6);
	p[0] = 0x20; /* more fragments */
	assert_int_equal(offload_prepare(m, 0), VR_OFL_BAD);
	rte_pktmbuf_free(m);

	m = from_guest(&tcp, 0); /* TCP data offset 2 words (found by fuzz_offload) */
	p = rte_pktmbuf_mtod_offset(m, uint8_t *, 14 + 20 + 12);
	p[0] = 2 << 4;
	no_regression(offload_prepare(m, 0) == VR_OFL_BAD,
	              "a TCP header shorter than 20 bytes had its checksum written past its end");
	rte_pktmbuf_free(m);

	m = from_guest(&tcp, 0); /* a runt: Ethernet header only */
	rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - 14));
	assert_int_equal(offload_prepare(m, 0), VR_OFL_BAD);
	rte_pktmbuf_free(m);
}

/* Issue 12 item 4: an absurdly small MSS is refused with or without device
 * TSO, the floor itself is taken; padding beyond 64 KiB (which the 16-bit
 * trim would have cut short) is refused. */
static void
test_mss_and_length_limits(void **state)
{
	struct frame_spec big = {.payload = 60000}, padded = {.payload = 100, .pad = 70000};
	struct rte_mbuf *m;

	(void)state;
	for (int dev = 0; dev < 2; dev++) {
		uint64_t tx = dev ? VR_OFFLOAD_DEV_TX : 0;

		m = from_guest(&big, 1);
		no_regression(offload_prepare(m, tx) == VR_OFL_BAD,
		              "MSS 1: 60000 segments of one byte each");
		rte_pktmbuf_free(m);
		m = from_guest(&big, VR_TSO_MSS_MIN - 1);
		assert_int_equal(offload_prepare(m, tx), VR_OFL_BAD);
		rte_pktmbuf_free(m);
		m = from_guest(&big, VR_TSO_MSS_MIN);
		assert_int_not_equal(offload_prepare(m, tx), VR_OFL_BAD);
		rte_pktmbuf_free(m);
		m = from_guest(&padded, 0);
		no_regression(offload_prepare(m, tx) == VR_OFL_BAD,
		              "70000 bytes of padding trimmed by 70000 mod 65536");
		rte_pktmbuf_free(m);
	}
}

static int
eal_up(void **state)
{
	(void)state;
	pool = unit_eal_pool("offload_test", 4095);
	return pool != NULL ? 0 : -1;
}

static int
eal_down(void **state)
{
	(void)state;
	assert_int_equal(rte_mempool_avail_count(pool), pool->size); /* nothing leaked */
	rte_mempool_free(pool);
	return rte_eal_cleanup();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_csum_tcp4_in_software),
	    cmocka_unit_test(test_csum_udp6_chained_vlan),
	    cmocka_unit_test(test_padding_trimmed),
	    cmocka_unit_test(test_csum_by_device),
	    cmocka_unit_test(test_tso_by_device),
	    cmocka_unit_test(test_tso4_cut),
	    cmocka_unit_test(test_tso6_cut_vlan_odd_chain),
	    cmocka_unit_test(test_tso_jumbo_mss),
	    cmocka_unit_test(test_cut_waits_for_mbufs),
	    cmocka_unit_test(test_tso_single_segment_is_csum),
	    cmocka_unit_test(test_bad_requests),
	    cmocka_unit_test(test_mss_and_length_limits),
	};

	return cmocka_run_group_tests(tests, eal_up, eal_down);
}
