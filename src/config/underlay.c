/* SPDX-License-Identifier: BSD-3-Clause */
#include "underlay.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "errmsg.h"

void
vr_underlay_init(struct vr_underlay_conf *u)
{
	memset(u, 0, sizeof(*u));
	u->relay = -1;
	u->lifetime_s = 86400;
	u->unused_s = 600;
	/* RFC 5382 and RFC 4787's floors (tunnel/flows.h) */
	u->tcp_idle_s = 7440;
	u->udp_idle_s = 300;
	u->other_idle_s = 60;
	u->tcp_linger_s = 10;
	u->rekey_s = 3600;
	u->rekey_packets = 1U << 31;
}

/* Seconds, 1 s to a year. */
static int
parse_seconds(const char *key, const char *val, uint32_t *out, char *err, size_t errlen)
{
	char *end;
	unsigned long v = strtoul(val, &end, 10);

	if (val[0] < '0' || val[0] > '9' || *end != '\0' || v < 1 || v > 31536000)
		return vr_err(err, errlen, "%s '%s' is not a number of seconds in 1..31536000", key,
		              val);
	*out = (uint32_t)v;
	return 0;
}

/* A packet count, 100 to 2^31. */
static int
parse_packets(const char *key, const char *val, uint32_t *out, char *err, size_t errlen)
{
	char *end;
	unsigned long long v = strtoull(val, &end, 10);

	if (val[0] < '0' || val[0] > '9' || *end != '\0' || v < 100 || v > (1ULL << 31))
		return vr_err(err, errlen, "%s '%s' is not a number of packets in 100..2147483648",
		              key, val);
	*out = (uint32_t)v;
	return 0;
}

/* "ADDR/PREFIX" of family af into ip (4 or 16 bytes) and *prefix. */
static int
parse_prefixed(int af, const char *key, const char *val, uint8_t *ip, uint8_t *prefix, char *err,
               size_t errlen)
{
	unsigned max = af == AF_INET ? 32 : 128;
	const char *slash = strchr(val, '/');
	char addr[INET6_ADDRSTRLEN];
	char *end;
	long p;

	if (slash == NULL || (size_t)(slash - val) >= sizeof(addr))
		return vr_err(err, errlen, "%s '%s' is not ADDRESS/PREFIX", key, val);
	memcpy(addr, val, (size_t)(slash - val));
	addr[slash - val] = '\0';
	p = strtol(slash + 1, &end, 10);
	if (inet_pton(af, addr, ip) != 1)
		return vr_err(err, errlen, "%s: '%s' is not an IPv%d address", key, addr,
		              af == AF_INET ? 4 : 6);
	if (slash[1] == '\0' || *end != '\0' || p < 1 || p > (long)max)
		return vr_err(err, errlen, "%s: prefix '%s' is not 1..%u", key, slash + 1, max);
	*prefix = (uint8_t)p;
	return 0;
}

static int
parse_plain(int af, const char *key, const char *val, uint8_t *ip, char *err, size_t errlen)
{
	if (inet_pton(af, val, ip) != 1)
		return vr_err(err, errlen, "%s: '%s' is not an IPv%d address", key, val,
		              af == AF_INET ? 4 : 6);
	return 0;
}

/* "xx:xx:xx:xx:xx:xx", unicast. */
static int
parse_mac(const char *key, const char *val, uint8_t mac[6], bool *has, char *err, size_t errlen)
{
	unsigned m[6];
	char tail;

	if (strlen(val) != 17 ||
	    sscanf(val, "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5],
	           &tail) != 6 ||
	    (m[0] & 1) != 0)
		return vr_err(err, errlen, "%s '%s' is not a unicast MAC (xx:xx:xx:xx:xx:xx)", key,
		              val);
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)m[i];
	*has = true;
	return 0;
}

