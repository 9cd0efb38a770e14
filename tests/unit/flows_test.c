/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * flows.c: the sessions a redirect carries, on a clock of 1000 ticks a
 * second so times read as milliseconds. Packets are built by hand: IPv4 or
 * IPv6 headers with TCP or UDP ports and flags at their RFC 791/8200/9293
 * offsets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "eal.h"
#include "flows.h"
#include "unit.h"

#define HZ 1000

static struct vr_flow_limits lim;

/* Host 7 is 198.51.100.7, host 9 is 192.0.2.9. */
static void
host4(uint8_t *at, uint8_t h)
{
	static const uint8_t h7[4] = {198, 51, 100, 7}, h9[4] = {192, 0, 2, 9};

	memcpy(at, h == 7 ? h7 : h9, 4);
}

/* An IPv4 packet host x:sport -> host y:dport of proto with TCP flags. */
static size_t
pkt4(uint8_t *p, uint8_t x, uint8_t y, uint16_t sport, uint16_t dport, uint8_t proto, uint8_t flags)
{
	memset(p, 0, 60);
	p[0] = 0x45;
	p[9] = proto;
	host4(p + 12, x);
	host4(p + 16, y);
	p[20] = (uint8_t)(sport >> 8), p[21] = (uint8_t)sport;
	p[22] = (uint8_t)(dport >> 8), p[23] = (uint8_t)dport;
	p[33] = flags;
	return 60;
}

static size_t
pkt6(uint8_t *p, uint8_t x, uint8_t y, uint16_t sport, uint16_t dport, uint8_t proto)
{
	memset(p, 0, 80);
	p[0] = 0x60;
	p[6] = proto;
	p[8] = 0x20, p[9] = 0x01, p[10] = 0x0d, p[11] = 0xb8, p[23] = x;
	p[24] = 0x20, p[25] = 0x01, p[26] = 0x0d, p[27] = 0xb8, p[39] = y;
	p[40] = (uint8_t)(sport >> 8), p[41] = (uint8_t)sport;
	p[42] = (uint8_t)(dport >> 8), p[43] = (uint8_t)dport;
	return 80;
}

static struct vr_flows *
table(const char *name, uint32_t max)
{
	struct vr_flows *f;

	vr_flow_limits_default(&lim);
	lim.max_flows = max;
	f = vr_flows_create(name, &lim, HZ, SOCKET_ID_ANY);
	assert_non_null(f);
	return f;
}

static void
tcp_ends_with_fin_both_ways(void **state)
{
	struct vr_flows *f = table("fin", 1024);
	struct vr_flow_counters c;
	uint8_t p[80];

	(void)state;
	vr_flows_see(f, p, pkt4(p, 7, 9, 40000, 443, 6, 0x02), 0); /* SYN */
	vr_flows_see(f, p, pkt4(p, 9, 7, 443, 40000, 6, 0x12), 1); /* SYN-ACK, other way */
	assert_int_equal(vr_flows_live(f), 1);
	vr_flows_see(f, p, pkt4(p, 7, 9, 40000, 443, 6, 0x11), 1000); /* FIN one way */
	assert_int_equal(vr_flows_expire(f, 1000 + lim.tcp_linger_ms, 100), 1);
	vr_flows_see(f, p, pkt4(p, 9, 7, 443, 40000, 6, 0x11), 2000); /* and the other */
	vr_flows_counters(f, &c);
	assert_int_equal(c.ended_fin, 1);
	assert_int_equal(vr_flows_expire(f, 2000 + lim.tcp_linger_ms - 1, 100), 1);
	assert_int_equal(vr_flows_expire(f, 2000 + lim.tcp_linger_ms, 100), 0);
	vr_flows_counters(f, &c);
	assert_int_equal(c.added, 1);
	assert_int_equal(c.ended_idle, 0);
	vr_flows_free(f);
}

/* One side of a tunnel sees one direction of each session: a FIN from that
 * side ends it there (the other side's table ends it at the other FIN),
 * after the linger; a two-way table would wait for the other FIN. */
static void
one_way_table_ends_at_its_fin(void **state)
{
	struct vr_flows *f;
	struct vr_flow_counters c;
	uint8_t p[80];

	(void)state;
	vr_flow_limits_default(&lim);
	lim.one_way = true;
	f = vr_flows_create("oneway", &lim, HZ, SOCKET_ID_ANY);
	assert_non_null(f);
	vr_flows_see(f, p, pkt4(p, 7, 9, 40000, 443, 6, 0x10), 0);    /* ACK */
	vr_flows_see(f, p, pkt4(p, 7, 9, 40000, 443, 6, 0x11), 1000); /* FIN */
	vr_flows_counters(f, &c);
	assert_int_equal(c.ended_fin, 1);
	assert_int_equal(vr_flows_expire(f, 1000 + lim.tcp_linger_ms - 1, 100), 1);
	assert_int_equal(vr_flows_expire(f, 1000 + lim.tcp_linger_ms, 100), 0);
	vr_flows_free(f);
}

