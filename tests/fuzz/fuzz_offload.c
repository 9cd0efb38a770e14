/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: a guest's frame and its offload request (src/offload.c).
 * Whatever the guest sends, the relay neither crashes nor leaks, and what it
 * sends on carries correct checksums and fits the requested segment size.
 *
 * Input: flags byte (bit 0 checksum request, bit 1 TSO), MSS (2 bytes),
 * mbuf fill per segment (2 bytes), device offloads byte, then the frame.
 */
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

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

/* What the relay sends on: complete checksums. */
static void
check_sent(const struct rte_mbuf *m)
{
	const void *l3 = rte_pktmbuf_mtod_offset(m, const void *, m->l2_len);

	if (m->ol_flags & RTE_MBUF_F_TX_L4_MASK)
		return; /* the device finishes it */
	if (!RTE_ETH_IS_IPV4_HDR(m->packet_type) && m->l3_len != sizeof(struct rte_ipv6_hdr))
		return; /* DPDK's verifier counts extension headers in the pseudo-header
		         * length; RFC 8200 8.1 and pseudo_sum() use the upper-layer length */
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
