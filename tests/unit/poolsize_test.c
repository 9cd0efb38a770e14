/* SPDX-License-Identifier: BSD-3-Clause */
/* Mbuf pool sizing and the hugepage budget it implies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "burst.h"
#include "poolsize.h"
#include "unit.h"

#define MIB (1024ull * 1024ull)

/* The need as poolsize.c states it, written out independently:
 * RX rings (one segment per descriptor), TX rings (whole frames), pending
 * buffers of both directions on every queue, the two in-flight bursts, and a
 * per-lcore cache that may hold up to 1.5 times its size. */
static uint64_t
need_of(const struct vr_pool_need *n)
{
	uint64_t segs = vr_segs_per_frame(n->mtu);
	uint64_t pend_queues = n->guest_queues > n->queues ? n->guest_queues : n->queues;

	return (uint64_t)n->queues * n->rxd + (uint64_t)n->queues * n->txd * segs +
	       2ull * pend_queues * VR_PEND_MAX * segs + 2ull * VR_BURST * segs +
	       (uint64_t)n->lcores * VR_POOL_CACHE * 3 / 2 +
	       (uint64_t)n->tso_queues * 32 * (65536 / 2048 + 1);
}

static int
is_pow2_minus_1(uint32_t v)
{
	return v != 0 && (((uint64_t)v + 1) & v) == 0;
}

static void
test_segs_per_frame(void **state)
{
	(void)state;
	assert_int_equal(vr_segs_per_frame(68), 1);
	assert_int_equal(vr_segs_per_frame(1500), 1);
	/* frame = MTU + 14 header + 4 FCS + 4 VLAN tag = MTU + 22 */
	assert_int_equal(vr_segs_per_frame(2048 - 22), 1);
	assert_int_equal(vr_segs_per_frame(2048 - 21), 2);
	assert_int_equal(vr_segs_per_frame(4096 - 22), 2);
	assert_int_equal(vr_segs_per_frame(4096 - 21), 3);
	/* 9000 + 22 = 9022 bytes over 2048-byte segments */
	assert_int_equal(vr_segs_per_frame(9000), 5);
	/* every segment count holds the frame, and one fewer would not */
	for (uint32_t mtu = 68; mtu <= 9000; mtu++) {
		uint32_t segs = vr_segs_per_frame((uint16_t)mtu);

		assert_true(segs * VR_MBUF_DATA_ROOM >= mtu + 22);
		assert_true((segs - 1) * VR_MBUF_DATA_ROOM < mtu + 22);
	}
}

static void
check_pool(const struct vr_pool_need *n)
{
	uint32_t v = vr_pool_mbufs(n);
	uint64_t need = need_of(n);

	if (!is_pow2_minus_1(v))
		fail_msg("%u mbufs is not 2^k-1", v);
	if (v < need)
		fail_msg("%u mbufs < need %llu (queues %u rxd %u txd %u mtu %u lcores %u)", v,
		         (unsigned long long)need, n->queues, n->rxd, n->txd, n->mtu, n->lcores);
	/* the smallest such size: half of it would not do */
	if (v / 2 >= need)
		fail_msg("%u mbufs for need %llu: twice what it takes", v,
		         (unsigned long long)need);
	/* rte_mempool_create refuses a cache larger than n / 1.5 */
	assert_true(VR_POOL_CACHE * 3 / 2 <= v);
}

static void
test_pool_mbufs_formula(void **state)
{
	static const uint16_t queues[] = {1, 2, 4, 8, 16, 32};
	static const uint16_t descs[] = {64, 256, 512, 1024, 2048, 4096};
	static const uint16_t mtus[] = {68, 1500, 2026, 2027, 4000, 9000};
	static const uint16_t lcores[] = {2, 3, 9, 64, 127};

	(void)state;
	for (size_t q = 0; q < sizeof(queues) / sizeof(queues[0]); q++)
		for (size_t d = 0; d < sizeof(descs) / sizeof(descs[0]); d++)
			for (size_t m = 0; m < sizeof(mtus) / sizeof(mtus[0]); m++)
				for (size_t l = 0; l < sizeof(lcores) / sizeof(lcores[0]); l++)
					check_pool(&(struct vr_pool_need){
					    .queues = queues[q],
					    .rxd = descs[d],
					    .txd = descs[(d + 2) % 6],
					    .mtu = mtus[m],
					    .lcores = lcores[l],
					    .tso_queues = (uint16_t)(m % 2 ? queues[q] : 0),
					});
}

static void
test_pool_mbufs_default(void **state)
{
	struct vr_pool_need n = {.queues = 1, .rxd = 1024, .txd = 1024, .mtu = 1500, .lcores = 3};

	(void)state;
	/* 1024 + 1024 + 2*64 + 2*32 + 3*192 = 2816 -> 4095 */
	assert_int_equal(need_of(&n), 2816);
	assert_int_equal(vr_pool_mbufs(&n), 4095);
	/* with TSO (the default): + a burst of 64 KiB frames, 32*33, still 4095 */
	n.tso_queues = 1;
	assert_int_equal(need_of(&n), 3872);
	assert_int_equal(vr_pool_mbufs(&n), 4095);
}