static void
tcp_rst_and_idle_timeouts(void **state)
{
	struct vr_flows *f = table("idle", 1024);
	struct vr_flow_counters c;
	uint8_t p[80];

	(void)state;
	vr_flows_see(f, p, pkt4(p, 7, 9, 40001, 22, 6, 0x10), 0);
	vr_flows_see(f, p, pkt4(p, 9, 7, 22, 40001, 6, 0x04), 5); /* RST */
	vr_flows_see(f, p, pkt4(p, 7, 9, 5000, 53, 17, 0), 0);    /* UDP */
	vr_flows_see(f, p, pkt4(p, 7, 9, 0, 0, 1, 0), 0);         /* ICMP */
	vr_flows_see(f, p, pkt4(p, 7, 9, 40002, 80, 6, 0x10), 0); /* TCP, idle */
	assert_int_equal(vr_flows_live(f), 4);
	assert_int_equal(vr_flows_expire(f, lim.tcp_linger_ms + 5, 100), 3);
	assert_int_equal(vr_flows_expire(f, lim.other_idle_ms, 100), 2);
	assert_int_equal(vr_flows_expire(f, lim.udp_idle_ms - 1, 100), 2);
	assert_int_equal(vr_flows_expire(f, lim.udp_idle_ms, 100), 1);
	assert_int_equal(vr_flows_expire(f, lim.tcp_idle_ms - 1, 100), 1);
	assert_int_equal(vr_flows_expire(f, lim.tcp_idle_ms, 100), 0);
	vr_flows_counters(f, &c);
	assert_int_equal(c.ended_rst, 1);
	assert_int_equal(c.ended_idle, 3);
	assert_int_equal(c.added, 4);
	vr_flows_free(f);
}

static void
ipv6_flows_and_garbage(void **state)
{
	struct vr_flows *f = table("v6", 1024);
	struct vr_flow_counters c;
	uint8_t p[80];

	(void)state;
	vr_flows_see(f, p, pkt6(p, 1, 2, 1000, 2000, 17), 0);
	vr_flows_see(f, p, pkt6(p, 2, 1, 2000, 1000, 17), 0);
	vr_flows_see(f, p, pkt6(p, 1, 2, 1000, 2001, 17), 0);
	assert_int_equal(vr_flows_live(f), 2);
	vr_flows_see(f, p, 10, 0);
	memset(p, 0xff, sizeof(p));
	vr_flows_see(f, p, sizeof(p), 0);
	vr_flows_counters(f, &c);
	assert_int_equal(c.not_ip, 2);
	assert_int_equal(vr_flows_live(f), 2);
	vr_flows_free(f);
}

/* A full table counts what it cannot track; a sweep looks at no more than
 * its budget and resumes where it stopped. */
static void
full_table_and_budgeted_sweep(void **state)
{
	struct vr_flows *f = table("full", 64);
	struct vr_flow_counters c;
	uint8_t p[80];
	uint32_t live, sweeps = 0;

	(void)state;
	for (uint16_t i = 0; i < 200; i++)
		vr_flows_see(f, p, pkt4(p, 7, 9, (uint16_t)(1000 + i), 53, 17, 0), 0);
	vr_flows_counters(f, &c);
	live = vr_flows_live(f);
	assert_true(live <= 64 && live > 0);
	assert_int_equal(c.added, live);
	assert_int_equal(c.table_full, 200 - live);
	while (vr_flows_live(f) > 0) {
		uint32_t before = vr_flows_live(f);

		assert_true(before - vr_flows_expire(f, lim.udp_idle_ms, 10) <= 10);
		assert_true(++sweeps < 100);
	}
	assert_true(sweeps >= live / 10);
	vr_flows_counters(f, &c);
	assert_int_equal(c.ended_idle, live);
	vr_flows_free(f);
}

static int
eal_up(void **state)
{
	(void)state;
	return unit_eal_pool("flows_test", 63) != NULL ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(tcp_ends_with_fin_both_ways),
	    cmocka_unit_test(one_way_table_ends_at_its_fin),
	    cmocka_unit_test(tcp_rst_and_idle_timeouts),
	    cmocka_unit_test(ipv6_flows_and_garbage),
	    cmocka_unit_test(full_table_and_budgeted_sweep),
	};

	return cmocka_run_group_tests(tests, eal_up, NULL);
}
