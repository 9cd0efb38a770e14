/* SPDX-License-Identifier: BSD-3-Clause */
#include "keys.h"

#include <sodium.h>
#include <string.h>

#include "errmsg.h"

int
vr_keys_init(char *err, size_t errlen)
{
	if (sodium_init() < 0)
		return vr_err(err, errlen, "tunnel: libsodium cannot start (no entropy source?)");
	return 0;
}

int
vr_key_new(struct vr_esp_key *k, uint32_t spi, uint8_t key_len, char *err, size_t errlen)
{
	if (key_len != 16 && key_len != 32)
		return vr_err(err, errlen, "tunnel: AES-GCM keys are 16 or 32 bytes, not %u",
		              key_len);
	if (spi < VR_SPI_MIN)
		return vr_err(err, errlen, "tunnel: SPI %u is reserved", spi);
	memset(k, 0, sizeof(*k));
	k->spi = spi;
	k->key_len = key_len;
	randombytes_buf(k->key, key_len);
	randombytes_buf(k->salt, sizeof(k->salt));
	return 0;
}

uint32_t
vr_spi_new(const uint32_t *used, size_t n)
{
	for (;;) {
		uint32_t spi = randombytes_random();
		bool taken = spi < VR_SPI_MIN;

		for (size_t i = 0; i < n && !taken; i++)
			taken = used[i] == spi;
		if (!taken)
			return spi;
	}
}

void
vr_key_next(const struct vr_esp_key *k, struct vr_esp_key *next)
{
	static const char label[] = "vrelay SA rekey";
	uint8_t in[sizeof(label) + 8], out[32 + 4 + 4];
	uint32_t spi;

	/* what names this SA goes in with the label: one key, one successor */
	memcpy(in, label, sizeof(label));
	memcpy(in + sizeof(label), k->salt, 4);
	memcpy(in + sizeof(label) + 4, &k->spi, 4);
	crypto_generichash(out, sizeof(out), in, sizeof(in), k->key, k->key_len);
	memset(next, 0, sizeof(*next));
	next->key_len = k->key_len;
	memcpy(next->key, out, k->key_len);
	memcpy(next->salt, out + 32, 4);
	memcpy(&spi, out + 36, 4);
	next->spi = VR_SPI_MIN + spi % (UINT32_MAX - VR_SPI_MIN);
	sodium_memzero(out, sizeof(out));
}

bool
vr_rekey_due(const struct vr_rekey_limits *l, uint64_t seq, uint64_t age_ms)
{
	uint64_t max = l->max_packets < UINT32_MAX ? l->max_packets : UINT32_MAX;

	return seq + l->margin_packets >= max || age_ms >= l->lifetime_ms;
}
