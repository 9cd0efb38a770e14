/* SPDX-License-Identifier: BSD-3-Clause */
#include "placement.h"

/* Busy shares within this many permille count as equal: one second of load
 * measurement on a shared CPU is noisy, and the direction count is a steadier
 * guide between nearly idle workers. */
#define LOAD_EQUAL_PERMILLE 50

static int
less_busy(const struct vr_worker_load *a, const struct vr_worker_load *b)
{
	uint32_t da = a->busy_permille, db = b->busy_permille;
	uint32_t diff = da > db ? da - db : db - da;

	if (diff > LOAD_EQUAL_PERMILLE)
		return da < db;
	if (a->n_dirs != b->n_dirs)
		return a->n_dirs < b->n_dirs;
	return a->cpu < b->cpu;
}

int
vr_place_least_busy(const struct vr_worker_load *w, unsigned n)
{
	int best = -1;

	for (unsigned i = 0; i < n; i++)
		if (best < 0 || less_busy(&w[i], &w[best]))
			best = (int)i;
	return best;
}
