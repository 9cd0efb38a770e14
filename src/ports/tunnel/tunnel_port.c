/* SPDX-License-Identifier: BSD-3-Clause */
#include "tunnel_port.h"

#include <string.h>

#include "counters.h"
#include "handoff.h"
#include "neigh.h"
#include <rte_ip_frag.h>

#include "burst.h"
#include "wire.h"
#include "offload.h"

/* What tx_burst does with a frame: seal it (by inner family), answer it,
 * pass on a handover's marker in its place, or drop it. */
enum { SEAL4 = 0, SEAL6 = 1, ANSWER = 2, MARK = 3, DROP = -1 };

static int
class_of(const struct vr_tunnel_port *t, const struct rte_mbuf *m)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);

	if (m->data_len < RTE_ETHER_HDR_LEN)
		return DROP;
	/* the guest's own MAC as the source: its new relay announced it */
	if (unlikely(t->handover) && t->role == VR_TUNNEL_SOURCE &&
	    memcmp(f + RTE_ETHER_ADDR_LEN, t->answer_mac.addr_bytes, RTE_ETHER_ADDR_LEN) == 0)
		return MARK;
	if (f[12] == 0x08 && f[13] == 0x00)
		return SEAL4;
	if (f[12] == 0x08 && f[13] == 0x06)
		return ANSWER;
	if (f[12] != 0x86 || f[13] != 0xdd)
		return DROP;
	/* a neighbour solicitation is asked of whoever owns the target here */
	if (m->data_len >= 55 && f[20] == IPPROTO_ICMPV6 && f[54] == 135)
		return ANSWER;
	return SEAL6;
}

/* An ARP request or NS: SOURCE answers the LAN's questions about the
 * guest's old addresses, DEST the guest's questions (the divert chose
 * them). The answer waits on the answers ring for rx_burst's caller. */
static void
answer(struct vr_tunnel_port *t, struct rte_mbuf *q)
{
	uint8_t out[VR_NEIGH_FRAME];
	struct vr_neigh n;
	struct rte_mbuf *a = NULL;
	size_t len = 0;

	if (t->answers != NULL && !t->handover && rte_pktmbuf_linearize(q) == 0 &&
	    vr_neigh_parse(rte_pktmbuf_mtod(q, const uint8_t *), q->pkt_len, &n) &&
	    (n.kind == VR_NEIGH_ARP_REQUEST || n.kind == VR_NEIGH_NS) &&
	    (t->role == VR_TUNNEL_DEST || vr_addrs_has(&t->old, n.ipv6, n.target_ip)))
		len = vr_neigh_answer(&n, t->answer_mac.addr_bytes, out);
	rte_pktmbuf_free(q);
	if (len == 0) {
		ctr_add(t->sealed.not_ip, 1);
		return;
	}
	a = rte_pktmbuf_alloc(t->port.pool);
	if (a != NULL)
		memcpy(rte_pktmbuf_append(a, (uint16_t)len), out, len);
	if (a == NULL || rte_ring_sp_enqueue(t->answers, a) != 0) {
		rte_pktmbuf_free(a);
		ctr_add(t->answers_full, 1);
		return;
	}
	ctr_add(t->answered, 1);
}

/* The inbound SAs as this pass sees them (the control thread replaces
 * them at a rekey). */
struct in_sas {
	struct vr_esp_sa *sa[6];
};

static void
in_sas_load(const struct vr_tunnel_port *t, struct in_sas *s)
{
	for (int f = 0; f < 2; f++) {
		s->sa[f] = __atomic_load_n(&t->in[f], __ATOMIC_ACQUIRE);
		s->sa[2 + f] = __atomic_load_n(&t->in_next[f], __ATOMIC_ACQUIRE);
		s->sa[4 + f] = __atomic_load_n(&t->in_prev[f], __ATOMIC_ACQUIRE);
	}
}

