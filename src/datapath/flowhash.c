/* SPDX-License-Identifier: BSD-3-Clause */
#include "flowhash.h"

#include <string.h>

#define ETH_HLEN       14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define IPPROTO_TCP_   6
#define IPPROTO_UDP_   17
#define IPPROTO_SCTP_  132

static inline uint32_t
mix(uint32_t h, uint32_t v)
{
	/* murmur3 block step: cheap, and spreads every input bit */
	v *= 0xcc9e2d51u;
	v = (v << 15) | (v >> 17);
	v *= 0x1b873593u;
	h ^= v;
	h = (h << 13) | (h >> 19);
	return h * 5 + 0xe6546b64u;
}

static inline uint32_t
finish(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	return h ^ (h >> 16);
}

static inline uint32_t
load32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint16_t
load_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
hash_bytes(uint32_t h, const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i + 4 <= n; i += 4)
		h = mix(h, load32(p + i));
	return h;
}

static uint32_t
hash_ports(uint32_t h, uint8_t proto, const uint8_t *l4, uint32_t l4len)
{
	if ((proto == IPPROTO_TCP_ || proto == IPPROTO_UDP_ || proto == IPPROTO_SCTP_) &&
	    l4len >= 4)
		h = mix(h, load32(l4));
	return mix(h, proto);
}

uint32_t
vr_flow_hash(const uint8_t *frame, uint32_t len)
{
	uint32_t off = ETH_HLEN, h = 0x9747b28cu;
	uint16_t type;

	if (len < ETH_HLEN)
		return 0;
	type = load_be16(frame + 12);
	for (int tags = 0; tags < 2 && (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ); tags++) {
		if (len < off + 4)
			return 0;
		type = load_be16(frame + off + 2);
		off += 4;
	}
	if (type == ETHERTYPE_IPV4 && len >= off + 20) {
		const uint8_t *ip = frame + off;
		uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4;
		int fragment = (load_be16(ip + 6) & 0x3fff) != 0;

		h = hash_bytes(h, ip + 12, 8);
		/* non-first fragments carry no ports: hash fragments on addresses only */
		if (!fragment && ihl >= 20 && len >= off + ihl)
			h = hash_ports(h, ip[9], ip + ihl, len - off - ihl);
		return finish(h);
	}
	if (type == ETHERTYPE_IPV6 && len >= off + 40) {
		const uint8_t *ip = frame + off;

		h = hash_bytes(h, ip + 8, 32);
		h = hash_ports(h, ip[6], ip + 40, len - off - 40);
		return finish(h);
	}
	/* anything else: by MAC pair and ethertype */
	h = hash_bytes(h, frame, 12);
	return finish(mix(h, type));
}
