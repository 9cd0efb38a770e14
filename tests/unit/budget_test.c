/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-pass work budget: packets and bytes, whichever runs out first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "budget.h"

static void
test_reset(void **state)
{
	struct vr_budget b = {0, 0};

	(void)state;
	assert_false(budget_left(&b));
	budget_reset(&b);
	assert_int_equal(b.pkts, VR_BUDGET_PKTS);
	assert_int_equal(b.bytes, VR_BUDGET_BYTES);
	assert_true(budget_left(&b));
	assert_int_equal(budget_burst(&b, 32), 32);
	assert_int_equal(budget_burst(&b, 0), 0);
	assert_int_equal(budget_burst(&b, UINT16_MAX), VR_BUDGET_PKTS);
}

static void
test_charge_packets(void **state)
{
	struct vr_budget b;

	(void)state;
	budget_reset(&b);
	budget_charge(&b, 32, 32 * 64);
	assert_int_equal(b.pkts, VR_BUDGET_PKTS - 32);
	assert_int_equal(b.bytes, VR_BUDGET_BYTES - 32 * 64);
	assert_true(budget_left(&b));

	/* the last few packets: the burst shrinks to what is left */
	budget_charge(&b, VR_BUDGET_PKTS - 32 - 6, 1000);
	assert_int_equal(b.pkts, 6);
	assert_int_equal(budget_burst(&b, 32), 6);
	assert_int_equal(budget_burst(&b, 4), 4);
	assert_true(budget_left(&b));

	budget_charge(&b, 6, 6 * 64);
	assert_int_equal(b.pkts, 0);
	assert_false(budget_left(&b));
	assert_int_equal(budget_burst(&b, 32), 0);
}

static void
test_bytes_run_out_first(void **state)
{
	struct vr_budget b;
	int bursts = 0;

	(void)state;
	/* jumbo frames: 32-packet bursts of 9000-byte frames exhaust the bytes
	 * (512 KiB = 58 frames) long before the 256 packets */
	budget_reset(&b);
	while (budget_left(&b)) {
		uint16_t n = budget_burst(&b, 32);

		assert_int_equal(n, 32);
		budget_charge(&b, n, (uint64_t)n * 9000);
		bursts++;
	}
	assert_int_equal(bursts, 2);
	assert_int_equal(b.bytes, 0);
	assert_int_equal(b.pkts, VR_BUDGET_PKTS - 64);
	/* packets remain but no burst may start */
	assert_int_equal(budget_burst(&b, 32), 0);
}

static void
test_saturation(void **state)
{
	struct vr_budget b;

	(void)state;
	/* charging more than is left stops at zero instead of wrapping */
	budget_reset(&b);
	budget_charge(&b, VR_BUDGET_PKTS + 1, VR_BUDGET_BYTES + 1);
	assert_int_equal(b.pkts, 0);
	assert_int_equal(b.bytes, 0);
	assert_false(budget_left(&b));

	budget_reset(&b);
	budget_charge(&b, UINT32_MAX, 0);
	assert_int_equal(b.pkts, 0);
	assert_int_equal(b.bytes, VR_BUDGET_BYTES);

	/* a byte count beyond 32 bits is not truncated to a small charge */
	budget_reset(&b);
	budget_charge(&b, 1, (1ull << 32) + 1);
	assert_int_equal(b.bytes, 0);
	assert_int_equal(b.pkts, VR_BUDGET_PKTS - 1);

	/* exactly what is left */
	budget_reset(&b);
	budget_charge(&b, VR_BUDGET_PKTS, VR_BUDGET_BYTES);
	assert_int_equal(b.pkts, 0);
	assert_int_equal(b.bytes, 0);

	/* charging an exhausted budget stays at zero */
	budget_charge(&b, 5, 5000);
	assert_int_equal(b.pkts, 0);
	assert_int_equal(b.bytes, 0);

	/* a charge of nothing changes nothing */
	budget_reset(&b);
	budget_charge(&b, 0, 0);
	assert_int_equal(b.pkts, VR_BUDGET_PKTS);
	assert_int_equal(b.bytes, VR_BUDGET_BYTES);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reset),
	    cmocka_unit_test(test_charge_packets),
	    cmocka_unit_test(test_bytes_run_out_first),
	    cmocka_unit_test(test_saturation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
