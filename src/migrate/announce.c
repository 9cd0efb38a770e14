/* SPDX-License-Identifier: BSD-3-Clause */
#include "announce.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "errmsg.h"
#include "neigh.h"

#define ETH_ARP  0x0806
#define ETH_IP6  0x86dd
#define ETH_VLAN 0x8100
#define IP6_ICMP 58
#define ND_NS    135
#define ND_NA    136

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool
usable4(const uint8_t ip[4])
{
	/* not 0.0.0.0/8 (probes), 127/8, multicast or broadcast */
	return ip[0] != 0 && ip[0] != 127 && ip[0] < 224;
}

static bool
usable6(const uint8_t ip[16])
{
	static const uint8_t zero[16];

	return memcmp(ip, zero, 16) != 0 && ip[0] != 0xff; /* not :: (DAD) or multicast */
}

/* Whether ip (len bytes) is among the n slots of table. */
static bool
table_has(const uint8_t *table, uint8_t n, const uint8_t *ip, size_t len)
{
	for (unsigned i = 0; i < n; i++)
		if (memcmp(table + i * len, ip, len) == 0)
			return true;
	return false;
}

bool
vr_addrs_has(const struct vr_addrs *a, bool v6, const uint8_t *ip)
{
	return v6 ? table_has(a->ip6[0], a->n6, ip, 16) : table_has(a->ip4[0], a->n4, ip, 4);
}

/* Add ip (len bytes) to a table of VR_ADDRS_MAX slots of len bytes, once
 * full replacing the oldest; true if it was not there yet. */
static bool
table_add(uint8_t *table, uint8_t *n, uint8_t *next, const uint8_t *ip, size_t len)
{
	unsigned slot;

	if (table_has(table, *n, ip, len))
		return false;
	slot = *n < VR_ADDRS_MAX ? (*n)++ : (*next)++ % VR_ADDRS_MAX;
	memcpy(table + slot * len, ip, len);
	return true;
}

bool
vr_addrs_add4(struct vr_addrs *a, const uint8_t ip[4])
{
	return usable4(ip) && table_add(a->ip4[0], &a->n4, &a->next4, ip, 4);
}

bool
vr_addrs_add6(struct vr_addrs *a, const uint8_t ip[16])
{
	return usable6(ip) && table_add(a->ip6[0], &a->n6, &a->next6, ip, 16);
}

void
vr_addrs_merge(struct vr_addrs *a, const struct vr_addrs *b)
{
	if (!b->has_mac || (a->has_mac && memcmp(a->mac, b->mac, 6) != 0))
		return;
	a->has_mac = true;
	memcpy(a->mac, b->mac, 6);
	/* into free slots only: what the guest itself said stays */
	for (unsigned i = 0; i < b->n4 && a->n4 < VR_ADDRS_MAX; i++)
		vr_addrs_add4(a, b->ip4[i]);
	for (unsigned i = 0; i < b->n6 && a->n6 < VR_ADDRS_MAX; i++)
		vr_addrs_add6(a, b->ip6[i]);
}

static bool
learn_mac(struct vr_addrs *a, const uint8_t *src)
{
	if ((src[0] & 1) != 0 || (a->has_mac && memcmp(a->mac, src, 6) == 0))
		return false; /* multicast source: not a guest address */
	memcpy(a->mac, src, 6);
	a->has_mac = true;
	return true;
}

bool
vr_addrs_learn(struct vr_addrs *a, const uint8_t *f, size_t len)
{
	size_t l3 = 14;
	uint16_t type;
	bool changed;

	if (len < 14)
		return false;
	changed = learn_mac(a, f + 6);
	type = get16(f + 12);
	if (type == ETH_VLAN) /* addresses on a guest VLAN are announced untagged: skip */
		return changed;
	if (type == ETH_ARP && len >= l3 + 28 && get16(f + l3) == 1 &&
	    get16(f + l3 + 2) == 0x0800 && f[l3 + 4] == 6 && f[l3 + 5] == 4)
		return vr_addrs_add4(a, f + l3 + 14) | changed; /* sender IP */
	if (type == ETH_IP6 && len >= l3 + 40 + 24 && f[l3 + 6] == IP6_ICMP &&
	    (f[l3 + 40] == ND_NA || f[l3 + 40] == ND_NS))
		return vr_addrs_add6(a, f + l3 + 8) | changed; /* source address */
	return changed;
}

int
vr_addrs_parse(struct vr_addrs *a, const char *text, char *err, size_t errlen)
{
	unsigned int m[6];
	uint8_t ip[16];
	char tail;

	if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5],
	           &tail) == 6 &&
	    strlen(text) == 17) {
		if (m[0] & 1)
			return vr_err(err, errlen, "'%s' is a multicast MAC, not a guest's", text);
		for (int i = 0; i < 6; i++)
			a->mac[i] = (uint8_t)m[i];
		a->has_mac = true;
		return 0;
	}
	if (inet_pton(AF_INET, text, ip) == 1) {
		if (!usable4(ip))
			return vr_err(err, errlen, "'%s' is not a unicast guest address", text);
		vr_addrs_add4(a, ip);
		return 0;
	}
	if (inet_pton(AF_INET6, text, ip) == 1) {
		if (!usable6(ip))
			return vr_err(err, errlen, "'%s' is not a unicast guest address", text);
		vr_addrs_add6(a, ip);
		return 0;
	}
	return vr_err(err, errlen, "'%.64s' is neither a MAC, an IPv4 nor an IPv6 address", text);
}

void
vr_addrs_mac_str(const struct vr_addrs *a, char *out, size_t len)
{
	const uint8_t *m = a->mac;

	if (!a->has_mac)
		snprintf(out, len, "%s", "");
	else
		snprintf(out, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
		         m[5]);
}

void
vr_addrs_ip_str(const struct vr_addrs *a, unsigned i, char *out, size_t len)
{
	char buf[INET6_ADDRSTRLEN];

	if (i < a->n4)
		inet_ntop(AF_INET, a->ip4[i], buf, sizeof(buf));
	else if (i - a->n4 < a->n6)
		inet_ntop(AF_INET6, a->ip6[i - a->n4], buf, sizeof(buf));
	else
		buf[0] = '\0';
	snprintf(out, len, "%s", buf);
}

unsigned
vr_announce_frames(const struct vr_addrs *a, uint8_t frames[][VR_ANNOUNCE_FRAME], size_t len[])
{
	unsigned n = 0;

	if (!a->has_mac)
		return 0;
	len[n] = vr_neigh_rarp(a->mac, frames[n]);
	n++;
	for (unsigned i = 0; i < a->n4; i++, n++)
		len[n] = vr_neigh_garp(a->mac, a->ip4[i], frames[n]);
	for (unsigned i = 0; i < a->n6; i++, n++)
		len[n] = vr_neigh_unsolicited_na(a->mac, a->ip6[i], frames[n]);
	return n;
}