/* The inbound SA whose SPI a sealed frame names, NULL for none. */
static struct vr_esp_sa *
sa_of(const struct in_sas *s, const struct rte_mbuf *m)
{
	uint32_t spi = vr_esp_frame_spi(m, VR_ESP_UDP_PORT);

	for (int i = 0; spi != 0 && i < 6; i++)
		if (s->sa[i] != NULL && vr_esp_sa_spi(s->sa[i]) == spi)
			return s->sa[i];
	return NULL;
}

/* Length of the run of frames from m[0] that classify the same. */
static uint16_t
run_of(const struct vr_tunnel_port *t, struct rte_mbuf **m, uint16_t n, int *cls)
{
	uint16_t k = 1;

	*cls = class_of(t, m[0]);
	while (k < n && class_of(t, m[k]) == *cls)
		k++;
	return k;
}

/* Length of the run of sealed frames from m[0] for the same SA. */
static uint16_t
run_in(const struct in_sas *s, struct rte_mbuf **m, uint16_t n, struct vr_esp_sa **sa)
{
	uint16_t k = 1;

	*sa = sa_of(s, m[0]);
	while (k < n && sa_of(s, m[k]) == *sa)
		k++;
	return k;
}

#define SWEEP_FLOWS 64 /* flows looked at per sweep and side */

/* A sweep walks the table's slots, empty ones too (rte_hash_iterate): run
 * every pass it cost 73 % of a tunnel's instructions; sweep_every apart it
 * costs nothing measurable, and timeouts are seconds anyway. */
void
vr_tunnel_tick(struct vr_tunnel_port *t, int side, uint64_t now)
{
	t->now[side] = now;
	if (t->flows[side] != NULL && now - t->swept[side] >= t->sweep_every) {
		t->swept[side] = now;
		vr_flows_expire(t->flows[side], now, SWEEP_FLOWS);
	}
}

/* The IP packets of m[0..n) (Ethernet frames) into side's table. */
static void
flows_see(struct vr_tunnel_port *t, int side, struct rte_mbuf **m, uint16_t n)
{
	if (t->flows[side] == NULL)
		return;
	for (uint16_t i = 0; i < n; i++)
		if (m[i]->data_len > RTE_ETHER_HDR_LEN)
			vr_flows_see(
			    t->flows[side],
			    rte_pktmbuf_mtod_offset(m[i], const uint8_t *, RTE_ETHER_HDR_LEN),
			    m[i]->data_len - RTE_ETHER_HDR_LEN, t->now[side]);
}

/* Sealed frames onto the underlay; what it does not take is dropped. */
static void
send_under(struct vr_tunnel_port *t, struct rte_mbuf **m, uint16_t n)
{
	uint16_t sent = port_tx(t->under, t->under_q, m, n);

	for (uint16_t i = sent; i < n; i++)
		rte_pktmbuf_free(m[i]);
	ctr_add(t->under_full, (uint64_t)(n - sent));
}

#define FRAGS_MAX 8 /* a 9000-byte frame over a 1280-byte path */

/* A sealed packet longer than the underlay's MTU, sent in pieces (the
 * peer's tap reassembles them): rte_ip_frag cuts the outer packet, each
 * piece gets the Ethernet header back (and, over IPv4, its own header
 * checksum; over IPv6 the pieces share their payload with the packet until
 * made single buffers, as the device may take nothing else). */
