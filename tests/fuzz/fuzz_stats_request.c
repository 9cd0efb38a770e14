/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: StatsRequest decoding (src/api/request.c). */
#include "fuzz_common.h"
#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vr_stats_req q;
	char err[VR_ERR_MAX];
	int rc;

	err[0] = '\0';
	rc = vr_stats_req_decode(data, size, &q, err, sizeof(err));
	if (rc != VR_STATS_OK) {
		FUZZ_CHECK(rc == VR_STATS_EBADR || rc == VR_STATS_E2BIG || rc == VR_STATS_ENOMEM);
		FUZZ_ERR_SET(err);
		return 0;
	}
	FUZZ_CHECK(q.n <= VR_MAX_RELAYS);
	for (unsigned i = 0; i < q.n; i++)
		FUZZ_CHECK(q.ids[i] < VR_MAX_RELAYS);
	FUZZ_CHECK(q.delay_ms <= VR_STATS_DELAY_MAX);
	return 0;
}
