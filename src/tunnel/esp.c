/* SPDX-License-Identifier: BSD-3-Clause */
#include "esp.h"

#include <string.h>

#include <rte_cryptodev.h>
#include <rte_dev.h>
#include <rte_ip_frag.h>
#include <rte_ip.h>
#include <rte_ipsec.h>
#include <rte_malloc.h>
#include <rte_udp.h>

#include "counters.h"
#include "errmsg.h"

#define CRYPTO_NAME "crypto_aesni_gcm_vrelay"
#define SESSIONS    256 /* two SAs per family and direction per redirect */
#define GCM_SALT_IV 12  /* RFC 4106 nonce: 4-byte salt, 8-byte IV */
#define ESP_AAD_LEN 8   /* SPI and 32-bit sequence number (no ESN) */
#define TX_FLAGS    (RTE_MBUF_F_TX_OFFLOAD_MASK)

struct vr_esp_sa {
	struct rte_ipsec_session ss; /* first: cache-aligned */
	struct rte_ipsec_sa *sa;
	void *crypto;
	bool outbound, inner_ipv6;
	uint32_t spi;
	struct vr_esp_path path;
	uint8_t hdr[RTE_ETHER_HDR_LEN + 40]; /* outer template, UDP added by rte_ipsec */
	uint8_t hdr_len;
	uint64_t used; /* packets sealed or opened: its one worker's, read relaxed */
};

static struct {
	bool up;
	uint8_t dev;
	struct rte_mempool *sessions;
} crypto;

int
vr_esp_init(int socket, char *err, size_t errlen)
{
	struct rte_cryptodev_config cfg = {.socket_id = socket, .nb_queue_pairs = 1};
	struct rte_cryptodev_info info;
	struct rte_cryptodev_qp_conf qp = {.nb_descriptors = 128};
	int id;

	if (crypto.up)
		return 0;
	if (rte_cryptodev_get_dev_id(CRYPTO_NAME) < 0 && rte_dev_probe(CRYPTO_NAME) != 0)
		return vr_err(err, errlen, "tunnel: cannot create the %s crypto device",
		              CRYPTO_NAME);
	id = rte_cryptodev_get_dev_id(CRYPTO_NAME);
	if (id < 0)
		return vr_err(err, errlen, "tunnel: crypto device %s not found", CRYPTO_NAME);
	rte_cryptodev_info_get((uint8_t)id, &info);
	if (!(info.feature_flags & RTE_CRYPTODEV_FF_SYM_CPU_CRYPTO))
		return vr_err(err, errlen, "tunnel: %s cannot run AES-GCM on the CPU synchronously",
		              CRYPTO_NAME);
	crypto.sessions = rte_cryptodev_sym_session_pool_create(
	    "vr_esp_sessions", SESSIONS, rte_cryptodev_sym_get_private_session_size((uint8_t)id), 0,
	    0, socket);
	if (crypto.sessions == NULL)
		return vr_err(err, errlen, "tunnel: no memory for crypto sessions");
	qp.mp_session = crypto.sessions;
	if (rte_cryptodev_configure((uint8_t)id, &cfg) != 0 ||
	    rte_cryptodev_queue_pair_setup((uint8_t)id, 0, &qp, socket) != 0 ||
	    rte_cryptodev_start((uint8_t)id) != 0) {
		rte_mempool_free(crypto.sessions);
		return vr_err(err, errlen, "tunnel: cannot start %s", CRYPTO_NAME);
	}
	crypto.dev = (uint8_t)id;
	crypto.up = true;
	return 0;
}

void
vr_esp_fini(void)
{
	if (!crypto.up)
		return;
	rte_cryptodev_stop(crypto.dev);
	rte_cryptodev_close(crypto.dev);
	rte_eal_hotplug_remove("vdev", CRYPTO_NAME);
	rte_mempool_free(crypto.sessions);
	crypto.up = false;
}

/* Outer Ethernet and IP headers towards the peer; rte_ipsec adds the UDP
 * header and fills in the lengths, the packet id and the ESP header per
 * packet. */
