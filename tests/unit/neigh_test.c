/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * neigh.c: ARP and IPv6 neighbour discovery read and built. Frames are
 * checked byte by byte at RFC 826 / RFC 4861 offsets, and ICMPv6 checksums
 * by DPDK's own implementation (rte_ipv6_udptcp_cksum_verify), not by
 * neigh.c's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <rte_ip.h>

#include "neigh.h"
#include "unit.h"

static const uint8_t relay_mac[6] = {0x02, 0, 0, 0, 0, 0xa};
static const uint8_t host_mac[6] = {0x52, 0x54, 0, 0, 0, 7};
static const uint8_t relay4[4] = {198, 51, 100, 1}, host4[4] = {198, 51, 100, 7};
static const uint8_t relay6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0xa, [15] = 1};
static const uint8_t host6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0xa, [15] = 7};

static void
checksum_ok(const uint8_t *f)
{
	const struct rte_ipv6_hdr *ip = (const void *)(f + 14);

	assert_int_equal(rte_ipv6_udptcp_cksum_verify(ip, ip + 1), 0);
}

static void
arp_question_and_answer(void **state)
{
	uint8_t q[VR_NEIGH_FRAME], a[VR_NEIGH_FRAME];
	struct vr_neigh n;
	size_t len;

	(void)state;
	/* the host asks who has relay4 */
	len = vr_neigh_ask4(host_mac, host4, relay4, q);
	assert_int_equal(len, 60);
	assert_memory_equal(q, "\xff\xff\xff\xff\xff\xff", 6);
	assert_memory_equal(q + 12, "\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01", 10);
	assert_memory_equal(q + 22, host_mac, 6);
	assert_memory_equal(q + 28, host4, 4);
	assert_memory_equal(q + 38, relay4, 4);
	assert_true(vr_neigh_parse(q, len, &n));
	assert_int_equal(n.kind, VR_NEIGH_ARP_REQUEST);
	assert_memory_equal(n.sender_mac, host_mac, 6);
	assert_memory_equal(n.sender_ip, host4, 4);
	assert_memory_equal(n.target_ip, relay4, 4);
	/* the relay answers to the host alone */
	len = vr_neigh_answer(&n, relay_mac, a);
	assert_int_equal(len, 60);
	assert_memory_equal(a, host_mac, 6);
	assert_memory_equal(a + 6, relay_mac, 6);
	assert_memory_equal(a + 20, "\x00\x02", 2);
	assert_memory_equal(a + 22, relay_mac, 6);
	assert_memory_equal(a + 28, relay4, 4);
	assert_memory_equal(a + 32, host_mac, 6);
	assert_memory_equal(a + 38, host4, 4);
	assert_true(vr_neigh_parse(a, len, &n));
	assert_int_equal(n.kind, VR_NEIGH_ARP_REPLY);
	assert_int_equal(vr_neigh_answer(&n, relay_mac, a), 0); /* a reply is not a question */
}

static void
nd_question_and_answer(void **state)
{
	uint8_t q[VR_NEIGH_FRAME], a[VR_NEIGH_FRAME];
	struct vr_neigh n;
	size_t len;

	(void)state;
	len = vr_neigh_ask6(host_mac, host6, relay6, q);
	assert_int_equal(len, 14 + 40 + 32);
	/* to the solicited-node group of relay6: 33:33:ff:00:00:01, ff02::1:ff00:1 */
	assert_memory_equal(q, "\x33\x33\xff\x00\x00\x01", 6);
	assert_memory_equal(q + 14 + 24, "\xff\x02\0\0\0\0\0\0\0\0\0\x01\xff\x00\x00\x01", 16);
	assert_int_equal(q[14 + 7], 255);             /* hop limit */
	assert_int_equal(q[14 + 40], 135);            /* NS */
	assert_memory_equal(q + 14 + 48, relay6, 16); /* target */
	assert_memory_equal(q + 14 + 64, "\x01\x01", 2);
	assert_memory_equal(q + 14 + 66, host_mac, 6);
	checksum_ok(q);
	assert_true(vr_neigh_parse(q, len, &n));
	assert_int_equal(n.kind, VR_NEIGH_NS);
	assert_true(n.ipv6 && n.has_mac);
	assert_memory_equal(n.sender_mac, host_mac, 6);
	assert_memory_equal(n.target_ip, relay6, 16);

	len = vr_neigh_answer(&n, relay_mac, a);
	assert_int_equal(len, 14 + 40 + 32);
	assert_memory_equal(a, host_mac, 6);
	assert_memory_equal(a + 14 + 8, relay6, 16); /* from the target address */
	assert_memory_equal(a + 14 + 24, host6, 16); /* to the asker */
	assert_int_equal(a[14 + 40], 136);           /* NA */
	assert_int_equal(a[14 + 44], 0x60);          /* solicited, override */
	assert_memory_equal(a + 14 + 64, "\x02\x01", 2);
	assert_memory_equal(a + 14 + 66, relay_mac, 6);
	checksum_ok(a);
	assert_true(vr_neigh_parse(a, len, &n));
	assert_int_equal(n.kind, VR_NEIGH_NA);
	assert_memory_equal(n.sender_mac, relay_mac, 6);
}

