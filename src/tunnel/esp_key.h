/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One SA's key material (esp.h), apart from the cipher code so that the
 * control protocol's decoder (api/request.c) needs no DPDK.
 */
#ifndef VR_ESP_KEY_H
#define VR_ESP_KEY_H

#include <stdint.h>

struct vr_esp_key {
	uint32_t spi;
	uint8_t key[32];
	uint8_t key_len; /* 16 (AES-128-GCM) or 32 (AES-256-GCM) */
	uint8_t salt[4]; /* RFC 4106's nonce salt */
};

#endif