/* Two relays worked out by hand, term by term, not through need_of. */
static void
test_pool_mbufs_by_hand(void **state)
{
	/* the default relay: 1 queue pair, 1024/1024 descriptors, MTU 1500
	 * (1 segment), 1 worker + control = 2 lcores, TSO on 1 queue pair:
	 * RX 1024 + TX 1024 + pending 2x64 + bursts 2x32 + caches 2x192 +
	 * TSO 32 frames x 33 segments = 1024+1024+128+64+384+1056 = 3680 */
	struct vr_pool_need def = {
	    .queues = 1, .rxd = 1024, .txd = 1024, .mtu = 1500, .lcores = 2, .tso_queues = 1};
	/* jumbo: 4 queue pairs, MTU 9000 (5 segments), 3 lcores, TSO on 4:
	 * 4096 + 4x1024x5 + 2x4x64x5 + 2x32x5 + 3x192 + 4x32x33
	 * = 4096+20480+2560+320+576+4224 = 32256 */
	struct vr_pool_need jumbo = {
	    .queues = 4, .rxd = 1024, .txd = 1024, .mtu = 9000, .lcores = 3, .tso_queues = 4};

	/* issue 12 item 7: a guest with 8 queue pairs on a 1-queue device has 8
	 * pending buffers each way, MTU 9000, 2 lcores, no TSO:
	 * 1024 + 1024x5 + 2x8x64x5 + 2x32x5 + 2x192
	 * = 1024+5120+5120+320+384 = 11968 (sized by the device's 1 queue it
	 * was 7488 -> 8191, fewer than the 8 guest pending buffers could hold) */
	struct vr_pool_need wide = {
	    .queues = 1, .guest_queues = 8, .rxd = 1024, .txd = 1024, .mtu = 9000, .lcores = 2};

	(void)state;
	assert_int_equal(vr_pool_mbufs(&def), 4095); /* 3680 <= 4095, 2047 < 3680 */
	/* with the destination's default hold, 4096 whole 1-segment frames
	 * (8 MiB would fill 4096 + 4096): 3680 + 4096 = 7776 -> 8191 */
	def.hold_frames = 4096;
	def.hold_bytes = 8 << 20;
	assert_int_equal(vr_pool_mbufs(&def), 8191); /* 7776 <= 8191, 4095 < 7776 */
	/* jumbo frames stop at the bytes first: 4096 + 8 MiB / 2 KiB = 8192
	 * segments, not 4096 x 5: 32256 + 8192 = 40448 -> 65535 */
	jumbo.hold_frames = 4096;
	jumbo.hold_bytes = 8 << 20;
	assert_int_equal(vr_pool_mbufs(&jumbo), 65535); /* 40448 <= 65535, 32767 < 40448 */
	def.hold_frames = jumbo.hold_frames = 0;
	assert_int_equal(vr_pool_mbufs(&jumbo), 32767); /* 32256 <= 32767, 16383 < 32256 */
	no_regression(vr_pool_mbufs(&wide) == 16383,    /* 11968 <= 16383, 8191 < 11968 */
	              "pending buffers of a guest with more queue pairs than the device counted "
	              "per device queue");
}

static void
test_pool_mbufs_grows(void **state)
{
	struct vr_pool_need n = {.queues = 1, .rxd = 1024, .txd = 1024, .mtu = 1500, .lcores = 3};
	uint32_t prev = 0;

	(void)state;
	for (uint16_t q = 1; q <= 32; q++) {
		n.queues = q;
		assert_true(vr_pool_mbufs(&n) >= prev);
		prev = vr_pool_mbufs(&n);
	}
	n.queues = 1;
	assert_true(vr_pool_mbufs(&n) < prev);

	prev = 0;
	for (uint32_t mtu = 68; mtu <= 9000; mtu += 1) {
		n.mtu = (uint16_t)mtu;
		assert_true(vr_pool_mbufs(&n) >= prev);
		prev = vr_pool_mbufs(&n);
	}
	n.mtu = 1500;
	assert_true(vr_pool_mbufs(&n) < prev);

	/* and strictly, once the need crosses a power of two */
	n.mtu = 9000;
	n.queues = 4;
	uint32_t four = vr_pool_mbufs(&n);

	n.queues = 8;
	assert_true(vr_pool_mbufs(&n) > four);
	n.lcores = 127;
	assert_true(vr_pool_mbufs(&n) >= four);
}

/* Eight default relays (one queue, 1024 descriptors, MTU 1500, two workers
 * and the main lcore) fit a 512 MiB hugepage budget, with 64 MiB left for
 * DPDK's own allocations. */
static void
test_default_setup_fits_512mib(void **state)
{
	struct vr_pool_need n = {.queues = 1, .rxd = 1024, .txd = 1024, .mtu = 1500, .lcores = 3};
	uint64_t bytes = 8ull * vr_pool_mbufs(&n) * VR_MBUF_ELT_BYTES;

	(void)state;
	print_message("8 default relays: %llu MiB of mbufs\n", (unsigned long long)(bytes / MIB));
	assert_true(bytes < 512 * MIB - 64 * MIB);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_segs_per_frame),
	    cmocka_unit_test(test_pool_mbufs_formula),
	    cmocka_unit_test(test_pool_mbufs_default),
	    cmocka_unit_test(test_pool_mbufs_by_hand),
	    cmocka_unit_test(test_pool_mbufs_grows),
	    cmocka_unit_test(test_default_setup_fits_512mib),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
