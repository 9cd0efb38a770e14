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

/* The next SA of a key: what an independent BLAKE2b gives (Python's
 * hashlib: blake2b(b"vrelay SA rekey\0" + salt + spi as 4 little-endian
 * bytes, key=key, digest_size=40): key, salt, SPI in that order, the SPI
 * 256 + n % (2^32 - 1 - 256)); a chain that never repeats early. */
static void
next_key_as_blake2b_gives(void **state)
{
	static const uint8_t want_key[32] = {0x56, 0x09, 0x3d, 0x8d, 0xb4, 0x58, 0x19, 0x80,
	                                     0xc2, 0xb3, 0x86, 0xc1, 0x78, 0x7e, 0x69, 0xcb,
	                                     0x22, 0x30, 0x0c, 0x46, 0xbd, 0x8d, 0xc9, 0xd6,
	                                     0x18, 0x3e, 0x31, 0xcc, 0x22, 0xd7, 0x0e, 0xfe};
	static const uint8_t want_salt[4] = {0x68, 0x7c, 0xf6, 0x31};
	struct vr_esp_key k = {.spi = 1000, .key_len = 32, .salt = {1, 2, 3, 4}}, n, chain[64];

	(void)state;
	for (int i = 0; i < 32; i++)
		k.key[i] = (uint8_t)i;
	vr_key_next(&k, &n);
	assert_memory_equal(n.key, want_key, 32);
	assert_memory_equal(n.salt, want_salt, 4);
	assert_int_equal(n.spi, 1634205458u);
	assert_int_equal(n.key_len, 32);
	/* a 16-byte key stays one; nothing past it */
	k.key_len = 16;
	vr_key_next(&k, &n);
	assert_int_equal(n.key_len, 16);
	for (int i = 16; i < 32; i++)
		assert_int_equal(n.key[i], 0);
	chain[0] = k;
	for (int i = 1; i < 64; i++) {
		vr_key_next(&chain[i - 1], &chain[i]);
		assert_true(chain[i].spi >= VR_SPI_MIN);
		for (int j = 0; j < i; j++) {
			assert_int_not_equal(chain[i].spi, chain[j].spi);
			assert_memory_not_equal(chain[i].key, chain[j].key, 16);
		}
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
	    cmocka_unit_test(next_key_as_blake2b_gives),
	};

	return cmocka_run_group_tests(tests, up, NULL);
}
