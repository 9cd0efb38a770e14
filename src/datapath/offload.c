/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Checksum and TCP segmentation for the guest-to-device direction (see
 * offload.h). Software segmentation is written here rather than taken from
 * librte_gso because DPDK 22.11's GSO cuts TCP over IPv4 only and leaves the
 * checksums of what it cuts to the caller; guests send TCP over IPv6 too.
 */
#include "offload.h"

#include <stddef.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_net.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#define TCP_FLAGS_NOT_LAST  (RTE_TCP_FIN_FLAG | RTE_TCP_PSH_FLAG)
#define TCP_FLAGS_NOT_FIRST RTE_TCP_CWR_FLAG

static inline bool
is_v4(const struct rte_mbuf *m)
{
	return RTE_ETH_IS_IPV4_HDR(m->packet_type);
}

static inline bool
is_tcp(const struct rte_mbuf *m)
{
	return (m->packet_type & RTE_PTYPE_L4_MASK) == RTE_PTYPE_L4_TCP;
}

static inline uint32_t
fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	return (sum & 0xffff) + (sum >> 16);
}

/* Bytes after the IP header(s) according to the IP header itself: what the
 * pseudo-header counts, and what the frame holds before any padding. */
static uint32_t
l4_len_by_ip(const struct rte_mbuf *m)
{
	const uint8_t *l3 = rte_pktmbuf_mtod_offset(m, const uint8_t *, m->l2_len);

	if (is_v4(m)) {
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)l3;
		uint32_t total = rte_be_to_cpu_16(ip->total_length);

		return total >= m->l3_len ? total - m->l3_len : UINT32_MAX;
	}
	const struct rte_ipv6_hdr *ip6 = (const struct rte_ipv6_hdr *)l3;
	uint32_t payload = rte_be_to_cpu_16(ip6->payload_len);
	uint32_t ext = m->l3_len - (uint32_t)sizeof(*ip6);

	return payload >= ext ? payload - ext : UINT32_MAX;
}

/* One's-complement sum of the TCP/UDP pseudo-header (RFC 768, RFC 8200 8.1). */
static uint32_t
pseudo_sum(const struct rte_mbuf *m, uint32_t l4_len)
{
	const uint8_t *l3 = rte_pktmbuf_mtod_offset(m, const uint8_t *, m->l2_len);
	uint32_t proto = is_tcp(m) ? IPPROTO_TCP : IPPROTO_UDP;
	uint32_t sum;

	if (is_v4(m))
		sum = rte_raw_cksum(&((const struct rte_ipv4_hdr *)l3)->src_addr, 8);
	else
		sum = rte_raw_cksum(((const struct rte_ipv6_hdr *)l3)->src_addr, 32);
	sum += rte_cpu_to_be_16((uint16_t)(l4_len >> 16)) + rte_cpu_to_be_16((uint16_t)l4_len);
	return sum + rte_cpu_to_be_16((uint16_t)proto);
}

/* Where the L4 checksum sits; headers may be unaligned (VLAN tags, options). */
static uint8_t *
l4_csum_field(struct rte_mbuf *m)
{
	uint8_t *l4 = rte_pktmbuf_mtod_offset(m, uint8_t *, m->l2_len + m->l3_len);

	return l4 + (is_tcp(m) ? offsetof(struct rte_tcp_hdr, cksum)
	                       : offsetof(struct rte_udp_hdr, dgram_cksum));
}

/* The whole L4 checksum, computed afresh: what the guest seeded is not
 * trusted. Headers are in the first segment; the payload may be chained. */
static int
l4_csum_sw(struct rte_mbuf *m)
{
	uint32_t off = m->l2_len + m->l3_len;
	uint32_t l4_len = rte_pktmbuf_pkt_len(m) - off;
	uint8_t *field = l4_csum_field(m);
	uint16_t raw, csum = 0;

	memcpy(field, &csum, sizeof(csum));
	if (rte_raw_cksum_mbuf(m, off, l4_len, &raw) < 0)
		return -1;
	csum = (uint16_t)~fold(pseudo_sum(m, l4_len) + raw);
	if (csum == 0 && !is_tcp(m))
		csum = 0xffff; /* a UDP checksum of 0 means "none" */
	memcpy(field, &csum, sizeof(csum));
	return 0;
}

/* Parses m's headers into l2/l3/l4_len and packet_type, and cuts off
 * Ethernet padding beyond what the IP header says. */