static void
send_cut(struct vr_tunnel_port *t, struct rte_mbuf *f)
{
	struct rte_mbuf *piece[FRAGS_MAX];
	struct rte_ether_hdr eth = *rte_pktmbuf_mtod(f, struct rte_ether_hdr *);
	bool v6 = eth.ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
	int k, ok = 0;

	rte_pktmbuf_adj(f, RTE_ETHER_HDR_LEN);
	k = v6 ? rte_ipv6_fragment_packet(f, piece, FRAGS_MAX, t->under_mtu, t->port.pool,
	                                  t->port.pool)
	       : rte_ipv4_fragment_copy_nonseg_packet(f, piece, FRAGS_MAX, t->under_mtu,
	                                              t->port.pool);
	rte_pktmbuf_free(f);
	for (int i = 0; i < k; i++) {
		struct rte_ether_hdr *h =
		    (struct rte_ether_hdr *)rte_pktmbuf_prepend(piece[i], RTE_ETHER_HDR_LEN);
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(h + 1);

		if (h == NULL || rte_pktmbuf_linearize(piece[i]) != 0) {
			rte_pktmbuf_free(piece[i]);
			continue;
		}
		*h = eth;
		if (!v6) {
			ip->hdr_checksum = 0;
			ip->hdr_checksum = rte_ipv4_cksum(ip);
		}
		piece[ok++] = piece[i];
	}
	if (k <= 0 || ok < k) { /* a packet short of a piece is lost anyway */
		for (int i = 0; i < ok; i++)
			rte_pktmbuf_free(piece[i]);
		ctr_add(t->frag_failed, 1);
		return;
	}
	ctr_add(t->fragmented, 1);
	send_under(t, piece, (uint16_t)k);
}

/* m[0..n), sealed by out[fam], onto the underlay in order, to the next
 * hop known now, cut where too long. */
static void
send_sealed(struct vr_tunnel_port *t, int fam, struct rte_mbuf **m, uint16_t n)
{
	uint64_t hop = t->hop[fam] != NULL ? __atomic_load_n(t->hop[fam], __ATOMIC_RELAXED) : 0;
	uint16_t from = 0;

	for (uint16_t i = 0; hop != 0 && i < n; i++)
		memcpy(rte_pktmbuf_mtod(m[i], struct rte_ether_hdr *)->dst_addr.addr_bytes, &hop,
		       RTE_ETHER_ADDR_LEN);
	for (uint16_t i = 0; i < n; i++) {
		if (likely(t->under_mtu == 0 || m[i]->pkt_len - RTE_ETHER_HDR_LEN <= t->under_mtu))
			continue;
		send_under(t, m + from, (uint16_t)(i - from));
		send_cut(t, m[i]);
		from = (uint16_t)(i + 1);
	}
	send_under(t, m + from, (uint16_t)(n - from));
}

uint16_t
vr_tunnel_mss(uint16_t under_mtu, bool under6, bool inner_ipv6)
{
	/* outer IP, UDP 8, ESP header 8, IV 8, padding 3, trailer 2, ICV 16 */
	unsigned esp = (under6 ? 40 : 20) + 8 + 8 + 8 + 3 + 2 + 16;
	unsigned inner = (inner_ipv6 ? 40 : 20) + 20;

	return under_mtu > esp + inner ? (uint16_t)(under_mtu - esp - inner) : 0;
}

/* The TCP header of frame m (family fam) when it is a SYN's, whole in the
 * first buffer, with *hl its length; else NULL. */
static uint8_t *
syn_of(struct rte_mbuf *m, int fam, uint32_t *hl)
{
	uint8_t *ip = rte_pktmbuf_mtod_offset(m, uint8_t *, RTE_ETHER_HDR_LEN), *tcp;
	uint32_t len = m->data_len - RTE_ETHER_HDR_LEN, l3;

	if (m->data_len < RTE_ETHER_HDR_LEN + 40)
		return NULL;
	if (fam == SEAL4 && (ip[9] != IPPROTO_TCP || (vr_rd16(ip + 6) & 0x3fff) != 0))
		return NULL;
	if (fam == SEAL6 && ip[6] != IPPROTO_TCP)
		return NULL;
	l3 = fam == SEAL4 ? (uint32_t)(ip[0] & 0xf) * 4 : 40;
	if (l3 < 20 || len < l3 + 20)
		return NULL;
	tcp = ip + l3;
	*hl = (uint32_t)(tcp[12] >> 4) * 4;
	return (tcp[13] & 0x02) != 0 && *hl >= 20 && len >= l3 + *hl ? tcp : NULL;
}

