/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * esp.c between two relays A (198.51.100.1 / 2001:db8:a::1) and B
 * (203.0.113.1 / 2001:db8:b::1): guest frames encapsulated on A come out of
 * B byte for byte; replayed, forged, truncated, unknown-SPI and wrong-peer
 * frames are dropped under their own counter; every mbuf returns to the
 * pool. The outer headers are checked field by field here, and the cipher
 * by an independent implementation (tests/system/test_tunnel_wire.py runs
 * this program with --vectors FILE and decrypts what it writes with
 * python3-cryptography).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <rte_ip.h>
#include <rte_udp.h>

#include "eal.h"
#include "esp.h"
#include "unit.h"

static struct rte_mempool *pool;
static char err[256];

static const struct rte_ether_addr mac_a = {{0x02, 0, 0, 0, 0, 0xa}};
static const struct rte_ether_addr mac_b = {{0x02, 0, 0, 0, 0, 0xb}};
static const struct rte_ether_addr guest = {{0x52, 0x54, 0, 0, 0, 1}};
static const struct rte_ether_addr gw = {{0x02, 0, 0, 0, 0, 0x99}};

static struct vr_esp_key
test_key(uint32_t spi, uint8_t len)
{
	struct vr_esp_key k = {.spi = spi, .key_len = len};

	for (int i = 0; i < 32; i++)
		k.key[i] = (uint8_t)(i * 7 + spi);
	for (int i = 0; i < 4; i++)
		k.salt[i] = (uint8_t)(0xc0 + i);
	return k;
}

/* A's or B's view of the underlay. */
static struct vr_esp_path
path_of(bool at_a, bool ipv6)
{
	struct vr_esp_path p = {.ipv6 = ipv6, .local_port = 4500, .peer_port = 4500};
	uint8_t a4[4] = {198, 51, 100, 1}, b4[4] = {203, 0, 113, 1};
	uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0xa, [15] = 1};
	uint8_t b6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0xb, [15] = 1};

	p.local_mac = at_a ? mac_a : mac_b;
	p.next_hop_mac = at_a ? mac_b : mac_a;
	memcpy(p.local, ipv6 ? (at_a ? a6 : b6) : (at_a ? a4 : b4), ipv6 ? 16 : 4);
	memcpy(p.peer, ipv6 ? (at_a ? b6 : a6) : (at_a ? b4 : a4), ipv6 ? 16 : 4);
	return p;
}

/* A guest frame: Ethernet, IPv4 or IPv6, UDP, payload bytes seeded by seq;
 * len is the whole frame. */
static struct rte_mbuf *
guest_frame(bool ipv6, uint16_t len, uint32_t seq)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p;
	size_t l3 = ipv6 ? sizeof(struct rte_ipv6_hdr) : sizeof(struct rte_ipv4_hdr);
	struct rte_ether_hdr *eth;
	struct rte_udp_hdr *udp;

	assert_non_null(m);
	p = (uint8_t *)rte_pktmbuf_append(m, len);
	assert_non_null(p);
	for (uint16_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seq * 31 + i);
	eth = (struct rte_ether_hdr *)p;
	eth->dst_addr = gw;
	eth->src_addr = guest;
	if (ipv6) {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(eth + 1);

		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
		ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
		ip->payload_len = rte_cpu_to_be_16((uint16_t)(len - RTE_ETHER_HDR_LEN - l3));
		ip->proto = IPPROTO_UDP;
		ip->hop_limits = 64;
	} else {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->type_of_service = 0;
		ip->total_length = rte_cpu_to_be_16((uint16_t)(len - RTE_ETHER_HDR_LEN));
		ip->fragment_offset = 0;
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_UDP;
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
	udp = (struct rte_udp_hdr *)(p + RTE_ETHER_HDR_LEN + l3);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(len - RTE_ETHER_HDR_LEN - l3));
	udp->dgram_cksum = 0;
	return m;
}

struct pair {
	struct vr_esp_sa *out, *in;
};

static struct pair
make_pair(bool under6, bool inner6, uint32_t spi, uint8_t keylen)
{
	struct vr_esp_key k = test_key(spi, keylen);
	struct vr_esp_path pa = path_of(true, under6), pb = path_of(false, under6);
	struct pair p;

	p.out = vr_esp_sa_create(true, inner6, &k, &pa, 0, SOCKET_ID_ANY, err, sizeof(err));
	if (p.out == NULL)
		fail_msg("outbound SA: %s", err);
	p.in = vr_esp_sa_create(false, inner6, &k, &pb, 128, SOCKET_ID_ANY, err, sizeof(err));
	if (p.in == NULL)
		fail_msg("inbound SA: %s", err);
	return p;
}