static void
nd_refused_as_rfc4861_says(void **state)
{
	uint8_t q[VR_NEIGH_FRAME];
	struct vr_neigh n;
	size_t len = vr_neigh_ask6(host_mac, host6, relay6, q);

	(void)state;
	q[14 + 7] = 64; /* routed from elsewhere: hop limit not 255 */
	assert_false(vr_neigh_parse(q, len, &n));
	q[14 + 7] = 255;
	q[14 + 50] ^= 1; /* target changed, checksum not */
	assert_false(vr_neigh_parse(q, len, &n));
	q[14 + 50] ^= 1;
	q[14 + 41] = 1; /* code not 0 */
	assert_false(vr_neigh_parse(q, len, &n));
	q[14 + 41] = 0;
	assert_false(vr_neigh_parse(q, len - 40, &n)); /* cut short */
	assert_true(vr_neigh_parse(q, len, &n));
	assert_int_equal(n.kind, VR_NEIGH_NS);
}

static void
dad_probe_answered_to_all_nodes(void **state)
{
	static const uint8_t unspecified[16];
	uint8_t q[VR_NEIGH_FRAME], a[VR_NEIGH_FRAME];
	struct vr_neigh n;
	size_t len = vr_neigh_ask6(host_mac, unspecified, relay6, q);

	(void)state;
	assert_int_equal(len, 14 + 40 + 24); /* no source link-layer option */
	checksum_ok(q);
	assert_true(vr_neigh_parse(q, len, &n));
	len = vr_neigh_answer(&n, relay_mac, a);
	assert_int_equal(len, 14 + 40 + 32);
	assert_memory_equal(a, "\x33\x33\x00\x00\x00\x01", 6);
	assert_memory_equal(a + 14 + 24, "\xff\x02\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	assert_int_equal(a[14 + 44], 0x20); /* override, not solicited */
	checksum_ok(a);
	/* RFC 4861 7.1.2: an advertisement to all nodes marked solicited */
	a[14 + 44] = 0x60;
	a[14 + 42] = a[14 + 43] = 0;
	{
		uint16_t sum = rte_ipv6_udptcp_cksum((const void *)(a + 14), a + 14 + 40);

		memcpy(a + 14 + 42, &sum, 2); /* as DPDK stores it */
	}
	checksum_ok(a);
	assert_false(vr_neigh_parse(a, len, &n));
}

/* RFC 4861 7.1.1: a DAD probe (from ::) with a link-layer option, or not
 * sent to the target's solicited-node group, is not a valid solicitation. */
static void
dad_probe_rules(void **state)
{
	uint8_t q[VR_NEIGH_FRAME];
	struct vr_neigh n;
	size_t len = vr_neigh_ask6(host_mac, host6, relay6, q); /* a normal NS, with SLLA */

	(void)state;
	assert_true(vr_neigh_parse(q, len, &n));
	memset(q + 14 + 8, 0, 16); /* now from :: with the option still there */
	{
		uint16_t sum;

		q[14 + 42] = q[14 + 43] = 0;
		sum = rte_ipv6_udptcp_cksum((const void *)(q + 14), q + 14 + 40);
		memcpy(q + 14 + 42, &sum, 2);
	}
	checksum_ok(q);
	assert_false(vr_neigh_parse(q, len, &n));
}

static void
announcements(void **state)
{
	uint8_t f[VR_NEIGH_FRAME];
	struct vr_neigh n;

	(void)state;
	assert_int_equal(vr_neigh_rarp(host_mac, f), 60);
	assert_memory_equal(f + 12, "\x80\x35", 2);
	assert_memory_equal(f + 20, "\x00\x03", 2);
	assert_false(vr_neigh_parse(f, 60, &n)); /* RARP is not ARP */
	assert_int_equal(vr_neigh_garp(host_mac, host4, f), 60);
	assert_true(vr_neigh_parse(f, 60, &n));
	assert_memory_equal(n.sender_ip, host4, 4);
	assert_memory_equal(n.target_ip, host4, 4);
	assert_int_equal(vr_neigh_unsolicited_na(host_mac, host6, f), 86);
	checksum_ok(f);
	assert_true(vr_neigh_parse(f, 86, &n));
	assert_int_equal(n.kind, VR_NEIGH_NA);
	assert_int_equal(f[14 + 44], 0x20);
}

static void
garbage_is_nothing(void **state)
{
	uint8_t f[VR_NEIGH_FRAME] = {0};
	struct vr_neigh n;

	(void)state;
	for (size_t len = 0; len <= sizeof(f); len++)
		assert_false(vr_neigh_parse(f, len, &n));
	f[12] = 0x08;
	f[13] = 0x06;
	assert_false(vr_neigh_parse(f, 60, &n)); /* ARP with hardware type 0 */
	assert_int_equal(n.kind, VR_NEIGH_NONE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(arp_question_and_answer),
	    cmocka_unit_test(nd_question_and_answer),
	    cmocka_unit_test(nd_refused_as_rfc4861_says),
	    cmocka_unit_test(dad_probe_answered_to_all_nodes),
	    cmocka_unit_test(dad_probe_rules),
	    cmocka_unit_test(announcements),
	    cmocka_unit_test(garbage_is_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
