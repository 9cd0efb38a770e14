/* SPDX-License-Identifier: BSD-3-Clause */
/* Learning a guest's addresses from its frames; the announcement frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "announce.h"

static const uint8_t MAC[6] = {0x52, 0x54, 0, 0, 2, 0x0a};

/* An ARP frame from MAC: op, sender IP. */
static size_t
arp(uint8_t *f, uint16_t op, const uint8_t ip[4])
{
	static const uint8_t head[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 0,
	                               2,    0x0a, 0x08, 0x06, 0,    1,    0x08, 0,    6, 4};

	memset(f, 0, 60);
	memcpy(f, head, sizeof(head));
	f[20] = (uint8_t)(op >> 8);
	f[21] = (uint8_t)op;
	memcpy(f + 22, MAC, 6);
	memcpy(f + 28, ip, 4);
	return 60;
}

/* An ICMPv6 neighbour solicitation or advertisement from src. */
static size_t
nd(uint8_t *f, uint8_t type, const uint8_t src[16])
{
	memset(f, 0, 86);
	memcpy(f + 6, MAC, 6);
	f[12] = 0x86;
	f[13] = 0xdd;
	f[14] = 0x60;
	f[14 + 6] = 58;
	memcpy(f + 14 + 8, src, 16);
	f[14 + 40] = type;
	return 86;
}

static void
test_learns_mac_arp_and_nd(void **state)
{
	static const uint8_t ip4[4] = {192, 0, 2, 10};
	static const uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x10};
	struct vr_addrs a = {0};
	uint8_t f[128];
	char text[48];

	(void)state;
	assert_true(vr_addrs_learn(&a, f, arp(f, 1, ip4)));
	assert_false(vr_addrs_learn(&a, f, arp(f, 2, ip4))); /* nothing new */
	assert_true(vr_addrs_learn(&a, f, nd(f, 136, ip6)));
	vr_addrs_mac_str(&a, text, sizeof(text));
	assert_string_equal(text, "52:54:00:00:02:0a");
	assert_int_equal(vr_addrs_n_ip(&a), 2);
	vr_addrs_ip_str(&a, 0, text, sizeof(text));
	assert_string_equal(text, "192.0.2.10");
	vr_addrs_ip_str(&a, 1, text, sizeof(text));
	assert_string_equal(text, "2001:db8::10");
}

static void
test_ignores_what_is_not_an_address(void **state)
{
	static const uint8_t probe[4] = {0, 0, 0, 0}; /* ARP probe: sender 0.0.0.0 */
	static const uint8_t dad[16] = {0};           /* NS for DAD: source :: */
	struct vr_addrs a = {0};
	uint8_t f[128];

	(void)state;
	vr_addrs_learn(&a, f, arp(f, 1, probe));
	vr_addrs_learn(&a, f, nd(f, 135, dad));
	vr_addrs_learn(&a, f, nd(f, 128, (const uint8_t[16]){0x20, 1})); /* echo, not ND */
	assert_int_equal(vr_addrs_n_ip(&a), 0);
	assert_true(a.has_mac);
	assert_false(vr_addrs_learn(&a, f, 13)); /* shorter than a header */
	f[6] = 0x33;                             /* multicast source: not the guest's MAC */
	assert_false(vr_addrs_learn(&a, f, arp(f, 1, probe)) && memcmp(a.mac, f + 6, 6) == 0);
}

static void
test_table_keeps_the_newest(void **state)
{
	struct vr_addrs a = {0};

	(void)state;
	for (int i = 1; i <= VR_ADDRS_MAX + 3; i++)
		assert_true(vr_addrs_add4(&a, (const uint8_t[4]){198, 51, 100, (uint8_t)i}));
	assert_int_equal(a.n4, VR_ADDRS_MAX);
	for (int i = 4; i <= VR_ADDRS_MAX + 3; i++) {
		int found = 0;

		for (int k = 0; k < a.n4; k++)
			found |= a.ip4[k][3] == i;
		assert_true(found);
	}
}

/* What was announced for a guest joins what was learned of it, never
 * another guest's, and never pushes out what the guest itself said. */
