/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: any frames a device receives, through the underlay tap
 * (src/datapath/underlay_tap.c), with IPv4 and IPv6 fragments reassembled.
 * The input is frames, each after its length (2 bytes, big-endian). It
 * never crashes or leaks; each frame goes exactly one way (a fragment into
 * the table, and a packet made whole one more); and what stays for the
 * guest is checked against the rule written out again here from the bytes:
 * no ARP whose target is the relay's address, no IPv4 or IPv6 packet to it.
 */
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ip_frag.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "fuzz_common.h"
#include "underlay_tap.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rte_mempool *pool;
static struct vr_tunnel_demux demux;
static struct vr_underlay_tap tap = {.has4 = true,
                                     .has6 = true,
                                     .ip4 = {198, 51, 100, 10},
                                     .ip6 = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x10},
                                     .esp_port = 4500};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *eal[] = {"fuzz_underlay_tap", "--no-huge",          "--no-pci",      "-m", "256",
	               "--no-shconf",       "--log-level=*:crit", "--no-telemetry"};

	(void)argc;
	(void)argv;
	if (rte_eal_init((int)RTE_DIM(eal), eal) < 0)
		abort();
	pool = rte_pktmbuf_pool_create("fuzz", 255, 0, 0, 2048 + 128, SOCKET_ID_ANY);
	tap.to_ctl = rte_ring_create("ctl", 4, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	/* one tunnel, of SPI 256 */
	demux.n = 1;
	demux.e[0].spi = 256;
	demux.e[0].ring = rte_ring_create("tun", 4, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	tap.demux = &demux;
	tap.frags = rte_ip_frag_table_create(8, 4, 32, rte_get_tsc_hz(), SOCKET_ID_ANY);
	if (pool == NULL || tap.to_ctl == NULL || demux.e[0].ring == NULL || tap.frags == NULL)
		abort();
	return 0;
}

/* The relay's own, by the rule the tap implements. */
static bool
is_own(const uint8_t *f, size_t len)
{
	uint16_t type = len >= 14 ? (uint16_t)(f[12] << 8 | f[13]) : 0;

	if (type == 0x0806)
		return len >= 14 + 28 && memcmp(f + 38, tap.ip4, 4) == 0;
	if (type == 0x0800)
		return len >= 14 + 20 && memcmp(f + 30, tap.ip4, 4) == 0;
	if (type == 0x86dd)
		return len >= 14 + 40 && memcmp(f + 38, tap.ip6, 16) == 0;
	return false;
}

/* All that counts a frame's way, or a packet's made whole. */
static uint64_t
ways(void)
{
	return tap.ctl_frames + tap.tunnel_frames + tap.tunnel_unclaimed + tap.other_dropped +
	       tap.ring_full + tap.fragments - tap.reassembled;
}

/* One frame through the tap: it goes one way; what it leaves the guest is
 * not the relay's. */
static void
one_frame(const uint8_t *f, size_t n, uint64_t now)
{
	uint64_t before = ways();
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint16_t kept;

	FUZZ_CHECK_MSG(m != NULL, "the pool ran dry: mbufs held somewhere");
	memcpy(rte_pktmbuf_append(m, (uint16_t)n), f, n);
	kept = vr_underlay_tap_take(&tap, &m, 1, now);
	FUZZ_CHECK(kept <= 1);
	FUZZ_CHECK_MSG(kept + ways() - before == 1, "a frame went none or two ways");
	if (kept == 1) {
		FUZZ_CHECK_MSG(!is_own(f, n), "a frame for the relay was left for the guest");
		rte_pktmbuf_free(m);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rte_mbuf *m;
	uint64_t now = 1;

	while (size >= 2) {
		size_t n = RTE_MIN((size_t)(data[0] << 8 | data[1]), size - 2);

		one_frame(data + 2, RTE_MIN(n, (size_t)2048), now++);
		data += 2 + n;
		size -= 2 + n;
	}
	vr_underlay_tap_drain(&tap);
	while (rte_ring_dequeue(demux.e[0].ring, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	FUZZ_CHECK_MSG(rte_mempool_avail_count(pool) == pool->size, "an mbuf leaked");
	return 0;
}
