/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: virtio-forwarder's shell-variable config file,
 * vr_vfconf_parse_text (src/vfconf.c), then vr_conf_validate and
 * vr_conf_finish. */
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
	(void)vr_vfconf_detect(text);
	err[0] = '\0';
	/* the warnings buffer vr_conf_load_file passes */
	rc = vr_vfconf_parse_text(&c, text, "fuzz.vfconf", c.warnings, sizeof(c.warnings), err,
	                          sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_STR(c.warnings);
	if (rc != 0) {
		FUZZ_ERR_SET(err);
		FUZZ_CHECK(strncmp(err, "fuzz.vfconf:", 12) == 0);
	} else {
		fuzz_check_conf(&c);
		FUZZ_CHECK(c.ctl.socket_pattern[0] != '\0');
		fuzz_validate_and_finish(&c);
	}
	free(text);
	return 0;
}