static void
build_template(struct vr_esp_sa *s)
{
	const struct vr_esp_path *p = &s->path;
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)s->hdr;
	size_t l3 = p->ipv6 ? sizeof(struct rte_ipv6_hdr) : sizeof(struct rte_ipv4_hdr);

	memset(s->hdr, 0, sizeof(s->hdr));
	eth->dst_addr = p->next_hop_mac;
	eth->src_addr = p->local_mac;
	eth->ether_type = rte_cpu_to_be_16(p->ipv6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4);
	if (p->ipv6) {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(eth + 1);

		ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
		ip->proto = IPPROTO_UDP;
		ip->hop_limits = 64;
		memcpy(ip->src_addr, p->local, 16);
		memcpy(ip->dst_addr, p->peer, 16);
	} else {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_UDP;
		memcpy(&ip->src_addr, p->local, 4);
		memcpy(&ip->dst_addr, p->peer, 4);
	}
	/* rte_ipsec appends the UDP header itself (ipsec_xform.udp) */
	s->hdr_len = (uint8_t)(RTE_ETHER_HDR_LEN + l3);
}

static int
make_sa(struct vr_esp_sa *s, const struct vr_esp_key *key, uint32_t window,
        struct rte_crypto_sym_xform *xf, int socket)
{
	struct rte_ipsec_sa_prm prm;
	int size;

	memset(&prm, 0, sizeof(prm));
	prm.crypto_xform = xf;
	prm.ipsec_xform.spi = key->spi;
	memcpy(&prm.ipsec_xform.salt, key->salt, sizeof(key->salt)); /* nonce bytes as sent */
	/* Inbound, the UDP header is taken as part of the outer L3 header
	 * (decap_check sets l3_len so): DPDK 22.11's rte_ipsec leaves an inbound
	 * tunnel SA with NAT-T set without its cipher offsets. */
	prm.ipsec_xform.options.udp_encap = s->outbound;
	prm.ipsec_xform.udp.sport = s->path.local_port; /* host order: rte_ipsec swaps */
	prm.ipsec_xform.udp.dport = s->path.peer_port;
	prm.ipsec_xform.direction =
	    s->outbound ? RTE_SECURITY_IPSEC_SA_DIR_EGRESS : RTE_SECURITY_IPSEC_SA_DIR_INGRESS;
	prm.ipsec_xform.proto = RTE_SECURITY_IPSEC_SA_PROTO_ESP;
	prm.ipsec_xform.mode = RTE_SECURITY_IPSEC_SA_MODE_TUNNEL;
	prm.ipsec_xform.tunnel.type =
	    s->path.ipv6 ? RTE_SECURITY_IPSEC_TUNNEL_IPV6 : RTE_SECURITY_IPSEC_TUNNEL_IPV4;
	prm.ipsec_xform.replay_win_sz = s->outbound ? 0 : window;
	prm.tun.hdr = s->hdr;
	prm.tun.hdr_len = s->hdr_len;
	prm.tun.hdr_l3_off = RTE_ETHER_HDR_LEN;
	prm.tun.next_proto = s->inner_ipv6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
	size = rte_ipsec_sa_size(&prm);
	if (size < 0)
		return size;
	s->sa = rte_zmalloc_socket("vr_esp_sa", (size_t)size, RTE_CACHE_LINE_SIZE, socket);
	if (s->sa == NULL)
		return -ENOMEM;
	return rte_ipsec_sa_init(s->sa, &prm, (uint32_t)size) < 0 ? -EINVAL : 0;
}

