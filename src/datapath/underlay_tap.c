/* SPDX-License-Identifier: BSD-3-Clause */
#include "underlay_tap.h"

#include <string.h>

#include <rte_ether.h>

#include "counters.h"
#include "wire.h"

enum verdict { GUEST, CONTROL, TUNNEL, FRAGMENT, DROP };

/* ARP whose target is our IPv4 address (requests to us, replies to ours). */
static enum verdict
arp(const struct vr_underlay_tap *t, const uint8_t *a, uint32_t len)
{
	return t->has4 && len >= 28 && memcmp(a + 24, t->ip4, 4) == 0 ? CONTROL : GUEST;
}

/* The SPI after the UDP header at udp (0 for IKE's non-ESP marker, or
 * for a datagram too short to hold one). */
static uint32_t
spi_at(const uint8_t *udp, uint32_t left)
{
	return left >= 12 ? (uint32_t)udp[8] << 24 | (uint32_t)udp[9] << 16 |
	                        (uint32_t)udp[10] << 8 | udp[11]
	                  : 0;
}

static enum verdict
ipv4(const struct vr_underlay_tap *t, const uint8_t *ip, uint32_t len, uint32_t *spi)
{
	uint32_t l3 = (uint32_t)(ip[0] & 0xf) * 4;

	if (!t->has4 || len < 20 || memcmp(ip + 16, t->ip4, 4) != 0)
		return GUEST;
	/* a piece of a tunnel packet too big for the path (MF, or an offset) */
	if (ip[9] == 17 && l3 >= 20 && (vr_rd16(ip + 6) & 0x3fff) != 0)
		return FRAGMENT;
	if (ip[9] == 17 && l3 >= 20 && len >= l3 + 8 && vr_rd16(ip + l3 + 2) == t->esp_port) {
		*spi = spi_at(ip + l3, len - l3);
		return TUNNEL;
	}
	return DROP;
}

static enum verdict
ipv6(const struct vr_underlay_tap *t, const uint8_t *ip, uint32_t len, uint32_t *spi)
{
	bool to_us;

	if (!t->has6 || len < 40)
		return GUEST;
	to_us = memcmp(ip + 24, t->ip6, 16) == 0;
	/* a solicitation for our address comes to its solicited-node group */
	if (ip[6] == 58 && len >= 40 + 24 && (ip[40] == 135 || ip[40] == 136) &&
	    (to_us || memcmp(ip + 48, t->ip6, 16) == 0))
		return CONTROL;
	if (!to_us)
		return GUEST;
	/* a piece of a tunnel packet too big for the path (a fragment header
	 * right after the fixed one, as our peer sends them, carrying UDP) */
	if (ip[6] == IPPROTO_FRAGMENT && len >= 48 && ip[40] == 17)
		return FRAGMENT;
	if (ip[6] == 17 && len >= 48 && vr_rd16(ip + 42) == t->esp_port) {
		*spi = spi_at(ip + 40, len - 40);
		return TUNNEL;
	}
	return DROP;
}

static enum verdict
classify(const struct vr_underlay_tap *t, const struct rte_mbuf *m, uint32_t *spi)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t len = m->data_len;

	if (len < RTE_ETHER_HDR_LEN)
		return GUEST;
	switch (vr_rd16(f + 12)) {
	case RTE_ETHER_TYPE_ARP:
		return arp(t, f + 14, len - 14);
	case RTE_ETHER_TYPE_IPV4:
		return ipv4(t, f + 14, len - 14, spi);
	case RTE_ETHER_TYPE_IPV6:
		return ipv6(t, f + 14, len - 14, spi);
	default:
		return GUEST;
	}
}

/* The ring of the tunnel whose SPI this is, NULL for none. */
static struct rte_ring *
tunnel_ring(const struct vr_tunnel_demux *d, uint32_t spi)
{
	for (uint16_t i = 0; d != NULL && spi != 0 && i < d->n; i++)
		if (d->e[i].spi == spi)
			return d->e[i].ring;
	return NULL;
}

/* A fragment into the table; the whole packet once its last piece came
 * (classified afresh: UDP to our port or not), else NULL. */