/* A SYN offering a larger MSS than fits the underlay whole (t->mss) is
 * lowered to it, its checksum mended as RFC 1624 does: the session's
 * segments then cross unfragmented. Established sessions chose theirs
 * before; the tunnel cuts what they send (send_cut). */
static void
clamp_mss(struct vr_tunnel_port *t, struct rte_mbuf **m, uint16_t n, int fam)
{
	for (uint16_t i = 0; t->mss[fam] != 0 && i < n; i++) {
		uint32_t hl, o = 20;
		uint8_t *tcp = syn_of(m[i], fam, &hl);

		while (tcp != NULL && o + 4 <= hl && tcp[o] != 0) {
			uint32_t olen = tcp[o] == 1 ? 1 : tcp[o + 1];
			uint16_t old = vr_rd16(tcp + o + 2), want = t->mss[fam];
			uint32_t sum;

			if (olen < 1 || (tcp[o] != 1 && olen < 2) || o + olen > hl)
				break;
			if (tcp[o] == 2 && olen == 4 && old > want) {
				sum = (uint16_t)~vr_rd16(tcp + 16) + (uint16_t)~old + want;
				sum = (sum & 0xffff) + (sum >> 16);
				sum = (sum & 0xffff) + (sum >> 16);
				tcp[o + 2] = (uint8_t)(want >> 8), tcp[o + 3] = (uint8_t)want;
				tcp[16] = (uint8_t)(~sum >> 8), tcp[17] = (uint8_t)~sum;
				ctr_add(t->mss_clamped, 1);
			}
			o += olen;
		}
	}
}

/* The marker a handover's destination waits for (docs/tunnel.md, "Same
 * LAN"), made of frame m in place: an IPv4 header of protocol 59 (no next
 * header) from and to 0.0.0.0, nothing a guest can mean. Sealed with the
 * frames before it, it cannot overtake them; false: m is unusable. */
static bool
make_marker(struct rte_mbuf *m)
{
	const uint16_t len = RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr);
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;

	if (rte_pktmbuf_linearize(m) != 0 || m->pkt_len < len)
		return false;
	rte_pktmbuf_trim(m, (uint16_t)(m->pkt_len - len));
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(sizeof(*ip));
	ip->time_to_live = 1;
	ip->next_proto_id = IPPROTO_NONE;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	m->ol_flags = 0;
	return true;
}

bool
vr_tunnel_is_marker(const struct rte_mbuf *m)
{
	const struct rte_ipv4_hdr *ip =
	    rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);

	return m->data_len >= RTE_ETHER_HDR_LEN + sizeof(*ip) &&
	       rte_pktmbuf_mtod(m, const struct rte_ether_hdr *)->ether_type ==
	           rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) &&
	       ip->next_proto_id == IPPROTO_NONE && ip->src_addr == 0 && ip->dst_addr == 0;
}

/* SOURCE of a handover: m[0..n), frames from the guest's MAC, each go on
 * as a marker (sealed frames are lost at times: the next one will do). */
static void
pass_markers(struct vr_tunnel_port *t, struct rte_mbuf **m, uint16_t n)
{
	uint16_t k = 0, ready;

	for (uint16_t i = 0; i < n; i++) {
		if (make_marker(m[i])) {
			m[k++] = m[i];
		} else {
			rte_pktmbuf_free(m[i]);
			ctr_add(t->sealed.not_ip, 1);
		}
	}
	ready = k > 0 ? vr_esp_encap(__atomic_load_n(&t->out[SEAL4], __ATOMIC_ACQUIRE), m, k,
	                             &t->sealed)
	              : 0;
	if (ready > 0)
		send_sealed(t, SEAL4, m, ready);
}

/* DEST of a handover: the markers among m[0..n) are taken out (and noted:
 * nothing older is on its way); the rest keep their order. */
