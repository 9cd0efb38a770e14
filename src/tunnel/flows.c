/* SPDX-License-Identifier: BSD-3-Clause */
#include "flows.h"

#include <string.h>

#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "counters.h"

#define TCP_FIN 0x01
#define TCP_RST 0x04

/* Both directions of a flow give the same key: the endpoint that sorts
 * first (address, then port) is "a". */
struct flow_key {
	uint8_t a[16], b[16];
	uint16_t port_a, port_b;
	uint8_t proto;
	uint8_t pad[3];
};

struct flow {
	uint64_t last; /* now of the last frame */
	uint8_t proto;
	uint8_t fin; /* bit 0: a sent FIN, bit 1: b did */
	bool closed; /* FIN both ways, or RST: only the linger is left */
};

struct vr_flows {
	struct rte_hash *h;
	struct flow *state; /* by the key's position in h */
	uint32_t live, cursor;
	uint64_t tcp_idle, tcp_linger, udp_idle, other_idle; /* in now's units */
	bool one_way;
	struct vr_flow_counters c;
};

void
vr_flow_limits_default(struct vr_flow_limits *l)
{
	l->max_flows = 65536;
	l->tcp_idle_ms = 7440 * 1000ULL;
	l->tcp_linger_ms = 10 * 1000ULL;
	l->udp_idle_ms = 300 * 1000ULL;
	l->other_idle_ms = 60 * 1000ULL;
	l->one_way = false;
}

struct vr_flows *
vr_flows_create(const char *name, const struct vr_flow_limits *l, uint64_t hz, int socket)
{
	struct rte_hash_parameters p = {.name = name,
	                                .entries = l->max_flows,
	                                .key_len = sizeof(struct flow_key),
	                                .hash_func = rte_hash_crc,
	                                .socket_id = socket};
	struct vr_flows *f = rte_zmalloc_socket("vr_flows", sizeof(*f), 0, socket);

	if (f == NULL)
		return NULL;
	f->h = rte_hash_create(&p);
	f->state =
	    rte_zmalloc_socket("vr_flow_state", sizeof(struct flow) * l->max_flows, 0, socket);
	if (f->h == NULL || f->state == NULL) {
		vr_flows_free(f);
		return NULL;
	}
	f->tcp_idle = l->tcp_idle_ms * hz / 1000;
	f->tcp_linger = l->tcp_linger_ms * hz / 1000;
	f->udp_idle = l->udp_idle_ms * hz / 1000;
	f->other_idle = l->other_idle_ms * hz / 1000;
	f->one_way = l->one_way;
	return f;
}

void
vr_flows_free(struct vr_flows *f)
{
	if (f == NULL)
		return;
	rte_hash_free(f->h);
	rte_free(f->state);
	rte_free(f);
}

/* The flow key of an IP packet, and whether its sender is endpoint a; the
 * TCP flags in *tcp_flags. false when there is nothing to track. */
static bool
key_of(const uint8_t *ip, size_t len, struct flow_key *k, bool *from_a, uint8_t *tcp_flags)
{
	const uint8_t *src, *dst, *l4;
	size_t alen, l3;
	uint16_t sport = 0, dport = 0;
	int cmp;

	memset(k, 0, sizeof(*k));
	*tcp_flags = 0;
	if (len >= 20 && ip[0] >> 4 == 4 && (ip[0] & 0xf) >= 5) {
		l3 = (size_t)(ip[0] & 0xf) * 4;
		k->proto = ip[9];
		src = ip + 12;
		dst = ip + 16;
		alen = 4;
		if ((ip[6] & 0x1f) != 0 || ip[7] != 0) /* a later fragment: no ports */
			l3 = len;
	} else if (len >= 40 && ip[0] >> 4 == 6) {
		l3 = 40;
		k->proto = ip[6]; /* extension headers: tracked by addresses alone */
		src = ip + 8;
		dst = ip + 24;
		alen = 16;
	} else {
		return false;
	}
	l4 = ip + l3;
	if ((k->proto == 6 || k->proto == 17) && len >= l3 + 4) {
		sport = (uint16_t)(l4[0] << 8 | l4[1]);
		dport = (uint16_t)(l4[2] << 8 | l4[3]);
		if (k->proto == 6 && len >= l3 + 14)
			*tcp_flags = l4[13];
	}
	cmp = memcmp(src, dst, alen);
	*from_a = cmp < 0 || (cmp == 0 && sport <= dport);
	memcpy(k->a, *from_a ? src : dst, alen);
	memcpy(k->b, *from_a ? dst : src, alen);
	k->port_a = *from_a ? sport : dport;
	k->port_b = *from_a ? dport : sport;
	return true;
}

void
vr_flows_see(struct vr_flows *f, const uint8_t *ip, size_t len, uint64_t now)
{
	struct flow_key k;
	struct flow *fl;
	uint8_t flags;
	bool from_a;
	int32_t pos;

	if (!key_of(ip, len, &k, &from_a, &flags)) {
		ctr_add(f->c.not_ip, 1);
		return;
	}
	pos = rte_hash_lookup(f->h, &k);
	if (pos < 0) {
		pos = rte_hash_add_key(f->h, &k);
		if (pos < 0) {
			ctr_add(f->c.table_full, 1);
			return;
		}
		memset(&f->state[pos], 0, sizeof(f->state[pos]));
		f->state[pos].proto = k.proto;
		ctr_add(f->live, 1);
		ctr_add(f->c.added, 1);
	}
	fl = &f->state[pos];
	fl->last = now;
	if (k.proto != 6 || fl->closed)
		return;
	if (flags & TCP_RST) {
		fl->closed = true;
		ctr_add(f->c.ended_rst, 1);
		return;
	}
	if (flags & TCP_FIN)
		fl->fin |= from_a ? 1 : 2;
	if (fl->fin == 3 || (f->one_way && fl->fin != 0)) {
		fl->closed = true;
		ctr_add(f->c.ended_fin, 1);
	}
}

static uint64_t
timeout_of(const struct vr_flows *f, const struct flow *fl)
{
	if (fl->proto == 6)
		return fl->closed ? f->tcp_linger : f->tcp_idle;
	return fl->proto == 17 ? f->udp_idle : f->other_idle;
}

uint32_t
vr_flows_expire(struct vr_flows *f, uint64_t now, uint32_t budget)
{
	const void *key;
	void *data;

	while (budget-- > 0) {
		uint32_t at = f->cursor;
		int32_t pos = rte_hash_iterate(f->h, &key, &data, &f->cursor);
		struct flow *fl;

		if (pos < 0) { /* the end of the table: the next sweep starts over */
			f->cursor = 0;
			if (at == 0)
				break;
			continue;
		}
		fl = &f->state[pos];
		if (now - fl->last < timeout_of(f, fl))
			continue;
		if (!fl->closed)
			ctr_add(f->c.ended_idle, 1);
		rte_hash_del_key(f->h, key);
		ctr_add(f->live, -1);
	}
	return f->live;
}

uint32_t
vr_flows_live(const struct vr_flows *f)
{
	return __atomic_load_n(&f->live, __ATOMIC_RELAXED);
}

void
vr_flows_counters(const struct vr_flows *f, struct vr_flow_counters *out)
{
	/* field by field: the owning worker stores each one atomically */
#define VR_FLOW_READ(field, ...) out->field = __atomic_load_n(&f->c.field, __ATOMIC_RELAXED);
	VR_FLOW_COUNTERS(VR_FLOW_READ)
#undef VR_FLOW_READ
}
