/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: CoreSchedRequest and ConfigRequest decoding
 * (src/api/request.c). */
#include "fuzz_common.h"
#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vr_sched_req q;
	char err[VR_ERR_MAX];
	int rc;

	err[0] = '\0';
	rc = vr_sched_req_decode(data, size, &q, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc != 0) {
		FUZZ_ERR_SET(err);
	} else if (q.get_cores) {
		FUZZ_CHECK(q.n == 0);
	} else {
		FUZZ_CHECK(q.n >= 1 && q.n <= VR_MAX_RELAYS);
		for (unsigned i = 0; i < q.n; i++) {
			FUZZ_CHECK(q.map[i].id >= 0 && q.map[i].id < VR_MAX_RELAYS);
			for (unsigned j = 0; j < i; j++)
				FUZZ_CHECK(q.map[i].id != q.map[j].id);
			for (int d = 0; d < 2; d++)
				FUZZ_CHECK(q.map[i].cpu[d] >= VR_CPU_UNPINNED &&
				           q.map[i].cpu[d] < VR_MAX_CPUS);
		}
	}

	/* ConfigRequest is empty: anything protobuf-valid is accepted */
	err[0] = '\0';
	rc = vr_config_req_decode(data, size, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc != 0)
		FUZZ_ERR_SET(err);
	return 0;
}
