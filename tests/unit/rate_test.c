/* SPDX-License-Identifier: BSD-3-Clause */
/* Packet and bit rates from growing counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rate.h"

#define SEC 1000000000ull
#define T0  (5 * SEC) /* an arbitrary monotonic clock reading */

static void
test_first_sample_is_zero(void **state)
{
	struct vr_rate r = {0};

	(void)state;
	vr_rate_sample(&r, 123456, 9999999, T0);
	assert_int_equal(r.pps, 0);
	assert_int_equal(r.bps, 0);
	assert_int_equal(r.last_pkts, 123456);
	assert_int_equal(r.last_bytes, 9999999);
	assert_int_equal(r.last_ns, T0);
}

static void
test_exact_rates(void **state)
{
	struct vr_rate r = {0};

	(void)state;
	vr_rate_sample(&r, 1000, 64000, T0);

	/* 1000 packets of 1500 bytes in half a second */
	vr_rate_sample(&r, 2000, 64000 + 1500000, T0 + SEC / 2);
	assert_int_equal(r.pps, 2000);
	assert_int_equal(r.bps, 1500000ull * 8 * 2);

	/* one second, exactly */
	vr_rate_sample(&r, 2000 + 14880952, 64000 + 1500000 + 14880952ull * 84, T0 + SEC / 2 + SEC);
	assert_int_equal(r.pps, 14880952);
	assert_int_equal(r.bps, 14880952ull * 84 * 8);

	/* nothing moved */
	vr_rate_sample(&r, r.last_pkts, r.last_bytes, r.last_ns + SEC);
	assert_int_equal(r.pps, 0);
	assert_int_equal(r.bps, 0);

	/* a slow sample: 3 packets in 3 s; 1 byte in 4 s rounds down */
	vr_rate_sample(&r, r.last_pkts + 3, r.last_bytes + 1, r.last_ns + 3 * SEC);
	assert_int_equal(r.pps, 1);
	assert_int_equal(r.bps, 0);
}

static void
test_fractional_interval(void **state)
{
	struct vr_rate r = {0};

	(void)state;
	/* 7 packets, 1000 bytes in 3 ms: 2333.33 pps, 2666666.67 bps, truncated */
	vr_rate_sample(&r, 0, 0, T0);
	vr_rate_sample(&r, 7, 1000, T0 + 3000000);
	assert_int_equal(r.pps, 2333);
	/* bytes per second (333333) times 8 */
	assert_int_equal(r.bps, 333333ull * 8);
}

static void
test_counter_backwards_restarts(void **state)
{
	struct vr_rate r = {0};

	(void)state;
	vr_rate_sample(&r, 5000, 500000, T0);
	vr_rate_sample(&r, 6000, 600000, T0 + SEC);
	assert_int_equal(r.pps, 1000);

	/* the counters were reset (relay recreated): no rate, new baseline */
	vr_rate_sample(&r, 10, 1000, T0 + 2 * SEC);
	assert_int_equal(r.pps, 0);
	assert_int_equal(r.bps, 0);
	assert_int_equal(r.last_pkts, 10);
	assert_int_equal(r.last_bytes, 1000);

	/* and rates resume from there */
	vr_rate_sample(&r, 110, 2000, T0 + 3 * SEC);
	assert_int_equal(r.pps, 100);
	assert_int_equal(r.bps, 8000);

	/* only the packet counter going back also restarts */
	vr_rate_sample(&r, 10, 3000, T0 + 3 * SEC + SEC / 2);
	assert_int_equal(r.pps, 0);
	assert_int_equal(r.bps, 0);
	vr_rate_sample(&r, 110, 4000, T0 + 3 * SEC + 3 * SEC / 2);
	assert_int_equal(r.pps, 100);
	assert_int_equal(r.bps, 8000);

	/* only the byte counter going back also restarts */
	vr_rate_sample(&r, 210, 10, T0 + 5 * SEC);
	assert_int_equal(r.pps, 0);
	assert_int_equal(r.bps, 0);
	vr_rate_sample(&r, 310, 20, T0 + 6 * SEC);
	assert_int_equal(r.pps, 100);
	assert_int_equal(r.bps, 80);
}

static void
test_time_not_advancing(void **state)
{
	struct vr_rate r = {0};

	(void)state;
	vr_rate_sample(&r, 0, 0, T0);
	/* same timestamp: no division by zero, no rate */
	vr_rate_sample(&r, 100, 100, T0);
	assert_int_equal(r.pps, 0);
	assert_int_equal(r.bps, 0);
	/* clock going back: no rate either */
	vr_rate_sample(&r, 200, 200, T0 - 1);
	assert_int_equal(r.pps, 0);
	assert_int_equal(r.bps, 0);
}

static void
test_huge_counters(void **state)
{
	struct vr_rate r = {0};

	(void)state;
	/* 1e15 packets and bytes over one second: delta * 1e9 would overflow */
	vr_rate_sample(&r, 1000, 1000, T0);
	vr_rate_sample(&r, 1000 + 1000000000000000ull, 1000 + 1000000000000000ull, T0 + SEC);
	assert_int_equal(r.pps, 1000000000000000ull);
	assert_int_equal(r.bps, 8000000000000000ull);

	/* counters near the top of their range */
	vr_rate_sample(&r, UINT64_MAX - 1000, UINT64_MAX - 8000, T0 + 2 * SEC);
	vr_rate_sample(&r, UINT64_MAX, UINT64_MAX, T0 + 2 * SEC + SEC / 4);
	assert_int_equal(r.pps, 4000);
	assert_int_equal(r.bps, 8000ull * 4 * 8);

	/* a large delta over an odd interval: 123456789012345 in 1.7 s */
	vr_rate_sample(&r, 0, 0, T0 + 10 * SEC);
	vr_rate_sample(&r, 0, 0, T0 + 11 * SEC);
	vr_rate_sample(&r, 123456789012345ull, 0, T0 + 11 * SEC + 1700000000ull);
	/* 123456789012345 / 1.7 = 72621640595497.06 */
	assert_int_equal(r.pps, 72621640595497ull);
}

/* The control thread samples once a second, but a sample can come late (the
 * relay lock was held, the timer was delayed): the rate must still be right. */
static void
test_long_interval(void **state)
{
	struct vr_rate r = {0};

	(void)state;
	/* a sample 20 s late: 19e9 bytes is 7.6 Gbit/s (once overflowed) */
	vr_rate_sample(&r, 0, 0, T0);
	vr_rate_sample(&r, 1000, 19000000000ull, T0 + 20 * SEC);
	assert_int_equal(r.pps, 50);
	assert_int_equal(r.bps, 7600000000ull);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_sample_is_zero),
	    cmocka_unit_test(test_exact_rates),
	    cmocka_unit_test(test_fractional_interval),
	    cmocka_unit_test(test_counter_backwards_restarts),
	    cmocka_unit_test(test_time_not_advancing),
	    cmocka_unit_test(test_huge_counters),
	    cmocka_unit_test(test_long_interval),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
