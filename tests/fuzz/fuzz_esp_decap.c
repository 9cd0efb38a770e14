/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: what an attacker on the underlay sends to a relay's
 * tunnel (src/tunnel/esp.c). Whatever arrives, the relay neither crashes
 * nor leaks; each frame is either one guest packet of the SA's family with
 * the Ethernet header the relay writes, or exactly one drop counter moves.
 *
 * Input: a mode byte, then
 *   mode even: the frame itself;
 *   mode odd:  XOR masks laid over a frame the peer's SA just sealed (so the
 *              mutations reach the replay window and the ICV check); the
 *              first two bytes of the rest trim that many bytes off its end.
 */
#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "esp.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rte_mempool *pool;
static struct vr_esp_sa *peer_out, *in;
static const struct rte_ether_addr guest = {{0x52, 0x54, 0, 0, 0, 1}};
static const struct rte_ether_addr gw = {{0x02, 0, 0, 0, 0, 0x99}};

static struct vr_esp_path
path(bool at_peer)
{
	struct vr_esp_path p = {.local_port = 4500, .peer_port = 4500};
	uint8_t a[4] = {198, 51, 100, 1}, b[4] = {203, 0, 113, 1};

	memcpy(p.local, at_peer ? a : b, 4);
	memcpy(p.peer, at_peer ? b : a, 4);
	return p;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *eal[] = {"fuzz_esp_decap", "--no-huge",          "--no-pci",      "-m", "256",
	               "--no-shconf",    "--log-level=*:crit", "--no-telemetry"};
	struct vr_esp_key k = {.spi = 0x5000, .key_len = 16, .salt = {1, 2, 3, 4}};
	struct vr_esp_path pp = path(true), pb = path(false);
	char err[256];

	(void)argc;
	(void)argv;
	if (rte_eal_init((int)RTE_DIM(eal), eal) < 0)
		abort();
	pool = rte_pktmbuf_pool_create("fuzz", 1023, 0, 0, 2048 + 128, SOCKET_ID_ANY);
	if (pool == NULL || vr_esp_init(SOCKET_ID_ANY, err, sizeof(err)) != 0)
		abort();
	memset(k.key, 0x42, sizeof(k.key));
	peer_out = vr_esp_sa_create(true, false, &k, &pp, 0, SOCKET_ID_ANY, err, sizeof(err));
	in = vr_esp_sa_create(false, false, &k, &pb, 64, SOCKET_ID_ANY, err, sizeof(err));
	if (peer_out == NULL || in == NULL)
		abort();
	return 0;
}

/* A guest IPv4/UDP packet of len bytes sealed by the peer. */
static struct rte_mbuf *
sealed(uint16_t len)
{
	struct vr_esp_counters c = {0};
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, len);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + RTE_ETHER_HDR_LEN);

	memset(p, 0xab, len);
	((struct rte_ether_hdr *)p)->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(len - RTE_ETHER_HDR_LEN));
	FUZZ_CHECK(vr_esp_encap(peer_out, &m, 1, &c) == 1);
	return m;
}

static struct rte_mbuf *
frame_from(const uint8_t *d, size_t n)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

	n = RTE_MIN(n, (size_t)2048);
	memcpy(rte_pktmbuf_append(m, (uint16_t)n), d, n);
	return m;
}

static uint64_t
drops(const struct vr_esp_counters *c)
{
	return c->not_ip + c->too_big + c->malformed + c->wrong_peer + c->no_sa + c->replay +
	       c->auth;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vr_esp_counters c = {0};
	unsigned before = rte_mempool_avail_count(pool);
	struct rte_mbuf *m;
	uint16_t got;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		m = sealed((uint16_t)(64 + data[0] * 5));
		for (size_t i = 3; i < size && i - 3 < m->data_len; i++)
			rte_pktmbuf_mtod(m, uint8_t *)[i - 3] ^= data[i];
		if (size >= 3)
			rte_pktmbuf_trim(m,
			                 (uint16_t)RTE_MIN((uint32_t)(data[1] | data[2] << 8) % 64,
			                                   m->data_len - 1u));
		before--; /* sealed() took one */
	} else {
		m = frame_from(data + 1, size - 1);
		before--;
	}
	got = vr_esp_decap(in, &m, 1, &guest, &gw, &c);
	FUZZ_CHECK(got <= 1);
	FUZZ_CHECK_MSG(got + drops(&c) == 1, "a frame neither passed nor was counted once");
	if (got == 1) {
		const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);

		FUZZ_CHECK(c.pkts == 1 && m->pkt_len > RTE_ETHER_HDR_LEN);
		FUZZ_CHECK(rte_is_same_ether_addr(&eth->dst_addr, &guest));
		FUZZ_CHECK(eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4));
		FUZZ_CHECK((rte_pktmbuf_mtod(m, uint8_t *)[RTE_ETHER_HDR_LEN] >> 4) == 4);
		rte_pktmbuf_free(m);
	}
	FUZZ_CHECK_MSG(rte_mempool_avail_count(pool) == before + 1, "an mbuf leaked");
	return 0;
}
