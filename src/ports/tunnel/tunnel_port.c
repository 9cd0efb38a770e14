/* SPDX-License-Identifier: BSD-3-Clause */
#include "tunnel_port.h"

#include <string.h>

#include "counters.h"
#include "handoff.h"

/* The inner family of a guest frame: 0 IPv4, 1 IPv6, -1 neither. */
static int
family_of(const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);

	if (m->data_len < RTE_ETHER_HDR_LEN)
		return -1;
	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		return 0;
	return eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6) ? 1 : -1;
}

/* The inbound SA whose SPI a sealed frame names, -1 for none. */
static int
sa_of(const struct vr_tunnel_port *t, const struct rte_mbuf *m)
{
	uint32_t spi = vr_esp_frame_spi(m, VR_ESP_UDP_PORT);

	for (int i = 0; i < 2; i++)
		if (t->in[i] != NULL && spi != 0 && vr_esp_sa_spi(t->in[i]) == spi)
			return i;
	return -1;
}

/* Length of the run of frames from m[0] that classify the same. */
static uint16_t
run_of(const struct vr_tunnel_port *t, struct rte_mbuf **m, uint16_t n, bool inbound, int *cls)
{
	uint16_t k = 1;

	*cls = inbound ? sa_of(t, m[0]) : family_of(m[0]);
	while (k < n && (inbound ? sa_of(t, m[k]) : family_of(m[k])) == *cls)
		k++;
	return k;
}

static uint16_t
tunnel_tx(struct vr_port *p, uint16_t q, struct rte_mbuf **m, uint16_t n)
{
	struct vr_tunnel_port *t = (struct vr_tunnel_port *)p;

	(void)q;
	for (uint16_t at = 0; at < n;) {
		int fam;
		uint16_t k = run_of(t, m + at, (uint16_t)(n - at), false, &fam), ready = 0, sent;

		if (fam >= 0 && t->out[fam] != NULL) {
			ready = vr_esp_encap(t->out[fam], m + at, k, &t->sealed);
		} else {
			for (uint16_t i = 0; i < k; i++)
				rte_pktmbuf_free(m[at + i]);
			ctr_add(t->sealed.not_ip, k);
		}
		sent = port_tx(t->under, t->under_q, m + at, ready);
		for (uint16_t i = sent; i < ready; i++)
			rte_pktmbuf_free(m[at + i]);
		ctr_add(t->under_full, (uint64_t)(ready - sent));
		at = (uint16_t)(at + k);
	}
	return n;
}

static uint16_t
tunnel_rx(struct vr_port *p, uint16_t q, struct rte_mbuf **m, uint16_t n)
{
	struct vr_tunnel_port *t = (struct vr_tunnel_port *)p;
	uint16_t got = (uint16_t)rte_ring_sc_dequeue_burst(t->rx, (void **)m, n, NULL), out = 0;

	(void)q;
	for (uint16_t at = 0; at < got;) {
		int sa;
		uint16_t k = run_of(t, m + at, (uint16_t)(got - at), true, &sa);

		/* the good frames of the run move up to m[out..], in order */
		memmove(m + out, m + at, k * sizeof(*m));
		if (sa >= 0) {
			out = (uint16_t)(out + vr_esp_decap(t->in[sa], m + out, k, &t->deliver_dst,
			                                    &t->deliver_src, &t->opened));
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
