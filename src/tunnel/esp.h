/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The relay-to-relay tunnel's wire (docs/tunnel.md): ESP in tunnel mode
 * (RFC 4303) inside UDP (RFC 3948, port 4500), AES-GCM with an 8-byte IV
 * and a 16-byte ICV (RFC 4106). It carries a guest's IP packets: DPDK's
 * rte_ipsec takes only IPv4 or IPv6 as the inner protocol, so the guest's
 * Ethernet header stays behind and the receiving relay writes a new one.
 *
 * One SA is one direction of one inner family (rte_ipsec fixes the inner
 * IP version per SA). The cipher runs synchronously on the calling worker
 * (the crypto_aesni_gcm device's CPU-crypto path: no queue, no wait), and
 * nothing here allocates, locks or makes a system call, so workers may call
 * the burst functions; creating and freeing SAs is the control thread's.
 */
#ifndef VR_ESP_H
#define VR_ESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "esp_key.h"

#define VR_ESP_UDP_PORT 4500
#define VR_ESP_IV_LEN   8
#define VR_ESP_ICV_LEN  16
/* Outer Ethernet, IPv6 (the larger), UDP, ESP header and IV; then at most
 * 3 bytes of padding, the 2-byte trailer and the ICV. */
#define VR_ESP_OVERHEAD_MAX                                                                        \
	(RTE_ETHER_HDR_LEN + 40 + 8 + 8 + VR_ESP_IV_LEN + 3 + 2 + VR_ESP_ICV_LEN)

/* Why a frame did not make it through an SA: X(field, name, help). */
#define VR_ESP_DROPS(X)                                                                            \
	X(not_ip, "not_ip", "encap: not an IP packet of the SA's family (or VLAN-tagged)")         \
	X(too_big, "too_big", "encap: no room for the ESP headers and trailer")                    \
	X(malformed, "malformed", "decap: truncated or not ESP-in-UDP to this relay")              \
	X(wrong_peer, "wrong_peer", "decap: from an address other than the SA's peer")             \
	X(no_sa, "no_sa", "decap: an SPI this SA does not have")                                   \
	X(replay, "replay", "decap: sequence number replayed or left of the window")               \
	X(auth, "auth", "decap: integrity check failed (forged, corrupted)")

struct vr_esp_counters {
	uint64_t pkts, bytes; /* frames through, their inner bytes */
#define VR_ESP_DROP_FIELD(field, ...) uint64_t field;
	VR_ESP_DROPS(VR_ESP_DROP_FIELD)
#undef VR_ESP_DROP_FIELD
};

/* The outer headers between the two relays, as seen by this one. */
struct vr_esp_path {
	bool ipv6; /* the underlay's family */
	struct rte_ether_addr local_mac, next_hop_mac;
	uint8_t local[16], peer[16]; /* addresses; IPv4 in the first 4 bytes */
	uint16_t local_port, peer_port;
};

struct vr_esp_sa;

/* The crypto device and session pool, once, on the control thread. */
int vr_esp_init(int socket, char *err, size_t errlen);
void vr_esp_fini(void);

/* An SA for inner packets of one family (inner_ipv6). Inbound SAs keep a
 * replay window of replay_window packets (64..4096). NULL with err. */
struct vr_esp_sa *vr_esp_sa_create(bool outbound, bool inner_ipv6, const struct vr_esp_key *key,
                                   const struct vr_esp_path *path, uint32_t replay_window,
                                   int socket, char *err, size_t errlen);
void vr_esp_sa_free(struct vr_esp_sa *sa);
uint32_t vr_esp_sa_spi(const struct vr_esp_sa *sa);
/* Packets the SA sealed (outbound) or opened (inbound) so far: when to
 * rekey, and whether the peer's next SA is in use (any thread). */
uint64_t vr_esp_sa_used(const struct vr_esp_sa *sa);

/* Encapsulate guest frames (Ethernet, untagged, of the SA's inner family)
 * in place. Returns how many are ready to send, at the front of m in their
 * order; the rest were freed and counted. */
uint16_t vr_esp_encap(struct vr_esp_sa *sa, struct rte_mbuf **m, uint16_t n,
                      struct vr_esp_counters *c);

/* Check and decrypt ESP-in-UDP frames from the underlay in place, then give
 * each inner packet the Ethernet header dst <- src. Returns how many are
 * good, at the front of m in their order; the rest were freed and counted.
 */
uint16_t vr_esp_decap(struct vr_esp_sa *sa, struct rte_mbuf **m, uint16_t n,
                      const struct rte_ether_addr *dst, const struct rte_ether_addr *src,
                      struct vr_esp_counters *c);

/* The SPI of an ESP-in-UDP frame addressed to port, or 0 when it is not
 * one (a worker's classifier picks the SA by it). */
uint32_t vr_esp_frame_spi(const struct rte_mbuf *m, uint16_t port);

#endif