static struct rte_mbuf *
reassemble(struct vr_underlay_tap *t, struct rte_mbuf *f, uint64_t now)
{
	struct rte_mbuf *w;

	ctr_add(t->fragments, 1);
	if (t->frags == NULL) {
		rte_pktmbuf_free(f);
		return NULL;
	}
	f->l2_len = RTE_ETHER_HDR_LEN;
	if (rte_pktmbuf_mtod(f, const struct rte_ether_hdr *)->ether_type ==
	    rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6)) {
		struct rte_ipv6_hdr *ip6 =
		    rte_pktmbuf_mtod_offset(f, struct rte_ipv6_hdr *, RTE_ETHER_HDR_LEN);

		f->l3_len = sizeof(*ip6) + sizeof(struct rte_ipv6_fragment_ext);
		w = rte_ipv6_frag_reassemble_packet(t->frags, &t->dr, f, now, ip6,
		                                    rte_ipv6_frag_get_ipv6_fragment_header(ip6));
	} else {
		f->l3_len =
		    (rte_pktmbuf_mtod_offset(f, const uint8_t *, RTE_ETHER_HDR_LEN)[0] & 0xf) * 4;
		w = rte_ipv4_frag_reassemble_packet(
		    t->frags, &t->dr, f, now,
		    rte_pktmbuf_mtod_offset(f, struct rte_ipv4_hdr *, f->l2_len));
	}
	if (w == NULL)
		return NULL;
	if (rte_pktmbuf_linearize(w) != 0) { /* the tunnel opens single-buffer frames */
		rte_pktmbuf_free(w);
		return NULL;
	}
	ctr_add(t->reassembled, 1);
	return w;
}

uint16_t
vr_underlay_tap_take(struct vr_underlay_tap *t, struct rte_mbuf **m, uint16_t n, uint64_t now)
{
	const struct vr_tunnel_demux *demux = __atomic_load_n(&t->demux, __ATOMIC_ACQUIRE);
	uint16_t keep = 0;
	bool pieces = false;

	for (uint16_t i = 0; i < n; i++) {
		uint32_t spi = 0;
		enum verdict v = classify(t, m[i], &spi);

		if (unlikely(v == FRAGMENT)) {
			pieces = true;
			m[i] = reassemble(t, m[i], now);
			if (m[i] == NULL)
				continue; /* kept for the rest, or on the death row */
			v = classify(t, m[i], &spi);
		}
		struct rte_ring *r = v == CONTROL  ? t->to_ctl
		                     : v == TUNNEL ? tunnel_ring(demux, spi)
		                                   : NULL;

		if (v == GUEST) {
			m[keep++] = m[i];
			continue;
		}
		if (r != NULL && rte_ring_sp_enqueue(r, m[i]) == 0) {
			ctr_add(*(v == CONTROL ? &t->ctl_frames : &t->tunnel_frames), 1);
			continue;
		}
		rte_pktmbuf_free(m[i]);
		ctr_add(*(r != NULL     ? &t->ring_full
		          : v == TUNNEL ? &t->tunnel_unclaimed
		                        : &t->other_dropped),
		        1);
	}
	if (unlikely(pieces))
		rte_ip_frag_free_death_row(&t->dr, 0);
	return keep;
}

void
vr_underlay_tap_drain(struct vr_underlay_tap *t)
{
	struct rte_ring *rings[2] = {t->to_ctl, t->sealed};
	void *m;

	for (int i = 0; i < 2; i++)
		while (rings[i] != NULL && rte_ring_dequeue(rings[i], &m) == 0)
			rte_pktmbuf_free(m);
	/* what waits for its other pieces: a death row's worth at a time */
	for (unsigned k = 0; k <= VR_UNDERLAY_FRAG_PACKETS / RTE_IP_FRAG_DEATH_ROW_LEN; k++) {
		if (t->frags != NULL)
			rte_ip_frag_table_del_expired_entries(t->frags, &t->dr, UINT64_MAX);
		rte_ip_frag_free_death_row(&t->dr, 0);
	}
}
