/* SPDX-License-Identifier: BSD-3-Clause */
/* Software flow hash over hand-built Ethernet frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "flowhash.h"
#include "unit.h"

#define ETH_P_IP   0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_ARP  0x0806
#define ETH_P_VLAN 0x8100
#define ETH_P_QINQ 0x88a8
#define PROTO_TCP  6
#define PROTO_UDP  17
#define IP_MF      0x2000

/* ---- frame building ----------------------------------------------------- */

struct frame {
	uint8_t b[256];
	uint32_t len;
};

static void
put8(struct frame *f, uint8_t v)
{
	assert_true(f->len < sizeof(f->b));
	f->b[f->len++] = v;
}

static void
put16(struct frame *f, uint16_t v)
{
	put8(f, (uint8_t)(v >> 8));
	put8(f, (uint8_t)v);
}

static void
put32(struct frame *f, uint32_t v)
{
	put16(f, (uint16_t)(v >> 16));
	put16(f, (uint16_t)v);
}

static void
put_bytes(struct frame *f, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put8(f, ((const uint8_t *)p)[i]);
}

static const uint8_t mac_a[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t mac_b[6] = {0x02, 0x00, 0x00, 0xab, 0xcd, 0xef};

/* Ethernet header with 0, 1 (802.1Q) or 2 (802.1ad + 802.1Q) VLAN tags. */
static void
put_eth(struct frame *f, int tags, uint16_t vid, uint16_t type)
{
	f->len = 0;
	put_bytes(f, mac_a, 6);
	put_bytes(f, mac_b, 6);
	if (tags == 2) {
		put16(f, ETH_P_QINQ);
		put16(f, (uint16_t)(vid + 100));
	}
	if (tags >= 1) {
		put16(f, ETH_P_VLAN);
		put16(f, vid);
	}
	put16(f, type);
}

struct tuple4 {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint8_t proto;
};

/* Knobs that must not change the hash of a flow. */
struct ip_extra {
	uint8_t ttl;
	uint16_t ip_id;
	uint16_t frag; /* flags and offset (in 8-byte units) */
	const char *payload;
	int tags; /* VLAN tags */
	uint16_t vid;
	uint8_t options; /* 32-bit words of IP options */
	int no_l4;       /* a non-first fragment: no L4 header */
};

static void
build_ipv4(struct frame *f, const struct tuple4 *t, const struct ip_extra *x)
{
	const char *payload = x->payload != NULL ? x->payload : "";
	uint32_t l4len = x->no_l4 ? 0 : t->proto == PROTO_TCP ? 20 : 8;
	uint16_t total = (uint16_t)(20 + 4 * x->options + l4len + strlen(payload));

	put_eth(f, x->tags, x->vid, ETH_P_IP);
	put8(f, (uint8_t)(0x45 + x->options)); /* version 4, IHL */
	put8(f, 0);                            /* DSCP */
	put16(f, total);
	put16(f, x->ip_id);
	put16(f, x->frag);
	put8(f, x->ttl != 0 ? x->ttl : 64);
	put8(f, t->proto);
	put16(f, (uint16_t)(0xbeef ^ x->ttl ^ x->ip_id)); /* checksum: varies too */
	put32(f, t->src);
	put32(f, t->dst);
	for (int i = 0; i < x->options; i++)
		put32(f, 0x01010101); /* NOPs */
	if (!x->no_l4) {
		put16(f, t->sport);
		put16(f, t->dport);
		if (t->proto == PROTO_TCP) {
			put32(f, 0x11223344 ^ x->ip_id); /* seq */
			put32(f, 0);                     /* ack */
			put16(f, 0x5018);                /* data offset, flags */
			put16(f, 0xffff);                /* window */
			put32(f, 0);                     /* checksum, urgent */
		} else {
			put16(f, (uint16_t)(8 + strlen(payload)));
			put16(f, 0);
		}
	}
	put_bytes(f, payload, strlen(payload));
}

static uint32_t
hash4(const struct tuple4 *t, const struct ip_extra *x)
{
	struct frame f;

	build_ipv4(&f, t, x);
	return vr_flow_hash(f.b, f.len);
}

struct tuple6 {
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint8_t proto;
};

static void
build_ipv6_udp(struct frame *f, const struct tuple6 *t, uint8_t hop_limit, const char *payload)
{
	put_eth(f, 0, 0, ETH_P_IPV6);
	put32(f, 0x60000000 | hop_limit); /* version 6; flow label varies */
	put16(f, (uint16_t)(8 + strlen(payload)));
	put8(f, t->proto);
	put8(f, hop_limit);
	put_bytes(f, t->src, 16);
	put_bytes(f, t->dst, 16);
	put16(f, t->sport);
	put16(f, t->dport);
	put16(f, (uint16_t)(8 + strlen(payload)));
	put16(f, 0);
	put_bytes(f, payload, strlen(payload));
}

static uint32_t
hash6(const struct tuple6 *t, uint8_t hop_limit, const char *payload)
{
	struct frame f;

	build_ipv6_udp(&f, t, hop_limit, payload);
	return vr_flow_hash(f.b, f.len);
}

static void
build_arp(struct frame *f, const uint8_t *sha, uint32_t spa, uint32_t tpa)
{
	f->len = 0;
	put_bytes(f, (const uint8_t[6]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 6);
	put_bytes(f, sha, 6); /* source MAC: the sender's */
	put16(f, ETH_P_ARP);
	put16(f, 1); /* Ethernet */
	put16(f, ETH_P_IP);
	put8(f, 6);
	put8(f, 4);
	put16(f, 1); /* request */
	put_bytes(f, sha, 6);
	put32(f, spa);
	put_bytes(f, (const uint8_t[6]){0}, 6);
	put32(f, tpa);
}

/* Hash a frame from a heap buffer of exactly len bytes, so that ASan reports
 * any read past the frame. */
static uint32_t
hash_exact(const uint8_t *frame, uint32_t len)
{
	uint8_t *copy = malloc(len > 0 ? len : 1);
	uint32_t h;

	assert_non_null(copy);
	memcpy(copy, frame, len);
	h = vr_flow_hash(copy, len);
	free(copy);
	return h;
}

static const struct tuple4 tcp_flow = {
    .src = 0x0a000001, .dst = 0x0a000002, .sport = 40000, .dport = 443, .proto = PROTO_TCP};

/* ---- tests --------------------------------------------------------------- */

static void
test_same_flow_same_hash(void **state)
{
	uint32_t h = hash4(&tcp_flow, &(struct ip_extra){0});

	(void)state;
	assert_int_equal(hash4(&tcp_flow, &(struct ip_extra){.payload = "GET / HTTP/1.1\r\n"}), h);
	assert_int_equal(hash4(&tcp_flow, &(struct ip_extra){.ttl = 3, .ip_id = 4711}), h);
	assert_int_equal(hash4(&tcp_flow, &(struct ip_extra){.ttl = 255, .payload = "x"}), h);
	/* IP options move the TCP header, not the flow */
	assert_int_equal(hash4(&tcp_flow, &(struct ip_extra){.options = 2}), h);
	/* the same bytes hash the same from any buffer */
	struct frame f;

	build_ipv4(&f, &tcp_flow, &(struct ip_extra){.payload = "abc"});
	assert_int_equal(hash_exact(f.b, f.len), h);
	assert_int_equal(vr_flow_hash(f.b, f.len), h);
}

static void
test_different_flows_differ(void **state)
{
	enum { N = 1000 };
	uint32_t h[4 * N];
	unsigned n = 0, dups = 0;

	(void)state;
	/* the flow's own hash, and N flows differing from it in one field each:
	 * source port, destination port, source address, protocol/port pair */
	for (unsigned i = 0; i < N; i++) {
		struct tuple4 t = tcp_flow;

		t.sport = (uint16_t)(tcp_flow.sport + 1 + i);
		h[n++] = hash4(&t, &(struct ip_extra){0});
		t = tcp_flow;
		t.dport = (uint16_t)(tcp_flow.dport + 1 + i);
		h[n++] = hash4(&t, &(struct ip_extra){0});
		t = tcp_flow;
		t.src = tcp_flow.src + 1 + i;
		h[n++] = hash4(&t, &(struct ip_extra){0});
		t = tcp_flow;
		t.proto = PROTO_UDP;
		t.sport = (uint16_t)(1000 + i);
		h[n++] = hash4(&t, &(struct ip_extra){0});
	}
	/* a 32-bit hash: among 4000 flows a collision has odds of ~0.2% */
	for (unsigned i = 0; i < n; i++) {
		if (h[i] == hash4(&tcp_flow, &(struct ip_extra){0}))
			fail_msg("flow %u hashes like the base flow", i);
		for (unsigned j = 0; j < i; j++)
			dups += h[i] == h[j];
	}
	assert_true(dups <= 1);

	/* swapping source and destination is another flow direction */
	struct tuple4 rev = {tcp_flow.dst, tcp_flow.src, tcp_flow.dport, tcp_flow.sport, PROTO_TCP};

	assert_int_not_equal(hash4(&rev, &(struct ip_extra){0}),
	                     hash4(&tcp_flow, &(struct ip_extra){0}));
	/* TCP and UDP with the same numbers are different flows */
	struct tuple4 udp = tcp_flow;

	udp.proto = PROTO_UDP;
	assert_int_not_equal(hash4(&udp, &(struct ip_extra){0}),
	                     hash4(&tcp_flow, &(struct ip_extra){0}));
}

static void
test_ipv6_udp(void **state)
{
	struct tuple6 t = {
	    .src = {0x20, 0x01, 0x0d, 0xb8, [15] = 1},
	    .dst = {0x20, 0x01, 0x0d, 0xb8, [15] = 2},
	    .sport = 5353,
	    .dport = 53,
	    .proto = PROTO_UDP,
	};
	uint32_t h = hash6(&t, 64, "");

	(void)state;
	assert_int_equal(hash6(&t, 1, "query payload"), h);
	assert_int_equal(hash6(&t, 255, "other payload bytes"), h);

	struct tuple6 u = t;

	u.sport = 5354;
	assert_int_not_equal(hash6(&u, 64, ""), h);
	u = t;
	u.dport = 54;
	assert_int_not_equal(hash6(&u, 64, ""), h);
	u = t;
	u.src[8] = 0x80; /* an address byte away from both ends */
	assert_int_not_equal(hash6(&u, 64, ""), h);
	u = t;
	u.dst[15] = 3;
	assert_int_not_equal(hash6(&u, 64, ""), h);
}

static void
test_vlan_hashes_inner_tuple(void **state)
{
	uint32_t untagged = hash4(&tcp_flow, &(struct ip_extra){0});

	(void)state;
	assert_int_equal(hash4(&tcp_flow, &(struct ip_extra){.tags = 1, .vid = 10}), untagged);
	assert_int_equal(hash4(&tcp_flow, &(struct ip_extra){.tags = 1, .vid = 4000}), untagged);
	/* QinQ: 802.1ad outer tag, 802.1Q inner tag */
	assert_int_equal(hash4(&tcp_flow, &(struct ip_extra){.tags = 2, .vid = 20}), untagged);
	/* and the ports are still found behind the tags */
	struct tuple4 t = tcp_flow;

	t.dport = 444;
	assert_int_not_equal(hash4(&t, &(struct ip_extra){.tags = 2, .vid = 20}), untagged);
	assert_int_equal(hash4(&t, &(struct ip_extra){.tags = 2, .vid = 20}),
	                 hash4(&t, &(struct ip_extra){0}));
}

static void
test_fragments_hash_on_addresses(void **state)
{
	/* a 2000-byte UDP datagram in two fragments: only the first carries the
	 * UDP header, so both must hash on the addresses alone */
	struct tuple4 t = {
	    .src = 0xc0a80001, .dst = 0xc0a80002, .sport = 9, .dport = 7, .proto = PROTO_UDP};
	uint32_t first =
	    hash4(&t, &(struct ip_extra){.ip_id = 77, .frag = IP_MF, .payload = "first part"});
	uint32_t second = hash4(
	    &t, &(struct ip_extra){
	            .ip_id = 77, .frag = 185, .no_l4 = 1, .payload = "second part, no header"});
	uint32_t middle = hash4(
	    &t,
	    &(struct ip_extra){.ip_id = 77, .frag = IP_MF | 100, .no_l4 = 1, .payload = "middle"});

	(void)state;
	assert_int_equal(first, second);
	assert_int_equal(first, middle);
	/* fragments of another datagram between the same hosts, other ports */
	t.sport = 10;
	assert_int_equal(hash4(&t, &(struct ip_extra){.frag = IP_MF}), first);
	/* fragments between other hosts */
	t.dst = 0xc0a80003;
	assert_int_not_equal(hash4(&t, &(struct ip_extra){.frag = IP_MF}), first);
	/* through a VLAN as well */
	t.dst = 0xc0a80002;
	assert_int_equal(
	    hash4(&t, &(struct ip_extra){.tags = 1, .vid = 5, .frag = 185, .no_l4 = 1}), first);
}

static void
test_arp(void **state)
{
	struct frame f;
	uint32_t h1, h2, h3;

	(void)state;
	build_arp(&f, mac_a, 0x0a000001, 0x0a000002);
	h1 = hash_exact(f.b, f.len);
	/* same MACs, other addresses in the ARP body: same hash */
	build_arp(&f, mac_a, 0x0a000001, 0x0a000063);
	h2 = hash_exact(f.b, f.len);
	assert_int_equal(h1, h2);
	/* another sender */
	build_arp(&f, (const uint8_t[6]){0x52, 0x54, 0x00, 0x12, 0x34, 0x57}, 0x0a000001,
	          0x0a000002);
	h3 = hash_exact(f.b, f.len);
	assert_int_not_equal(h1, h3);
}

static void
test_truncated_frames(void **state)
{
	struct frame frames[8];
	int n = 0;

	(void)state;
	build_ipv4(&frames[n++], &tcp_flow, &(struct ip_extra){.payload = "data"});
	build_ipv4(&frames[n++], &tcp_flow, &(struct ip_extra){.tags = 2, .vid = 7});
	build_ipv4(&frames[n++], &tcp_flow, &(struct ip_extra){.tags = 1, .options = 10});
	build_ipv4(&frames[n++], &tcp_flow, &(struct ip_extra){.frag = 185, .no_l4 = 1});
	build_ipv6_udp(
	    &frames[n++],
	    &(struct tuple6){.src = {1}, .dst = {2}, .sport = 1, .dport = 2, .proto = PROTO_UDP},
	    64, "");
	build_arp(&frames[n++], mac_b, 1, 2);
	/* a header claiming 60 bytes (IHL 15) and a frame that ends right after 20 */
	build_ipv4(&frames[n], &tcp_flow, &(struct ip_extra){0});
	frames[n].b[14] = 0x4f;
	frames[n++].len = 14 + 20;
	/* IHL below the minimum */
	build_ipv4(&frames[n], &tcp_flow, &(struct ip_extra){0});
	frames[n++].b[14] = 0x43;

	/* every prefix of every frame: no read past the end, always a value */
	for (int i = 0; i < n; i++)
		for (uint32_t len = 0; len <= frames[i].len; len++)
			(void)hash_exact(frames[i].b, len);

	/* shorter than an Ethernet header */
	for (uint32_t len = 0; len < 14; len++)
		assert_int_equal(hash_exact(frames[0].b, len), 0);

	/* an IPv4 header cut short hashes like a non-IP frame: by the MAC pair
	 * and the ethertype only, whatever the bytes after them */
	{
		uint8_t other[14 + 19], moved[14 + 19];

		memcpy(other, frames[0].b, 14);
		memset(other + 14, 0xa5, 19);
		memcpy(moved, other, sizeof(moved));
		moved[0] ^= 0x02; /* another destination MAC */
		assert_int_equal(hash_exact(frames[0].b, 14 + 19),
		                 hash_exact(other, sizeof(other)));
		assert_int_not_equal(hash_exact(other, sizeof(other)),
		                     hash_exact(moved, sizeof(moved)));
	}
	/* an IPv4 header without its ports still hashes the addresses */
	assert_int_not_equal(hash_exact(frames[0].b, 14 + 20), hash_exact(frames[0].b, 14 + 19));
}

/* Deterministic xorshift64*: the same flows on every run. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static void
test_spread(void **state)
{
	enum { FLOWS = 10000, BUCKETS = 4 };
	unsigned count[BUCKETS] = {0};
	uint64_t seed = 0x5eed1234abcdull;

	(void)state;
	for (int i = 0; i < FLOWS; i++) {
		uint64_t r = rnd(&seed);
		struct tuple4 t = {
		    .src = 0x0a000000 | (uint32_t)(r & 0xffffff),
		    .dst = 0xc0a80000 | (uint32_t)((r >> 24) & 0xffff),
		    .sport = (uint16_t)(1024 + (r >> 40) % 60000),
		    .dport = (uint16_t)(r >> 56 & 1 ? 443 : 80),
		    .proto = PROTO_TCP,
		};

		count[hash4(&t, &(struct ip_extra){0}) % BUCKETS]++;
	}
	for (int b = 0; b < BUCKETS; b++) {
		print_message("bucket %d: %u flows\n", b, count[b]);
		assert_in_range(count[b], FLOWS * 20 / 100, FLOWS * 30 / 100);
	}
}

/* Ports only: many clients of one server, the common case behind a NAT. */
static void
test_spread_ports_only(void **state)
{
	enum { FLOWS = 10000, BUCKETS = 4 };
	unsigned count[BUCKETS] = {0};

	(void)state;
	for (int i = 0; i < FLOWS; i++) {
		struct tuple4 t = tcp_flow;

		t.sport = (uint16_t)(20000 + i);
		count[hash4(&t, &(struct ip_extra){0}) % BUCKETS]++;
	}
	for (int b = 0; b < BUCKETS; b++)
		assert_in_range(count[b], FLOWS * 20 / 100, FLOWS * 30 / 100);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_flow_same_hash),
	    cmocka_unit_test(test_different_flows_differ),
	    cmocka_unit_test(test_ipv6_udp),
	    cmocka_unit_test(test_vlan_hashes_inner_tuple),
	    cmocka_unit_test(test_fragments_hash_on_addresses),
	    cmocka_unit_test(test_arp),
	    cmocka_unit_test(test_truncated_frames),
	    cmocka_unit_test(test_spread),
	    cmocka_unit_test(test_spread_ports_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