static int
parse_headers(struct rte_mbuf *m, bool tso)
{
	struct rte_net_hdr_lens hl = {0};
	uint32_t ptype =
	    rte_net_get_ptype(m, &hl, RTE_PTYPE_L2_MASK | RTE_PTYPE_L3_MASK | RTE_PTYPE_L4_MASK);
	uint32_t l4 = ptype & RTE_PTYPE_L4_MASK;
	uint32_t ip_l4, have;

	if (!RTE_ETH_IS_IPV4_HDR(ptype) && !RTE_ETH_IS_IPV6_HDR(ptype))
		return -1;
	if (l4 != RTE_PTYPE_L4_TCP && (tso || l4 != RTE_PTYPE_L4_UDP))
		return -1;
	if (l4 == RTE_PTYPE_L4_TCP && hl.l4_len < sizeof(struct rte_tcp_hdr))
		return -1; /* a data offset under 5 words: no room for the checksum */
	if ((uint32_t)hl.l2_len + hl.l3_len + hl.l4_len > rte_pktmbuf_data_len(m))
		return -1; /* headers are written in place: they must be contiguous */
	m->packet_type = ptype;
	m->l2_len = hl.l2_len;
	m->l3_len = hl.l3_len;
	m->l4_len = hl.l4_len;
	ip_l4 = l4_len_by_ip(m);
	have = rte_pktmbuf_pkt_len(m) - hl.l2_len - hl.l3_len;
	if (ip_l4 < hl.l4_len || ip_l4 > have || have - ip_l4 > UINT16_MAX)
		return -1; /* padding beyond 64 KiB: no Ethernet frame has that */
	if (ip_l4 < have && rte_pktmbuf_trim(m, (uint16_t)(have - ip_l4)) != 0)
		return -1;
	return 0;
}

/* TX flags for the device, or 0 when it cannot finish this frame. */
static uint64_t
device_flags(const struct rte_mbuf *m, bool tso, uint64_t dev_tx)
{
	uint64_t need = tso         ? RTE_ETH_TX_OFFLOAD_TCP_TSO
	                : is_tcp(m) ? RTE_ETH_TX_OFFLOAD_TCP_CKSUM
	                            : RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	uint64_t fl;

	if ((dev_tx & need) != need)
		return 0;
	if (!is_v4(m) && m->l3_len != sizeof(struct rte_ipv6_hdr))
		return 0; /* DPDK's IPv6 pseudo-header would count extension headers */
	fl = is_tcp(m) ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM;
	fl |= is_v4(m) ? RTE_MBUF_F_TX_IPV4 : RTE_MBUF_F_TX_IPV6;
	if (tso) {
		fl |= RTE_MBUF_F_TX_TCP_SEG;
		if (is_v4(m) && (dev_tx & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM))
			fl |= RTE_MBUF_F_TX_IP_CKSUM; /* each segment's IPv4 header */
	}
	return fl;
}

enum vr_offload_verdict
offload_prepare(struct rte_mbuf *m, uint64_t dev_tx)
{
	bool tso = (m->ol_flags & RTE_MBUF_F_RX_LRO) != 0;
	uint64_t fl;

	m->ol_flags &= ~(VR_OFFLOAD_RX_FLAGS | RTE_MBUF_F_RX_IP_CKSUM_MASK);
	if (parse_headers(m, tso) < 0)
		return VR_OFL_BAD;
	if (tso && (m->tso_segsz == 0 || offload_payload(m) <= m->tso_segsz))
		tso = false; /* one segment: only its checksum is left */
	if (tso && m->tso_segsz < VR_TSO_MSS_MIN)
		return VR_OFL_BAD; /* segments are smaller than the frame's IP length */
	fl = device_flags(m, tso, dev_tx);
	if (fl != 0) {
		m->ol_flags |= fl;
		return rte_net_intel_cksum_flags_prepare(m, fl) == 0 ? VR_OFL_READY : VR_OFL_BAD;
	}
	if (tso) {
		m->ol_flags |= RTE_MBUF_F_RX_LRO; /* offload_to_cut */
		return VR_OFL_CUT;
	}
	return l4_csum_sw(m) == 0 ? VR_OFL_READY : VR_OFL_BAD;
}

/* The segment of chain m holding byte off; off becomes the offset in it. */
static const struct rte_mbuf *
seg_at(const struct rte_mbuf *m, uint32_t *off)
{
	while (m != NULL && *off >= m->data_len) {
		*off -= m->data_len;
		m = m->next;
	}
	return m;
}

/* Appends len bytes of src from offset off to chain head, taking more
 * mbufs from pool as each fills (segments longer than one mbuf: jumbo MSS). */