int
vr_underlay_set(struct vr_underlay_conf *u, const char *key, const char *val, char *err,
                size_t errlen)
{
	if (strcmp(key, "underlay-gateway4-mac") == 0)
		return parse_mac(key, val, u->gw4_mac, &u->has_gw4_mac, err, errlen);
	if (strcmp(key, "underlay-gateway6-mac") == 0)
		return parse_mac(key, val, u->gw6_mac, &u->has_gw6_mac, err, errlen);
	if (strcmp(key, "underlay-relay") == 0) {
		u->relay = vr_relay_id_parse(val, NULL);
		if (u->relay < 0)
			return vr_err(err, errlen, "underlay-relay '%s' is not a relay id 0..%d",
			              val, VR_MAX_RELAYS - 1);
		return 0;
	}
	if (strcmp(key, "underlay-ipv4") == 0) {
		u->has4 = true;
		return parse_prefixed(AF_INET, key, val, u->ip4, &u->prefix4, err, errlen);
	}
	if (strcmp(key, "underlay-ipv6") == 0) {
		u->has6 = true;
		return parse_prefixed(AF_INET6, key, val, u->ip6, &u->prefix6, err, errlen);
	}
	if (strcmp(key, "underlay-gateway4") == 0) {
		u->has_gw4 = true;
		return parse_plain(AF_INET, key, val, u->gw4, err, errlen);
	}
	if (strcmp(key, "underlay-gateway6") == 0) {
		u->has_gw6 = true;
		return parse_plain(AF_INET6, key, val, u->gw6, err, errlen);
	}
	const struct {
		const char *key;
		uint32_t *field;
	} secs[] = {{"tunnel-lifetime", &u->lifetime_s},
	            {"tunnel-unused", &u->unused_s},
	            {"tunnel-tcp-idle", &u->tcp_idle_s},
	            {"tunnel-udp-idle", &u->udp_idle_s},
	            {"tunnel-other-idle", &u->other_idle_s},
	            {"tunnel-tcp-linger", &u->tcp_linger_s},
	            {"tunnel-rekey", &u->rekey_s}};

	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++)
		if (strcmp(key, secs[i].key) == 0)
			return parse_seconds(key, val, secs[i].field, err, errlen);
	if (strcmp(key, "tunnel-rekey-packets") == 0)
		return parse_packets(key, val, &u->rekey_packets, err, errlen);
	return 1;
}

/* Whether a and b (len bytes) share their first bits bits. */
static bool
same_prefix(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	return rest == 0 || ((a[whole] ^ b[whole]) >> (8 - rest)) == 0;
}

/* All host bits zero (the network) or, for IPv4, all one (broadcast). */
static bool
host_bits_all(const uint8_t *ip, unsigned len, unsigned prefix, bool ones)
{
	for (unsigned bit = prefix; bit < len * 8; bit++)
		if (((ip[bit / 8] >> (7 - bit % 8)) & 1) != ones)
			return false;
	return true;
}

static int
check4(const struct vr_underlay_conf *u, char *err, size_t errlen)
{
	if (u->ip4[0] == 0 || u->ip4[0] == 127 || u->ip4[0] >= 224)
		return vr_err(err, errlen, "underlay-ipv4: %u.%u.%u.%u is not a unicast address",
		              u->ip4[0], u->ip4[1], u->ip4[2], u->ip4[3]);
	if (u->prefix4 <= 30 && (host_bits_all(u->ip4, 4, u->prefix4, false) ||
	                         host_bits_all(u->ip4, 4, u->prefix4, true)))
		return vr_err(err, errlen,
		              "underlay-ipv4: the network or broadcast address of its /%u",
		              u->prefix4);
	if (u->has_gw4 &&
	    (!same_prefix(u->ip4, u->gw4, u->prefix4) || memcmp(u->ip4, u->gw4, 4) == 0))
		return vr_err(err, errlen,
		              "underlay-gateway4 %u.%u.%u.%u is not another address on the "
		              "underlay's /%u",
		              u->gw4[0], u->gw4[1], u->gw4[2], u->gw4[3], u->prefix4);
	return 0;
}

static int
check6(const struct vr_underlay_conf *u, char *err, size_t errlen)
{
	static const uint8_t link_local[2] = {0xfe, 0x80};

	if (u->ip6[0] == 0xff || host_bits_all(u->ip6, 16, 0, false) ||
	    same_prefix(u->ip6, link_local, 10))
		return vr_err(err, errlen,
		              "underlay-ipv6: not a global or unique-local unicast address");
	if (u->has_gw6 && !same_prefix(u->gw6, link_local, 10) &&
	    (!same_prefix(u->ip6, u->gw6, u->prefix6) || memcmp(u->ip6, u->gw6, 16) == 0))
		return vr_err(err, errlen,
		              "underlay-gateway6 is neither link-local nor another address on "
		              "the underlay's /%u",
		              u->prefix6);
	return 0;
}

int
vr_underlay_validate(const struct vr_underlay_conf *u, char *err, size_t errlen)
{
	if (u->has_gw4 && !u->has4)
		return vr_err(err, errlen, "underlay-gateway4 without underlay-ipv4");
	if (u->has_gw6 && !u->has6)
		return vr_err(err, errlen, "underlay-gateway6 without underlay-ipv6");
	if ((u->has_gw4_mac && !u->has_gw4) || (u->has_gw6_mac && !u->has_gw6))
		return vr_err(err, errlen, "underlay-gateway%s-mac without underlay-gateway%s",
		              u->has_gw4_mac && !u->has_gw4 ? "4" : "6",
		              u->has_gw4_mac && !u->has_gw4 ? "4" : "6");
	if ((u->has4 || u->has6) != (u->relay >= 0))
		return vr_err(err, errlen,
		              u->relay >= 0 ? "underlay-relay without underlay-ipv4 or -ipv6"
		                            : "an underlay address needs underlay-relay (the "
		                              "relay whose device carries it)");
	if (u->has4 && check4(u, err, errlen) < 0)
		return -1;
	return u->has6 ? check6(u, err, errlen) : 0;
}
