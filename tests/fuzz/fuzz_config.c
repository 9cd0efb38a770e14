/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: vrelay's own config format, vr_conf_parse_text
 * (src/config.c), then vr_conf_validate and vr_conf_finish. */
#include "fuzz_conf_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vr_conf c; /* large: not on the stack */
	char err[VR_ERR_MAX];
	char *text = fuzz_cstring(data, size);
	int rc;

	vr_conf_init(&c);
	err[0] = '\0';
	rc = vr_conf_parse_text(&c, text, "fuzz.conf", err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc != 0) {
		FUZZ_ERR_SET(err);
		FUZZ_CHECK(strncmp(err, "fuzz.conf:", 10) == 0);
	} else {
		fuzz_check_conf(&c);
		fuzz_validate_and_finish(&c);
	}
	(void)vr_vfconf_detect(text);
	free(text);
	return 0;
}
