/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The two directions of a relay in a stats reply, as vrelayctl's table,
 * --json and --prometheus read them.
 */
#ifndef VR_STATSROWS_H
#define VR_STATSROWS_H

#include <stddef.h>

#include "virtioforwarder.pb-c.h"

/* One direction of a relay, whichever of the protocol's two messages: its
 * counters by name (counters.h) and the rates the protocol carries. */
struct dir_row {
	const char *name;
	int cpu;
	size_t n;
	Virtioforwarder__Counter **c;
	double rx_pps, tx_pps, tx_bytes_per_s;
};

/* s's directions: [0] vm2dev, [1] dev2vm. */
void dir_rows(const Virtioforwarder__RelayState *s, struct dir_row row[2]);

/* A counter of the reply by name; -1 when the daemon did not send it. */
long long counter_of(const struct dir_row *d, const char *name);

#endif
