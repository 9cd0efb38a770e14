/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: a guest's frame and its offload request (src/offload.c).
 * Whatever the guest sends, the relay neither crashes nor leaks, and what it
 * sends on carries correct checksums (IPv6 extension headers included) or is
 * fit for the device to finish, and fits the requested segment size.
 *
 * Input: flags byte (bit 0 checksum request, bit 1 TSO), MSS (2 bytes),
 * mbuf fill per segment (2 bytes), device offloads byte, then the frame.
 */
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "fuzz_common.h"
#include "offload.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rte_mempool *pool;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *eal[] = {"fuzz_offload", "--no-huge",   "--no-pci",           "-m",
	               "256",          "--no-shconf", "--log-level=*:crit", "--no-telemetry"};

	(void)argc;
	(void)argv;
	if (rte_eal_init((int)RTE_DIM(eal), eal) < 0)
		abort();
	pool = rte_pktmbuf_pool_create("fuzz", 8191, 0, 0, 2048 + 128, SOCKET_ID_ANY);
	if (pool == NULL)
		abort();
	return 0;
}

static struct rte_mbuf *
frame_from(const uint8_t *p, size_t len, uint16_t fill)
{
	struct rte_mbuf *head = NULL;

	/* any split of the frame into mbufs, within what the pool holds */
	fill = (uint16_t)RTE_MAX(fill % 2048 + 1, len / 2048 + 1);
	for (size_t off = 0; off < len;) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		size_t n = RTE_MIN((size_t)fill, len - off);

		if (m == NULL)
			abort();
		memcpy(rte_pktmbuf_append(m, (uint16_t)n), p + off, n);
		off += n;
		if (head == NULL)
			head = m;
		else if (rte_pktmbuf_chain(head, m) != 0)
			abort();
	}
	return head;
}

/* An IPv6 frame with extension headers: DPDK's verifier counts them in the
 * pseudo-header length, so the sum is checked here over a pseudo-header
 * built as RFC 8200 8.1 draws it (upper-layer length, upper-layer protocol)
 * followed by the upper-layer bytes: all of it must sum to 0xffff. */
static void
check_v6_ext(const struct rte_mbuf *m)
{
	const struct rte_ipv6_hdr *ip6 = rte_pktmbuf_mtod_offset(m, const void *, m->l2_len);
	uint32_t off = m->l2_len + m->l3_len, len = rte_pktmbuf_pkt_len(m) - off;
	uint8_t ph[40] = {0};
	uint16_t raw;
	uint32_t sum;

	memcpy(ph, ip6->src_addr, 32);
	ph[32] = (uint8_t)(len >> 24);
	ph[33] = (uint8_t)(len >> 16);
	ph[34] = (uint8_t)(len >> 8);
	ph[35] = (uint8_t)len;
	ph[39] =
	    (m->packet_type & RTE_PTYPE_L4_MASK) == RTE_PTYPE_L4_TCP ? IPPROTO_TCP : IPPROTO_UDP;
	FUZZ_CHECK(rte_raw_cksum_mbuf(m, off, len, &raw) == 0);
	sum = (uint32_t)rte_raw_cksum(ph, sizeof(ph)) + raw;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	FUZZ_CHECK(sum == 0xffff);
}

/* A frame left to the device: the flags say what the headers are, DPDK's
 * own validation takes it, the MSS is above the floor and the checksum
 * field holds the pseudo-header sum the device adds to. */
static void
check_for_device(const struct rte_mbuf *m)
{
	const void *l3 = rte_pktmbuf_mtod_offset(m, const void *, m->l2_len);
	const uint8_t *l4 = rte_pktmbuf_mtod_offset(m, const uint8_t *, m->l2_len + m->l3_len);
	bool tcp = (m->packet_type & RTE_PTYPE_L4_MASK) == RTE_PTYPE_L4_TCP;
	bool v4 = RTE_ETH_IS_IPV4_HDR(m->packet_type);
	uint16_t field, want;

	FUZZ_CHECK(rte_validate_tx_offload(m) == 0);
	FUZZ_CHECK(!!(m->ol_flags & RTE_MBUF_F_TX_IPV4) == v4);
	FUZZ_CHECK(!!(m->ol_flags & RTE_MBUF_F_TX_IPV6) == !v4);
	if (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG)
		FUZZ_CHECK(tcp && m->tso_segsz >= VR_TSO_MSS_MIN);
	memcpy(&field, l4 + (tcp ? 16 : 6), sizeof(field));
	want = v4 ? rte_ipv4_phdr_cksum(l3, m->ol_flags) : rte_ipv6_phdr_cksum(l3, m->ol_flags);
	FUZZ_CHECK(field == want);
}

/* What the relay sends on: complete checksums, or ready for the device. */
static void
check_sent(const struct rte_mbuf *m)
{
	const void *l3 = rte_pktmbuf_mtod_offset(m, const void *, m->l2_len);

	if (m->ol_flags & RTE_MBUF_F_TX_L4_MASK) {
		check_for_device(m);
		return;
	}
	if (!RTE_ETH_IS_IPV4_HDR(m->packet_type) && m->l3_len != sizeof(struct rte_ipv6_hdr)) {
		check_v6_ext(m);
		return;
	}
	if (RTE_ETH_IS_IPV4_HDR(m->packet_type))
		FUZZ_CHECK(rte_ipv4_udptcp_cksum_mbuf_verify(m, l3, m->l2_len + m->l3_len) == 0);
	else
		FUZZ_CHECK(rte_ipv6_udptcp_cksum_mbuf_verify(m, l3, m->l2_len + m->l3_len) == 0);
}

static void
cut_all(struct rte_mbuf *m, uint8_t room)
{
	struct rte_mbuf *seg[64];
	uint32_t done = 0, hlen = m->l2_len + m->l3_len + m->l4_len;

	room = (uint8_t)(room % 64 + 1);
	while (done < offload_payload(m)) {
		uint32_t before = done;
		int n = offload_cut(m, &done, pool, seg, room);

		FUZZ_CHECK(n > 0 && n <= room);
		FUZZ_CHECK(done > before && done <= offload_payload(m));
		for (int i = 0; i < n; i++) {
			FUZZ_CHECK(rte_pktmbuf_pkt_len(seg[i]) <= hlen + m->tso_segsz);
			check_sent(seg[i]);
		}
		rte_pktmbuf_free_bulk(seg, (unsigned)n);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t devs[] = {
	    0, RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM, VR_OFFLOAD_DEV_TX};
	struct rte_mbuf *m;
	uint16_t mss, fill;

	if (size < 6 || size > 6 + 65535)
		return 0;
	mss = (uint16_t)(data[1] | data[2] << 8);
	fill = (uint16_t)(data[3] | data[4] << 8);
	m = frame_from(data + 6, size - 6, fill);
	if (m == NULL)
		return 0;
	m->ol_flags =
	    (data[0] & 1 ? RTE_MBUF_F_RX_L4_CKSUM_NONE : 0) | (data[0] & 2 ? RTE_MBUF_F_RX_LRO : 0);
	m->tso_segsz = mss;
	if (offload_wanted(m)) {
		switch (offload_prepare(m, devs[data[5] % 3])) {
		case VR_OFL_READY:
			check_sent(m);
			break;
		case VR_OFL_CUT:
			FUZZ_CHECK(offload_to_cut(m) && mss > 0);
			cut_all(m, data[5] >> 2);
			break;
		case VR_OFL_BAD:
			break;
		}
	}
	rte_pktmbuf_free(m);
	FUZZ_CHECK(rte_mempool_avail_count(pool) == pool->size); /* nothing leaked */
	return 0;
}
