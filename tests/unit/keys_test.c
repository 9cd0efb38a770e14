/* SPDX-License-Identifier: BSD-3-Clause */
/* keys.c: keys are fresh and of the size asked, SPIs unreserved and
 * unique, rekeying due before a sequence number could wrap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "keys.h"
#include "unit.h"

static char err[256];

static void
keys_fresh_and_sized(void **state)
{
	struct vr_esp_key a, b;
	static const uint8_t zero[32];

	(void)state;
	assert_int_equal(vr_key_new(&a, 1000, 16, err, sizeof(err)), 0);
	assert_int_equal(vr_key_new(&b, 1000, 16, err, sizeof(err)), 0);
	assert_int_equal(a.key_len, 16);
	/* 128 random bits twice the same, or a key left zero: the CSPRNG is not used */
	assert_memory_not_equal(a.key, b.key, 16);
	assert_memory_not_equal(a.key, zero, 16);
	assert_memory_equal(a.key + 16, zero, 16); /* nothing past the key's length */
	assert_int_equal(vr_key_new(&a, 1000, 32, err, sizeof(err)), 0);
	assert_memory_not_equal(a.key + 16, zero, 16);
	assert_int_equal(vr_key_new(&a, 1000, 24, err, sizeof(err)), -1);
	assert_contains(err, "16 or 32 bytes, not 24");
	assert_int_equal(vr_key_new(&a, 255, 16, err, sizeof(err)), -1);
	assert_contains(err, "SPI 255 is reserved");
}

static void
spis_unreserved_and_unique(void **state)
{
	uint32_t used[2000];

	(void)state;
	for (size_t i = 0; i < 2000; i++) {
		used[i] = vr_spi_new(used, i);
		assert_true(used[i] >= VR_SPI_MIN);
		for (size_t j = 0; j < i; j++)
			assert_int_not_equal(used[i], used[j]);
	}
}

static void
rekey_before_wrap_or_age(void **state)
{
	struct vr_rekey_limits l = {
	    .max_packets = UINT64_MAX, .margin_packets = 1000, .lifetime_ms = 3600 * 1000};

	(void)state;
	/* a 32-bit sequence number: never past 2^32 - 1, whatever is configured */
	assert_false(vr_rekey_due(&l, 4294967295ULL - 1001, 0));
	assert_true(vr_rekey_due(&l, 4294967295ULL - 1000, 0));
	assert_false(vr_rekey_due(&l, 0, 3600 * 1000 - 1));
	assert_true(vr_rekey_due(&l, 0, 3600 * 1000));
	l.max_packets = 5000;
	assert_false(vr_rekey_due(&l, 3999, 0));
	assert_true(vr_rekey_due(&l, 4000, 0));
}

static int
up(void **state)
{
	(void)state;
	return vr_keys_init(err, sizeof(err));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(keys_fresh_and_sized),
	    cmocka_unit_test(spis_unreserved_and_unique),
	    cmocka_unit_test(rekey_before_wrap_or_age),
	};

	return cmocka_run_group_tests(tests, up, NULL);
}