static int
chain_copy(struct rte_mbuf *head, struct rte_mempool *pool, const struct rte_mbuf *src,
           uint32_t off, uint32_t len)
{
	struct rte_mbuf *tail = rte_pktmbuf_lastseg(head);
	const struct rte_mbuf *s = seg_at(src, &off);

	while (len > 0 && s != NULL) {
		uint32_t chunk;

		if (rte_pktmbuf_tailroom(tail) == 0) {
			struct rte_mbuf *n = rte_pktmbuf_alloc(pool);

			if (n == NULL)
				return -1;
			tail->next = n;
			tail = n;
			head->nb_segs++;
		}
		chunk = RTE_MIN(len, RTE_MIN((uint32_t)rte_pktmbuf_tailroom(tail),
		                             (uint32_t)s->data_len - off));
		memcpy(rte_pktmbuf_mtod_offset(tail, uint8_t *, tail->data_len),
		       rte_pktmbuf_mtod_offset(s, const uint8_t *, off), chunk);
		tail->data_len = (uint16_t)(tail->data_len + chunk);
		head->pkt_len += chunk;
		len -= chunk;
		off += chunk;
		if (off == s->data_len) {
			s = s->next;
			off = 0;
		}
	}
	return len == 0 ? 0 : -1;
}

/* Fixes the copied headers of segment s: payload bytes [done, done+len) of
 * a frame of total payload total. */
static void
seg_fix_headers(struct rte_mbuf *s, uint32_t done, uint32_t len, uint32_t total, uint16_t mss)
{
	uint8_t *l3 = rte_pktmbuf_mtod_offset(s, uint8_t *, s->l2_len);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(l3 + s->l3_len);
	uint32_t l4_len = s->l4_len + len;

	if (is_v4(s)) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)l3;

		ip->total_length = rte_cpu_to_be_16((uint16_t)(s->l3_len + l4_len));
		ip->packet_id =
		    rte_cpu_to_be_16((uint16_t)(rte_be_to_cpu_16(ip->packet_id) + done / mss));
		ip->hdr_checksum = 0;
		ip->hdr_checksum = (uint16_t)~rte_raw_cksum(ip, s->l3_len);
	} else {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)l3;

		ip6->payload_len = rte_cpu_to_be_16((uint16_t)(s->l3_len - sizeof(*ip6) + l4_len));
	}
	th->sent_seq = rte_cpu_to_be_32(rte_be_to_cpu_32(th->sent_seq) + done);
	if (done + len < total)
		th->tcp_flags &= (uint8_t)~TCP_FLAGS_NOT_LAST;
	if (done > 0)
		th->tcp_flags &= (uint8_t)~TCP_FLAGS_NOT_FIRST;
}

static struct rte_mbuf *
seg_build(const struct rte_mbuf *m, uint32_t done, uint32_t len, struct rte_mempool *pool)
{
	uint32_t hlen = m->l2_len + m->l3_len + m->l4_len;
	struct rte_mbuf *s = rte_pktmbuf_alloc(pool);

	if (s == NULL)
		return NULL;
	memcpy(rte_pktmbuf_mtod(s, uint8_t *), rte_pktmbuf_mtod(m, const uint8_t *), hlen);
	s->data_len = (uint16_t)hlen;
	s->pkt_len = hlen;
	s->packet_type = m->packet_type;
	s->l2_len = m->l2_len;
	s->l3_len = m->l3_len;
	s->l4_len = m->l4_len;
	if (chain_copy(s, pool, m, hlen + done, len) < 0) {
		rte_pktmbuf_free(s);
		return NULL;
	}
	seg_fix_headers(s, done, len, offload_payload(m), m->tso_segsz);
	if (l4_csum_sw(s) < 0) {
		rte_pktmbuf_free(s);
		return NULL;
	}
	return s;
}

int
offload_cut(const struct rte_mbuf *m, uint32_t *done, struct rte_mempool *pool,
            struct rte_mbuf **out, uint16_t room)
{
	uint32_t total = offload_payload(m);
	uint16_t n = 0;

	if (m->tso_segsz == 0 || *done > total)
		return -1;
	while (n < room && *done < total) {
		uint32_t len = RTE_MIN((uint32_t)m->tso_segsz, total - *done);
		struct rte_mbuf *s = seg_build(m, *done, len, pool);

		if (s == NULL)
			break; /* pool empty: the rest is cut when mbufs come back */
		out[n++] = s;
		*done += len;
	}
	return n;
}
