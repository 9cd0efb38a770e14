/* SPDX-License-Identifier: BSD-3-Clause */
#include "neigh.h"

#include <string.h>

#define ETH_IP4      0x0800
#define ETH_ARP      0x0806
#define ETH_RARP     0x8035
#define ETH_IP6      0x86dd
#define IP6_ICMP     58
#define ND_NS        135
#define ND_NA        136
#define ND_SLLA      1 /* option: source link-layer address */
#define ND_TLLA      2 /* option: target link-layer address */
#define NA_SOLICITED 0x4000
#define NA_OVERRIDE  0x2000
#define ARP_LEN      28
#define ND_LEN       24 /* ICMPv6 header, flags, target */

static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t all_nodes[16] = {0xff, 0x02, [15] = 1};

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint8_t *
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *
put(uint8_t *p, const void *src, size_t n)
{
	memcpy(p, src, n);
	return p + n;
}

static uint8_t *
eth_header(uint8_t *p, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
	return put16(put(put(p, dst, 6), src, 6), type);
}

/* The ICMPv6 checksum over the pseudo-header of ip6 and len bytes of body
 * (whose checksum field is taken as it is: 0 to compute, the sent value to
 * verify, when the result is 0). */
static uint16_t
icmp6_checksum(const uint8_t *ip6, const uint8_t *body, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 8; i < 40; i += 2) /* source and destination */
		sum += get16(ip6 + i);
	sum += (uint32_t)len + IP6_ICMP;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += get16(body + i);
	if (len & 1)
		sum += (uint32_t)body[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* ---- reading ---- */

static bool
parse_arp(const uint8_t *a, size_t len, struct vr_neigh *n)
{
	uint16_t op;

	if (len < ARP_LEN || get16(a) != 1 || get16(a + 2) != ETH_IP4 || a[4] != 6 || a[5] != 4)
		return false;
	op = get16(a + 6);
	if (op != 1 && op != 2)
		return false;
	n->kind = op == 1 ? VR_NEIGH_ARP_REQUEST : VR_NEIGH_ARP_REPLY;
	memcpy(n->sender_mac, a + 8, 6);
	n->has_mac = true;
	memcpy(n->sender_ip, a + 14, 4);
	memcpy(n->target_ip, a + 24, 4);
	return true;
}

/* The link-layer address option of type want among ND options. */
static bool
nd_lla(const uint8_t *opt, size_t len, uint8_t want, uint8_t mac[6])
{
	while (len >= 8) {
		size_t olen = (size_t)opt[1] * 8;

		if (olen == 0 || olen > len)
			return false; /* RFC 4861: a zero-length option invalidates the frame */
		if (opt[0] == want && olen == 8) {
			memcpy(mac, opt + 2, 6);
			return true;
		}
		opt += olen;
		len -= olen;
	}
	return false;
}

/* RFC 4861 7.1.1 and 7.1.2, beyond the checks every ND message gets: a
 * solicitation from :: (duplicate address detection) carries no link-layer
 * address and goes to the target's solicited-node group; an advertisement
 * to a multicast address is not marked solicited. */
static bool
nd_valid(const uint8_t *ip6, const uint8_t *icmp, const struct vr_neigh *n)
{
	static const uint8_t unspecified[16];
	static const uint8_t sn_prefix[13] = {0xff, 0x02, [11] = 1, [12] = 0xff};

	if (n->kind == VR_NEIGH_NS && memcmp(n->sender_ip, unspecified, 16) == 0)
		return !n->has_mac && memcmp(ip6 + 24, sn_prefix, 13) == 0 &&
		       memcmp(ip6 + 37, n->target_ip + 13, 3) == 0;
	if (n->kind == VR_NEIGH_NA && ip6[24] == 0xff)
		return (icmp[4] & 0x40) == 0;
	return true;
}

static bool
parse_nd(const uint8_t *ip6, size_t len, struct vr_neigh *n)
{
	const uint8_t *icmp = ip6 + 40;
	size_t plen;

	if (len < 40 + ND_LEN || ip6[6] != IP6_ICMP || ip6[7] != 255)
		return false;
	plen = get16(ip6 + 4);
	if (plen < ND_LEN || 40 + plen > len || (icmp[0] != ND_NS && icmp[0] != ND_NA) ||
	    icmp[1] != 0 || icmp6_checksum(ip6, icmp, plen) != 0 || icmp[8] == 0xff)
		return false;
	n->kind = icmp[0] == ND_NS ? VR_NEIGH_NS : VR_NEIGH_NA;
	n->ipv6 = true;
	memcpy(n->sender_ip, ip6 + 8, 16);
	memcpy(n->target_ip, icmp + 8, 16);
	if (nd_lla(icmp + ND_LEN, plen - ND_LEN, n->kind == VR_NEIGH_NS ? ND_SLLA : ND_TLLA,
	           n->sender_mac))
		n->has_mac = true;
	return nd_valid(ip6, icmp, n);
}

bool
vr_neigh_parse(const uint8_t *f, size_t len, struct vr_neigh *n)
{
	bool ok = false;

	memset(n, 0, sizeof(*n));
	if (len >= 14 && get16(f + 12) == ETH_ARP)
		ok = parse_arp(f + 14, len - 14, n);
	else if (len >= 14 && get16(f + 12) == ETH_IP6)
		ok = parse_nd(f + 14, len - 14, n);
	if (!ok) {
		memset(n, 0, sizeof(*n));
		return false;
	}
	if (!n->has_mac) { /* an NS without its option: the frame's source */
		memcpy(n->sender_mac, f + 6, 6);
		n->has_mac = (f[6] & 1) == 0;
	}
	return true;
}

/* ---- building ---- */

static size_t
arp_frame(uint8_t *f, const uint8_t eth_dst[6], uint16_t type, uint16_t op, const uint8_t mac[6],
          const uint8_t ip[4], const uint8_t target_mac[6], const uint8_t target_ip[4])
{
	uint8_t *p = eth_header(f, eth_dst, mac, type);

	p = put16(put16(p, 1), ETH_IP4);
	*p++ = 6;
	*p++ = 4;
	p = put16(p, op);
	p = put(put(p, mac, 6), ip, 4);
	p = put(put(p, target_mac, 6), target_ip, 4);
	memset(p, 0, 60 - (size_t)(p - f)); /* pad to the Ethernet minimum */
	return 60;
}

/* An NS or NA from (mac, src) to (eth_dst, dst) about target, with a
 * link-layer option of type opt carrying mac (opt 0: none). */
static size_t
nd_frame(uint8_t *f, const uint8_t eth_dst[6], const uint8_t dst[16], const uint8_t mac[6],
         const uint8_t src[16], uint8_t type, uint16_t flags, const uint8_t target[16], uint8_t opt)
{
	uint8_t *ip6 = eth_header(f, eth_dst, mac, ETH_IP6), *icmp = ip6 + 40, *p;
	uint16_t plen = opt != 0 ? ND_LEN + 8 : ND_LEN;

	p = put16(put16(put16(put16(ip6, 0x6000), 0), plen), (uint16_t)(IP6_ICMP << 8 | 255));
	p = put(put(p, src, 16), dst, 16);
	*p++ = type;
	*p++ = 0;
	p = put16(p, 0); /* checksum, below */
	p = put16(put16(p, flags), 0);
	p = put(p, target, 16);
	if (opt != 0) {
		*p++ = opt;
		*p++ = 1; /* length in 8 bytes */
		p = put(p, mac, 6);
	}
	put16(icmp + 2, icmp6_checksum(ip6, icmp, plen));
	return (size_t)(p - f);
}

size_t
vr_neigh_answer(const struct vr_neigh *q, const uint8_t mac[6], uint8_t out[VR_NEIGH_FRAME])
{
	static const uint8_t unspecified[16];
	static const uint8_t all_nodes_mac[6] = {0x33, 0x33, 0, 0, 0, 1};

	if (q->kind == VR_NEIGH_ARP_REQUEST && q->has_mac)
		return arp_frame(out, q->sender_mac, ETH_ARP, 2, mac, q->target_ip, q->sender_mac,
		                 q->sender_ip);
	if (q->kind != VR_NEIGH_NS)
		return 0;
	/* RFC 4861 7.2.4: to the asker; a DAD probe (from ::) to all nodes,
	 * and then not marked solicited */
	if (memcmp(q->sender_ip, unspecified, 16) == 0)
		return nd_frame(out, all_nodes_mac, all_nodes, mac, q->target_ip, ND_NA,
		                NA_OVERRIDE, q->target_ip, ND_TLLA);
	if (!q->has_mac)
		return 0;
	return nd_frame(out, q->sender_mac, q->sender_ip, mac, q->target_ip, ND_NA,
	                NA_SOLICITED | NA_OVERRIDE, q->target_ip, ND_TLLA);
}

size_t
vr_neigh_ask4(const uint8_t mac[6], const uint8_t ip[4], const uint8_t target[4],
              uint8_t out[VR_NEIGH_FRAME])
{
	static const uint8_t none[6];

	return arp_frame(out, bcast, ETH_ARP, 1, mac, ip, none, target);
}

size_t
vr_neigh_ask6(const uint8_t mac[6], const uint8_t ip[16], const uint8_t target[16],
              uint8_t out[VR_NEIGH_FRAME])
{
	/* the solicited-node multicast address ff02::1:ffXX:XXXX and its MAC */
	uint8_t sn[16] = {0xff, 0x02, [11] = 1, [12] = 0xff};
	uint8_t sn_mac[6] = {0x33, 0x33, 0xff};

	static const uint8_t unspecified[16];

	memcpy(sn + 13, target + 13, 3);
	memcpy(sn_mac + 3, target + 13, 3);
	/* from :: (duplicate address detection) it carries no address option */
	return nd_frame(out, sn_mac, sn, mac, ip, ND_NS, 0, target,
	                memcmp(ip, unspecified, 16) != 0 ? ND_SLLA : 0);
}

size_t
vr_neigh_rarp(const uint8_t mac[6], uint8_t out[VR_NEIGH_FRAME])
{
	static const uint8_t zero4[4];

	return arp_frame(out, bcast, ETH_RARP, 3, mac, zero4, mac, zero4);
}

size_t
vr_neigh_garp(const uint8_t mac[6], const uint8_t ip[4], uint8_t out[VR_NEIGH_FRAME])
{
	static const uint8_t none[6];

	return arp_frame(out, bcast, ETH_ARP, 1, mac, ip, none, ip);
}

size_t
vr_neigh_unsolicited_na(const uint8_t mac[6], const uint8_t ip[16], uint8_t out[VR_NEIGH_FRAME])
{
	static const uint8_t all_nodes_mac[6] = {0x33, 0x33, 0, 0, 0, 1};

	return nd_frame(out, all_nodes_mac, all_nodes, mac, ip, ND_NA, NA_OVERRIDE, ip, ND_TLLA);
}
