/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vrelayd's command line: settings override the config file, --relay and
 * --pin add to it. The same function runs again on SIGHUP to reload, so a
 * reload sees exactly what a restart would. Pure: unit-tested.
 */
#ifndef VR_CMDLINE_H
#define VR_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"

#define VR_EAL_ARGS_MAX 64

struct vr_cmdline {
	const char *config_path;
	bool check; /* validate and exit */
	bool help;
	bool version;
	int eal_argc; /* extra EAL arguments after "--" */
	char *eal_argv[VR_EAL_ARGS_MAX];
};

/* 0 ok, -1 error in err. argv is not modified. */
int vr_cmdline_parse(struct vr_cmdline *cl, struct vr_conf *conf, int argc, char *const argv[],
                     char *err, size_t errlen);

void vr_cmdline_usage(FILE *out, const char *prog);

#endif