static void
free_pair(struct pair p)
{
	vr_esp_sa_free(p.out);
	vr_esp_sa_free(p.in);
}

/* The outer headers A wrote, field by field, against the path. */
static void
check_outer(const struct rte_mbuf *m, bool under6, uint32_t spi)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_udp_hdr *udp;

	assert_memory_equal(&eth->dst_addr, &mac_b, 6);
	assert_memory_equal(&eth->src_addr, &mac_a, 6);
	if (under6) {
		const struct rte_ipv6_hdr *ip = (const void *)(eth + 1);

		assert_int_equal(eth->ether_type, rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6));
		assert_int_equal(ip->proto, IPPROTO_UDP);
		assert_int_equal(rte_be_to_cpu_16(ip->payload_len),
		                 m->pkt_len - RTE_ETHER_HDR_LEN - sizeof(*ip));
		udp = (const void *)(ip + 1);
		/* a correct UDP checksum sums to all ones */
		assert_int_equal(rte_ipv6_udptcp_cksum_verify(ip, udp), 0);
	} else {
		const struct rte_ipv4_hdr *ip = (const void *)(eth + 1);

		assert_int_equal(eth->ether_type, rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4));
		assert_int_equal(ip->next_proto_id, IPPROTO_UDP);
		assert_int_equal(rte_be_to_cpu_16(ip->total_length),
		                 m->pkt_len - RTE_ETHER_HDR_LEN);
		assert_int_equal(rte_ipv4_cksum(ip), 0); /* a correct header sums to zero */
		assert_int_equal(ip->src_addr, RTE_IPV4(1, 100, 51, 198));
		assert_int_equal(ip->dst_addr, RTE_IPV4(1, 113, 0, 203));
		udp = (const void *)(ip + 1);
	}
	assert_int_equal(rte_be_to_cpu_16(udp->dst_port), 4500);
	assert_int_equal(rte_be_to_cpu_16(udp->src_port), 4500);
	{
		uint32_t sent;

		memcpy(&sent, udp + 1, 4);
		assert_int_equal(rte_be_to_cpu_32(sent), spi);
	}
	assert_int_equal(vr_esp_frame_spi(m, 4500), spi);
	assert_int_equal(vr_esp_frame_spi(m, 4501), 0);
}

static void
round_trip(bool under6, bool inner6, uint8_t keylen)
{
	static const uint16_t sizes[] = {64, 65, 66, 67, 128, 512, 1000, 1514};
	const uint16_t n = RTE_DIM(sizes);
	struct rte_mbuf *m[RTE_DIM(sizes)], *want[RTE_DIM(sizes)];
	struct vr_esp_counters ca = {0}, cb = {0};
	struct pair p = make_pair(under6, inner6, 0x1000 + under6 * 2 + inner6, keylen);
	uint64_t inner_bytes = 0;

	for (uint16_t i = 0; i < n; i++) {
		m[i] = guest_frame(inner6, sizes[i] < 80 && inner6 ? 80 : sizes[i], i);
		want[i] = rte_pktmbuf_copy(m[i], pool, 0, UINT32_MAX);
		inner_bytes += m[i]->pkt_len - RTE_ETHER_HDR_LEN;
	}
	assert_int_equal(vr_esp_encap(p.out, m, n, &ca), n);
	assert_int_equal(ca.pkts, n);
	assert_int_equal(ca.bytes, inner_bytes);
	for (uint16_t i = 0; i < n; i++) {
		check_outer(m[i], under6, vr_esp_sa_spi(p.out));
		/* nothing of the inner packet is in the clear */
		assert_null(memmem(rte_pktmbuf_mtod(m[i], void *), m[i]->pkt_len,
		                   rte_pktmbuf_mtod_offset(want[i], void *, 40), 16));
	}
	{
		uint16_t got = vr_esp_decap(p.in, m, n, &guest, &gw, &cb);

		if (got != n)
			fail_msg(
			    "decap %u of %u: malformed %lu wrong_peer %lu no_sa %lu replay %lu "
			    "auth %lu",
			    got, n, cb.malformed, cb.wrong_peer, cb.no_sa, cb.replay, cb.auth);
	}
	assert_int_equal(cb.pkts, n);
	assert_int_equal(cb.bytes, inner_bytes);
	for (uint16_t i = 0; i < n; i++) {
		const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m[i], const void *);

		assert_int_equal(m[i]->pkt_len, want[i]->pkt_len);
		assert_memory_equal(&eth->dst_addr, &guest, 6);
		assert_memory_equal(&eth->src_addr, &gw, 6);
		assert_memory_equal(rte_pktmbuf_mtod(m[i], uint8_t *) + 12,
		                    rte_pktmbuf_mtod(want[i], uint8_t *) + 12,
		                    want[i]->pkt_len - 12);
		rte_pktmbuf_free(m[i]);
		rte_pktmbuf_free(want[i]);
	}
	free_pair(p);
}