static void
test_merge(void **state)
{
	struct vr_addrs learned = {0}, announced = {0}, other = {0}, full = {0};
	char err[128];

	(void)state;
	assert_int_equal(vr_addrs_parse(&announced, "52:54:00:00:02:0a", err, sizeof(err)), 0);
	assert_int_equal(vr_addrs_parse(&announced, "192.0.2.10", err, sizeof(err)), 0);
	assert_int_equal(vr_addrs_parse(&announced, "2001:db8::10", err, sizeof(err)), 0);
	/* nothing learned yet: the announced identity */
	vr_addrs_merge(&learned, &announced);
	assert_true(learned.has_mac && memcmp(learned.mac, MAC, 6) == 0);
	assert_int_equal(vr_addrs_n_ip(&learned), 2);
	/* the same guest said one of them and another: three, none twice */
	memset(&learned, 0, sizeof(learned));
	assert_int_equal(vr_addrs_parse(&learned, "52:54:00:00:02:0a", err, sizeof(err)), 0);
	assert_int_equal(vr_addrs_parse(&learned, "192.0.2.10", err, sizeof(err)), 0);
	assert_int_equal(vr_addrs_parse(&learned, "203.0.113.20", err, sizeof(err)), 0);
	vr_addrs_merge(&learned, &announced);
	assert_int_equal(learned.n4, 2);
	assert_int_equal(learned.n6, 1);
	/* another guest (another MAC): nothing of the announced one */
	assert_int_equal(vr_addrs_parse(&other, "52:54:00:00:02:0b", err, sizeof(err)), 0);
	vr_addrs_merge(&other, &announced);
	assert_int_equal(other.mac[5], 0x0b);
	assert_int_equal(vr_addrs_n_ip(&other), 0);
	/* a full table keeps what was learned */
	for (int i = 1; i <= VR_ADDRS_MAX; i++)
		vr_addrs_add4(&full, (const uint8_t[4]){198, 51, 100, (uint8_t)i});
	vr_addrs_merge(&full, &announced);
	assert_int_equal(full.n4, VR_ADDRS_MAX);
	for (int k = 0; k < full.n4; k++)
		assert_int_equal(full.ip4[k][0], 198);
	assert_int_equal(full.n6, 1);
}

static void
test_parse(void **state)
{
	struct vr_addrs a = {0};
	char err[128];

	(void)state;
	assert_int_equal(vr_addrs_parse(&a, "52:54:00:00:02:0a", err, sizeof(err)), 0);
	assert_int_equal(vr_addrs_parse(&a, "203.0.113.7", err, sizeof(err)), 0);
	assert_int_equal(vr_addrs_parse(&a, "2001:db8::7", err, sizeof(err)), 0);
	assert_int_equal(vr_addrs_n_ip(&a), 2);
	assert_int_equal(vr_addrs_parse(&a, "01:00:5e:00:00:01", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "multicast"));
	assert_int_equal(vr_addrs_parse(&a, "224.0.0.1", err, sizeof(err)), -1);
	assert_int_equal(vr_addrs_parse(&a, "ff02::1", err, sizeof(err)), -1);
	assert_int_equal(vr_addrs_parse(&a, "52:54:00:00:02:0a:ff", err, sizeof(err)), -1);
	assert_int_equal(vr_addrs_parse(&a, "host.example", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "host.example"));
}

/* Sum of 16-bit words, folded: 0xffff over a block holding its checksum. */
static uint16_t
fold(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void
test_frames(void **state)
{
	uint8_t frames[VR_ANNOUNCE_MAX][VR_ANNOUNCE_FRAME];
	size_t len[VR_ANNOUNCE_MAX];
	struct vr_addrs a = {0};
	char err[64];

	(void)state;
	assert_int_equal(vr_announce_frames(&a, frames, len), 0); /* no MAC, nothing */
	vr_addrs_parse(&a, "52:54:00:00:02:0a", err, sizeof(err));
	vr_addrs_parse(&a, "192.0.2.10", err, sizeof(err));
	vr_addrs_parse(&a, "2001:db8::10", err, sizeof(err));
	assert_int_equal(vr_announce_frames(&a, frames, len), 3);
	/* RARP: broadcast, from the guest, reverse request for its own MAC */
	assert_int_equal(len[0], 60);
	assert_memory_equal(frames[0], "\xff\xff\xff\xff\xff\xff", 6);
	assert_memory_equal(frames[0] + 6, MAC, 6);
	assert_int_equal(frames[0][12] << 8 | frames[0][13], 0x8035);
	assert_int_equal(frames[0][21], 3);
	assert_memory_equal(frames[0] + 32, MAC, 6);
	/* gratuitous ARP: sender and target IP both the guest's */
	assert_int_equal(frames[1][12] << 8 | frames[1][13], 0x0806);
	assert_int_equal(frames[1][21], 1);
	assert_memory_equal(frames[1] + 28, "\xc0\x00\x02\x0a", 4);
	assert_memory_equal(frames[1] + 38, "\xc0\x00\x02\x0a", 4);
	/* NA: to all nodes, hop limit 255, override, target and its MAC, valid checksum */
	assert_int_equal(len[2], 86);
	assert_memory_equal(frames[2], "\x33\x33\x00\x00\x00\x01", 6);
	assert_int_equal(frames[2][14 + 7], 255);
	assert_int_equal(frames[2][54], 136);
	assert_int_equal(frames[2][58] & 0x20, 0x20);
	assert_memory_equal(frames[2] + 62, a.ip6[0], 16);
	assert_memory_equal(frames[2] + 80, MAC, 6);
	assert_int_equal(fold(frames[2] + 22, 32, fold(frames[2] + 54, 32, 32 + 58)), 0xffff);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_learns_mac_arp_and_nd),
	    cmocka_unit_test(test_ignores_what_is_not_an_address),
	    cmocka_unit_test(test_table_keeps_the_newest),
	    cmocka_unit_test(test_merge),
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_frames),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
