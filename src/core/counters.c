/* SPDX-License-Identifier: BSD-3-Clause */
/* The counter lists of counters.h as tables, for the generated outputs. */
#include "counters.h"

#include <stddef.h>

#define DIR_DESC(field, dirs_, name_, column_, help_)                                              \
	{.name = name_,                                                                            \
	 .column = column_,                                                                        \
	 .help = help_,                                                                            \
	 .dirs = dirs_,                                                                            \
	 .offset = offsetof(struct vr_dir_counters, field)},
#define RELAY_DESC(field, name_, help_)                                                            \
	{.name = name_, .help = help_, .offset = offsetof(struct vr_relay_counters, field)},

const struct vr_ctr_desc vr_dir_counter_desc[VR_N_DIR_COUNTERS] = {VR_DIR_COUNTERS(DIR_DESC)};
const struct vr_ctr_desc vr_relay_counter_desc[VR_N_RELAY_COUNTERS] = {
    VR_RELAY_COUNTERS(RELAY_DESC)};