static void
ipv4_in_ipv4(void **state)
{
	(void)state;
	round_trip(false, false, 16);
	round_trip(false, false, 32);
}

static void
ipv6_in_ipv6_and_mixed(void **state)
{
	(void)state;
	round_trip(true, true, 16);
	round_trip(true, false, 32);
	round_trip(false, true, 16);
}

/* One frame encapsulated on A, as B would receive it. */
static struct rte_mbuf *
sealed(struct pair p, uint32_t seq)
{
	struct vr_esp_counters c = {0};
	struct rte_mbuf *m = guest_frame(false, 200, seq);

	assert_int_equal(vr_esp_encap(p.out, &m, 1, &c), 1);
	return m;
}

static void
expect_drop(struct pair p, struct rte_mbuf *m, size_t counter)
{
	struct vr_esp_counters c = {0};

	assert_int_equal(vr_esp_decap(p.in, &m, 1, &guest, &gw, &c), 0);
	for (size_t off = offsetof(struct vr_esp_counters, not_ip); off < sizeof(c);
	     off += sizeof(uint64_t))
		assert_int_equal(*(uint64_t *)((char *)&c + off), off == counter);
	assert_int_equal(c.pkts, 0);
}

static void
replayed_forged_truncated_unknown(void **state)
{
	struct pair p = make_pair(false, false, 0x2000, 16);
	struct pair other = make_pair(false, false, 0x2001, 16);
	struct vr_esp_counters c = {0};
	struct rte_mbuf *m, *copy;

	(void)state;
	/* the first copy passes, its replay does not */
	m = sealed(p, 1);
	copy = rte_pktmbuf_copy(m, pool, 0, UINT32_MAX);
	assert_int_equal(vr_esp_decap(p.in, &m, 1, &guest, &gw, &c), 1);
	rte_pktmbuf_free(m);
	expect_drop(p, copy, offsetof(struct vr_esp_counters, replay));

	/* a replay from deep inside the window, after many newer packets */
	{
		struct rte_mbuf *old = NULL;

		for (uint32_t i = 0; i < 300; i++) {
			m = sealed(p, 100 + i);
			if (i == 50)
				old = rte_pktmbuf_copy(m, pool, 0, UINT32_MAX);
			assert_int_equal(vr_esp_decap(p.in, &m, 1, &guest, &gw, &c), 1);
			rte_pktmbuf_free(m);
		}
		expect_drop(p, old, offsetof(struct vr_esp_counters, replay));
	}

	/* a flipped ciphertext bit, a flipped ICV bit */
	m = sealed(p, 2);
	*rte_pktmbuf_mtod_offset(m, uint8_t *, 14 + 20 + 8 + 16 + 5) ^= 1;
	expect_drop(p, m, offsetof(struct vr_esp_counters, auth));
	m = sealed(p, 3);
	*rte_pktmbuf_mtod_offset(m, uint8_t *, m->pkt_len - 1) ^= 0x80;
	expect_drop(p, m, offsetof(struct vr_esp_counters, auth));

	/* cut short: lengths no longer agree; cut with lengths fixed: the ICV */
	m = sealed(p, 4);
	rte_pktmbuf_trim(m, 20);
	expect_drop(p, m, offsetof(struct vr_esp_counters, malformed));
	m = sealed(p, 5);
	{
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

		rte_pktmbuf_trim(m, 20);
		ip->total_length = rte_cpu_to_be_16(rte_be_to_cpu_16(ip->total_length) - 20);
		udp->dgram_len = rte_cpu_to_be_16(rte_be_to_cpu_16(udp->dgram_len) - 20);
	}
	expect_drop(p, m, offsetof(struct vr_esp_counters, auth));
	m = sealed(p, 6);
	rte_pktmbuf_trim(m, m->pkt_len - 30);
	expect_drop(p, m, offsetof(struct vr_esp_counters, malformed));

	/* another SA's frame; the right SPI from another address */
	m = sealed(other, 7);
	expect_drop(p, m, offsetof(struct vr_esp_counters, no_sa));
	m = sealed(p, 8);
	rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14)->src_addr = RTE_IPV4(9, 113, 0, 203);
	expect_drop(p, m, offsetof(struct vr_esp_counters, wrong_peer));

	/* after all that, the next good frame still passes */
	m = sealed(p, 9);
	memset(&c, 0, sizeof(c));
	assert_int_equal(vr_esp_decap(p.in, &m, 1, &guest, &gw, &c), 1);
	rte_pktmbuf_free(m);
	free_pair(p);
	free_pair(other);
}