static uint16_t
take_markers(struct vr_tunnel_port *t, struct rte_mbuf **m, uint16_t n)
{
	uint16_t k = 0;

	for (uint16_t i = 0; i < n; i++) {
		if (vr_tunnel_is_marker(m[i])) {
			rte_pktmbuf_free(m[i]);
			t->marked = true;
			ctr_add(t->markers, 1);
		} else {
			m[k++] = m[i];
		}
	}
	return k;
}

static uint16_t
tunnel_tx(struct vr_port *p, uint16_t q, struct rte_mbuf **m, uint16_t n)
{
	struct vr_tunnel_port *t = (struct vr_tunnel_port *)p;

	(void)q;
	for (uint16_t at = 0; at < n;) {
		int fam;
		uint16_t k = run_of(t, m + at, (uint16_t)(n - at), &fam), ready = 0;
		struct vr_esp_sa *out =
		    fam >= 0 && fam < 2 ? __atomic_load_n(&t->out[fam], __ATOMIC_ACQUIRE) : NULL;

		if (fam == ANSWER) {
			for (uint16_t i = 0; i < k; i++)
				answer(t, m[at + i]);
		} else if (fam == MARK) {
			pass_markers(t, m + at, k);
			ctr_add(t->markers, k);
		} else if (out != NULL) {
			clamp_mss(t, m + at, k, fam);
			flows_see(t, VR_SEAL, m + at, k);
			ready = vr_esp_encap(out, m + at, k, &t->sealed);
		} else {
			for (uint16_t i = 0; i < k; i++)
				rte_pktmbuf_free(m[at + i]);
			ctr_add(t->sealed.not_ip, k);
		}
		if (ready > 0)
			send_sealed(t, fam, m + at, ready);
		at = (uint16_t)(at + k);
	}
	return n;
}

static uint16_t
tunnel_rx(struct vr_port *p, uint16_t q, struct rte_mbuf **m, uint16_t n)
{
	struct vr_tunnel_port *t = (struct vr_tunnel_port *)p;
	uint16_t out = 0, got;
	struct in_sas sas;

	(void)q;
	in_sas_load(t, &sas);
	if (t->answers != NULL) /* ahead of what the peer sent: they are few */
		out = (uint16_t)rte_ring_sc_dequeue_burst(t->answers, (void **)m, n, NULL);
	got = (uint16_t)(out + rte_ring_sc_dequeue_burst(t->rx, (void **)m + out,
	                                                 (unsigned)(n - out), NULL));
	for (uint16_t at = out; at < got;) {
		struct vr_esp_sa *sa;
		uint16_t k = run_in(&sas, m + at, (uint16_t)(got - at), &sa);

		/* the good frames of the run move up to m[out..], in order */
		memmove(m + out, m + at, k * sizeof(*m));
		if (sa != NULL) {
			uint16_t good = vr_esp_decap(sa, m + out, k, &t->deliver_dst,
			                             &t->deliver_src, &t->opened);

			if (unlikely(t->handover) && t->role == VR_TUNNEL_DEST)
				good = take_markers(t, m + out, good);

			flows_see(t, VR_OPEN, m + out, good);
			out = (uint16_t)(out + good);
		} else {
			for (uint16_t i = 0; i < k; i++)
				rte_pktmbuf_free(m[out + i]);
			ctr_add(t->opened.no_sa, k);
		}
		at = (uint16_t)(at + k);
	}
	return out;
}

static int
tunnel_start(struct vr_port *p, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	handoff_port_queues(p, 1, 1);
	handoff_port_up(p);
	return 0;
}

static void
tunnel_stop(struct vr_port *p)
{
	handoff_port_down(p);
	handoff_port_queues(p, 0, 0);
}

static const struct vr_port_ops tunnel_ops = {
    .kind = "tunnel",
    .rx_burst = tunnel_rx,
    .tx_burst = tunnel_tx,
    .start = tunnel_start,
    .stop = tunnel_stop,
};