struct vr_esp_sa *
vr_esp_sa_create(bool outbound, bool inner_ipv6, const struct vr_esp_key *key,
                 const struct vr_esp_path *path, uint32_t replay_window, int socket, char *err,
                 size_t errlen)
{
	struct rte_crypto_sym_xform xf = {
	    .type = RTE_CRYPTO_SYM_XFORM_AEAD,
	    .aead = {.op = outbound ? RTE_CRYPTO_AEAD_OP_ENCRYPT : RTE_CRYPTO_AEAD_OP_DECRYPT,
	             .algo = RTE_CRYPTO_AEAD_AES_GCM,
	             .key = {.data = key->key, .length = key->key_len},
	             .iv = {.offset = 0, .length = GCM_SALT_IV}, /* given per call */
	             .digest_length = VR_ESP_ICV_LEN,
	             .aad_length = ESP_AAD_LEN}};
	struct vr_esp_sa *s;

	if (!crypto.up)
		return vr_err(err, errlen, "tunnel: no crypto device"), NULL;
	if (key->key_len != 16 && key->key_len != 32)
		return vr_err(err, errlen, "SPI %08x: AES-GCM key of %u bytes", key->spi,
		              key->key_len),
		       NULL;
	if (!outbound && (replay_window < 64 || replay_window > 4096))
		return vr_err(err, errlen, "SPI %08x: replay window %u not in 64..4096", key->spi,
		              replay_window),
		       NULL;
	s = rte_zmalloc_socket("vr_esp", sizeof(*s), RTE_CACHE_LINE_SIZE, socket);
	if (s == NULL)
		return vr_err(err, errlen, "SPI %08x: out of memory", key->spi), NULL;
	s->outbound = outbound;
	s->inner_ipv6 = inner_ipv6;
	s->spi = key->spi;
	s->path = *path;
	build_template(s);
	s->crypto = rte_cryptodev_sym_session_create(crypto.dev, &xf, crypto.sessions);
	if (s->crypto == NULL || make_sa(s, key, replay_window, &xf, socket) != 0) {
		vr_err(err, errlen, "SPI %08x: cannot set up the SA", key->spi);
		vr_esp_sa_free(s);
		return NULL;
	}
	s->ss.sa = s->sa;
	s->ss.type = RTE_SECURITY_ACTION_TYPE_CPU_CRYPTO;
	s->ss.crypto.ses = s->crypto;
	s->ss.crypto.dev_id = crypto.dev;
	if (rte_ipsec_session_prepare(&s->ss) != 0) {
		vr_err(err, errlen, "SPI %08x: rte_ipsec refuses the session", key->spi);
		vr_esp_sa_free(s);
		return NULL;
	}
	return s;
}

void
vr_esp_sa_free(struct vr_esp_sa *s)
{
	if (s == NULL)
		return;
	if (s->sa != NULL)
		rte_ipsec_sa_fini(s->sa);
	rte_free(s->sa);
	if (s->crypto != NULL)
		rte_cryptodev_sym_session_free(crypto.dev, s->crypto);
	rte_free(s);
}

uint64_t
vr_esp_sa_used(const struct vr_esp_sa *sa)
{
	return sa != NULL ? __atomic_load_n(&sa->used, __ATOMIC_RELAXED) : 0;
}

uint32_t
vr_esp_sa_spi(const struct vr_esp_sa *s)
{
	return s->spi;
}

/* ---- bursts ---- */

/* The SPI after a UDP header (frames put it 2 bytes off 4-byte alignment). */
static uint32_t
spi_after(const struct rte_udp_hdr *udp)
{
	uint32_t spi;

	memcpy(&spi, udp + 1, sizeof(spi));
	return rte_be_to_cpu_32(spi);
}

/* Frees m[good..n-1], counting them under *ctr; returns good. */
static uint16_t
drop_tail(struct rte_mbuf **m, uint16_t good, uint16_t n, uint64_t *ctr)
{
	for (uint16_t i = good; i < n; i++)
		rte_pktmbuf_free(m[i]);
	ctr_add(*ctr, (uint64_t)(n - good));
	return good;
}

/* Frames to carry: untagged IP of the SA's family, in one segment. NULL,
 * or the counter of why not. */
static uint64_t *
encap_check(const struct vr_esp_sa *s, struct rte_mbuf *m, struct vr_esp_counters *c)
{
	const struct rte_ether_hdr *eth;
	uint16_t want = s->inner_ipv6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4;
	uint32_t l3;

	if (m->nb_segs > 1 && rte_pktmbuf_linearize(m) != 0)
		return &c->too_big;
	if (m->data_len < RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr))
		return &c->not_ip;
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	if (eth->ether_type != rte_cpu_to_be_16(want))
		return &c->not_ip;
	l3 = s->inner_ipv6 ? sizeof(struct rte_ipv6_hdr)
	                   : (uint32_t)(((const struct rte_ipv4_hdr *)(eth + 1))->ihl * 4);
	if (l3 < sizeof(struct rte_ipv4_hdr) || m->data_len < RTE_ETHER_HDR_LEN + l3)
		return &c->not_ip;
	m->l2_len = RTE_ETHER_HDR_LEN;
	m->l3_len = l3;
	m->ol_flags &= ~TX_FLAGS; /* the frame is finished: checksums done by the caller */
	return NULL;
}

