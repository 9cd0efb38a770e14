/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Key material for the tunnel's SAs (docs/tunnel.md, "Keys"): fresh for
 * every redirect, from libsodium's CSPRNG. A rekey derives an SA's next
 * key, salt and SPI from its current key with a keyed hash (BLAKE2b), so
 * both relays come to the same next SA without talking: an observer who
 * sees neither key learns nothing of either. Control thread only.
 */
#ifndef VR_TUNNEL_KEYS_H
#define VR_TUNNEL_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp.h"

/* SPIs 1..255 are reserved by IANA (RFC 4303), 0 means none. */
#define VR_SPI_MIN 256

/* When an SA must be replaced: before its 32-bit sequence number can wrap
 * (no ESN: a wrap would reuse GCM nonces), or when it is older than its
 * lifetime. The margin leaves the new SA time to reach the peer. */
struct vr_rekey_limits {
	uint64_t max_packets; /* at most 2^32 - 1 */
	uint64_t margin_packets;
	uint64_t lifetime_ms;
};

/* Once, before the first key (sodium_init). 0, or -1 with err. */
int vr_keys_init(char *err, size_t errlen);

/* A new key of key_len bytes (16 or 32) and salt under spi. */
int vr_key_new(struct vr_esp_key *k, uint32_t spi, uint8_t key_len, char *err, size_t errlen);

/* A random SPI >= VR_SPI_MIN that is none of used[0..n). */
uint32_t vr_spi_new(const uint32_t *used, size_t n);

/* The SA after k: key, salt and SPI (>= VR_SPI_MIN) derived from k's key,
 * salt and SPI; the same on both relays. */
void vr_key_next(const struct vr_esp_key *k, struct vr_esp_key *next);

/* Whether an SA that sent seq packets and was made age_ms ago is due. */
bool vr_rekey_due(const struct vr_rekey_limits *l, uint64_t seq, uint64_t age_ms);

#endif