void
vr_tunnel_port_init(struct vr_tunnel_port *t, struct vr_port *under, uint16_t under_q,
                    struct rte_mempool *pool)
{
	t->port.ops = &tunnel_ops;
	t->port.n_txq = 1;
	t->port.tx_offloads = 0; /* frames arrive finished: the relay does checksums and TSO */
	t->port.max_segs = 0;    /* chains are linearised before sealing */
	t->port.pool = pool;
	t->under = under;
	t->under_q = under_q;
}

static uint16_t
under_tx(struct vr_port *p, uint16_t q, struct rte_mbuf **m, uint16_t n)
{
	(void)q;
	return (uint16_t)rte_ring_mp_enqueue_burst(((struct vr_under_port *)p)->ring, (void **)m, n,
	                                           NULL);
}

static const struct vr_port_ops under_ops = {
    .kind = "underlay",
    .tx_burst = under_tx,
};

void
vr_under_port_init(struct vr_under_port *u, struct rte_ring *ring)
{
	memset(u, 0, sizeof(*u));
	u->port.ops = &under_ops;
	u->port.n_txq = 1;
	u->ring = ring;
}

/* Whether the guest sent f from one of its old addresses (DEST). */
static bool
from_old(const struct vr_tunnel_port *t, const struct rte_mbuf *f)
{
	const uint8_t *p = rte_pktmbuf_mtod(f, const uint8_t *);
	uint16_t len = f->data_len;

	if (len < 34)
		return false;
	if (p[12] == 0x08 && p[13] == 0x00)
		return vr_addrs_has(&t->old, false, p + 26);
	/* link-local addresses are never routed: nothing to carry */
	if (p[12] == 0x86 && p[13] == 0xdd)
		return len >= 54 && !(p[22] == 0xfe && (p[23] & 0xc0) == 0x80) &&
		       vr_addrs_has(&t->old, true, p + 22);
	/* its questions about others, not its announcements of itself */
	return p[12] == 0x08 && p[13] == 0x06 && len >= 42 &&
	       vr_addrs_has(&t->old, false, p + 28) && !vr_addrs_has(&t->old, false, p + 38);
}

/* A diverted TCP frame the guest left to segment: cut here (the tunnel
 * carries finished frames) and sealed a burst of segments at a time. */
static void
cut_into_tunnel(struct vr_tunnel_port *t, struct rte_mbuf *f)
{
	struct rte_mbuf *seg[VR_BURST];
	uint32_t done = 0;
	int k;

	do {
		k = offload_cut(f, &done, t->port.pool, seg, VR_BURST);
		if (k > 0)
			port_tx(&t->port, 0, seg, (uint16_t)k); /* takes all */
	} while (k > 0 && done < offload_payload(f));
	ctr_add(t->sealed.too_big, done < offload_payload(f));
	rte_pktmbuf_free(f);
}

uint16_t
vr_tunnel_divert(struct vr_tunnel_port *t, struct rte_mbuf **m, uint16_t n, uint64_t *bytes)
{
	struct rte_mbuf *out[VR_BURST];
	uint16_t keep = 0, k = 0;

	*bytes = 0;
	if (t->handover) /* the guest's addresses are at home here */
		return n;
	for (uint16_t i = 0; i < n && i < VR_BURST; i++) {
		struct rte_mbuf *f = m[i];
		enum vr_offload_verdict v = VR_OFL_READY;

		if (likely(!from_old(t, f))) {
			m[keep++] = f;
			continue;
		}
		*bytes += f->pkt_len;
		if (offload_wanted(f))
			v = offload_prepare(f, 0); /* checksums finished here */
		if (v == VR_OFL_READY) {
			out[k++] = f;
			continue;
		}
		port_tx(&t->port, 0, out, k); /* in order: what came before first */
		k = 0;
		if (v == VR_OFL_CUT) {
			cut_into_tunnel(t, f);
		} else {
			ctr_add(t->sealed.malformed, 1);
			rte_pktmbuf_free(f);
		}
	}
	port_tx(&t->port, 0, out, k);
	return keep;
}