static void
encap_refuses_what_it_cannot_carry(void **state)
{
	struct pair p = make_pair(false, false, 0x3000, 16);
	struct vr_esp_counters c = {0};
	struct rte_mbuf *m[3];
	struct rte_ether_hdr *eth;

	(void)state;
	m[0] = guest_frame(false, 100, 1);
	m[1] = guest_frame(true, 100, 2); /* IPv6 on an IPv4 SA */
	m[2] = guest_frame(false, 100, 3);
	eth = rte_pktmbuf_mtod(m[2], struct rte_ether_hdr *);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	assert_int_equal(vr_esp_encap(p.out, m, 3, &c), 1);
	assert_int_equal(c.not_ip, 2);
	assert_int_equal(c.pkts, 1);
	rte_pktmbuf_free(m[0]);
	free_pair(p);
}

static void
bad_parameters_refused(void **state)
{
	struct vr_esp_key k = test_key(1, 24);
	struct vr_esp_path pa = path_of(true, false);

	(void)state;
	assert_null(vr_esp_sa_create(true, false, &k, &pa, 0, SOCKET_ID_ANY, err, sizeof(err)));
	assert_contains(err, "AES-GCM key of 24 bytes");
	k.key_len = 16;
	assert_null(vr_esp_sa_create(false, false, &k, &pa, 10, SOCKET_ID_ANY, err, sizeof(err)));
	assert_contains(err, "replay window 10 not in 64..4096");
}

/* --vectors FILE: frames for an independent decryption, one per line:
 * "key salt spi under6 inner6 outer-frame-hex inner-packet-hex". */
static int
write_vectors(const char *file)
{
	FILE *f = fopen(file, "w");

	if (f == NULL)
		return 1;
	for (int v = 0; v < 4; v++) {
		bool under6 = v & 1, inner6 = v & 2;
		struct vr_esp_key k = test_key(0x4000 + (uint32_t)v, v == 3 ? 32 : 16);
		struct vr_esp_path pa = path_of(true, under6);
		struct vr_esp_sa *out =
		    vr_esp_sa_create(true, inner6, &k, &pa, 0, SOCKET_ID_ANY, err, sizeof(err));
		struct vr_esp_counters c = {0};

		if (out == NULL)
			return 1;
		for (uint32_t i = 0; i < 3; i++) {
			struct rte_mbuf *m = guest_frame(inner6, (uint16_t)(100 + i * 700), i);
			struct rte_mbuf *in =
			    rte_pktmbuf_copy(m, pool, RTE_ETHER_HDR_LEN, UINT32_MAX);

			if (vr_esp_encap(out, &m, 1, &c) != 1)
				return 1;
			for (int b = 0; b < k.key_len; b++)
				fprintf(f, "%02x", k.key[b]);
			fprintf(f, " %02x%02x%02x%02x %u %d %d ", k.salt[0], k.salt[1], k.salt[2],
			        k.salt[3], k.spi, under6, inner6);
			for (uint32_t b = 0; b < m->pkt_len; b++)
				fprintf(f, "%02x", rte_pktmbuf_mtod(m, uint8_t *)[b]);
			fputc(' ', f);
			for (uint32_t b = 0; b < in->pkt_len; b++)
				fprintf(f, "%02x", rte_pktmbuf_mtod(in, uint8_t *)[b]);
			fputc('\n', f);
			rte_pktmbuf_free(m);
			rte_pktmbuf_free(in);
		}
		vr_esp_sa_free(out);
	}
	return fclose(f) != 0;
}

static int
eal_up(void **state)
{
	(void)state;
	pool = unit_eal_pool("esp_test", 1023);
	if (pool == NULL || vr_esp_init(SOCKET_ID_ANY, err, sizeof(err)) != 0) {
		fprintf(stderr, "esp_test: %s\n", err);
		return -1;
	}
	return 0;
}

static int
eal_down(void **state)
{
	(void)state;
	assert_int_equal(rte_mempool_avail_count(pool), pool->size); /* nothing leaked */
	vr_esp_fini();
	rte_mempool_free(pool);
	return rte_eal_cleanup();
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(ipv4_in_ipv4),
	    cmocka_unit_test(ipv6_in_ipv6_and_mixed),
	    cmocka_unit_test(replayed_forged_truncated_unknown),
	    cmocka_unit_test(encap_refuses_what_it_cannot_carry),
	    cmocka_unit_test(bad_parameters_refused),
	};

	if (argc == 3 && strcmp(argv[1], "--vectors") == 0) {
		int rc = eal_up(NULL) != 0 || write_vectors(argv[2]) != 0;

		eal_down(NULL);
		return rc;
	}
	return cmocka_run_group_tests(tests, eal_up, eal_down);
}