/* rte_ipsec leaves the outer checksums: IPv4's header, IPv6's UDP. */
static void
finish_outer(const struct vr_esp_sa *s, struct rte_mbuf *m)
{
	uint8_t *l3 = rte_pktmbuf_mtod_offset(m, uint8_t *, RTE_ETHER_HDR_LEN);

	if (s->path.ipv6) {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)l3;
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

		udp->dgram_cksum = 0;
		udp->dgram_cksum = rte_ipv6_udptcp_cksum(ip, udp);
	} else {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)l3;

		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
	m->ol_flags &= ~TX_FLAGS;
	m->l2_len = RTE_ETHER_HDR_LEN;
	m->l3_len = s->path.ipv6 ? sizeof(struct rte_ipv6_hdr) : sizeof(struct rte_ipv4_hdr);
}

/* Inner bytes of the frames left good at m[0..ok-1]: they keep their order
 * among orig[], whose lengths are len[]. */
static uint64_t
good_bytes(struct rte_mbuf *const *m, uint16_t ok, struct rte_mbuf *const *orig,
           const uint32_t *len)
{
	uint64_t bytes = 0;

	for (uint16_t i = 0, j = 0; i < ok; i++, j++) {
		while (orig[j] != m[i])
			j++;
		bytes += len[j];
	}
	return bytes;
}

uint16_t
vr_esp_encap(struct vr_esp_sa *s, struct rte_mbuf **m, uint16_t n, struct vr_esp_counters *c)
{
	struct rte_mbuf *orig[RTE_MAX(n, 1)];
	uint32_t len[RTE_MAX(n, 1)];
	uint16_t k = 0, ok;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *x = m[i];

		uint64_t *why = encap_check(s, x, c);

		if (why != NULL) {
			rte_pktmbuf_free(x);
			ctr_add(*why, 1);
			continue;
		}
		orig[k] = x;
		len[k] = x->pkt_len - RTE_ETHER_HDR_LEN;
		m[k++] = x;
	}
	if (k == 0)
		return 0;
	/* failures (no head- or tailroom) are left after the good ones */
	ok = rte_ipsec_pkt_cpu_prepare(&s->ss, m, k);
	ok = rte_ipsec_pkt_process(&s->ss, m, ok);
	for (uint16_t i = 0; i < ok; i++)
		finish_outer(s, m[i]);
	ctr_add(c->pkts, ok);
	ctr_add(s->used, ok);
	ctr_add(c->bytes, good_bytes(m, ok, orig, len));
	return drop_tail(m, ok, k, &c->too_big);
}

/* The outer headers of a frame for this SA: to us, from the peer, UDP to
 * our port, long enough for ESP; sets l2_len/l3_len for rte_ipsec (UDP
 * counted in l3, so ESP follows) and trims Ethernet padding. 0 or the
 * address of the counter to charge. */
static uint64_t *
decap_check(struct vr_esp_sa *s, struct rte_mbuf *m, struct vr_esp_counters *c)
{
	const struct vr_esp_path *p = &s->path;
	const struct rte_ether_hdr *eth;
	const struct rte_udp_hdr *udp;
	uint32_t l3, total;
	const uint8_t *src, *dst;

	if (m->nb_segs > 1 && rte_pktmbuf_linearize(m) != 0)
		return &c->malformed;
	if (m->data_len < RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr))
		return &c->malformed;
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	if (p->ipv6) {
		const struct rte_ipv6_hdr *ip = (const struct rte_ipv6_hdr *)(eth + 1);

		if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6) ||
		    m->data_len < RTE_ETHER_HDR_LEN + sizeof(*ip) || ip->proto != IPPROTO_UDP)
			return &c->malformed;
		l3 = sizeof(*ip);
		total = l3 + rte_be_to_cpu_16(ip->payload_len);
		src = ip->src_addr;
		dst = ip->dst_addr;
	} else {
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);

		/* fragments are not taken (yet): docs/tunnel.md, MTU */
		if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
		    ip->next_proto_id != IPPROTO_UDP || rte_ipv4_frag_pkt_is_fragmented(ip))
			return &c->malformed;
		l3 = (uint32_t)ip->ihl * 4;
		total = rte_be_to_cpu_16(ip->total_length);
		src = (const uint8_t *)&ip->src_addr;
		dst = (const uint8_t *)&ip->dst_addr;
	}
	if (l3 < sizeof(struct rte_ipv4_hdr) ||
	    total < l3 + sizeof(*udp) + 8 + VR_ESP_IV_LEN + 2 + VR_ESP_ICV_LEN ||
	    m->data_len < RTE_ETHER_HDR_LEN + total)
		return &c->malformed;
	if (memcmp(dst, p->local, p->ipv6 ? 16 : 4) != 0)
		return &c->malformed;
	if (memcmp(src, p->peer, p->ipv6 ? 16 : 4) != 0)
		return &c->wrong_peer;
	udp = (const struct rte_udp_hdr *)((const uint8_t *)(eth + 1) + l3);
	if (udp->dst_port != rte_cpu_to_be_16(p->local_port) ||
	    rte_be_to_cpu_16(udp->dgram_len) != total - l3)
		return &c->malformed;
	if (spi_after(udp) != s->spi)
		return &c->no_sa;
	rte_pktmbuf_trim(m, (uint16_t)(m->pkt_len - RTE_ETHER_HDR_LEN - total));
	m->l2_len = RTE_ETHER_HDR_LEN;
	m->l3_len = l3 + sizeof(*udp);
	return NULL;
}

/* The inner packet, now at the start of m, gets its Ethernet header. */
static bool
add_ethernet(const struct vr_esp_sa *s, struct rte_mbuf *m, const struct rte_ether_addr *dst,
             const struct rte_ether_addr *src)
{
	uint8_t version = m->data_len > 0 ? *rte_pktmbuf_mtod(m, uint8_t *) >> 4 : 0;
	struct rte_ether_hdr *eth;

	if (version != (s->inner_ipv6 ? 6 : 4))
		return false;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_prepend(m, RTE_ETHER_HDR_LEN);
	if (eth == NULL)
		return false;
	eth->dst_addr = *dst;
	eth->src_addr = *src;
	eth->ether_type =
	    rte_cpu_to_be_16(s->inner_ipv6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4);
	m->l2_len = RTE_ETHER_HDR_LEN;
	/* receive flags mean nothing for the inner packet; how the buffer is
	 * owned (external, indirect) must stay */
	m->ol_flags &= RTE_MBUF_F_EXTERNAL | RTE_MBUF_F_INDIRECT;
	m->packet_type = 0;
	return true;
}

uint16_t
vr_esp_decap(struct vr_esp_sa *s, struct rte_mbuf **m, uint16_t n, const struct rte_ether_addr *dst,
             const struct rte_ether_addr *src, struct vr_esp_counters *c)
{
	uint16_t k = 0, ok, good;

	for (uint16_t i = 0; i < n; i++) {
		uint64_t *why = decap_check(s, m[i], c);

		if (why != NULL) {
			rte_pktmbuf_free(m[i]);
			ctr_add(*why, 1);
		} else {
			m[k++] = m[i];
		}
	}
	/* rte_ipsec checks the replay window before the cipher runs, and the
	 * ICV (and the window again, for duplicates in one burst) after */
	if (k == 0)
		return 0;
	ok = rte_ipsec_pkt_cpu_prepare(&s->ss, m, k);
	drop_tail(m, ok, k, &c->replay);
	k = ok;
	ok = rte_ipsec_pkt_process(&s->ss, m, k);
	drop_tail(m, ok, k, &c->auth);
	good = 0;
	for (uint16_t i = 0; i < ok; i++) {
		if (add_ethernet(s, m[i], dst, src)) {
			ctr_add(c->bytes, m[i]->pkt_len - RTE_ETHER_HDR_LEN);
			m[good++] = m[i];
		} else {
			rte_pktmbuf_free(m[i]);
			ctr_add(c->malformed, 1);
		}
	}
	ctr_add(c->pkts, good);
	ctr_add(s->used, good);
	return good;
}

uint32_t
vr_esp_frame_spi(const struct rte_mbuf *m, uint16_t port)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_udp_hdr *udp;
	uint32_t l3;
	uint8_t proto;

	if (m->data_len < RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv6_hdr) + 8 + 4)
		return 0;
	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);

		l3 = (uint32_t)ip->ihl * 4;
		proto = ip->next_proto_id;
	} else if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6)) {
		l3 = sizeof(struct rte_ipv6_hdr);
		proto = ((const struct rte_ipv6_hdr *)(eth + 1))->proto;
	} else {
		return 0;
	}
	if (proto != IPPROTO_UDP || l3 < sizeof(struct rte_ipv4_hdr) ||
	    m->data_len < RTE_ETHER_HDR_LEN + l3 + sizeof(*udp) + 4)
		return 0;
	udp = (const struct rte_udp_hdr *)((const uint8_t *)(eth + 1) + l3);
	if (udp->dst_port != rte_cpu_to_be_16(port))
		return 0;
	return spi_after(udp);
}
